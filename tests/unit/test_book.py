"""The national book's nightly job (fairdebt.batch.book): night after night, the state it keeps by
advancing equals the state folded from the whole ledger, its decisions equal a full run's, and a
night that stops part way is simply run again.

No Django: `pytest -p no:django tests/unit/test_book.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fairdebt.batch import book
from fairdebt.batch import prioritise as batch
from fairdebt.domain import prioritisation as rules

POLICY = rules.Policy.from_dict(rules.hackney_example())
START = dt.date(2026, 9, 1)
DEBTS = pa.schema([("debt_id", pa.int64()), ("person_id", pa.int64()), ("account_type", pa.string()), ("tenure", pa.string()),
                   ("recovery_stage", pa.string()), ("stage_date", pa.date32())])
ENTRIES = book._entry_schema()


def _world(seed: int = 7, debts: int = 60, nights: int = 5):
    """Debt records, the ledger before the first night, and each later night's entries."""
    rng = random.Random(seed)
    records = [dict(debt_id=i, person_id=1 + i // 3, account_type=rng.choice(["housing_rent", "council_tax", "parking_pcn"]),
                    tenure="", recovery_stage="none", stage_date=None) for i in range(1, debts + 1)]

    def entry(debt_id, day):
        kind = rng.choice(["charge", "payment", "payment", "cost", "adjustment"])
        amount = {"charge": rng.randint(1_000, 50_000), "payment": -rng.randint(100, 20_000), "cost": rng.randint(100, 5_000),
                  "adjustment": rng.choice([-1, 1]) * rng.randint(1, 3_000)}[kind]
        due = day + dt.timedelta(days=rng.randint(0, 40)) if kind == "charge" and rng.random() < 0.6 else None
        return dict(debt_id=debt_id, kind=kind, amount=amount, effective_date=day, due_date=due, method=rng.choice(["", "universal_credit", "cash"]))

    history = [entry(rng.randint(1, debts), START - dt.timedelta(days=rng.randint(1, 500))) for _ in range(600)]
    later = []
    for n in range(1, nights + 1):
        on = START + dt.timedelta(days=n)
        # mostly tonight's, some backdated, some dated ahead
        later.append([entry(rng.randint(1, debts), on + dt.timedelta(days=rng.choice([0, 0, 0, -3, -40, 5])))
                      for _ in range(rng.randint(0, 25))])
    return records, history, later


def _write(path, rows, schema):
    pq.write_table(pa.Table.from_pylist(rows, schema), path)


def _rows(path, key=("debt_id",)):
    return sorted(pq.read_table(path).to_pylist(), key=lambda r: tuple(r[k] for k in key))


def _folded(records, entries, on):
    con = batch.connect("duckdb")
    d = batch.table(con, "d", pa.Table.from_pylist(records, DEBTS))
    e = batch.table(con, "e", pa.Table.from_pylist(entries, ENTRIES))
    state = batch.state(d, batch.ledger_summary(e, on)).to_pyarrow()
    decided = batch.nightly(batch.table(con, "s", state), *batch.empty_inputs(con), on, POLICY)
    return sorted(state.to_pylist(), key=lambda r: r["debt_id"]), sorted(decided.to_pyarrow().to_pylist(), key=lambda r: r["debt_id"])


def _state_rows(directory):
    """The state as the book keeps it: the base, with the patched rows and the people's pictures since."""
    kept = json.loads((directory / "book.json").read_text())
    con = batch.connect("duckdb")
    current = batch.current(*(con.read_parquet(str(directory / kept[k])) if kept[k] else None for k in ("state", "patch", "people", "now")))
    return sorted(current.to_pyarrow().to_pylist(), key=lambda r: r["debt_id"])


def _first_night(directory, records, history):
    """A book's debt records and ledger written, and its first night run (the ledger folded)."""
    _write(directory / "debts.parquet", records, DEBTS)
    (directory / "incoming").mkdir()
    _write(directory / "incoming" / "entries-history.parquet", history, ENTRIES)
    return book.night(directory, START, POLICY)


