"""`fairdebt breathing_space pull`: fetch new notices from the Breathing Space register and apply them."""

import os

from django.core.management.base import BaseCommand, CommandError

from fairdebt.holds import breathing_space
from fairdebt.holds.register import RegisterClient, RegisterUnavailable


def client_from_environment() -> RegisterClient | None:
    url, key = os.environ.get("FAIRDEBT_BREATHING_SPACE_URL"), os.environ.get("FAIRDEBT_BREATHING_SPACE_KEY")
    return RegisterClient(url, key) if url and key else None


class Command(BaseCommand):
    help = "Pull Breathing Space notices from the register (FAIRDEBT_BREATHING_SPACE_URL and _KEY) and apply them."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["pull"])
        parser.add_argument("--url", help="the register's address (default: FAIRDEBT_BREATHING_SPACE_URL)")
        parser.add_argument("--key", help="our API key (default: FAIRDEBT_BREATHING_SPACE_KEY)")

    def handle(self, action, url=None, key=None, **opts):
        client = RegisterClient(url, key) if url and key else client_from_environment()
        if client is None:
            raise CommandError("Set FAIRDEBT_BREATHING_SPACE_URL and FAIRDEBT_BREATHING_SPACE_KEY (or pass --url and --key), then run this again.")
        try:
            counts = breathing_space.pull(client)
        except RegisterUnavailable as exc:
            raise CommandError(str(exc)) from exc
        waiting = sum(counts.get(s, 0) for s in ("unmatched", "ambiguous", "conflict"))
        self.stdout.write(
            f"Breathing Space notices: {sum(counts.values())} new, {counts.get('applied', 0)} applied, "
            f"{counts.get('duplicate', 0)} already had, {waiting} waiting for an officer (see /holds/notices/)."
        )
