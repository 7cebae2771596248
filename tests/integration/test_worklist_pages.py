"""Worklist pages: queues, my list with one-click outcomes, visits by area, team load and absence."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from fairdebt.worklists import services
from fairdebt.worklists.models import OUTCOMES, Allocation, CaseAction, Officer, PersonPriority

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
PASSWORD = "a long password for tests"


def sign_in(client, *perms):
    user = User.objects.create_user(f"u{User.objects.count()}", password=PASSWORD)
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    client.login(username=user.username, password=PASSWORD)
    return user


@pytest.fixture
def decided(resident):
    on = timezone.localdate()
    services.prioritise(on)
    return PersonPriority.objects.get(person=resident)


def test_queues_show_each_workstream_with_filters(client, decided):
    sign_in(client)
    page = client.get(f"/worklists/{decided.segment}/").content.decode()
    assert decided.person.reference in page and decided.action.replace("_", " ").capitalize() in page
    assert decided.person.reference in client.get(f"/worklists/{decided.segment}/?officer=none&sort=arrears").content.decode()
    assert decided.person.reference not in client.get(f"/worklists/{decided.segment}/?officer=me").content.decode()
    other = next(s for s in ("prevent", "resolve", "recover") if s != decided.segment)
    assert decided.person.reference not in client.get(f"/worklists/{other}/").content.decode()


def test_the_single_view_says_why(client, decided):
    sign_in(client)
    page = client.get(f"/people/{decided.person_id}/").content.decode()
    assert 'id="priority"' in page and "Score" in page and "Next action" in page and "rule ‘" in page


def test_my_list_records_an_outcome_in_one_click(client, decided):
    user = sign_in(client)
    officer = Officer.objects.create(user=user, workstreams=["prevent", "resolve", "recover"], skills=["vulnerability"])
    services.allocate()
    if decided.action_kind == "none":
        pytest.skip("no prompted action for this resident today")
    page = client.get("/worklists/today").content.decode()
    assert decided.person.reference in page
    outcome = next(iter(OUTCOMES[decided.action_kind]))
    client.post(f"/worklists/record/{decided.person_id}", {"outcome": outcome, "notes": "Spoke to her"})
    action = CaseAction.objects.get()
    assert action.officer == user and action.outcome == outcome and action.notes == "Spoke to her"
    assert decided.person.reference not in client.get("/worklists/today").content.decode()
    assert "Spoke to her" in client.get(f"/people/{decided.person_id}/").content.decode()
    assert officer.allocations.count() >= 1


def test_team_leader_marks_an_officer_away_and_cases_move(client, decided):
    sign_in(client, "change_officer")
    a = Officer.objects.create(user=User.objects.create_user("a"), workstreams=["prevent", "resolve", "recover"], skills=["vulnerability"])
    b = Officer.objects.create(user=User.objects.create_user("b"), workstreams=["prevent", "resolve", "recover"], skills=["vulnerability"])
    services.allocate()
    holder = Allocation.objects.get(person=decided.person, ended_on__isnull=True).officer
    page = client.get("/worklists/team").content.decode()
    assert "Cases / capacity" in page
    away = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    client.post("/worklists/team", {"officer": holder.pk, "away_until": away})
    assert Allocation.objects.get(person=decided.person, ended_on__isnull=True).officer == ({a, b} - {holder}).pop()
    assert "Cases reallocated" in client.get("/worklists/team").content.decode()


def test_only_team_leaders_change_absence(client, decided):
    sign_in(client)
    officer = Officer.objects.create(user=User.objects.create_user("a"), workstreams=["recover"])
    assert client.post("/worklists/team", {"officer": officer.pk, "away_until": "2030-01-01"}).status_code == 403


def test_visits_are_grouped_by_area(client, resident):
    from fairdebt.people.models import Party

    assert set(Party.objects.filter(person=resident).values_list("area", flat=True)) >= {"E8"}
    services.prioritise()
    PersonPriority.objects.filter(person=resident).update(action="home_visit", action_kind="home_visit")
    sign_in(client)
    page = client.get("/worklists/visits").content.decode()
    assert "E8 (1)" in page and resident.reference in page
