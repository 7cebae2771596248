"""Worklist pages in a real browser: no axe violations, and an outcome recorded with one click."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_worklists_work_and_have_no_axe_violations(page, live_server, staff, resident, sign_in, axe_check, console_errors):
    from django.contrib.auth.models import Permission

    from fairdebt.worklists import services
    from fairdebt.worklists.models import CaseAction, Officer, PersonPriority

    staff.user_permissions.add(*Permission.objects.filter(codename__in=["change_officer"]))
    Officer.objects.create(user=staff, team="Income", workstreams=["prevent", "resolve", "recover"], skills=["vulnerability"])
    services.prioritise()
    services.allocate()
    lead = PersonPriority.objects.get(person=resident)
    sign_in("/worklists/")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert axe_check() == [], "worklist"
    page.goto(f"{live_server.url}/worklists/{lead.segment}/?officer=me")
    expect(page.get_by_role("link", name=resident.reference)).to_be_visible()
    assert axe_check() == [], "filtered worklist"
    for path in ("/worklists/visits", "/worklists/team", f"/people/{resident.pk}/"):
        page.goto(f"{live_server.url}{path}")
        assert axe_check() == [], path
    page.goto(f"{live_server.url}/people/{resident.pk}/")
    page.get_by_text("Why (decided").click()
    expect(page.locator("#priority ~ details")).to_contain_text("Next action")
    page.goto(f"{live_server.url}/worklists/today")
    assert axe_check() == [], "my list"
    if lead.action_kind != "none":
        page.locator(".govuk-summary-card").first.get_by_role("button").first.click()
        expect(page.locator("#list")).to_be_visible()
        assert CaseAction.objects.count() == 1
    assert console_errors == []
