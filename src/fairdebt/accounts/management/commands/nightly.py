import datetime as dt
import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from fairdebt.accounts import positions


class Command(BaseCommand):
    help = "The nightly jobs: re-derive every cached balance, arrears and ongoing liability for today."

    def add_arguments(self, parser):
        parser.add_argument("--on", type=dt.date.fromisoformat, default=None)

    def handle(self, on=None, **opts):
        on = on or timezone.localdate()
        started = time.perf_counter()
        positions.refresh(on)
        self.stdout.write(f"Balances, arrears and ongoing liability refreshed as at {on} in {time.perf_counter() - started:.1f}s.")
