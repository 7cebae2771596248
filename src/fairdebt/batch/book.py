"""A national debt book kept as files: the nightly job for a book too big to fold every night.

No Django: a directory in, a directory out. A council's book is folded whole every night from the
database, in seconds (worklists.services.prioritise); a book of 45M debts and 394M ledger entries
is kept here, and each night only what arrived and what time moves is worked (batch.advance).

    BOOK/debts.parquet            debt_id, person_id, account_type, tenure, recovery_stage, stage_date
    BOOK/debt-changes/*.parquet   the changed and new debt records of each night since debts.parquet
                                  was written, in the order they came (the newest record of a debt counts)
    BOOK/ledger/*.parquet         the ledger: one file per night's load, each in date order
    BOOK/incoming/entries*.parquet  tonight's ledger entries (any effective date), not yet in the ledger
    BOOK/incoming/debts*.parquet    tonight's new and changed debt records (optional)
    BOOK/state-*.parquet          the per-debt state on some night (the base), in person order
    BOOK/persons-*.parquet        what each person's picture in the base is worked out from (batch.person_sums)
    BOOK/patch-*.parquet          what moved each debt since the base (batch.tonight, batch.combine)
    BOOK/now-*.parquet            the rows of the patched debts as they are now, and as they were in
                                  the base (batch.patched)
    BOOK/people-*.parquet         the picture of each person those nights moved (batch.pictures)
    BOOK/book.json                the commit point: the day, and the files above that make the book
    BOOK/results/<day>/decisions.parquet, people.parquet   the night's decisions (batch.RESULT), lead debts

`night` brings the state to the day (folding the whole ledger only when there is no state yet),
takes tonight's files into the ledger and the debts, and decides every debt and person. A night
reads tonight's entries and date-range slices of the ledger: what moved each debt is a summary of
its own (a patch, added to the patch of the nights before). The rows of the patched debts are
then written as they are now (batch.patched: every column of those rows only), and the pictures of
the people they moved are worked out from those rows alone, by differences from the base's
per-person sums (batch.pictures). The nightly decisions read the base with those rows and the
pictures in place (batch.current). When the patch comes to a quarter of the base, the night then
writes that state as a new base, with its per-person sums (compaction). The steps run in order on a
thread of their own while the next one is built and compiled (`_Steps`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ibis
from ibis import _

from fairdebt.batch import prioritise as batch
from fairdebt.domain import prioritisation as rules

# Working files are read once: no compression, no dictionaries (docs/prioritisation.md).
WORKING = "FORMAT parquet, COMPRESSION uncompressed, DICTIONARY_SIZE_LIMIT 1"
KEPT = "FORMAT parquet, COMPRESSION zstd"  # the ledger and the debt records: kept for good, read in slices
# The state's files are read whole every night, twice: uncompressed, with dictionaries. Reading
# every column of the national base took 4.8-5.1 CPU s against 7.3-7.7 with LZ4 (and more without
# dictionaries), for 3.9 GB of disk against 2.1 GB.
STATE = "FORMAT parquet, COMPRESSION uncompressed"
CHANGES = "debt-changes"
COMPACT_SHARE = 0.25  # a new base when the patch comes to a quarter of it
# What a night writes beside the ledger.
NIGHT_FILES = ("state-*.parquet", "persons-*.parquet", "patch-*.parquet", "people-*.parquet", "now-*.parquet", "tonight-*.parquet")
KEPT_KEYS = ("state", "persons", "patch", "people", "now")  # book.json's names of the night files it holds


class BookError(Exception):
    """The book's directory is not as `night` needs it; the message says what to do."""


def _files(directory: Path, pattern: str) -> list[str]:
    return sorted(str(p) for p in directory.glob(pattern))


def _text(path) -> str:
    """A path as an SQL string literal (a quote in a directory's name doubled, not ending the string)."""
    return "'" + str(path).replace("'", "''") + "'"


