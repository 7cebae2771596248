from django.core.management.base import BaseCommand, CommandError

from fairdebt.people import linking
from fairdebt.people.models import Party


class Command(BaseCommand):
    help = (
        "Match source records into people with Splink over tokens. fairdebt link [--retrain] | "
        "fairdebt link --override link|unlink SYSTEM:REF SYSTEM:REF --reason '...'"
    )

    def add_arguments(self, parser):
        parser.add_argument("--retrain", action="store_true", help="train a new model instead of reusing the last one")
        parser.add_argument("--new", action="store_true", help="link only records loaded since the last run (incremental)")
        parser.add_argument("--override", nargs=3, metavar=("link|unlink", "SYSTEM:REF", "SYSTEM:REF"))
        parser.add_argument("--reason", default="")

    def handle(self, retrain=False, override=None, reason="", new=False, **opts):
        if override:
            kind, a, b = override
            try:
                parties = [Party.objects.get(system=x.split(":", 1)[0], party_ref=x.split(":", 1)[1]) for x in (a, b)]
                linking.record_override(None, *parties, kind, reason)
            except (Party.DoesNotExist, IndexError):
                raise CommandError("Name each record as SYSTEM:REF, for example housing:P-10020.")
            except ValueError as exc:
                raise CommandError(str(exc))
            self.stdout.write(f"Recorded: {a} and {b} are {'the same person' if kind == 'link' else 'different people'}. Run `fairdebt link` to apply it.")
            return
        record = linking.run_new() if new else linking.run(retrain=retrain)
        c = record.counts
        self.stdout.write(
            f"Linked {c.get('parties', 0):,} records into {c.get('clusters', 0):,} people; {c.get('parties_moved', 0):,} records moved, "
            f"{c.get('people_created', 0):,} people created ({record.timings.get('total_s', 0)}s)."
        )
