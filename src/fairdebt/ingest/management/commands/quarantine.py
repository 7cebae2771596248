import json

from django.core.management.base import BaseCommand, CommandError

from fairdebt.ingest import services
from fairdebt.ingest.models import QuarantinedRow


class Command(BaseCommand):
    help = (
        "List rejected rows, or re-submit a corrected one: "
        "fairdebt quarantine [--source S] [--file ID] [--all] [--json] | fairdebt quarantine resubmit ID --set COLUMN=VALUE ..."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", nargs="?", choices=["list", "resubmit", "dismiss"], default="list")
        parser.add_argument("row", nargs="?", type=int, help="quarantined row id (for resubmit / dismiss)")
        parser.add_argument("--set", action="append", default=[], metavar="COLUMN=VALUE", help="a correction, by the extract's column name")
        parser.add_argument("--reason", default="", help="why a row is dismissed")
        parser.add_argument("--source")
        parser.add_argument("--file", type=int, help="only rows of this loaded file (its id)")
        parser.add_argument("--all", action="store_true", help="include resubmitted and dismissed rows")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--limit", type=int, default=200)

    def handle(self, action, row, **o):
        if action == "resubmit":
            return self._resubmit(row, o["set"])
        if action == "dismiss":
            return self._dismiss(row, o["reason"])
        qs = QuarantinedRow.objects.select_related("source_file")
        if not o["all"]:
            qs = qs.filter(status="open")
        if o["source"]:
            qs = qs.filter(source=o["source"])
        if o["file"]:
            qs = qs.filter(source_file_id=o["file"])
        total = qs.count()
        rows = list(qs[: o["limit"]])
        if o["json"]:
            self.stdout.write(json.dumps([
                {"id": r.id, "source": r.source, "file": r.source_file.path, "line": r.line, "field": r.field,
                 "reason": r.reason, "raw": r.raw, "status": r.status} for r in rows
            ], indent=1))
            return
        if not total:
            self.stdout.write("No rows in quarantine.")
            return
        for r in rows:
            self.stdout.write(f"#{r.id:<7} {r.source:28} line {r.line:<8} {r.field:20} {r.reason}  [{r.status}]")
        if total > len(rows):
            self.stdout.write(f"... and {total - len(rows):,} more (use --limit, --source or --file)")
        self.stdout.write(f"{total:,} row(s). Correct one with: fairdebt quarantine resubmit ID --set COLUMN=VALUE")

    def _resubmit(self, row, sets):
        if not row:
            raise CommandError("Say which row: fairdebt quarantine resubmit ID --set COLUMN=VALUE")
        corrections = {}
        for item in sets:
            if "=" not in item:
                raise CommandError(f"--set {item!r}: write it as COLUMN=VALUE")
            k, v = item.split("=", 1)
            corrections[k] = v
        try:
            result = services.resubmit(row, corrections, by="cli")
        except services.ResubmitError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Row {row}: {'loaded' if result.accepted else 'already loaded (duplicate)'}.")

    def _dismiss(self, row, reason):
        from django.utils import timezone

        if not row or not reason:
            raise CommandError("Say which row and why: fairdebt quarantine dismiss ID --reason '...'")
        updated = QuarantinedRow.objects.filter(pk=row, status="open").update(
            status="dismissed", resolution=reason[:500], resolved_at=timezone.now(), resolved_by="cli"
        )
        if not updated:
            raise CommandError(f"No open quarantined row {row}.")
        self.stdout.write(f"Row {row} dismissed.")