def _read(con, files: list[str]):
    """Parquet files as one table. Its schema is asked of DuckDB as plain rows: Ibis's own
    `read_parquet` asks through Arrow and makes a view, which only this connection sees."""
    listed = ", ".join(_text(f) for f in files)
    query = f"SELECT * FROM read_parquet([{listed}])"
    described = con.con.execute(f"DESCRIBE {query}").fetchall()
    return con.sql(query, schema={name: con.compiler.type_mapper.from_string(kind) for name, kind, *_ in described})


def _planned(con, path: Path, expr):
    """The table a step will write to `path`, from the expression that writes it: nothing is read,
    so the next step is built and compiled before the file exists."""
    schema = ibis.schema({name: kind.copy(nullable=True) for name, kind in expr.schema().items()})
    return con.sql(f"SELECT * FROM read_parquet({_text(path)})", schema=schema)


class _Steps:
    """The night's SQL, run in order on a thread of its own while this one builds and compiles the
    next step: Ibis takes about a second of Python a night to compile it, DuckDB lets go of the
    GIL while it runs, and each step only needs the schema of the file before it (`_planned`).
    Once the first step is queued, every query goes through here, so the connection is never used
    by two threads at once."""

    def __init__(self, con, started: float):
        self.con, self.started = con, started
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fairdebt-night")
        self.pending: list = []
        self.ran: list[tuple[str, float, float]] = []  # (step, began, ended), perf_counter

    def _submit(self, fn):
        future = self.pool.submit(fn)
        self.pending.append(future)
        return future

    def copy(self, expr, path: Path, options: str, step: str):
        """Queue `expr` written to `path` (under a temporary name, renamed when whole); returns the
        table it writes, planned."""
        # Each column cast to the type Ibis gives it, so the file has the schema it was planned
        # with: Ibis writes a small integer literal (a policy's arm, an empty record flag) as a bare
        # number, which DuckDB takes for a 32-bit INTEGER. A cast to a column's own type costs nothing.
        typed = ", ".join(f'CAST("{name}" AS {self.con.compiler.type_mapper.to_string(kind)}) AS "{name}"'
                          for name, kind in expr.schema().items())
        part = path.with_name(path.name + ".part")
        sql = f"COPY (SELECT {typed} FROM ({self.con.compile(expr)})) TO {_text(part)} ({options})"

        def run():
            began = time.perf_counter()
            self.con.con.execute(sql)
            os.replace(part, path)
            self.ran.append((step, began, time.perf_counter()))

        self._submit(run)
        return _planned(self.con, path, expr)

    def query(self, expr):
        """Queue a small query; its rows are the future's result."""
        sql = self.con.compile(expr)
        return self._submit(lambda: self.con.con.execute(sql).fetchall())

    def rows(self, expr) -> list[tuple]:
        """What a small query returns, once every step queued before it has run."""
        self.wait()  # a step that failed is the error to report, not what a query of its file then says
        return self.query(expr).result()

    def count(self, table) -> int:
        return self.rows(table.count())[0][0]

    def wait(self) -> None:
        for future in self.pending:
            future.result()  # a step's error is raised here

    def close(self) -> None:
        """Wait for whatever is queued (also when the night stops with an error: no step may still
        be writing when the next night starts)."""
        self.pool.shutdown(wait=True)

    def seconds(self, steps) -> float:
        """Seconds the given steps ran, together."""
        return round(sum(end - began for step, began, end in self.ran if step in steps), 2)

    def ended(self, steps) -> float:
        """Seconds from the start of the night until the last of the given steps ended."""
        return round(max((end for step, _, end in self.ran if step in steps), default=self.started) - self.started, 2)


def _rows(con, expr) -> list[tuple]:
    """What a small query returns, as tuples: straight from DuckDB (Ibis's own results go through
    pandas, whose import alone took half a second of the night)."""
    return con.raw_sql(con.compile(expr)).fetchall()


def _count(con, table) -> int:
    return _rows(con, table.count())[0][0]


