from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fairdebt.ingest import config, reader
from fairdebt.vault import pseudonymise


class Command(BaseCommand):
    help = (
        "On the council's side: replace the identifiers in an accounts extract with keyed tokens, sealing the raw "
        "values in the identity vault. fairdebt pseudonymise SOURCE FILE --out FILE"
    )

    def add_arguments(self, parser):
        parser.add_argument("source")
        parser.add_argument("file")
        parser.add_argument("--out", required=True, help="the pseudonymised extract (.csv, .jsonl or .parquet)")

    def handle(self, source, file, out, **opts):
        try:
            result = pseudonymise.extract(config.get(source), Path(file), Path(out))
        except (config.SourceConfigError, reader.UnreadableFile, ValueError) as exc:
            raise CommandError(f"{exc} Nothing was written.", returncode=2)
        self.stdout.write(
            f"{result['rows']:,} rows pseudonymised into {out}; {result['rejected']:,} rejected"
            + (f" (kept on this side, with reasons, in {result['rejected_path']})" if result["rejected"] else "")
        )
