"""Nightly prioritisation over the real database, allocation without patches, prompted actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from fairdebt.accounts.models import Debt
from fairdebt.holds import services as holds
from fairdebt.worklists import services
from fairdebt.worklists.models import Allocation, CaseAction, DebtPriority, Officer, PersonPriority, PrioritisationPolicyVersion

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_every_debt_and_person_is_decided_with_its_reasons(resident, debts, joint, today):
    run = services.prioritise(today)
    assert run.debts == Debt.objects.count() == DebtPriority.objects.count()
    rent = DebtPriority.objects.get(debt=debts["RENT1"])
    assert rent.person == resident and rent.segment in {"prevent", "resolve", "recover"} and rent.action_rule
    assert rent.contributions["arrears"] == pytest.approx(0.1 * 0.002 * 24_000)
    lines = services.explain(rent)
    assert lines[0].startswith("Score") and any(line.startswith("Next action") for line in lines)
    lead = PersonPriority.objects.get(person=resident)
    assert lead.debts == 3 and lead.arrears_pence == sum(d.arrears_pence for d in Debt.objects.filter(account__liable__party__person=resident).distinct())
    # Running again the same day changes nothing.
    again = services.prioritise(today)
    assert again.changed_debts == 0 and again.changed_people == 0


def test_a_hold_changes_the_decision(resident, debts, today):
    services.prioritise(today)
    holds.place_hold(resident, "dispute", start=today, reason="Says it was paid", debts=[debts["RENT1"]])
    run = services.prioritise(today)
    assert run.changed_debts >= 1
    rent = DebtPriority.objects.get(debt=debts["RENT1"])
    assert rent.action == "no_action_held" and rent.segment == "none"


def test_champion_challenger_split_is_recorded(resident, today):
    champion = PrioritisationPolicyVersion.current(today)
    data = dict(champion.data, weights={"arrears": 0.01})
    challenger = PrioritisationPolicyVersion.objects.create(effective_from=dt.date(2000, 1, 1), note="challenger", data=data)
    champion.challenger, champion.challenger_percent, champion.challenger_seed = challenger, 50, "seed-a"
    champion.full_clean()
    champion.save()
    first = services.prioritise(today)
    variants = {p.person_id: p.variant for p in PersonPriority.objects.all()}
    services.prioritise(today)
    assert variants == {p.person_id: p.variant for p in PersonPriority.objects.all()}  # reproducible
    assert first.challenger_people == sum(1 for v in variants.values() if v == "challenger")
    for p in DebtPriority.objects.all():
        assert p.variant == variants[p.person_id]  # a person's debts are all in one arm
    arms = {a["variant"]: a for a in services.trial_results()}
    assert sum(a["people"] for a in arms.values()) == len(variants)
    assert arms.get("challenger", {}).get("people", 0) == first.challenger_people


def _officer(name, workstreams, **kw):
    return Officer.objects.create(user=User.objects.create_user(name), workstreams=workstreams, **kw)


def test_cases_go_to_officers_by_workstream_and_move_when_someone_is_away(resident, joint, today):
    services.prioritise(today)
    work = list(PersonPriority.objects.exclude(segment="none"))
    assert work
    everyone = ["prevent", "resolve", "recover"]
    a, b = _officer("a", everyone, capacity=10), _officer("b", everyone, capacity=10)
    counts = services.allocate(today)
    assert counts["allocated"] == len(work) and counts["unallocated"] == 0
    holder = Allocation.objects.get(person=resident, ended_on__isnull=True).officer
    # Again the next day: the same officers keep their cases (continuity).
    assert services.allocate(today + dt.timedelta(days=1))["kept"] == len(work)
    holder.away_until = today + dt.timedelta(days=10)
    holder.save()
    services.allocate(today + dt.timedelta(days=2))
    moved = Allocation.objects.get(person=resident, ended_on__isnull=True)
    assert moved.officer != holder and moved.officer in (a, b)
    assert Allocation.objects.filter(person=resident).count() == 2  # the history is kept


def test_a_vulnerable_resident_needs_a_trained_officer(resident, today):
    holds.record_vulnerability(resident, driver="health", severity="low", impact="x", duration="temporary", support_needs="",
                               consent_given=False, consent_scope="", review_on=today + dt.timedelta(days=30), on=today)
    services.prioritise(today)
    _officer("untrained", ["prevent", "resolve", "recover"])
    counts = services.allocate(today)
    assert not Allocation.objects.filter(person=resident).exists() and counts["unallocated"] >= 1
    trained = _officer("trained", ["prevent", "resolve", "recover"], skills=["vulnerability"])
    services.allocate(today)
    assert Allocation.objects.get(person=resident, ended_on__isnull=True).officer == trained


def test_prompted_actions_and_recording_an_outcome(resident, today):
    services.prioritise(today)
    officer = _officer("a", ["prevent", "resolve", "recover"])
    services.allocate(today)
    mine = services.prompted(officer, today)
    lead = PersonPriority.objects.get(person=resident)
    if lead.action_kind == "none":
        pytest.skip("the lead debt needs no person today")
    assert lead in mine
    with pytest.raises(ValueError, match="Choose an outcome"):
        services.record(officer.user, lead, "made_up")
    outcome = next(iter(__import__("fairdebt.worklists.models", fromlist=["OUTCOMES"]).OUTCOMES[lead.action_kind]))
    action = services.record(officer.user, lead, outcome, "note")
    assert CaseAction.objects.get() == action and action.person == resident
    assert lead not in services.prompted(officer, today)


def test_held_debts_follow_each_holds_scope(resident, debts, joint, today):
    holds.place_hold(resident, "benefit_claim_pending", start=today, reason="UC claim")  # stops court only: not held
    assert services.held_debts(today) == set()
    holds.place_hold(joint, "dispute", start=today, reason="x", debts=[debts["CT1-24"]])
    assert services.held_debts(today) == {debts["CT1-24"].pk}
    holds.place_hold(resident, "pause", start=today, until=today, reason_code="POP", reason="Payday")
    assert services.held_debts(today) == {d.pk for d in debts.values()}
    assert services.held_debts(today + dt.timedelta(days=1)) == {debts["CT1-24"].pk}


def test_the_national_book_command_decides_by_the_policy_in_force(tmp_path, today):
    """`fairdebt book DIR`: the policy version in force that day decides; a book that is not one says what to do."""
    import json as _json

    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from fairdebt.batch import book

    with pytest.raises(CommandError, match="debts.parquet"):
        call_command("book", str(tmp_path), on=today)
    pq.write_table(pa.Table.from_pylist(
        [dict(debt_id=i, person_id=i, account_type="council_tax", tenure="", recovery_stage="none", stage_date=None) for i in (1, 2)],
        pa.schema([("debt_id", pa.int64()), ("person_id", pa.int64()), ("account_type", pa.string()), ("tenure", pa.string()),
                   ("recovery_stage", pa.string()), ("stage_date", pa.date32())])), tmp_path / "debts.parquet")
    (tmp_path / "incoming").mkdir()
    pq.write_table(pa.Table.from_pylist(
        [dict(debt_id=1, kind="charge", amount=120_000, effective_date=today - dt.timedelta(days=90), due_date=None, method=""),
         dict(debt_id=2, kind="charge", amount=50_000, effective_date=today - dt.timedelta(days=30), due_date=None, method=""),
         dict(debt_id=2, kind="payment", amount=-50_000, effective_date=today - dt.timedelta(days=2), due_date=None, method="cash")],
        book._entry_schema()), tmp_path / "incoming" / "entries-1.parquet")
    from io import StringIO

    out = StringIO()
    call_command("book", str(tmp_path), on=today, json=True, stdout=out)
    figures = _json.loads(out.getvalue())
    assert figures["state"] == "folded" and figures["debts"] == 2
    assert figures["policy_version"] == PrioritisationPolicyVersion.current(today).pk
    decided = {r["debt_id"]: r for r in pq.read_table(tmp_path / "results" / today.isoformat() / "decisions.parquet").to_pylist()}
    assert decided[1]["arrears"] == 120_000 and decided[2]["arrears"] == 0
    out = StringIO()
    call_command("book", str(tmp_path), on=today + dt.timedelta(days=1), stdout=out)
    assert "state advanced" in out.getvalue()