def night(book: Path, on: dt.date, champion: rules.Policy, challenger: rules.Policy | None = None, *, seed: str = "",
          percent: int = 0, threads: int | None = None, memory: str | None = None) -> dict:
    """One night of the book for `on`; returns what it did and how long each step took.

    BOOK/book.json is the commit point: the day, the base state and the patch and pictures since, the
    debts file and the ledger files the state holds. Everything else is written under new names
    first, and tonight's entry files are renamed into the ledger (never copied), so each entry is
    in one place at every moment: a night that stops anywhere is run again and comes out as if it
    had not stopped."""
    book = Path(book)
    manifest = book / "book.json"
    kept = json.loads(manifest.read_text()) if manifest.exists() else {}
    since = dt.date.fromisoformat(kept["on"]) if kept else None
    if since is not None and on < since:
        raise BookError(f"the state is for {since}, after {on}: a night runs forward only (give --on {since} or later)")
    debts_file = book / kept.get("debts", "debts.parquet")
    held_changes = _held_changes(book, kept)
    if not debts_file.exists():
        raise BookError(f"{book} has no debts.parquet: put the book's debt records there (see fairdebt.batch.book)")
    if kept.get("moved"):
        raise BookError(f"{book} was kept by an earlier fairdebt (moved rows, not a patch): fold it again from its ledger "
                        "(move book.json and the state files aside and run the night)")
    for orphan in [p for pattern in (*NIGHT_FILES, "debts-*.parquet", "*.part") for p in book.glob(pattern)]:
        if orphan.name not in (kept.get("debts"), *(kept.get(k) for k in KEPT_KEYS)):
            orphan.unlink()  # written by a night that stopped before its commit
    con = batch.connect("duckdb", threads=threads)
    tables: dict[str, object] = {}

    def read(path: Path):
        """A Parquet file of the night as a table, made once (each costs Ibis a query for its schema)."""
        if str(path) not in tables:
            tables[str(path)] = _read(con, [path])
        return tables[str(path)]

    (book / "spill").mkdir(exist_ok=True)
    con.raw_sql(f"SET temp_directory = {_text(book / 'spill')}")
    if memory:
        con.raw_sql(f"SET memory_limit = '{memory}'")
    figures: dict = {"on": on.isoformat(), "since": since.isoformat() if since else None}
    held_files = [str(book / "ledger" / name) for name in kept.get("ledger", [])]
    for path in _files(book / "incoming", "debts*.parquet"):
        twice = [r[0] for r in _rows(con, _read(con, [path]).group_by("debt_id").aggregate(n=_.count()).filter(_.n > 1)
                                     .select("debt_id").limit(5))]
        if twice:
            # A record replaces the one before it, and a file's rows have no order to choose by.
            raise BookError(f"{path} has more than one record for debt {', '.join(map(str, twice))}: keep one record per "
                            "debt in a night's file (the newest), or put the later ones in a file named after it")
    # Tonight's entries: the incoming files, and ledger files a stopped night renamed but did not commit.
    (book / "ledger").mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    for path in _files(book / "incoming", "entries*.parquet"):
        os.replace(path, book / "ledger" / f"{on.isoformat()}-{stamp}-{Path(path).name}")
    tonight_files = [f for f in _files(book / "ledger", "*.parquet") if f not in set(held_files)]
    # Tonight's debt records, the same way: kept beside the debts file, which is not rewritten
    # (45M records: 4.6 s a night) until the state is compacted.
    (book / CHANGES).mkdir(exist_ok=True)
    for path in _files(book / "incoming", "debts*.parquet"):
        os.replace(path, book / CHANGES / f"{on.isoformat()}-{stamp}-{Path(path).name}")
    changed_files = [f for f in _files(book / CHANGES, "*.parquet") if f not in set(held_changes)]
    figures["entries_tonight"] = _count(con, _read(con, tonight_files)) if tonight_files else 0
    started = time.perf_counter()
    steps = _Steps(con, started)
    try:
        new_debts, debt_changes, base, persons, patch, people, now = _steps(
            steps, read, book, kept, on, since, stamp, debts_file, held_files, tonight_files, held_changes, changed_files,
            champion, challenger, seed, percent, figures)
        steps.wait()
    finally:
        steps.close()
    state_steps = ("state", "persons", "tonight", "patch", "now", "pictures")
    figures["state_s"] = steps.ended(state_steps)
    figures["nightly_s"] = round(steps.ended(("people",)) - figures["state_s"], 2)
    figures.update({f"{step}_s": steps.seconds((step,)) for step in ("tonight", "now", "pictures", "compaction")
                    if any(ran[0] == step for ran in steps.ran)})
    figures["total_s"] = steps.ended({ran[0] for ran in steps.ran})  # with a compaction, after the decisions

    # The commit: one atomic rename. Then what it replaced is removed.
    commit = {"on": on.isoformat(), "state": base, "persons": persons, "patch": patch, "people": people, "now": now, "debts": new_debts,
              "debt_changes": debt_changes, "ledger": [Path(f).name for f in [*held_files, *tonight_files]]}
    tmp = manifest.with_name("book.json.part")
    tmp.write_text(json.dumps(commit, indent=1))
    os.replace(tmp, manifest)
    for old in [p for pattern in NIGHT_FILES for p in book.glob(pattern)]:
        if old.name not in {commit[k] for k in KEPT_KEYS}:
            old.unlink()  # replaced tonight (an old base, patches added into the new one, tonight's working file)
    if new_debts != debts_file.name:
        debts_file.unlink(missing_ok=True)
    for path in _files(book / CHANGES, "*.parquet"):
        if Path(path).name not in debt_changes:
            os.remove(path)  # folded into the new debts file
    shutil.rmtree(book / "spill", ignore_errors=True)
    return figures