def _some_entries(n, tonight):
    """Night n's entries, or one payment on debt n when the world made none (a night with nothing moved
    tests nothing)."""
    on = START + dt.timedelta(days=n)
    return on, tonight or [dict(debt_id=n, kind="payment", amount=-500, effective_date=on, due_date=None, method="")]


def _kept_files(directory):
    return {p.name for pattern in book.NIGHT_FILES for p in directory.glob(pattern)}


@pytest.mark.parametrize("compact_at", [book.COMPACT_SHARE, float("inf")])  # as shipped, and never compacting: one patch of every night
def test_night_after_night_the_kept_state_is_the_whole_ledger_folded(tmp_path, monkeypatch, compact_at):
    monkeypatch.setattr(book, "COMPACT_SHARE", compact_at)
    records, history, later = _world()
    _write(tmp_path / "debts.parquet", records, DEBTS)
    (tmp_path / "incoming").mkdir()
    _write(tmp_path / "incoming" / "entries-history.parquet", history, ENTRIES)
    loaded = list(history)
    states = []
    first = book.night(tmp_path, START, POLICY)
    assert first["state"] == "folded"
    for n, tonight in enumerate(later, start=1):
        on = START + dt.timedelta(days=n)
        if tonight:
            _write(tmp_path / "incoming" / f"entries-{n}.parquet", tonight, ENTRIES)
        if n == 3:  # a new debt, a changed record and a debt moved to another person arrive with the night's extract
            changed = [dict(records[0], recovery_stage="reminder", stage_date=on),
                       dict(records[4], person_id=records[4]["person_id"] + 7, account_type="parking_pcn"),
                       dict(debt_id=999, person_id=1, account_type="council_tax", tenure="", recovery_stage="none", stage_date=None)]
            records = [changed[0], *records[1:4], changed[1], *records[5:], changed[2]]
            _write(tmp_path / "incoming" / "debts-3.parquet", changed, DEBTS)
        loaded += tonight
        figures = book.night(tmp_path, on, POLICY)
        assert figures["state"].startswith("advanced") and figures["entries_tonight"] == len(tonight)
        states.append(figures["state"])
        state, decided = _folded(records, loaded, on)
        assert _state_rows(tmp_path) == state, f"night {n}"
        assert _rows(tmp_path / "results" / on.isoformat() / "decisions.parquet") == decided
        assert not list((tmp_path / "incoming").iterdir())  # tonight's files went into the ledger and the debts
    kept = json.loads((tmp_path / "book.json").read_text())
    assert sorted(p.name for p in (tmp_path / "ledger").iterdir()) == sorted(kept["ledger"])
    assert _kept_files(tmp_path) == {kept[k] for k in book.KEPT_KEYS} - {None}  # the old states and patches are gone
    assert ("advanced and compacted" in states) == (compact_at != float("inf"))
    # The per-person sums kept with the base are its own (after compactions too, when they are the
    # base's sums with the moved people's new ones in place).
    con = batch.connect("duckdb")
    by_person = lambda rows: sorted(rows, key=lambda r: r["person_id"])  # noqa: E731
    assert by_person(pq.read_table(tmp_path / kept["persons"]).to_pylist()) == by_person(
        batch.person_sums(con.read_parquet(str(tmp_path / kept["state"]))).to_pyarrow().to_pylist())
    assert (kept["patch"] is None) == (kept["now"] is None) == (states[-1] == "advanced and compacted")
    held = sorted(book.debt_records(batch.connect("duckdb"), tmp_path).to_pyarrow().to_pylist(), key=lambda r: r["debt_id"])
    assert held == sorted(records, key=lambda r: r["debt_id"])  # the changed record and the new debt among them
    # Tonight's records are kept beside the debts file, which is rewritten only with a new base.
    assert (kept["debts"] == "debts.parquet") == (compact_at == float("inf")) == bool(kept["debt_changes"])
    assert sorted(p.name for p in (tmp_path / book.CHANGES).iterdir()) == kept["debt_changes"]


