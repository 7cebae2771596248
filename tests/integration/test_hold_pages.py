"""Officer pages for holds: banner, lists, worklist, notices, a person's holds and what was not sent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from fairdebt.comms import senders as comms
from fairdebt.holds import breathing_space as bs
from fairdebt.holds.models import Hold, RegisterNotice, Vulnerability

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
PASSWORD = "a long password for tests"
HOLD_PERMS = ("add_hold", "change_hold", "add_vulnerability")


def sign_in(client, *perms):
    user = User.objects.create_user(f"u{User.objects.count()}", password=PASSWORD)
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    client.login(username=user.username, password=PASSWORD)
    return user


def start_notice(ref="BS0001", surname="Smith", forenames="Jane", dob="1980-02-03", debts=("RENT1",)):
    today = timezone.localdate()
    return {
        "id": f"N-{ref}", "sequence": 1, "event": "moratorium_started",
        "moratorium": {"reference": ref, "type": "standard", "registered_on": (today - dt.timedelta(days=1)).isoformat(),
                       "start_date": today.isoformat(), "end_date": (today + dt.timedelta(days=59)).isoformat()},
        "debtor": {"forenames": forenames, "surname": surname, "date_of_birth": dob, "address": {"lines": ["1 High Street"], "postcode": "E8 1AA"}},
        "debts": [{"creditor_reference": r} for r in debts],
        "adviser": {"name": "A Adviser", "organisation": "Advice Org", "email": "adviser@example.org"},
    }


def test_the_single_view_shows_a_hold_banner_and_what_was_not_sent(client, resident, debts):
    sign_in(client)
    assert 'id="hold-banner"' not in client.get(f"/people/{resident.pk}/").content.decode()
    bs.receive(start_notice())
    comms.send_letter(resident, debts["RENT1"], template="arrears_reminder", key="x")
    page = client.get(f"/people/{resident.pk}/").content.decode()
    assert 'id="hold-banner"' in page and "Breathing Space BS0001 until" in page
    assert "What we did not send and why (1)" in page
    # The debt picture leads with the hold too.
    assert "Breathing Space on Council tax 2024/25 and Rent account until" in page.split('id="debt-picture"')[1].split("</div>")[0]
    not_sent = client.get(f"/people/{resident.pk}/not-sent").content.decode()
    assert "Letter (arrears_reminder)" in not_sent and "Breathing Space until" in not_sent


def test_lists_worklist_and_moratorium_page(client, resident):
    sign_in(client)
    bs.receive(start_notice())
    m = Hold.objects.get().moratorium
    assert "BS0001" in client.get("/holds/").content.decode()
    assert client.get("/holds/?ending=14").status_code == 200
    assert "is the last day to ask the adviser to review" in client.get("/holds/worklist").content.decode()
    page = client.get(f"/holds/breathing-space/{m.pk}").content.decode()
    assert "Council tax 2025/26" in page and "not held because" in page  # the other-debts report
    assert "Enforcement agents told" in page
    response = client.post(f"/holds/breathing-space/{m.pk}", {"grounds": "", "detail": "x"})
    assert "Choose the grounds for the review" in response.content.decode()
    client.post(f"/holds/breathing-space/{m.pk}", {"grounds": "sufficient_funds", "detail": "Has savings"})
    assert m.review_requests.get().grounds == "sufficient_funds"


def test_an_unmatched_notice_is_matched_by_hand(client, resident):
    bs.receive(start_notice("BS9", surname="Nobody", forenames="Nemo", dob="1999-01-01", debts=()))
    notice = RegisterNotice.objects.get()
    sign_in(client, *HOLD_PERMS)
    assert "BS9" in client.get("/holds/notices/").content.decode()
    page = client.post(f"/holds/notices/{notice.pk}", {"person": "nobody"}).content.decode()
    assert "Enter the person&#39;s reference" in page or "Enter the person's reference" in page
    response = client.post(f"/holds/notices/{notice.pk}", {"person": resident.reference})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == "applied" and notice.person == resident


def test_placing_and_ending_a_hold_from_the_person_page(client, resident, debts):
    sign_in(client, *HOLD_PERMS)
    today = timezone.localdate()
    bad = client.post(f"/people/{resident.pk}/holds", {"kind": "pause", "reason_code": "POP", "start-day": "31", "start-month": "2", "start-year": "2026"})
    assert "must be a real date" in bad.content.decode()
    missing_end = client.post(f"/people/{resident.pk}/holds", {"kind": "pause", "reason_code": "POP", "start-day": today.day, "start-month": today.month, "start-year": today.year})
    assert "needs an end date" in missing_end.content.decode()
    until = today + dt.timedelta(days=7)
    ok = client.post(f"/people/{resident.pk}/holds", {
        "kind": "dispute", "reason": "Disputes the PCN", "debts": [debts["CT1-24"].pk],
        "start-day": today.day, "start-month": today.month, "start-year": today.year,
        "until-day": until.day, "until-month": until.month, "until-year": until.year,
    })
    assert ok.status_code == 302
    hold = Hold.objects.get()
    assert hold.kind == "dispute" and list(hold.held_debts.values_list("debt_id", flat=True)) == [debts["CT1-24"].pk]
    client.post(f"/people/{resident.pk}/holds/{hold.pk}/end", {"end_reason": "Resolved"})
    hold.refresh_from_db()
    assert hold.until == today and hold.end_reason == "Resolved"


def test_placing_holds_needs_permission(client, resident):
    sign_in(client)
    response = client.post(f"/people/{resident.pk}/holds", {"kind": "deceased", "start-day": "1", "start-month": "1", "start-year": "2026"})
    assert response.status_code == 403 and not Hold.objects.exists()


def test_vulnerability_details_need_their_own_permission(client, resident):
    sign_in(client, *HOLD_PERMS)
    review = timezone.localdate() + dt.timedelta(days=60)
    response = client.post(f"/people/{resident.pk}/vulnerability", {
        "driver": "health", "severity": "medium", "impact": "Recovering from surgery", "duration": "temporary",
        "support_needs": "Phone after 2pm", "consent": "yes", "consent_scope": "Income team",
        "review-day": review.day, "review-month": review.month, "review-year": review.year,
    })
    assert response.status_code == 302 and Vulnerability.objects.count() == 1
    page = client.get(f"/people/{resident.pk}/holds").content.decode()
    assert "Recovering from surgery" not in page and "special category data" in page
    client.logout()
    sign_in(client, "view_vulnerability_details")
    assert "Recovering from surgery" in client.get(f"/people/{resident.pk}/holds").content.decode()


def test_recording_a_breathing_space_by_hand(client, resident):
    sign_in(client, *HOLD_PERMS)
    today = timezone.localdate() - dt.timedelta(days=1)
    response = client.post(f"/people/{resident.pk}/breathing-space", {
        "reference": "BS-HAND-1", "type": "standard", "registered-day": today.day, "registered-month": today.month,
        "registered-year": today.year, "debt_refs": "RENT1", "adviser_name": "B Adviser",
    })
    assert response.status_code == 302
    hold = Hold.objects.get()
    assert hold.kind == "breathing_space" and hold.moratorium.reference == "BS-HAND-1"
    assert hold.moratorium.expected_end == today + dt.timedelta(days=60)
    again = client.post(f"/people/{resident.pk}/breathing-space", {
        "reference": "BS-HAND-1", "type": "standard", "registered-day": today.day, "registered-month": today.month, "registered-year": today.year,
    })
    assert "already recorded" in again.content.decode()
