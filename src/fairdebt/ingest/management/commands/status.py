import datetime as dt
import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from fairdebt.accounts import services


class Command(BaseCommand):
    help = "Counts and money totals of the ledger (today, or --on DATE)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--on", type=dt.date.fromisoformat, help="YYYY-MM-DD (default today)")

    def handle(self, json=False, on=None, **opts):
        figures = services.status(on or timezone.localdate())
        if json:
            import json as _json

            self.stdout.write(_json.dumps(figures))
            return
        from fairdebt.domain.money import format_pounds

        for k, v in figures.items():
            self.stdout.write(f"{k.replace('_', ' '):18} {format_pounds(v) if k.endswith('_pence') else v}")