def test_a_night_that_stops_part_way_is_run_again(tmp_path, monkeypatch):
    records, history, later = _world(seed=3, nights=2)
    _first_night(tmp_path, records, history)
    on, tonight = _some_entries(1, later[0])
    _write(tmp_path / "incoming" / "entries-1.parquet", tonight, ENTRIES)
    records = [dict(records[0], recovery_stage="summons", stage_date=on), *records[1:]]
    _write(tmp_path / "incoming" / "debts-1.parquet", records[:1], DEBTS)

    def stop(*args, **kwargs):
        raise RuntimeError("the machine went away")

    with monkeypatch.context() as m:
        m.setattr(batch, "nightly", stop)  # after tonight's entries were renamed into the ledger and the state written
        with pytest.raises(RuntimeError):
            book.night(tmp_path, on, POLICY)
    assert json.loads((tmp_path / "book.json").read_text())["on"] == START.isoformat()  # nothing committed
    figures = book.night(tmp_path, on, POLICY)
    assert figures["entries_tonight"] == len(tonight)  # counted once, not twice
    state, decided = _folded(records, history + tonight, on)
    assert _state_rows(tmp_path) == state
    assert _rows(tmp_path / "results" / on.isoformat() / "decisions.parquet") == decided
    kept = json.loads((tmp_path / "book.json").read_text())
    assert _kept_files(tmp_path) == {kept[k] for k in book.KEPT_KEYS} - {None}
    # Tonight's record taken once: kept beside the debts file, or folded into a new one with a new base.
    assert len(kept["debt_changes"]) == (0 if kept["patch"] is None else 1)
    assert sorted(p.name for p in (tmp_path / book.CHANGES).iterdir()) == kept["debt_changes"]
    held = book.debt_records(batch.connect("duckdb"), tmp_path).to_pyarrow().to_pylist()
    assert sorted(held, key=lambda r: r["debt_id"]) == sorted(records, key=lambda r: r["debt_id"])


def test_a_book_kept_without_per_person_sums_works_them_out_from_its_base(tmp_path):
    records, history, later = _world(seed=5, nights=2)
    _first_night(tmp_path, records, history)
    kept = json.loads((tmp_path / "book.json").read_text())
    sums = sorted(pq.read_table(tmp_path / kept["persons"]).to_pylist(), key=lambda r: r["person_id"])
    con = batch.connect("duckdb")
    base = con.read_parquet(str(tmp_path / kept["state"]))
    assert sums == sorted(batch.person_sums(base).to_pyarrow().to_pylist(), key=lambda r: r["person_id"])
    assert sum(r["debts"] for r in sums) == len(records)
    (tmp_path / kept.pop("persons")).unlink()  # as an earlier fairdebt kept it
    (tmp_path / "book.json").write_text(json.dumps(kept))
    on, tonight = _some_entries(1, later[0])
    _write(tmp_path / "incoming" / "entries-1.parquet", tonight, ENTRIES)
    book.night(tmp_path, on, POLICY)
    state, decided = _folded(records, history + tonight, on)
    assert _state_rows(tmp_path) == state
    assert json.loads((tmp_path / "book.json").read_text())["persons"]


