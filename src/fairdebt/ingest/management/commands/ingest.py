import sys
import time

from django.core.management.base import BaseCommand, CommandError

from fairdebt.ingest import config, services


class Command(BaseCommand):
    help = "Load one extract: fairdebt ingest SOURCE FILE (sources: see docs/ingest.md or --list)."

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="e.g. council_tax.transactions")
        parser.add_argument("file", nargs="?")
        parser.add_argument("--list", action="store_true", help="list the known sources")
        parser.add_argument("--manifest", help="load every file of a synthetic council's manifest.json, in order")

    def handle(self, source, file, list=False, manifest=None, **opts):
        if list:
            for name, s in sorted(config.sources().items()):
                self.stdout.write(f"{name:32} {s.format:8} {s.feed}")
            return
        try:
            if manifest:
                return self._manifest(manifest)
            if not source or not file:
                raise CommandError("Give a source and a file: fairdebt ingest SOURCE FILE (fairdebt ingest --list shows sources).")
            self._one(source, file)
        except config.SourceConfigError as exc:
            raise CommandError(str(exc), returncode=2)
        except services.UnreadableFile as exc:
            raise CommandError(f"{exc} Nothing was loaded.", returncode=2)

    def _one(self, source, file):
        bar = _Progress() if sys.stderr.isatty() else None
        started = time.perf_counter()
        result = services.ingest_file(source, file, loaded_by="cli", progress=bar)
        if bar:
            bar.close()
        took = time.perf_counter() - started
        rate = f" in {took:.1f}s ({result.rows / took:,.0f} rows/s)" if took > 0 else ""
        self.stdout.write(f"{result.summary}{rate}")
        if result.rejected:
            self.stdout.write(f"  {result.rejected:,} rejected rows are in quarantine: see `fairdebt quarantine --file {result.source_file.id}`")
        return result

    def _manifest(self, manifest):
        import json
        from pathlib import Path

        path = Path(manifest)
        try:
            files = json.loads(path.read_text())["files"]
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"{manifest} is not a manifest.json with a 'files' list ({exc}).", returncode=2)
        for entry in files:
            self._one(entry["source"], path.parent / entry["path"])


class _Progress:
    """A progress bar on a terminal; silent in logs and CI. Drawn on sys.stderr itself: the command's
    wrapped stderr ends every write with a new line, which would break the bar's redraws."""

    def __init__(self):
        from tqdm import tqdm

        self._tqdm = tqdm
        self.bar = None

    def __call__(self, stage, n):
        if stage == "read":
            self.bar = self._tqdm(total=n, unit=" rows", desc="loading", file=sys.stderr, leave=False)
        elif stage == "loaded" and self.bar:
            self.bar.update(n)
        elif self.bar:
            self.bar.set_description(stage)

    def close(self):
        if self.bar:
            self.bar.close()
