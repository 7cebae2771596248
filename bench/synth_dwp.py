"""Benchmark: the synthetic DWP extract at national scale (15 million debtors, ~45 million debts).

    .venv/bin/python bench/synth_dwp.py [--debtors N] [--out DIR] [--keep] [--seed S] [--chunk-size C]

Runs fairdebt.synth.dwp.generate_dwp in a child process, measures its wall time and peak RSS
(psutil polling of the child, and the kernel's ru_maxrss for it), prints rows/s for each file, the
file sizes and the machine, and appends one JSON line to bench/results/synth_dwp.jsonl.

The budget (the issue's acceptance) is for the full size: 15,000,000 debtors within 600 s wall time
and 4 GiB peak RSS on a 2-core machine. At that size the script exits 1 if either is exceeded
(2 if the generation itself failed). Smaller runs are reported but not judged.

Output goes to a temporary folder that is deleted afterwards, unless --keep (or --out, which is kept).
The full run writes about 4.1 GB (2.8 GB of it transactions).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "synth_dwp.jsonl"
FULL_DEBTORS = 15_000_000
TIME_BUDGET_S = 600.0
RSS_BUDGET_BYTES = 4 * 1024**3


def _child(args: argparse.Namespace) -> None:
    """Runs in the child process: generate, report progress on stderr and the result on stdout."""
    from datetime import date

    from fairdebt.synth.dwp import generate_dwp

    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        print(f"  {done:>12,} / {total:,} debtors  {time.perf_counter() - started:7.1f} s", file=sys.stderr, flush=True)

    result = generate_dwp(
        Path(args.out), debtors=args.debtors, seed=args.seed, as_of=date.fromisoformat(args.as_of), chunk_size=args.chunk_size, progress=progress
    )
    print(json.dumps(result), flush=True)


def _watch(proc: subprocess.Popen, peak: list[int], stop: threading.Event) -> None:
    """Poll the child's RSS (and any children of its own) until it ends."""
    try:
        import psutil
    except ImportError:  # ru_maxrss still gives the peak
        return
    try:
        p = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
            except psutil.Error:
                break
            peak[0] = max(peak[0], rss)
            stop.wait(0.05)
    except psutil.Error:
        pass


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:,.0f} B"
        n /= 1024
    return str(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debtors", type=int, default=FULL_DEBTORS)
    parser.add_argument("--out", type=Path, help="write here and keep it (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary output")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", default="2026-10-31")
    parser.add_argument("--chunk-size", type=int, default=500_000)
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON lines file to append to")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0

    out = args.out or Path(tempfile.mkdtemp(prefix="fairdebt-synth-dwp-"))
    keep = args.keep or args.out is not None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--debtors", str(args.debtors), "--out", str(out),
           "--seed", str(args.seed), "--as-of", args.as_of, "--chunk-size", str(args.chunk_size)]
    print(f"synth_dwp: {args.debtors:,} debtors -> {out}  (cpus {os.cpu_count()}, {platform.platform()})", flush=True)
    load_before = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    peak = [0]
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(proc, peak, stop), daemon=True)
    watcher.start()
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_rss = max(peak[0], usage.ru_maxrss * 1024)  # Linux reports KiB
    load_after = os.getloadavg()

    if proc.returncode != 0:
        print(f"synth_dwp: generation failed (exit {proc.returncode})", file=sys.stderr)
        if not keep:
            shutil.rmtree(out, ignore_errors=True)
        return 2
    result = json.loads(stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    files = {}
    for entry in manifest["files"]:
        path = out / entry["path"]
        rows = manifest["rows"][entry["source"]]
        files[entry["source"]] = {"path": entry["path"], "rows": rows, "bytes": path.stat().st_size, "rows_per_s": round(rows / wall)}
    truth = out / "truth.csv"
    files["truth"] = {"path": "truth.csv", "rows": result["customers"], "bytes": truth.stat().st_size, "rows_per_s": round(result["customers"] / wall)}

    full = args.debtors >= FULL_DEBTORS
    over_time = wall > TIME_BUDGET_S
    over_rss = peak_rss > RSS_BUDGET_BYTES
    record = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "debtors": args.debtors,
        "seed": args.seed,
        "as_of": args.as_of,
        "chunk_size": args.chunk_size,
        "wall_s": round(wall, 1),
        "cpu_user_s": round(usage.ru_utime, 1),
        "cpu_sys_s": round(usage.ru_stime, 1),
        "peak_rss_bytes": peak_rss,
        "debts": result["debts"],
        "transactions": result["transactions"],
        "transactions_per_debt": round(result["transactions"] / max(result["debts"], 1), 2),
        "duplicates": result["duplicates"],
        "files": files,
        "total_bytes": sum(f["bytes"] for f in files.values()),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after]},
        "budget": {"wall_s": TIME_BUDGET_S, "peak_rss_bytes": RSS_BUDGET_BYTES, "judged": full,
                   "passed": (not over_time and not over_rss) if full else None},
    }

    print(f"  wall time   {wall:8.1f} s   (budget {TIME_BUDGET_S:.0f} s)   cpu user {usage.ru_utime:.1f} s, sys {usage.ru_stime:.1f} s")
    print(f"  peak RSS    {_fmt_bytes(peak_rss):>12}   (budget {_fmt_bytes(RSS_BUDGET_BYTES)})")
    for source, f in files.items():
        print(f"  {source:<18} {f['rows']:>13,} rows  {f['rows_per_s']:>11,} rows/s  {_fmt_bytes(f['bytes']):>12}")
    print(f"  transactions per debt {record['transactions_per_debt']}, duplicate customer records {result['duplicates']:,}")
    machine = f"{os.cpu_count()} cpus, {platform.platform()}, python {platform.python_version()}"
    print(f"  machine: {machine}, load average {load_before[0]:.2f} -> {load_after[0]:.2f}")

    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    if keep:
        print(f"  output kept in {out}")
    else:
        shutil.rmtree(out, ignore_errors=True)

    if full and (over_time or over_rss):
        print("synth_dwp: OVER BUDGET" + (" (time)" if over_time else "") + (" (memory)" if over_rss else ""), file=sys.stderr)
        return 1
    print("synth_dwp: within budget" if full else "synth_dwp: (budget is judged at the full size only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
