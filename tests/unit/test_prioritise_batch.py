"""The batch pipeline (Ibis on DuckDB) agrees with the domain: positions with domain/ledger.py, and
every debt's decision with domain/prioritisation.decide on the same features."""

from __future__ import annotations

import datetime as dt
import os

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
    decided = {r["debt_id"]: r for r in batch.labelled(batch.decide(f, POLICY), POLICY).to_pyarrow().to_pylist()}
    assert set(decided) == {1, 2, 3, 4, 5}
    for debt_id, features in feature_rows.items():
        expected = rules.decide(POLICY, features)
        got = decided[debt_id]
        assert got["score"] == expected.score, debt_id  # the same doubles, in the same order
        assert (got["segment"], got["segment_rule"], got["rag"], got["rag_rule"], got["action"], got["action_rule"]) == (
            expected.segment, expected.segment_rule, expected.rag, expected.rag_rule, expected.action, expected.action_rule), debt_id
        assert got["overlaps"] == len(expected.overlaps), debt_id
        for name, value in expected.contributions.items():
            assert got[f"c_{name}"] == pytest.approx(value, rel=1e-6)  # stored as 32-bit floats, for display
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
    decided = batch.run(d, e, held, vulnerable, contacts, ON, POLICY)
    leads = {r["person_id"]: r for r in batch.leads(batch.people(decided, POLICY), decided).to_pyarrow().to_pylist()}
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


STAGES = ["none", "invoice", "reminder", "second_reminder", "final_notice", "summons", "liability_order", "nosp"]
TYPES = ["housing_rent", "council_tax", "business_rates", "parking_pcn", "dwp_benefit_overpayment"]
INTS = [f for f, (kind, _) in rules.FEATURES.items() if kind == "int"]
NULLABLE = {"uc_started_days", "days_since_contact"}


@st.composite
def books(draw):
    """Feature rows as the batch computes them, for a book of one or several services."""
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True))
    rows = []
    for debt_id in range(1, draw(st.integers(1, 25)) + 1):
        row = {f: draw(st.integers(0, 3) | st.integers(0, 200_000)) for f in INTS}
        for f in ("held", "vulnerable", "payments_falling", "arrangement_live"):
            row[f] = draw(st.integers(0, 1))
        for f in NULLABLE:
            row[f] = draw(st.none() | st.integers(0, 400))
        row.update(debt_id=debt_id, person_id=draw(st.integers(1, 6)), account_type=draw(st.sampled_from(types)),
                   tenure="secure", recovery_stage=draw(st.sampled_from(STAGES)))
        rows.append(row)
    return rows


# About 1.8 s an example on a slow host (106 s for 60): make test runs 15, FAIRDEBT_LONG_CHECKS=1 runs 60.
PRUNED_EXAMPLES = 60 if os.environ.get("FAIRDEBT_LONG_CHECKS") else 15


@pytest.mark.slow
@settings(max_examples=PRUNED_EXAMPLES, deadline=None)
@given(books())
def test_rules_pruned_to_the_services_in_the_book_decide_as_the_domain_does(rows):
    """Rules for services the book does not hold are left out, and a service test every debt passes
    is dropped; neither may change any decision (domain.decide sees every rule)."""
    import ibis

    schema = pa.schema([("debt_id", pa.int64()), ("person_id", pa.int64())]
                       + [(f, pa.int64() if kind == "int" else pa.string()) for f, (kind, _) in rules.FEATURES.items()])
    t = batch.table(batch.connect("duckdb"), "features", pa.Table.from_pylist(rows, schema))
    types = {r["account_type"] for r in rows}
    got = {r["debt_id"]: r for r in batch.labelled(batch.decide(t, POLICY, account_types=types), POLICY).to_pyarrow().to_pylist()}
    for row in rows:
        expected = rules.decide(POLICY, row)
        g = got[row["debt_id"]]
        assert (g["segment"], g["segment_rule"], g["rag"], g["rag_rule"], g["action"], g["action_rule"]) == (
            expected.segment, expected.segment_rule, expected.rag, expected.rag_rule, expected.action, expected.action_rule), row
        assert g["overlaps"] == len(expected.overlaps), row
        assert g["score"] == expected.score and all(g[f"c_{k}"] == pytest.approx(v, rel=1e-6) for k, v in expected.contributions.items()), row
    # The lead debt of each person carries its own decision into the person's row. The debts come
    # in the reverse order here, so a tie left to the order they come in would pick the highest id.
    backwards = batch.table(t.get_backend(), "features_backwards", pa.Table.from_pylist(rows[::-1], schema))
    decided = batch.decide(backwards, POLICY, account_types=types)
    leads = batch.labelled(batch.leads(batch.people(decided, POLICY), decided), POLICY).to_pyarrow().to_pylist()
    assert sorted(p["person_id"] for p in leads) == sorted({r["person_id"] for r in rows})
    for p in leads:
        lead = got[p["lead_debt_id"]]
        assert (p["segment"], p["rag"], p["action"], p["variant"]) == (lead["segment"], lead["rag"], lead["action"], "champion")
        assert p["score"] == pytest.approx(lead["score"]) and lead["person_id"] == p["person_id"]
        mine = [g for g in got.values() if g["person_id"] == p["person_id"]]
        assert p["debts"] == len(mine) and p["person_arrears"] == sum(g["arrears"] for g in mine)
        # Work first, then the highest score, the most arrears and the lowest debt id: one lead, whatever the order.
        best = max(mine, key=lambda g: rules.lead_rank(g["segment"] != "none", g["score"], g["arrears"], g["debt_id"]))
        assert p["lead_debt_id"] == best["debt_id"], (p, mine)


