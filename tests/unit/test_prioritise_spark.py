"""The same prioritisation pipeline on Spark (local mode) gives the same decisions as on DuckDB."""

from __future__ import annotations

import pytest

from fairdebt.batch import prioritise as batch
from fairdebt.domain import prioritisation as rules

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

from test_prioritise_batch import DEBTS, ENTRIES, ON, POLICY, world  # noqa: E402


def _inputs(con, debts, entries):
    import pyarrow as pa

    return (
        batch.table(con, "debts", pa.Table.from_pylist(debts, DEBTS)),
        batch.table(con, "entries", pa.Table.from_pylist(entries, ENTRIES)),
        batch.table(con, "held", pa.table({"debt_id": pa.array([5], pa.int64())})),
        batch.table(con, "vulnerable", pa.table({"person_id": pa.array([11], pa.int64())})),
        batch.table(con, "contacts", pa.table({"person_id": pa.array([10], pa.int64()), "last_contact": pa.array([ON], pa.date32())})),
    )


def test_spark_and_duckdb_decide_every_debt_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_LOCAL_DIRS", str(tmp_path))
    debts, entries = world()
    data = rules.hackney_example()
    data["weights"] = {"arrears": 0.01}
    challenger = rules.Policy.from_dict(data)
    results = {}
    for engine in ("duckdb", "spark"):
        con = batch.connect(engine)
        try:
            t = batch.run(*_inputs(con, debts, entries), ON, POLICY, challenger, seed="s", percent=50)
            rows = sorted(t.to_pyarrow().to_pylist(), key=lambda r: r["debt_id"])
            people = sorted(batch.labelled(batch.leads(batch.people(t, POLICY, challenger), t), POLICY, challenger).to_pyarrow().to_pylist(), key=lambda r: r["person_id"])
        finally:
            if engine == "spark":
                con._session.stop()
        results[engine] = (rows, people)
    duck, spark = results["duckdb"], results["spark"]
    assert len(duck[0]) == len(spark[0]) == 5
    for a, b in zip(duck[0], spark[0]):
        for key in a:
            if isinstance(a[key], float):
                assert a[key] == pytest.approx(b[key], abs=0.011), key
            else:
                assert a[key] == b[key], (a["debt_id"], key)
    lead = lambda p: (p["person_id"], p["lead_debt_id"], p["variant"], p["segment"], p["rag"], p["action"], p["debts"])  # noqa: E731
    assert [lead(p) for p in duck[1]] == [lead(p) for p in spark[1]]


def test_spark_brings_the_state_forward_as_duckdb_folds_it(tmp_path, monkeypatch):
    """batch.advance on Spark: the state a month ago, brought forward with one new payment, is the
    state folded from the whole ledger today."""
    import datetime as dt

    import pyarrow as pa

    monkeypatch.setenv("SPARK_LOCAL_DIRS", str(tmp_path))
    debts, entries = world()
    since = ON - dt.timedelta(days=30)
    new = dict(debt_id=4, kind="payment", amount=-2_000, effective_date=since - dt.timedelta(days=2), due_date=None, method="cash")
    expected = None
    for engine in ("duckdb", "spark"):
        con = batch.connect(engine)
        try:
            d, old_entries, *_ = _inputs(con, debts, entries)
            every = batch.table(con, "every_entry", pa.Table.from_pylist([*entries, new], old_entries.schema().to_pyarrow()))
            tonight = batch.table(con, "tonight", pa.Table.from_pylist([new], old_entries.schema().to_pyarrow()))
            changed = batch.table(con, "changed_debts", pa.table({"debt_id": pa.array([4], pa.int64())}))
            old = batch.table(con, "old_state", batch.state(d, batch.ledger_summary(old_entries, since)).to_pyarrow())
            advanced = sorted(batch.advance(old, d, old_entries, since, ON, tonight, changed).to_pyarrow().to_pylist(),
                              key=lambda r: r["debt_id"])
            if expected is None:
                expected = sorted(batch.state(d, batch.ledger_summary(every, ON)).to_pyarrow().to_pylist(), key=lambda r: r["debt_id"])
        finally:
            if engine == "spark":
                con._session.stop()
        assert advanced == expected, engine
