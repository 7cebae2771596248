"""The batch pipeline (Ibis on DuckDB) agrees with the domain: positions with domain/ledger.py, and
every debt's decision with domain/prioritisation.decide on the same features."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdebt.batch import prioritise as batch
from fairdebt.domain import ledger
from fairdebt.domain import prioritisation as rules

ON = dt.date(2026, 3, 1)
POLICY = rules.Policy.from_dict(rules.hackney_example())
DEBTS = pa.schema([("debt_id", pa.int64()), ("person_id", pa.int64()), ("account_type", pa.string()), ("tenure", pa.string()),
                   ("recovery_stage", pa.string()), ("stage_date", pa.date32())])
ENTRIES = pa.schema([("debt_id", pa.int64()), ("kind", pa.string()), ("amount", pa.int64()), ("effective_date", pa.date32()),
                     ("due_date", pa.date32()), ("method", pa.string())])


def tables(debts, entries, held=(), vulnerable=(), contacts=()):
    con = batch.connect("duckdb")
    return (
        batch.table(con, "debts", pa.Table.from_pylist(debts, DEBTS)),
        batch.table(con, "entries", pa.Table.from_pylist(entries, ENTRIES)),
        batch.table(con, "held", pa.table({"debt_id": pa.array(list(held), pa.int64())})),
        batch.table(con, "vulnerable", pa.table({"person_id": pa.array(list(vulnerable), pa.int64())})),
        batch.table(con, "contacts", pa.table({"person_id": pa.array([c[0] for c in contacts], pa.int64()),
                                               "last_contact": pa.array([c[1] for c in contacts], pa.date32())})),
    )


day = st.integers(-400, 60).map(lambda n: ON + dt.timedelta(days=n))
entry = st.one_of(
    st.builds(lambda a, d, due: ("charge", a, d, due), st.integers(1, 200_000), day, st.none() | day),
    st.builds(lambda a, d: ("payment", -a, d, None), st.integers(1, 200_000), day),
    st.builds(lambda a, d: ("cost", a, d, None), st.integers(1, 10_000), day),
    st.builds(lambda a, d: ("adjustment", a, d, None), st.integers(-5_000, 5_000).filter(bool), day),
    st.builds(lambda a, d: ("write_off", -a, d, None), st.integers(1, 10_000), day),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(entry, min_size=1, max_size=12), min_size=1, max_size=5))
def test_ledger_summary_positions_equal_the_domain_ledger(ledgers):
    debts, entries, expected = [], [], {}
    n = 0
    for debt_id, rows in enumerate(ledgers, start=1):
        debts.append(dict(debt_id=debt_id, person_id=1, account_type="housing_rent", tenure="secure", recovery_stage="none", stage_date=None))
        domain_entries = []
        for kind, amount, eff, due in rows:
            n += 1
            entries.append(dict(debt_id=debt_id, kind=kind, amount=amount, effective_date=eff, due_date=due, method=""))
            domain_entries.append(ledger.Entry(n, kind, amount, eff, eff, due))
        expected[debt_id] = ledger.position(domain_entries, ON)
    d, e, *_ = tables(debts, entries)
    got = {r["debt_id"]: r for r in batch.ledger_summary(e, ON).to_pyarrow().to_pylist()}
    for debt_id, pos in expected.items():
        row = got.get(debt_id)
        if row is None:  # nothing effective yet
            assert pos.balance == 0
            continue
        assert (row["balance"], row["arrears"], row["ongoing"]) == (pos.balance, pos.arrears, max(0, pos.balance - pos.arrears)), debt_id


def world():
    debts = [
        dict(debt_id=1, person_id=10, account_type="housing_rent", tenure="secure", recovery_stage="second_reminder", stage_date=ON - dt.timedelta(days=20)),
        dict(debt_id=2, person_id=10, account_type="council_tax", tenure="", recovery_stage="reminder", stage_date=ON - dt.timedelta(days=30)),
        dict(debt_id=3, person_id=11, account_type="housing_rent", tenure="secure", recovery_stage="none", stage_date=None),
        dict(debt_id=4, person_id=12, account_type="parking_pcn", tenure="", recovery_stage="none", stage_date=None),
        dict(debt_id=5, person_id=13, account_type="housing_rent", tenure="secure", recovery_stage="nosp", stage_date=ON - dt.timedelta(days=40)),
    ]
    entries = []
    for debt in (1, 3, 5):
        for week in range(20):
            entries.append(dict(debt_id=debt, kind="charge", amount=12_000, effective_date=ON - dt.timedelta(days=7 * (20 - week)), due_date=None, method=""))
    for i, amount in enumerate([12_000, 12_000, 6_000]):  # falling payments on debt 1
        entries.append(dict(debt_id=1, kind="payment", amount=-amount, effective_date=ON - dt.timedelta(days=60 - 14 * i), due_date=None, method="universal_credit"))
    entries += [dict(debt_id=3, kind="payment", amount=-12_000 * 19, effective_date=ON - dt.timedelta(days=3), due_date=None, method="direct_debit")]
    entries += [dict(debt_id=2, kind="charge", amount=150_000, effective_date=ON - dt.timedelta(days=300), due_date=ON - dt.timedelta(days=300), method="")]
    entries += [dict(debt_id=4, kind="charge", amount=7_000, effective_date=ON - dt.timedelta(days=20), due_date=None, method="")]
    return debts, entries


def test_every_batch_decision_is_the_domain_decision_on_the_same_features():
    debts, entries = world()
    d, e, held, vulnerable, contacts = tables(debts, entries, held=[5], vulnerable=[11], contacts=[(10, ON - dt.timedelta(days=4))])
    f = batch.features(d, batch.ledger_summary(e, ON), held, vulnerable, contacts, ON)
    feature_rows = {r["debt_id"]: r for r in f.to_pyarrow().to_pylist()}
    decided = {r["debt_id"]: r for r in batch.decide(f, POLICY).to_pyarrow().to_pylist()}
    assert set(decided) == {1, 2, 3, 4, 5}
    for debt_id, features in feature_rows.items():
        expected = rules.decide(POLICY, features)
        got = decided[debt_id]
        assert got["score"] == pytest.approx(expected.score, abs=0.011), debt_id
        assert (got["segment"], got["segment_rule"], got["rag"], got["rag_rule"], got["action"], got["action_rule"]) == (
            expected.segment, expected.segment_rule, expected.rag, expected.rag_rule, expected.action, expected.action_rule), debt_id
        assert got["overlaps"] == len(expected.overlaps), debt_id
        for name, value in expected.contributions.items():
            assert got[f"c_{name}"] == pytest.approx(value, abs=0.011)
    # The features are what the ledger says.
    one = feature_rows[1]
    assert one["payments_falling"] == 1 and one["last_payment"] == 6_000 and one["charge_amount"] == 12_000
    assert one["arrears"] == 20 * 12_000 - 30_000 and one["arrears_periods"] == 17 and one["uc_started_days"] == 60
    assert one["services_owed"] == 2 and one["days_since_contact"] == 4
    assert feature_rows[5]["held"] == 1 and decided[5]["action"] == "no_action_held"
    assert feature_rows[3]["vulnerable"] == 1 and feature_rows[3]["days_since_last_payment"] == 3


def test_champion_challenger_split_is_reproducible_and_every_debt_is_decided_once():
    debts, entries = world()
    d, e, held, vulnerable, contacts = tables(debts, entries)
    data = rules.hackney_example()
    data["weights"] = {"arrears": 0.01}
    challenger = rules.Policy.from_dict(data)
    runs = [batch.run(d, e, held, vulnerable, contacts, ON, POLICY, challenger, seed="trial-1", percent=50).to_pyarrow() for _ in range(2)]
    assert runs[0].sort_by("debt_id").equals(runs[1].sort_by("debt_id"))
    rows = runs[0].to_pylist()
    assert sorted(r["debt_id"] for r in rows) == [1, 2, 3, 4, 5]
    by_person = {}
    for r in rows:
        by_person.setdefault(r["person_id"], set()).add(r["variant"])
    assert all(len(v) == 1 for v in by_person.values())  # a person is in one arm, all their debts with them
    assert {r["variant"] for r in rows} <= {"champion", "challenger"}
    leads = {r["person_id"]: r for r in batch.people(batch.run(d, e, held, vulnerable, contacts, ON, POLICY)).to_pyarrow().to_pylist()}
    assert leads[10]["debts"] == 2 and leads[10]["lead_debt_id"] in (1, 2)


def test_policy_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match="unknown feature"):
        rules.Condition("shoe_size", ">", 3)
    with pytest.raises(ValueError, match="whole number"):
        rules.Condition("arrears", ">", 10.5)
    with pytest.raises(ValueError, match="not one of"):
        rules.Policy.from_dict({"segments": [{"name": "x", "segment": "chase", "when": []}]})
    with pytest.raises(ValueError, match="unique"):
        rules.Policy.from_dict({"actions": [{"name": "a", "action": "x"}, {"name": "a", "action": "y"}]})