def test_money_in_the_state_stays_integer_pence_when_written(tmp_path):
    """The maintained state is written as Parquet: no money column may come back as a float
    (DuckDB sums BIGINT into HUGEINT, which Parquet would store as DOUBLE)."""
    import pyarrow.parquet as pq

    debts, entries = world()
    d, e, *_ = tables(debts, entries)
    con = d._find_backend()
    path = tmp_path / "state.parquet"
    con.raw_sql(f"COPY ({con.compile(batch.state(d, batch.ledger_summary(e, ON)))}) TO '{path}' (FORMAT parquet)")
    schema = pq.read_schema(path)
    for name in ("balance", "arrears", "ongoing", "person_arrears", "charge_amount", "payments_90d", "payments_365d", "priority_share"):
        assert pa.types.is_integer(schema.field(name).type), (name, schema.field(name).type)


def test_a_person_owing_no_priority_debt_has_a_priority_share_of_nought():
    """Arrears on sundry debts only: the priority debts' share of them is 0%, not missing (a rule
    on the share must see 0), in the folded state and in the pictures a book works out."""
    debts = [dict(debt_id=1, person_id=1, account_type="sundry", tenure="", recovery_stage="none", stage_date=None),
             dict(debt_id=2, person_id=2, account_type="council_tax", tenure="", recovery_stage="none", stage_date=None)]
    entries = [dict(debt_id=i, kind="charge", amount=5_000, effective_date=ON - dt.timedelta(days=60), due_date=None, method="")
               for i in (1, 2)]
    d, e, *_ = tables(debts, entries)
    con = d._find_backend()
    folded = {r["person_id"]: r["priority_share"] for r in batch.state(d, batch.ledger_summary(e, ON)).to_pyarrow().to_pylist()}
    assert folded == {1: 0, 2: 100}
    old = batch.table(con, "old", batch.state(d, batch.ledger_summary(e, ON - dt.timedelta(days=1))).to_pyarrow())
    tonight = batch.table(con, "tonight", pa.Table.from_pylist(
        [dict(debt_id=2, kind="charge", amount=1_000, effective_date=ON, due_date=None, method="")], ENTRIES))
    advanced = batch.advance(old, d, e, ON - dt.timedelta(days=1), ON, tonight).to_pyarrow().to_pylist()
    assert {r["person_id"]: r["priority_share"] for r in advanced} == {1: 0, 2: 100}


def test_advancing_moves_what_time_alone_moves():
    """With nothing loaded, a night on: an instalment billed earlier falls due (arrears), and a
    payment leaves the 90-day window, exactly as folding the whole ledger again says."""
    since, on = ON, ON + dt.timedelta(days=10)
    debts = [dict(debt_id=1, person_id=1, account_type="council_tax", tenure="", recovery_stage="none", stage_date=None)]
    known = [dict(debt_id=1, kind="charge", amount=10_000, effective_date=since - dt.timedelta(days=30), due_date=since + dt.timedelta(days=5), method=""),
             dict(debt_id=1, kind="payment", amount=-2_000, effective_date=since - dt.timedelta(days=85), due_date=None, method="cash")]
    d, e, *_ = tables(debts, known)
    con = d._find_backend()
    tonight = batch.table(con, "tonight", pa.Table.from_pylist([], ENTRIES))
    old = batch.table(con, "old", batch.state(d, batch.ledger_summary(e, since)).to_pyarrow())
    before = old.to_pyarrow().to_pylist()[0]
    assert (before["arrears"], before["payments_90d"]) == (0, 1)
    after = batch.advance(old, d, e, since, on, tonight).to_pyarrow().to_pylist()
    assert (after[0]["arrears"], after[0]["payments_90d"]) == (8_000, 0)
    assert after == batch.state(d, batch.ledger_summary(e, on)).to_pyarrow().to_pylist()


