"""fairdebt book DIR [--on DATE]: one night of a national debt book kept as files (fairdebt.batch.book)."""

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fairdebt.batch import book
from fairdebt.worklists.models import PrioritisationPolicyVersion


class Command(BaseCommand):
    help = ("Bring a national debt book (a directory of Parquet files: debts, ledger, tonight's incoming entries) "
            "to a day and decide every debt and person, by the prioritisation policy in force that day.")

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--on", type=dt.date.fromisoformat, help="YYYY-MM-DD (default today)")
        parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: every core)")
        parser.add_argument("--memory", default=None, help="DuckDB's memory limit, e.g. 12GB (it spills to the book beyond it)")
        parser.add_argument("--json", action="store_true", help="print the night's figures as one JSON object")

    def handle(self, directory, on=None, threads=None, memory=None, json=False, **opts):
        on = on or timezone.localdate()
        version = PrioritisationPolicyVersion.current(on)
        challenger = version.challenger.policy if version.challenger_id and version.challenger_percent else None
        try:
            figures = book.night(directory, on, version.policy, challenger, seed=version.challenger_seed,
                                 percent=version.challenger_percent, threads=threads, memory=memory)
        except book.BookError as exc:
            raise CommandError(str(exc)) from exc
        figures["policy_version"] = version.pk
        if json:
            import json as _json

            self.stdout.write(_json.dumps(figures))
            return
        self.stdout.write(
            f"{directory} on {on}: state {figures['state']} in {figures['state_s']} s ({figures['entries_tonight']:,} entries tonight), "
            f"{figures['debts']:,} debts decided in {figures['nightly_s']} s by policy version {version.pk}; "
            f"results in {directory / 'results' / on.isoformat()}")
