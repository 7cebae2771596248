import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from fairdebt.accounts import positions


class Command(BaseCommand):
    help = "Prove the ledger: every entry has its debt, every reversal negates its original, every cached balance equals its entries."

    def add_arguments(self, parser):
        parser.add_argument("--on", type=dt.date.fromisoformat, default=None)

    def handle(self, on=None, **opts):
        problems = []
        with connection.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM accounts_ledgerentry l LEFT JOIN accounts_debt d ON d.id = l.debt_id WHERE d.id IS NULL"
            )
            orphans = cur.fetchone()[0]
            cur.execute(
                "SELECT COUNT(*) FROM accounts_ledgerentry r LEFT JOIN accounts_ledgerentry o ON o.id = r.reverses_id"
                " WHERE r.reverses_id IS NOT NULL AND (o.id IS NULL OR o.debt_id <> r.debt_id OR o.amount_pence <> -r.amount_pence)"
            )
            bad_reversals = cur.fetchone()[0]
        if orphans:
            problems.append(f"{orphans} ledger entries point at no debt")
        if bad_reversals:
            problems.append(f"{bad_reversals} reversals do not exactly negate an entry on the same debt")
        if problems:
            # The loader proves both before it writes: something else wrote these rows.
            problems.append("these entries were not written by `fairdebt ingest`: find what wrote them before anything is sent from them")
        on = on or timezone.localdate()
        stale = positions.stale(on)
        problems += stale
        if stale:
            problems.append("run `fairdebt nightly` (or `fairdebt nightly --on DATE`) to refresh the cached balances")
        if problems:
            raise CommandError("The ledger check failed:\n  " + "\n  ".join(problems[:50]))
        self.stdout.write(f"Ledger checked: every entry has its debt; cached positions as at {on} match the entries.")
