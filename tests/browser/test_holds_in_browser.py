"""Hold pages in a real browser: the banner, forms and lists, with no axe violations."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_hold_pages_work_and_have_no_axe_violations(page, live_server, staff, resident, debts, sign_in, axe_check, console_errors):
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from fairdebt.comms import senders as comms
    from fairdebt.holds import breathing_space as bs
    from fairdebt.holds.models import Moratorium, Vulnerability

    staff.user_permissions.add(*Permission.objects.filter(codename__in=["add_hold", "change_hold", "add_vulnerability", "view_vulnerability_details"]))
    today = timezone.localdate()
    bs.receive({
        "id": "N1", "event": "moratorium_started",
        "moratorium": {"reference": "BS0001", "type": "standard", "registered_on": (today - dt.timedelta(days=1)).isoformat(),
                       "start_date": today.isoformat(), "end_date": (today + dt.timedelta(days=59)).isoformat()},
        "debtor": {"forenames": "Jane", "surname": "Smith", "date_of_birth": "1980-02-03", "address": {"lines": ["1 High Street"], "postcode": "E8 1AA"}},
        "debts": [{"creditor_reference": "RENT1"}], "adviser": {"name": "A Adviser", "organisation": "Advice Org"},
    })
    bs.receive({"id": "N2", "event": "moratorium_started", "moratorium": {"reference": "BS0002", "type": "standard", "registered_on": today.isoformat()},
                "debtor": {"forenames": "Nemo", "surname": "Nobody"}, "debts": []})
    comms.send_letter(resident, debts["RENT1"], template="arrears_reminder", key="k1")
    sign_in(f"/people/{resident.pk}/")
    page.set_viewport_size({"width": 1280, "height": 900})

    banner = page.locator("#hold-banner")
    expect(banner).to_contain_text("Breathing Space BS0001 until")
    assert axe_check() == [], "single view with a hold banner"
    banner.get_by_role("link", name="What we did not send and why (1)").click()
    expect(page.get_by_role("table")).to_contain_text("Letter (arrears_reminder)")
    assert axe_check() == [], "what we did not send"

    for path, name in [("/holds/", "holds list"), ("/holds/?ending=14", "ending soon"), ("/holds/worklist", "worklist"),
                       ("/holds/notices/", "notices"), (f"/holds/breathing-space/{Moratorium.objects.get(reference='BS0001').pk}", "moratorium")]:
        page.goto(f"{live_server.url}{path}")
        assert axe_check() == [], name

    # An unmatched notice is matched by hand; a wrong reference says what to do.
    page.goto(f"{live_server.url}/holds/notices/")
    page.get_by_role("link", name="BS0002").click()
    page.get_by_label("Person reference").fill("nobody")
    page.get_by_role("button", name="Match and apply").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the person's reference")
    assert axe_check() == [], "notice with an error"
    page.get_by_label("Person reference").fill(resident.reference)
    page.get_by_role("button", name="Match and apply").click()
    expect(page.get_by_role("heading", name="Holds")).to_be_visible()
    assert axe_check() == [], "a person's holds"

    # A pause with a missing end date is refused with the reason; then placed.
    page.get_by_label("Kind of hold").select_option("pause")
    page.get_by_label("Pause reason or kind of insolvency").select_option("POP")
    start = page.get_by_role("group", name="Start date")
    start.get_by_label("Day").fill(str(today.day))
    start.get_by_label("Month").fill(str(today.month))
    start.get_by_label("Year").fill(str(today.year))
    page.get_by_role("button", name="Place hold").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("A pause needs an end date")
    assert axe_check() == [], "place a hold, with an error"

    page.goto(f"{live_server.url}/people/{resident.pk}/vulnerability")
    page.get_by_label("Impact").fill("Hospital stay")
    page.get_by_role("button", name="Record vulnerability").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the review date")
    assert axe_check() == [], "vulnerability form with errors"
    page.get_by_label("Yes").check()
    page.get_by_label("What they agreed to").fill("Income team")
    review = today + dt.timedelta(days=30)
    group = page.get_by_role("group", name="Review date")
    group.get_by_label("Day").fill(str(review.day))
    group.get_by_label("Month").fill(str(review.month))
    group.get_by_label("Year").fill(str(review.year))
    page.get_by_role("button", name="Record vulnerability").click()
    expect(page.get_by_text("Hospital stay")).to_be_visible()
    assert Vulnerability.objects.count() == 1
    assert console_errors == []