def _steps(steps, read, book, kept, on, since, stamp, debts_file, held_files, tonight_files, held_changes, changed_files,
           champion, challenger, seed, percent, figures):
    """The night's work, queued on `steps` in order: the state brought forward, every debt and person
    decided, and on a night that compacts, the new base. Every file that exists already is read
    before the first step starts; the ones the night writes are planned from the expressions that
    write them, so each step is built and compiled while DuckDB runs the one before."""
    con = steps.con
    # Tonight's debt records replace the ones they change.
    changed = _records(read, None, changed_files)
    debts = _records(read, read(debts_file), [*held_changes, *changed_files])
    new_debts, debt_changes = debts_file.name, [Path(f).name for f in [*held_changes, *changed_files]]
    tonight = _read(con, tonight_files).select(*batch.ENTRY_COLUMNS) if tonight_files else None
    base, persons, patch, people, now = kept.get("state"), kept.get("persons"), kept.get("patch"), kept.get("people"), None
    empty = batch.empty(con, "no_entries", batch.ENTRY_TYPES)
    ledger = _read(con, held_files).select(*batch.ENTRY_COLUMNS) if held_files else empty
    state = read(book / base) if base else None
    earlier = read(book / patch) if patch else None
    sums = read(book / persons) if persons else None
    # The services in the book: the base's and those of every debt record changed since (a patched
    # row carries one of those). Asked of files that exist, queued behind the first step and read
    # only when the decisions are built.
    services = [read(f).select("account_type") for f in [*held_changes, *changed_files]]
    services.append(state.select("account_type") if state is not None else debts.select("account_type"))
    services = services[0] if len(services) == 1 else ibis.union(*services)

    if since is None:
        # The first night: the whole ledger folded, kept in person order.
        if not tonight_files:
            raise BookError(f"{book} has no ledger and no incoming entries: nothing to fold")
        base = f"state-{stamp}.parquet"
        current = steps.copy(batch.state(debts, batch.ledger_summary(tonight, on)).order_by("person_id", "debt_id"), book / base,
                             STATE, "state")
        persons = f"persons-{stamp}.parquet"
        account_types = steps.query(services.distinct())
        steps.copy(batch.person_sums(current), book / persons, STATE, "persons")
        figures["state"] = "folded"
    else:
        moves = batch.tonight(debts, ledger, since, on, tonight if tonight is not None else empty, changed)
        patch = f"patch-{stamp}.parquet"
        # The first night since the base, tonight's patch is the patch; later, it is written first
        # and added to the earlier one.
        tonight_file = book / patch if earlier is None else book / f"tonight-{stamp}.parquet"
        moved = steps.copy(moves, tonight_file, STATE if earlier is None else WORKING, "tonight")
        account_types = steps.query(services.distinct())
        since_base = moved if earlier is None else steps.copy(batch.combine(earlier, moved), book / patch, STATE, "patch")
        if sums is None:
            # A book kept before the per-person sums were: worked out once from its base.
            persons = f"persons-{stamp}.parquet"
            sums = steps.copy(batch.person_sums(state), book / persons, STATE, "persons")
        now = f"now-{stamp}.parquet"
        rows = steps.copy(batch.patched(state, since_base), book / now, STATE, "now")
        people = f"people-{stamp}.parquet"
        pictures = steps.copy(batch.pictures(sums, rows), book / people, STATE, "pictures")
        current = batch.current(state, since_base, pictures, rows)
        figures["state"] = "advanced"

    out = book / "results" / on.isoformat()
    out.mkdir(parents=True, exist_ok=True)
    held, vulnerable, contacts = batch.empty_inputs(con)  # holds, vulnerability and contacts come from the app's database
    decisions = batch.nightly(current, held, vulnerable, contacts, on, champion, challenger, seed=seed, percent=percent,
                              account_types=sorted(r[0] for r in account_types.result()))
    written = steps.copy(decisions, out / "decisions.parquet", WORKING, "decisions")
    steps.copy(batch.people(written, champion, challenger), out / "people.parquet", WORKING, "people")
    figures["debts"] = steps.count(written)

    new_base = since is None
    if since is not None:
        figures["debts_moved"] = steps.count(moved)
        figures["debts_patched"] = steps.count(since_base)
        new_base = figures["debts_patched"] > COMPACT_SHARE * steps.count(state)
        if new_base:
            # The patch added into a new base: still in person order, no sort. Each person's sums: the
            # base's, or the new picture's where a patched debt moved them.
            compacted, new_sums = f"state-{stamp}.parquet", f"persons-{stamp}-new.parquet"
            steps.copy(current, book / compacted, STATE, "compaction")
            moved_people = pictures.select("person_id", *batch.PERSON_SUMS)
            steps.copy(batch.newest(sums, moved_people).filter(_.debts > 0), book / new_sums, STATE, "compaction")
            base, persons, patch, people, now = compacted, new_sums, None, None, None
            figures["state"] = "advanced and compacted"
    if new_base and debt_changes:
        # The debt records' changes folded into a new debts file with the new base.
        new_debts, debt_changes = f"debts-{stamp}.parquet", []
        steps.copy(debts, book / new_debts, KEPT, "compaction")
    return new_debts, debt_changes, base, persons, patch, people, now


def _records(read, debts, files: list[str]):
    """`debts` (or nothing) with each file's debt records (`read`: a file as a table) in turn
    replacing the ones they change: the newest record of each debt."""
    for f in files:
        records = read(f).select("debt_id", *batch.ATTRIBUTES)
        debts = records if debts is None else batch.newest(debts, records, key="debt_id")
    return debts


def _held_changes(book: Path, kept: dict) -> list[str]:
    """The debt-record change files the book holds (book.json), oldest first."""
    return [str(book / CHANGES / name) for name in kept.get("debt_changes", [])]


def debt_records(con, book: Path):
    """The debt records a book holds: its debts file with the changes of the nights since."""
    book = Path(book)
    kept = json.loads((book / "book.json").read_text())
    return _records(lambda f: _read(con, [f]), _read(con, [book / kept["debts"]]), _held_changes(book, kept))


def _entry_schema():
    """A ledger entry file's columns, as Arrow."""
    import ibis

    return ibis.schema(batch.ENTRY_TYPES).to_pyarrow()
