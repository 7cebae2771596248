"""Breathing Space notices, holds of every kind, and what the guard lets out (real database)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from fairdebt.accounts.models import LedgerEntry
from fairdebt.comms import senders as comms
from fairdebt.holds import breathing_space as bs
from fairdebt.holds import services
from fairdebt.holds.models import HeldDebt, Hold, Moratorium, RegisterNotice, Suppression
from fairdebt.outbox import services as outbox
from fairdebt.outbox.models import OutboxMessage
from fairdebt.recovery import senders as recovery

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
D = dt.date


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def notice(ref="BS0001", registered=D(2026, 1, 14), type="standard", debts=("RENT1",), event="moratorium_started",
           surname="Smith", forenames="Jane", dob="1980-02-03", n="1", ended=None, end_date="auto"):
    start = registered + dt.timedelta(days=1)
    if end_date == "auto":
        end_date = None if type == "mental_health_crisis" else (start + dt.timedelta(days=59)).isoformat()
    return {
        "id": f"BSN-{ref}-{n}", "sequence": int(n), "event": event, "notified_at": "2026-01-15T08:00:00Z",
        "moratorium": {"reference": ref, "type": type, "registered_on": registered.isoformat(), "start_date": start.isoformat(), "end_date": end_date},
        "debtor": {"forenames": forenames, "surname": surname, "date_of_birth": dob, "nino": None,
                   "address": {"lines": ["1 High Street", "London"], "postcode": "E8 1AA"}},
        "debts": [{"creditor_reference": r, "debt_type": "", "amount_pence": None, "added_on": registered.isoformat()} for r in debts],
        "adviser": {"name": "A Adviser", "organisation": "Debt Advice Org", "fca_reference": "123456", "email": "adviser@example.org", "phone": "0300 000 0000"},
        "ended": ended,
    }


def test_a_breathing_space_holds_every_eligible_debt_in_every_service_from_the_day_it_arrives(resident, debts, joint, today):
    received = bs.receive(notice(), received_at=at(today))
    assert received.status == "applied" and received.person == resident
    m = Moratorium.objects.get(reference="BS0001")
    assert (m.registered_on, m.start_date, m.expected_end, m.received_on) == (D(2026, 1, 14), D(2026, 1, 15), D(2026, 3, 15), today)
    assert m.adviser_name == "A Adviser" and m.flags == []
    hold = m.holds.get()
    assert hold.kind == "breathing_space" and hold.start == today and hold.until == D(2026, 3, 15)
    held = {h.debt.debt_ref: h.why for h in HeldDebt.objects.filter(hold=hold).select_related("debt")}
    # Found in ALL services, not only the debt the adviser listed; 2025/26 council tax does not qualify yet.
    assert set(held) == {"CT1-24", "RENT1"}
    report = m.other_debts_report
    assert [x["reference"] for x in report["not_held"]] == ["CT1-25"]
    assert "no reminder (reg 23(1))" in report["not_held"][0]["why"]
    # The enforcement agent holding 2024/25 is told to stop, through the outbox; the adviser gets the report.
    agent = OutboxMessage.objects.get(channel="agent")
    assert agent.debt == debts["CT1-24"] and agent.purpose == "agent_stop" and agent.status == "queued"
    assert m.agents_notified_at is not None
    adviser = OutboxMessage.objects.get(template="breathing_space_other_debts")
    assert adviser.recipient == "adviser" and adviser.status == "queued" and m.other_debts_reported_at is not None

    # Demands on held debts are refused and recorded; for the joint debtor too.
    for person, debt in ((resident, "RENT1"), (resident, "CT1-24"), (joint, "CT1-24")):
        result = comms.send_letter(person, debts[debt], template="arrears_reminder", key=f"r-{person.pk}-{debt}", on=today)
        assert not result.sent and result.message.status == "suppressed"
        assert result.message.suppression.hold == hold
    # Interest, fees and charges are frozen: refused, logged, and the ledger is unchanged.
    before = LedgerEntry.objects.count()
    refused = recovery.add_fee(resident, debts["CT1-24"], amount=7000, reason="enforcement costs", key="fee-1", on=today)
    assert isinstance(refused, Suppression) and refused.rule == "freeze_charges" and LedgerEntry.objects.count() == before
    # Ongoing liabilities are still billed, with the wording allowed during a moratorium; other debts go on.
    ongoing = comms.send_letter(resident, debts["RENT1"], template="rent_due", key="ongoing-1", purpose="ongoing", on=today)
    assert ongoing.sent and ongoing.message.adjustments == ["moratorium_wording"]
    assert comms.send_letter(resident, debts["CT1-25"], template="instalment_reminder", key="ct25", on=today).sent
    assert isinstance(recovery.add_fee(resident, debts["CT1-25"], amount=7000, reason="summons costs", key="fee-2", on=today), LedgerEntry)

    # The worklist shows the creditor review deadline (day 20) and, later, the midway review window (days 26-35).
    tasks = services.worklist(today, horizon_days=30)
    texts = " ".join(t.what for t in tasks)
    assert "3 February 2026 is the last day to ask the adviser to review Rent account in BS0001 (reg 17)." in texts
    assert [t.due for t in services.worklist(D(2026, 2, 3), horizon_days=0) if "(reg 17)" in t.what] == [D(2026, 2, 3)] * 2
    assert not [t for t in services.worklist(D(2026, 2, 4), horizon_days=0) if "(reg 17)" in t.what]
    midway = [t for t in services.worklist(D(2026, 2, 9)) if t.what.startswith("Midway review")]
    assert midway and midway[0].opens == D(2026, 2, 9) and midway[0].due == D(2026, 2, 18)


def test_the_same_notice_twice_changes_nothing_and_a_contradiction_is_flagged(resident, today):
    first = bs.receive(notice(), received_at=at(today))
    again = bs.receive(notice(), received_at=at(today))
    assert again.pk == first.pk and Moratorium.objects.count() == 1 and Hold.objects.count() == 1
    other = notice(registered=D(2026, 1, 10), n="2")
    contradicting = bs.receive(other, received_at=at(today))
    assert contradicting.status == "conflict" and "different details" in contradicting.problem
    assert Moratorium.objects.count() == 1


def test_overlapping_moratoria_and_a_repeat_within_12_months_are_flagged(resident, today):
    bs.receive(notice("BS1", registered=D(2025, 3, 1)), received_at=at(D(2025, 3, 2)))
    bs.receive(notice("BS1", event="moratorium_ended", n="2", ended={"date": "2025-04-29", "reason": "expired"}), received_at=at(D(2025, 4, 30)))
    second = bs.receive(notice("BS2", n="3"), received_at=at(today))
    assert second.status == "conflict"
    assert "ended on 29 April 2025, within 12 months" in second.problem
    third = bs.receive(notice("BS3", n="4", type="mental_health_crisis"), received_at=at(today))
    assert "Overlaps moratorium BS2" in third.problem
    # Flagged, but the protection still applies: doubt never lifts a hold.
    assert Moratorium.objects.get(reference="BS3").holds.get().until is None


def test_an_unknown_person_is_kept_for_matching_by_hand(resident, today, django_user_model):
    kept = bs.receive(notice("BS9", surname="Nobody", forenames="Nemo", dob="1999-09-09", debts=("NOPE1",)), received_at=at(today))
    assert kept.status == "unmatched" and "match by hand" in kept.problem and kept.initials == "N N"
    assert any("BS9" in t.what for t in services.worklist(today))
    officer = django_user_model.objects.create_user("officer")
    applied = bs.match_by_hand(kept, resident, officer)
    assert applied.status == "applied" and applied.resolved_by == officer
    assert Moratorium.objects.get(reference="BS9").person == resident


def test_references_of_one_person_and_details_of_another_are_a_conflict(resident, joint, today):
    # John's details, but Jane's rent reference: shown to the officer, never guessed.
    kept = bs.receive(notice("BS7", forenames="John", surname="Smith", dob=None, debts=("TEN1",)), received_at=at(today))
    assert kept.status in {"conflict", "ambiguous"} and kept.candidates
    assert not Moratorium.objects.exists()


def test_crisis_moratorium_has_no_end_until_the_register_ends_it(resident, debts, today):
    bs.receive(notice("MH1", type="mental_health_crisis"), received_at=at(today))
    hold = Hold.objects.get()
    assert hold.kind == "mental_health_crisis" and hold.until is None
    assert not comms.send_sms(resident, debts["RENT1"], template="x", key="a", on=D(2027, 1, 1)).sent
    bs.receive(notice("MH1", event="moratorium_ended", n="2", ended={"date": "2026-04-30", "reason": "treatment ended + 30 days"}), received_at=at(D(2026, 5, 1)))
    hold.refresh_from_db()
    assert hold.until == D(2026, 4, 30)
    assert comms.send_sms(resident, debts["RENT1"], template="x", key="b", on=D(2026, 5, 1)).sent


def test_a_debt_added_later_has_its_own_review_clock(resident, debts, today):
    bs.receive(notice(debts=()), received_at=at(today))
    hold = Hold.objects.get()
    HeldDebt.objects.filter(hold=hold, debt=debts["CT1-25"]).delete()  # not held at the start
    added = bs.receive(notice(event="debt_added", n="2", debts=("CT1-25",)), received_at=at(D(2026, 1, 25)))
    assert added.status == "applied"
    row = HeldDebt.objects.get(hold=hold, debt=debts["CT1-25"])
    assert row.added_on == D(2026, 1, 25)
    deadlines = [t for t in services.worklist(D(2026, 2, 13), horizon_days=0) if "review Council tax 2025/26" in t.what]
    assert deadlines and deadlines[0].due == D(2026, 2, 13)


def test_a_cancelled_moratorium_stops_holding(resident, debts, today):
    bs.receive(notice(), received_at=at(today))
    bs.receive(notice(event="moratorium_cancelled", n="2", ended={"date": "2026-02-01", "reason": "debt solution in place"}), received_at=at(D(2026, 2, 1)))
    m = Moratorium.objects.get()
    assert m.cancelled and m.ended_on == D(2026, 2, 1)
    assert not comms.send_letter(resident, debts["RENT1"], template="x", key="k1", on=D(2026, 2, 1)).sent
    assert comms.send_letter(resident, debts["RENT1"], template="x", key="k2", on=D(2026, 2, 2)).sent


def test_a_change_notice_for_an_unknown_moratorium_is_kept(resident, today):
    kept = bs.receive(notice("GHOST", event="moratorium_ended", ended={"date": "2026-01-20", "reason": "x"}), received_at=at(today))
    assert kept.status == "unmatched" and "no moratorium GHOST" in kept.problem


def test_a_hold_placed_after_queueing_still_stops_the_message_at_dispatch(resident, debts, today, tmp_path):
    queued = comms.send_letter(resident, debts["RENT1"], template="arrears_reminder", key="q1", on=today)
    assert queued.sent and queued.message.status == "queued"
    bs.receive(notice(), received_at=at(today))
    from fairdebt.outbox import transports

    counts = outbox.dispatch(on=today, transport_for=lambda channel: transports.FileTransport(channel, tmp_path))
    queued.message.refresh_from_db()
    assert queued.message.status == "suppressed" and "(checked again when sending)" in queued.message.suppression.sender
    assert counts["suppressed"] == 1 and counts["sent"] == 2  # the agent's stop notice and the adviser's report
    lines = [json.loads(x) for f in tmp_path.rglob("*.jsonl") for x in f.read_text().splitlines()]
    assert {x["template"] for x in lines} == {"breathing_space_stop", "breathing_space_other_debts"}
    assert outbox.dispatch(on=today, transport_for=lambda c: transports.FileTransport(c, tmp_path)) == {"sent": 0, "suppressed": 0, "failed": 0}


def test_submitting_the_same_message_twice_sends_it_once(resident, debts, today):
    a = comms.send_letter(resident, debts["RENT1"], template="x", key="same", on=today)
    b = comms.send_letter(resident, debts["RENT1"], template="x", key="same", on=today)
    assert a.message.pk == b.message.pk and not b.new and OutboxMessage.objects.count() == 1


# -- other holds ------------------------------------------------------------------------------


def test_a_pause_needs_a_reason_and_an_end_date(resident, today):
    with pytest.raises(services.HoldError, match="Choose a pause reason"):
        services.place_hold(resident, "pause", start=today, until=today)
    with pytest.raises(services.HoldError, match="needs an end date"):
        services.place_hold(resident, "pause", start=today, reason_code="POP")
    with pytest.raises(services.HoldError, match="needs a comment"):
        services.place_hold(resident, "pause", start=today, until=today, reason_code="GEN")
    hold = services.place_hold(resident, "pause", start=today, until=D(2026, 1, 31), reason_code="POP", reason="Will pay on payday")
    assert hold.label == "Paused: Promise of payment"


def test_benefit_claim_pending_stops_court_action_on_rent_only(resident, debts, today):
    services.place_hold(resident, "benefit_claim_pending", start=today, reason="UC claim made 10 January")
    assert not recovery.take_step(resident, debts["RENT1"], stage="court_claim", key="s1", on=today).sent
    assert not recovery.take_step(resident, debts["RENT1"], stage="nosp", key="s2", on=today).sent
    assert recovery.take_step(resident, debts["RENT1"], stage="reminder", key="s3", on=today).sent
    assert recovery.take_step(resident, debts["CT1-24"], stage="summons", key="s4", on=today).sent


def test_debt_advice_referral_pauses_recovery_for_28_days_by_default(resident, debts, today):
    hold = services.place_hold(resident, "debt_advice", start=today, reason="Referred to StepChange")
    assert hold.until == today + dt.timedelta(days=27)
    assert not comms.send_letter(resident, debts["RENT1"], template="x", key="a", on=hold.until).sent
    assert comms.send_letter(resident, debts["RENT1"], template="x", key="b", on=hold.until + dt.timedelta(days=1)).sent


def test_a_dispute_holds_only_the_disputed_debt(resident, debts, today):
    services.place_hold(resident, "dispute", start=today, reason="Says the PCN was paid", debts=[debts["CT1-24"]])
    assert not comms.send_letter(resident, debts["CT1-24"], template="x", key="a", on=today).sent
    assert comms.send_letter(resident, debts["RENT1"], template="x", key="b", on=today).sent


def test_insolvency_covers_debts_owed_when_the_order_was_made(resident, debts):
    hold = services.place_hold(resident, "insolvency", start=D(2025, 1, 10), reason_code="dro", reason="DRO made 10 January 2025")
    assert set(hold.held_debts.values_list("debt__debt_ref", flat=True)) == {"CT1-24", "RENT1"}
    assert comms.send_letter(resident, debts["CT1-25"], template="x", key="a", on=D(2026, 1, 15)).sent


def test_deceased_stops_contact_but_the_estate_can_be_written_to(resident, debts, joint, today):
    services.place_hold(resident, "deceased", start=today, reason="Death reported by daughter")
    assert not comms.send_letter(resident, debts["RENT1"], template="x", key="a", purpose="ongoing", on=today).sent
    assert comms.send_letter(resident, debts["RENT1"], template="estate", key="b", purpose="estate", on=today).sent
    assert comms.send_letter(joint, debts["CT1-24"], template="x", key="c", on=today).sent  # the survivor is still liable


def test_vulnerability_effects_come_from_the_policy(resident, debts, today):
    services.record_vulnerability(
        resident, driver="health", severity="high", impact="Hospital stay; cannot deal with post", duration="temporary",
        support_needs="Call her sister first", consent_given=True, consent_scope="Income team and housing officer",
        review_on=today + dt.timedelta(days=90), letters_only=True, on=today,
    )
    hold = Hold.objects.get(kind="vulnerability")
    assert set(hold.effects) == {"pause_enforcement", "no_enforcement_agents", "letters_only"}
    assert not recovery.refer_to_enforcement(resident, debts["CT1-24"], agent="EA Ltd", key="ea", on=today).sent
    assert not comms.send_sms(resident, debts["RENT1"], template="x", key="sms", on=today).sent
    letter = comms.send_letter(resident, debts["RENT1"], template="x", key="l", on=today)
    assert letter.sent and set(letter.message.adjustments) == {"specialist_team", "supportive_tone"}
    with pytest.raises(services.HoldError, match="review date"):
        services.record_vulnerability(resident, driver="health", severity="low", impact="x", duration="temporary", support_needs="",
                                      consent_given=False, consent_scope="", review_on=today, on=today)


def test_ending_a_hold_lets_recovery_resume_and_breathing_space_cannot_be_ended_by_hand(resident, debts, today):
    hold = services.place_hold(resident, "complaint", start=today, reason="Complaint about the bailiff")
    assert not recovery.take_step(resident, debts["RENT1"], stage="final_notice", key="a", on=today).sent
    services.end_hold(hold, today, "Complaint answered")
    assert recovery.take_step(resident, debts["RENT1"], stage="final_notice", key="b", on=today + dt.timedelta(days=1)).sent
    bs.receive(notice(), received_at=at(today))
    with pytest.raises(services.HoldError, match="register"):
        services.end_hold(Hold.objects.get(kind="breathing_space"), today, "x")


def test_suppressions_are_append_only(resident, debts, today):
    services.place_hold(resident, "dispute", start=today, reason="x")
    comms.send_letter(resident, debts["RENT1"], template="x", key="a", on=today)
    s = Suppression.objects.get()
    s.reason = "nothing to see"
    with pytest.raises(Exception, match="append-only"):
        s.save()


def test_notices_are_kept_even_when_they_cannot_be_applied(resident, today):
    bs.receive(notice("BS9", surname="Nobody", forenames="Nemo", dob="1999-09-09", debts=()), received_at=at(today))
    assert RegisterNotice.objects.filter(status="unmatched").count() == 1



def test_joint_debtors_and_payments_during_the_moratorium_are_recorded(resident, joint, debts, today, extract):
    from fairdebt.ingest import services as ingest

    bs.receive(notice(), received_at=at(today))
    m = Moratorium.objects.get()
    assert m.other_debts_report["joint_debtors"] == [joint.reference]
    ingest.ingest_file("housing.transactions", extract("housing.transactions", [
        dict(transaction_ref="H3", debt_ref="RENT1", kind="RPY", amount="-120.00", effective_date="2026-01-20", method="DD"),
        dict(transaction_ref="H0", debt_ref="RENT1", kind="RPY", amount="-10.00", effective_date="2026-01-02"),
    ]))
    assert [(p.effective_date, p.amount_pence) for p in services.payments_during(m)] == [(D(2026, 1, 20), -12000)]
    # A source system that adds a fee during the moratorium is caught, to be reversed there.
    ingest.ingest_file("housing.transactions", extract("housing.transactions", [
        dict(transaction_ref="H4", debt_ref="RENT1", kind="CST", amount="25.00", effective_date="2026-01-21"),
    ], name="costs.csv"))
    assert [(c.source_key, c.amount_pence) for c in services.charges_during(m)] == [("H4", 2500)]


def test_a_crisis_moratorium_ends_30_days_after_treatment_when_the_notice_gives_only_that(resident, today):
    bs.receive(notice("MH2", type="mental_health_crisis"), received_at=at(today))
    bs.receive(notice("MH2", event="moratorium_ended", n="2", ended={"treatment_end": "2026-03-01", "reason": "treatment ended"}), received_at=at(D(2026, 3, 2)))
    assert Moratorium.objects.get().ended_on == D(2026, 3, 31)


def test_a_death_in_a_source_system_places_a_deceased_hold_once(resident, debts, extract, today):
    from fairdebt.ingest import services as ingest

    ingest.ingest_file("housing.accounts", extract("housing.accounts", [dict(
        account_ref="TEN1", party_ref="P-1", role="MAIN", tenure="SEC", forename="Jane", surname="Smith",
        date_of_birth="1980-02-03", nino="AB123456C", deceased_on="2026-01-10")], name="deaths.csv"))
    assert services.sync_deceased(today) == 1 and services.sync_deceased(today) == 0
    hold = Hold.objects.get(kind="deceased")
    assert hold.person == resident and hold.start == D(2026, 1, 10) and hold.source == "system"
    assert not comms.send_letter(resident, debts["RENT1"], template="x", key="d", on=today).sent


def test_a_new_hold_policy_version_changes_new_holds_and_old_ones_keep_theirs(resident, debts, today):
    from fairdebt.holds.models import HoldPolicyVersion

    first = services.place_hold(resident, "complaint", start=today, reason="About a letter")
    version = HoldPolicyVersion(effective_from=today, note="Complaints stop recovery", data={"effects": {"complaint": ["stop_recovery"]}, "debt_advice_days": 42})
    version.full_clean()
    version.save()
    second = services.place_hold(resident, "complaint", start=today, reason="About the bailiff")
    assert first.effects == ["pause_enforcement"] and first.policy_version is None
    assert second.effects == ["stop_recovery"] and second.policy_version == version
    assert services.place_hold(resident, "debt_advice", start=today, reason="x").until == today + dt.timedelta(days=41)
    bad = HoldPolicyVersion(effective_from=today, data={"effects": {"complaint": ["shout"]}})
    with pytest.raises(Exception, match="unknown effects"):
        bad.full_clean()