def test_a_book_whose_base_has_no_derived_features_decides_the_same(tmp_path):
    """A base written before the state kept batch.DERIVED: the night works them out, from the base's
    rows and the patched ones, and decides as a full run does."""
    records, history, later = _world(seed=11, nights=2)
    _first_night(tmp_path, records, history)
    kept = json.loads((tmp_path / "book.json").read_text())
    base = pq.read_table(tmp_path / kept["state"])
    assert set(batch.DERIVED) <= set(base.column_names)
    pq.write_table(base.drop_columns(list(batch.DERIVED)), tmp_path / kept["state"])  # as an earlier fairdebt kept it
    loaded = list(history)
    for n, tonight in enumerate(later, start=1):
        on, tonight = _some_entries(n, tonight)
        _write(tmp_path / "incoming" / f"entries-{n}.parquet", tonight, ENTRIES)
        loaded += tonight
        book.night(tmp_path, on, POLICY)
        state, decided = _folded(records, loaded, on)
        assert _rows(tmp_path / "results" / on.isoformat() / "decisions.parquet") == decided, f"night {n}"
        without = [{k: v for k, v in r.items() if k not in batch.DERIVED} for r in state]
        assert _state_rows(tmp_path) in (state, without)  # with them again once a new base is written


@pytest.mark.parametrize("compact_at", [0.0, float("inf")])
def test_each_step_is_planned_with_the_schema_its_file_has(tmp_path, monkeypatch, compact_at):
    """A step is built before the file it reads is written, from the schema of the expression that
    writes it (book._planned): that schema must be the one DuckDB reads back from the file."""
    monkeypatch.setattr(book, "COMPACT_SHARE", compact_at)
    planned = {}
    plan = book._planned

    def recording(con, path, expr):
        table = plan(con, path, expr)
        planned[path] = table.schema()
        return table

    monkeypatch.setattr(book, "_planned", recording)
    records, history, later = _world(seed=13, nights=2)
    _first_night(tmp_path, records, history)
    for n, tonight in enumerate(later, start=1):
        on, tonight = _some_entries(n, tonight)
        _write(tmp_path / "incoming" / f"entries-{n}.parquet", tonight, ENTRIES)
        book.night(tmp_path, on, POLICY)
    con = batch.connect("duckdb")
    checked = {p.name.split("-")[0] for p in planned if p.exists()}
    assert {"decisions.parquet", "people.parquet", "state", "persons"} <= checked
    assert ("now" in checked and "patch" in checked) == (compact_at == float("inf"))
    for path, schema in planned.items():
        if path.exists():  # a step's working file is gone once the night is committed
            assert book._read(con, [path]).schema() == schema, path.name


def test_a_book_in_a_directory_with_a_quote_in_its_name(tmp_path):
    """The book's paths go into DuckDB's SQL as string literals: a quote in a name is doubled."""
    directory = tmp_path / "o'brien's book"
    directory.mkdir()
    records, history, later = _world(seed=17, nights=1)
    assert _first_night(directory, records, history)["state"] == "folded"
    on, tonight = _some_entries(1, later[0])
    _write(directory / "incoming" / "entries-1.parquet", tonight, ENTRIES)
    book.night(directory, on, POLICY)
    state, decided = _folded(records, history + tonight, on)
    assert _state_rows(directory) == state
    assert _rows(directory / "results" / on.isoformat() / "decisions.parquet") == decided


def test_a_book_without_debts_or_going_backwards_says_what_to_do(tmp_path):
    with pytest.raises(book.BookError, match="debts.parquet"):
        book.night(tmp_path, START, POLICY)
    records, history, _ = _world(nights=0)
    _first_night(tmp_path, records, history)
    with pytest.raises(book.BookError, match="forward only"):
        book.night(tmp_path, START - dt.timedelta(days=1), POLICY)
    # A debt twice in one night's records: which is newer cannot be told, so nothing is taken.
    on = START + dt.timedelta(days=1)
    _write(tmp_path / "incoming" / "debts-1.parquet", [records[1], dict(records[1], recovery_stage="summons", stage_date=on)], DEBTS)
    before = (tmp_path / "book.json").read_text()
    with pytest.raises(book.BookError, match=f"more than one record for debt {records[1]['debt_id']}"):
        book.night(tmp_path, on, POLICY)
    assert (tmp_path / "book.json").read_text() == before and (tmp_path / "incoming" / "debts-1.parquet").exists()
