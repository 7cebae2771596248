"""`fairdebt outbox dispatch`: send what the outbox holds, asking the hold guard again first."""

import datetime as dt

from django.core.management.base import BaseCommand

from fairdebt.outbox import services


class Command(BaseCommand):
    help = "Send queued letters, texts, emails, agent instructions and write-backs that no hold now stops."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["dispatch"])
        parser.add_argument("--on", type=dt.date.fromisoformat, default=None)

    def handle(self, action, on=None, **opts):
        counts = services.dispatch(on=on)
        self.stdout.write(f"Outbox: {counts['sent']} sent, {counts['suppressed']} stopped by a hold since queueing, {counts['failed']} failed.")