# About 7 s an example on a slow host (each compiles and runs a dozen queries): make test runs 15,
# FAIRDEBT_LONG_CHECKS=1 runs 60.
ADVANCE_EXAMPLES = 60 if os.environ.get("FAIRDEBT_LONG_CHECKS") else 15


@pytest.mark.slow
@settings(max_examples=ADVANCE_EXAMPLES, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 4), st.sampled_from(["housing_rent", "council_tax", "parking_pcn"]),
                       st.lists(entry, min_size=1, max_size=8), st.just([]) | st.lists(entry, max_size=3)), min_size=1, max_size=6),
    st.integers(-60, 0), st.integers(0, 120),
)
def test_advancing_the_state_a_night_equals_folding_the_whole_ledger_again(ledgers, shift, nights):
    """The state made on `since`, advanced to `on` with the entries loaded since (some backdated)
    and the date-range slices of the ledger it held, is exactly the state folded from the whole
    ledger on `on`: every column of every debt."""
    since = ON + dt.timedelta(days=shift)
    on = since + dt.timedelta(days=nights)
    debts, known, loaded = [], [], []
    for debt_id, (person, kind, before, after) in enumerate(ledgers, start=1):
        debts.append(dict(debt_id=debt_id, person_id=person, account_type=kind, tenure="", recovery_stage="none", stage_date=None))
        for rows, into in ((before, known), (after, loaded)):
            into.extend(dict(debt_id=debt_id, kind=k, amount=a, effective_date=eff, due_date=due, method="") for k, a, eff, due in rows)
    d, old_entries, *_ = tables(debts, known)
    con = d._find_backend()
    every = batch.table(con, "every", pa.Table.from_pylist(known + loaded, ENTRIES))
    tonight = batch.table(con, "tonight", pa.Table.from_pylist(loaded, ENTRIES))
    changed = batch.table(con, "changed", pa.table({"debt_id": pa.array(sorted({e["debt_id"] for e in loaded}), pa.int64())}))
    old_state = batch.table(con, "old_state", batch.state(d, batch.ledger_summary(old_entries, since)).to_pyarrow())
    advanced = batch.advance(old_state, d, old_entries, since, on, tonight, changed).to_pyarrow().to_pylist()
    folded = batch.state(d, batch.ledger_summary(every, on)).to_pyarrow().to_pylist()
    key = lambda r: r["debt_id"]  # noqa: E731
    assert sorted(advanced, key=key) == sorted(folded, key=key)
    # As a book keeps it over two nights (the entries split between them): the base, the two
    # nights' patches added together, the patched rows, and the pictures of the people they moved
    # worked out from those rows and the base's per-person sums.
    mid = since + dt.timedelta(days=nights // 2)
    first_loaded = [e for i, e in enumerate(loaded) if i % 2 == 0]
    second_loaded = [e for i, e in enumerate(loaded) if i % 2 == 1]
    first = batch.table(con, "first", batch.tonight(d, old_entries, since, mid, _entries(con, "first_in", first_loaded), changed).to_pyarrow())
    held_mid = _entries(con, "held_mid", known + first_loaded)
    second = batch.table(con, "second", batch.tonight(d, held_mid, mid, on, _entries(con, "second_in", second_loaded)).to_pyarrow())
    both = batch.table(con, "both", batch.combine(first, second).to_pyarrow())
    rows = batch.table(con, "rows", batch.patched(old_state, both).to_pyarrow())
    pics = batch.pictures(batch.person_sums(old_state), rows)
    assert sorted(batch.current(old_state, both, pics, rows).to_pyarrow().to_pylist(), key=key) == sorted(folded, key=key)


def _entries(con, name, rows):
    return batch.table(con, name, pa.Table.from_pylist(rows, ENTRIES))
