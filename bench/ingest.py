"""Ingest throughput: validated rows/s end to end (read, validate, load) for 1M ledger rows.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--backend both|sqlite|postgres] [--format csv|parquet]

Writes a council-tax style extract (accounts, debts, then the transactions being measured),
loads it into a fresh SQLite file and a throwaway PostgreSQL cluster, and prints rows/s for the
transactions file, plus the time of a second load of the same file (all duplicates). Appends a
JSON line to bench/results/ingest.jsonl. Target: >= 500,000 rows/s into PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import host  # noqa: E402  (bench/host.py)


def make_extract(out: Path, rows: int, fmt: str) -> dict[str, Path]:
    from fairdebt.ingest import config

    rng = np.random.default_rng(42)
    n_debts = max(1, rows // 10)
    n_accounts = max(1, n_debts // 3)
    acc = config.get("council_tax.accounts").columns
    accounts = pl.DataFrame({
        acc["account_ref"]: [f"CT{i:08d}" for i in range(n_accounts)],
        acc["party_ref"]: [f"C{i:08d}" for i in range(n_accounts)],
        acc["role"]: "L",
        acc["surname"]: "Smith",
        acc["forename"]: "Jo",
        acc["postcode"]: "E8 1AA",
    })
    deb = config.get("council_tax.debts").columns
    debt_account = rng.integers(0, n_accounts, n_debts)
    debts = pl.DataFrame({
        deb["debt_ref"]: [f"D{i:09d}" for i in range(n_debts)],
        deb["account_ref"]: [f"CT{i:08d}" for i in debt_account],
        deb["description"]: "Council tax",
    })
    tx = config.get("council_tax.transactions").columns
    debt_of = rng.integers(0, n_debts, rows)
    is_charge = rng.random(rows) < 0.6
    pence = rng.integers(100, 50_000, rows)
    pence = np.where(is_charge, pence, -pence)
    days = rng.integers(0, 1500, rows)
    dates = (np.datetime64("2021-01-01") + days.astype("timedelta64[D]")).astype("datetime64[D]")
    frame = pl.DataFrame({
        tx["transaction_ref"]: pl.int_range(rows, eager=True).cast(pl.Utf8).str.pad_start(10, "0"),
        tx["debt_ref"]: pl.Series(debt_of).cast(pl.Utf8).str.pad_start(9, "0").str.replace(r"^", "D"),
        tx["kind"]: pl.Series(np.where(is_charge, "INST", "PAY")),
        "_pence": pence,
        "_date": pl.Series(dates).cast(pl.Date),
        tx["method"]: pl.Series(np.where(is_charge, "", "DD")),
    }).with_columns(
        pl.format("{}{}.{}", pl.when(pl.col("_pence") < 0).then(pl.lit("-")).otherwise(pl.lit("")),
                  (pl.col("_pence").abs() // 100), (pl.col("_pence").abs() % 100).cast(pl.Utf8).str.pad_start(2, "0")).alias(tx["amount"]),
        pl.col("_date").dt.strftime("%d/%m/%Y").alias(tx["effective_date"]),
        pl.lit(None, pl.Utf8).alias(tx["posting_date"]),
        pl.col("_date").dt.strftime("%d/%m/%Y").alias(tx["due_date"]),
        pl.lit(None, pl.Utf8).alias(tx["reverses_ref"]),
    ).drop("_pence", "_date")
    paths = {"accounts": out / "accounts.csv", "debts": out / "debts.csv"}
    accounts.write_csv(paths["accounts"])
    debts.write_csv(paths["debts"])
    if fmt == "parquet":
        paths["transactions"] = out / "transactions.parquet"
        frame.write_parquet(paths["transactions"])
    else:
        paths["transactions"] = out / "transactions.csv"
        frame.write_csv(paths["transactions"])
    return paths


def make_dwp_extract(out: Path, rows: int) -> dict[str, Path]:
    """The national service's own typed Parquet (dates as dates, whole pence), cut to `rows` transactions."""
    import json as _json

    from fairdebt.synth.dwp import generate_dwp

    generate_dwp(out, debtors=max(1, rows // 8), seed=11)
    files = {f["source"].split(".")[1]: out / f["path"] for f in _json.loads((out / "manifest.json").read_text())["files"]}
    tx = pl.read_parquet(files["transactions"])
    if tx.height < rows:
        raise SystemExit(f"only {tx.height:,} transactions generated; raise debtors")
    # Keep whole debts' histories so reversals keep their originals.
    cut = tx.head(rows)
    cut.write_parquet(out / "transactions_cut.parquet")
    files["transactions"] = out / "transactions_cut.parquet"
    files["system"] = "dwp"
    return files


def worker(paths: dict) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fairdebt.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from fairdebt.ingest import services

    call_command("migrate", verbosity=0)
    call_command("migrate", database="vault", verbosity=0)
    system = paths.get("system", "council_tax")
    services.ingest_file(f"{system}.accounts", paths["accounts"])
    services.ingest_file(f"{system}.debts", paths["debts"])
    t0 = time.perf_counter()
    first = services.ingest_file(f"{system}.transactions", paths["transactions"])
    t1 = time.perf_counter()
    second = services.ingest_file(f"{system}.transactions", paths["transactions"])
    t2 = time.perf_counter()
    return {
        "backend": connection.vendor,
        "rows": first.rows,
        "accepted": first.accepted,
        "rejected": first.rejected,
        "seconds": round(t1 - t0, 2),
        "rows_per_s": round(first.rows / (t1 - t0)),
        "refresh_seconds": round(first.refresh_seconds, 2),
        "load_seconds_excluding_refresh": round(first.seconds, 2),
        "rows_per_s_excluding_refresh": round(first.rows / first.seconds),
        "reload_seconds": round(t2 - t1, 2),
        "reload_duplicates": second.duplicates,
        "stages": first.timings,
    }


def run_backend(backend: str, paths: dict, home: Path) -> dict:
    env = dict(os.environ, FAIRDEBT_HOME=str(home / backend), PYTHONPATH=str(ROOT / "src"))
    env.pop("DATABASE_URL", None)
    cmd = [sys.executable, __file__, "--worker", json.dumps({k: str(v) for k, v in paths.items()})]
    if backend == "postgres":
        from fairdebt.testing.pgcluster import PgCluster

        with PgCluster() as pg:
            env["DATABASE_URL"] = pg.url
            out = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True)
    else:
        out = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{backend} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--backend", choices=["both", "sqlite", "postgres"], default="both")
    ap.add_argument("--format", choices=["csv", "parquet", "dwp-parquet"], default="csv",
                    help="csv / parquet: a council-tax extract (text columns); dwp-parquet: typed Parquet from synth --scale dwp")
    ap.add_argument("--worker")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    with tempfile.TemporaryDirectory(prefix="fairdebt-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        paths = make_dwp_extract(tmp, args.rows) if args.format == "dwp-parquet" else make_extract(tmp, args.rows, args.format)
        print(f"extract: {args.rows:,} transaction rows ({args.format}) written in {time.perf_counter() - t0:.1f}s")
        results = []
        for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
            r = run_backend(backend, paths, tmp)
            results.append(r)
            print(f"{r['backend']:10} {r['rows']:,} rows: read+validate+load {r['load_seconds_excluding_refresh']}s = "
                  f"{r['rows_per_s_excluding_refresh']:,} rows/s; + balance refresh {r['refresh_seconds']}s "
                  f"(end to end {r['rows_per_s']:,} rows/s); accepted {r['accepted']:,}; reload (all duplicates) {r['reload_seconds']}s\n"
                  f"           stages (s): {r['stages']}")
    record = {"bench": "ingest", "date": dt.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
              "machine": platform.platform(), "host_loop_s": host.loop_seconds(), "format": args.format, "results": results}
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    with open(ROOT / "bench" / "results" / "ingest.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")
    pg = [r for r in results if r["backend"] == "postgresql"]
    if pg and args.rows >= 1_000_000 and pg[0]["rows_per_s_excluding_refresh"] < 500_000:
        print(f"BELOW TARGET: {pg[0]['rows_per_s_excluding_refresh']:,} rows/s into PostgreSQL (target 500,000)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
