import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from fairdebt.accounts import positions


class Command(BaseCommand):
    help = "Prove the ledger: no entry without its debt, and every cached balance equal to its entries."

    def add_arguments(self, parser):
        parser.add_argument("--on", type=dt.date.fromisoformat, default=None)

    def handle(self, on=None, **opts):
        problems = []
        with connection.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM accounts_ledgerentry l LEFT JOIN accounts_debt d ON d.id = l.debt_id WHERE d.id IS NULL"
            )
            orphans = cur.fetchone()[0]
        if orphans:
            problems.append(f"{orphans} ledger entries point at no debt")
        on = on or timezone.localdate()
        problems += positions.stale(on)
        if problems:
            raise CommandError("The ledger check failed:\n  " + "\n  ".join(problems[:50]) + "\nRun `fairdebt nightly` to refresh cached balances.")
        self.stdout.write(f"Ledger checked: every entry has its debt; cached positions as at {on} match the entries.")
