"""Benchmark: the nightly re-prioritisation of a national debt book (issue 6).

    python bench/prioritise.py --dwp DIR            # the output of `fairdebt synth --scale dwp --out DIR`
    python bench/prioritise.py --dwp DIR --debts 1000000
    python bench/prioritise.py --dwp DIR --postgres # also time writing changed results to PostgreSQL

Stages (each timed):
  prepare   the extract as fairdebt's ledger holds it: integer ids, fairdebt's entry kinds
            (done once; at run time the ledger is already in this shape)
  summary   fold the whole ledger into one row per debt (balance, arrears, ongoing, payment history)
  nightly   features per debt and per person, score with contributions, segment, RAG, next action
            and the rules that fired, each person's lead debt; results written as Parquet
The issue's target (<= 20 s for 15M debtors / 45M debts on 2 cores; <= 2 s for 1M debts) is held
to a whole night of the book, as `fairdebt book` runs it: `--advance PERCENT` times one
(fairdebt.batch.book.night: the state brought forward with tonight's entries and date-range slices
of the ledger, kept in date order, the patched debts' rows written, then every debt and person
decided). The nightly stage alone is also timed, over the state folded here from every
transaction (summary). Prints rows/s and peak RSS; appends to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import host  # noqa: E402  (bench/host.py)
from fairdebt.batch import book  # noqa: E402
from fairdebt.batch import prioritise as batch  # noqa: E402
from fairdebt.domain import prioritisation as rules  # noqa: E402

KIND = {"OP": "charge", "REC": "payment", "ADJ": "adjustment", "REV": "reversal", "WO": "write_off"}
STAGE = {"": "none", "DEA": "direct_earnings_attachment", "BEN": "deduction_from_benefit", "DD": "arrangement"}


# Tonight's results are a working file, read once by the lead-debt step and the database writer:
# plain encoding, no compression (dictionaries and compression of 45M distinct scores cost seconds
# and save nothing worth keeping).
NIGHTLY_PARQUET = "FORMAT parquet, COMPRESSION uncompressed, DICTIONARY_SIZE_LIMIT 1"


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def prepare(con, dwp: Path, out: Path, limit: int | None) -> dict:
    """The DWP extract as fairdebt's ledger: integer debt and person ids, fairdebt's kinds."""
    where = f"WHERE CAST(SUBSTR(debt_id, 3) AS BIGINT) <= {int(limit)}" if limit else ""
    kinds = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in KIND.items())
    stages = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in STAGE.items())
    con.raw_sql(f"""
        COPY (SELECT CAST(SUBSTR(debt_id, 3) AS BIGINT) AS debt_id, CAST(SUBSTR(debtor_account_id, 3) AS BIGINT) AS person_id,
                     'dwp_benefit_overpayment' AS account_type, '' AS tenure,
                     CASE recovery_status {stages} ELSE 'none' END AS recovery_stage, status_date AS stage_date
              FROM read_parquet('{dwp}/dwp_debts.parquet') {where})
        TO '{out}/debts.parquet' (FORMAT parquet, COMPRESSION zstd)""")
    con.raw_sql(f"""
        COPY (SELECT CAST(SUBSTR(debt_id, 3) AS BIGINT) AS debt_id, CASE txn_type {kinds} END AS kind, amount_pence AS amount,
                     effective_date, due_date, CASE method WHEN 'UC' THEN 'universal_credit' ELSE lower(method) END AS method
              FROM read_parquet('{dwp}/dwp_transactions.parquet') {where}
              ORDER BY effective_date)
        TO '{out}/entries.parquet' (FORMAT parquet, COMPRESSION zstd)""")  # a ledger is appended night by night: date order
    return {"debts": con.read_parquet(f"{out}/debts.parquet").count().execute(),
            "entries": con.read_parquet(f"{out}/entries.parquet").count().execute()}


PG_COLUMNS = ["debt_id", "person_id", "score", "segment", "segment_rule", "rag", "rag_rule", "action", "action_rule", "overlaps", "variant"]


def _copy(cur, table: str, arrow) -> None:
    import io

    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(arrow, buffer, pacsv.WriteOptions(include_header=False))
    columns = ", ".join(f'"{c}"' for c in PG_COLUMNS)
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())


def postgres_write(con, work: Path, policy, on: dt.date, figures: dict) -> None:
    """Time writing results to PostgreSQL: the first night's load, then only what changed the next night."""
    import psycopg

    from fairdebt.testing.pgcluster import PgCluster

    held, vulnerable, contacts = batch.empty_inputs(con)
    state = con.read_parquet(f"{work}/state.parquet")
    tomorrow = on + dt.timedelta(days=1)
    later = batch.nightly(state, held, vulnerable, contacts, tomorrow, policy, account_types=["dwp_benefit_overpayment"])
    con.raw_sql(f"COPY ({con.compile(later)}) TO '{work}/decisions_next.parquet' (FORMAT parquet)")
    # Stored as the app stores them (DebtPriority: outcomes and rule names, not numbers).
    today_t = batch.labelled(con.read_parquet(f"{work}/decisions.parquet"), policy)
    next_t = batch.labelled(con.read_parquet(f"{work}/decisions_next.parquet"), policy)
    with PgCluster() as pg, psycopg.connect(pg.url, autocommit=True) as db, db.cursor() as cur:
        cur.execute("""CREATE TABLE priority (debt_id BIGINT PRIMARY KEY, person_id BIGINT NOT NULL, score DOUBLE PRECISION, segment TEXT,
                       segment_rule TEXT, rag TEXT, rag_rule TEXT, action TEXT, action_rule TEXT, "overlaps" INT, variant TEXT)""")
        started = time.perf_counter()
        _copy(cur, "priority", today_t.select(*PG_COLUMNS).to_pyarrow())
        figures["pg_initial_load_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        j = next_t.join(today_t, "debt_id", rname="{name}_old")
        differs = None
        for c in PG_COLUMNS[1:]:
            d = j[c] != j[f"{c}_old"]
            differs = d if differs is None else differs | d
        changed = j.filter(differs).select(*PG_COLUMNS).to_pyarrow()
        figures["pg_changed_found_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        cur.execute("CREATE TEMP TABLE staged (LIKE priority)")
        _copy(cur, "staged", changed)
        sets = ", ".join(f'"{c}" = s."{c}"' for c in PG_COLUMNS[1:])
        cur.execute(f"UPDATE priority p SET {sets} FROM staged s WHERE p.debt_id = s.debt_id")
        figures["pg_changed_rows"] = changed.num_rows
        figures["pg_changed_write_s"] = round(time.perf_counter() - started, 2)
    print(f"postgres: first night's {figures['debts']:,} results loaded in {figures['pg_initial_load_s']} s; next night "
          f"{figures['pg_changed_rows']:,} changed found in {figures['pg_changed_found_s']} s and written in {figures['pg_changed_write_s']} s", flush=True)


def book_night(con, work: Path, on: dt.date, percent: float, records: float, policy, threads: int, memory: str, figures: dict) -> None:
    """The national book's next night (fairdebt.batch.book.night), as `fairdebt book` runs it: a book
    made from the work directory (hard links: the ledger, the debts, the state as the base), with
    PERCENT of debts paying tomorrow and RECORDS percent with a changed record (a recovery stage
    moved) in tonight's extract. The night advances the state with tonight's entries and the debts
    time alone moves (a debit falling due, a payment leaving the 90- or 365-day window, found in
    date-range slices of the ledger, which is stored in date order), then decides every debt and
    person and writes the results."""
    every = max(1, round(100 / percent)) if percent > 0 else 0
    tomorrow = on + dt.timedelta(days=1)
    shelf = work / "book"
    shutil.rmtree(shelf, ignore_errors=True)
    (shelf / "ledger").mkdir(parents=True)
    (shelf / "incoming").mkdir()
    if not (work / "persons.parquet").exists():
        # Each person's sums, as a book keeps them with its base (once; a kept book has them).
        started = time.perf_counter()
        con.raw_sql(f"COPY ({con.compile(batch.person_sums(con.read_parquet(f'{work}/state.parquet')))}) TO '{work}/persons.parquet' ({book.STATE})")
        print(f"per-person sums of the base written in {time.perf_counter() - started:.2f} s (once)", flush=True)
    for source, target in (("debts.parquet", "debts.parquet"), ("entries.parquet", "ledger/entries.parquet"), ("state.parquet", "state-0.parquet"),
                           ("persons.parquet", "persons-0.parquet")):
        try:
            os.link(work / source, shelf / target)
        except OSError:
            shutil.copy(work / source, shelf / target)
    (shelf / "book.json").write_text(json.dumps({"on": on.isoformat(), "state": "state-0.parquet", "persons": "persons-0.parquet", "patch": None,
                                                  "people": None, "now": None,
                                                  "debts": "debts.parquet", "ledger": ["entries.parquet"]}))
    con.raw_sql(f"""COPY (SELECT debt_id, 'payment' AS kind, CAST(-1000 - debt_id % 5000 AS BIGINT) AS amount,
                                 DATE '{tomorrow}' AS effective_date, CAST(NULL AS DATE) AS due_date, 'universal_credit' AS method
                          FROM read_parquet('{work}/debts.parquet') WHERE {f'debt_id % {every} = 0' if every else 'FALSE'})
                    TO '{shelf}/incoming/entries-tonight.parquet' (FORMAT parquet)""")
    if records > 0:
        con.raw_sql(f"""COPY (SELECT debt_id, person_id, account_type, tenure, 'deduction_from_benefit' AS recovery_stage,
                                     DATE '{tomorrow}' AS stage_date
                              FROM read_parquet('{work}/debts.parquet') WHERE debt_id % {max(1, round(100 / records))} = 1)
                        TO '{shelf}/incoming/debts-tonight.parquet' (FORMAT parquet)""")
    night = book.night(shelf, tomorrow, policy, threads=threads, memory=memory)
    figures["book_night"] = {k: night[k] for k in ("entries_tonight", "debts_moved", "tonight_s", "pictures_s", "now_s", "state_s", "nightly_s",
                                                   "total_s")}
    figures["advance_changed_percent"] = percent
    figures["advance_records_percent"] = records
    print(f"book night: {night['entries_tonight']:,} entries tonight ({percent}% of debts), {records}% of debts with a changed record, "
          f"{night['debts_moved']:,} debts moved; "
          f"state brought forward in {night['state_s']} s, every debt and person decided in {night['nightly_s']} s: "
          f"{night['total_s']} s in all", flush=True)
    shutil.rmtree(shelf, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dwp", type=Path, required=True)
    parser.add_argument("--debts", type=int, default=None, help="only the first N debts (e.g. 1000000)")
    parser.add_argument("--on", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--postgres", action="store_true", help="also time writing results to a throwaway PostgreSQL")
    parser.add_argument("--memory", default="16GB", help="DuckDB's memory limit (it spills to --work beyond it; the first fold of 45M debts sorts the state in person order and needs about 16 GB)")
    parser.add_argument("--advance", type=float, default=None, metavar="PERCENT",
                        help="also time the book's next night (fairdebt book), PERCENT of debts having new entries")
    parser.add_argument("--records", type=float, default=0.1, metavar="PERCENT",
                        help="with --advance: PERCENT of debts have a changed record tonight (a recovery stage moved)")
    parser.add_argument("--reuse", action="store_true", help="reuse --work's prepared ledger and state (time the nightly stage again)")
    args = parser.parse_args()
    on = args.on or dt.date.fromisoformat(json.loads((args.dwp / "manifest.json").read_text()).get("as_of", dt.date.today().isoformat()))
    work = args.work or Path(tempfile.mkdtemp(prefix="fairdebt-prioritise-"))
    work.mkdir(parents=True, exist_ok=True)
    con = batch.connect("duckdb", threads=args.threads)
    con.raw_sql(f"SET temp_directory = '{work}/spill'")
    con.raw_sql(f"SET memory_limit = '{args.memory}'")
    policy = rules.Policy.from_dict(rules.hackney_example())
    figures: dict = {"bench": "prioritise", "date": dt.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
                     "threads": args.threads, "machine": platform.platform(), "host_loop_s": host.loop_seconds(),
                     "on": on.isoformat(), "limit": args.debts}

    if args.reuse and (work / "state.parquet").exists():
        figures.update(json.loads((work / "prepared.json").read_text()))
        print(f"reusing {work}: {figures['debts']:,} debts, {figures['entries']:,} entries (prepare {figures['prepare_s']} s, "
              f"summary {figures['summary_s']} s)", flush=True)
    else:
        started = time.perf_counter()
        figures.update(prepare(con, args.dwp, work, args.debts))
        figures["prepare_s"] = round(time.perf_counter() - started, 2)
        print(f"prepare: {figures['debts']:,} debts, {figures['entries']:,} ledger entries in {figures['prepare_s']} s", flush=True)
        # The ledger folded into the per-debt state (from scratch; a book night brings it forward: --advance).
        started = time.perf_counter()
        debts, entries = con.read_parquet(f"{work}/debts.parquet"), con.read_parquet(f"{work}/entries.parquet")
        con.raw_sql(f"COPY ({con.compile(batch.ledger_summary(entries, on))}) TO '{work}/summary.parquet' (FORMAT parquet)")
        summary = con.read_parquet(f"{work}/summary.parquet")
        # Kept in person order: tonight's decisions then come out in person order,
        # and each person's lead debt is found with every one of their debts side by side.
        state = batch.state(debts, summary).order_by("person_id", "debt_id")
        con.raw_sql(f"COPY ({con.compile(state)}) TO '{work}/state.parquet' ({book.STATE})")  # as a book keeps its state
        (work / "persons.parquet").unlink(missing_ok=True)  # the sums of an earlier state
        figures["summary_s"] = round(time.perf_counter() - started, 2)
        print(f"summary: {figures['entries'] / figures['summary_s']:,.0f} entries/s ({figures['summary_s']} s)", flush=True)
        (work / "prepared.json").write_text(json.dumps({k: figures[k] for k in ("debts", "entries", "prepare_s", "summary_s")}))

    held, vulnerable, contacts = batch.empty_inputs(con)
    # The nightly run over the state: features, decisions, people; results written as Parquet.
    started = time.perf_counter()
    decisions = batch.nightly(con.read_parquet(f"{work}/state.parquet"), held, vulnerable, contacts, on, policy)
    # Written once, then read back for each person's lead debt: memory stays bounded at 45M debts
    # (keeping every decision in a DuckDB table instead took 19 GiB and saved only a few seconds).
    con.raw_sql(f"COPY ({con.compile(decisions)}) TO '{work}/decisions.parquet' ({NIGHTLY_PARQUET})")
    written = con.read_parquet(f"{work}/decisions.parquet")
    con.raw_sql(f"COPY ({con.compile(batch.people(written, policy))}) TO '{work}/people.parquet' ({NIGHTLY_PARQUET})")
    figures["nightly_s"] = round(time.perf_counter() - started, 2)
    figures["debts_per_s"] = round(figures["debts"] / figures["nightly_s"])
    figures["people"] = con.read_parquet(f"{work}/people.parquet").count().execute()
    figures["from_scratch_s"] = round(figures["summary_s"] + figures["nightly_s"], 2)
    named = batch.labelled(written, policy)
    figures["segments"] = {r["segment"]: r["n"] for r in named.group_by("segment").aggregate(n=named.count()).to_pyarrow().to_pylist()}
    if args.advance is not None:
        book_night(con, work, on, args.advance, args.records, policy, args.threads, args.memory, figures)
    if args.postgres:
        postgres_write(con, work, policy, on, figures)
    figures["peak_rss_bytes"] = peak_rss()
    print(f"nightly: {figures['debts']:,} debts / {figures['people']:,} people in {figures['nightly_s']} s "
          f"({figures['debts_per_s']:,} debts/s); from scratch incl. summary {figures['from_scratch_s']} s; "
          f"peak RSS {figures['peak_rss_bytes'] / 2**30:.2f} GiB", flush=True)
    print("segments:", figures["segments"])
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    with open(results / "prioritise.jsonl", "a") as out:
        out.write(json.dumps(figures) + "\n")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
