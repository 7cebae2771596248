import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Write a synthetic council's extracts (one per source system), manifest.json and truth.csv: "
        "fairdebt synth --residents N --seed S --out DIR [--scale dwp]"
    )

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=None, help="residents (council) or debtors (--scale dwp)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", required=True)
        parser.add_argument("--scale", choices=["council", "dwp"], default="council",
                            help="dwp: a national debt service, 15M debtors / 45M debts as Parquet, streamed")
        parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                            help="the date the extracts are taken (default 2026-10-31, so a seed always gives the same files)")
        parser.add_argument("--bad-rows", type=float, default=0.0, help="share of rows made bad on purpose (listed in bad_rows.csv)")

    def handle(self, residents, seed, out, scale, as_of, bad_rows, **opts):
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        as_of = as_of or dt.date(2026, 10, 31)
        started = time.perf_counter()
        if scale == "dwp":
            from fairdebt.synth.dwp import generate_dwp

            generate_dwp(out, debtors=residents or 15_000_000, seed=seed, as_of=as_of)
        else:
            from fairdebt.synth.council import generate

            if residents is not None and residents < 1:
                raise CommandError("--residents must be at least 1")
            generate(residents or 5_000, seed, out, as_of, bad_row_rate=bad_rows)
        import json

        manifest = json.loads((out / "manifest.json").read_text())
        self.stdout.write(
            f"Wrote {len(manifest['files'])} extracts to {out} in {time.perf_counter() - started:.1f}s "
            f"(manifest.json, truth.csv). Load them with: fairdebt ingest --manifest {out / 'manifest.json'}"
        )
