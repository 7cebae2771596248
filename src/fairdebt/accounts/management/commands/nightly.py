import datetime as dt
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from fairdebt.accounts import positions


class Command(BaseCommand):
    help = "The nightly jobs: refresh balances, arrears and ongoing liability; pull Breathing Space notices; send the outbox; prioritise and allocate."

    def add_arguments(self, parser):
        parser.add_argument("--on", type=dt.date.fromisoformat, default=None)

    def handle(self, on=None, **opts):
        on = on or timezone.localdate()
        started = time.perf_counter()
        written = positions.refresh(on)
        self.stdout.write(
            f"Balances, arrears and ongoing liability refreshed as at {on} in {time.perf_counter() - started:.1f}s "
            f"({written['debts']:,} debts and {written['accounts']:,} accounts changed)."
        )
        from fairdebt.holds import services as holds

        deaths = holds.sync_deceased(on)
        if deaths:
            self.stdout.write(f"Deceased holds placed from source systems' dates of death: {deaths}.")
        # Breathing Space notices before anything is sent: a hold must be in place first.
        from fairdebt.holds.management.commands.breathing_space import client_from_environment

        if client_from_environment() is not None:
            call_command("breathing_space", "pull", stdout=self.stdout)
        call_command("outbox", "dispatch", on=on, stdout=self.stdout)
        from fairdebt.worklists import services as worklists

        run = worklists.prioritise(on)
        self.stdout.write(
            f"Prioritised {run.debts:,} debts and {run.people:,} people in {run.seconds}s "
            f"({run.changed_debts:,} debts and {run.changed_people:,} people changed; {run.challenger_people:,} in the challenger's share)."
        )
        counts = worklists.allocate(on)
        self.stdout.write(f"Allocation: {counts['kept']:,} kept, {counts['allocated']:,} allocated, {counts['unallocated']:,} waiting for an officer.")
