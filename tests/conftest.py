"""Shared test helpers.

Database tests run on whatever DATABASES says: SQLite by default, PostgreSQL when DATABASE_URL is
set (`make test` runs the integration suite a second time inside a throwaway cluster started by
`python -m fairdebt.testing.pgcluster`). Nothing mocks our own database.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest


def write_extract(directory: Path, source_name: str, rows: list[dict], name: str | None = None) -> Path:
    """Write rows given by canonical field names as the source's own extract (its columns, its format)."""
    from fairdebt.ingest import config

    source = config.get(source_name)
    columns = list(source.columns.values())
    records = [{source.columns[k]: v for k, v in row.items() if k in source.columns} | {
        k: v for k, v in row.items() if k not in source.columns and k in columns
    } for row in rows]
    suffix = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[source.format]
    path = Path(directory) / (name or f"{source_name.replace('.', '_')}.{suffix}")
    if source.format == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for r in records:
                writer.writerow({c: r.get(c, "") for c in columns})
    elif source.format == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps({c: r.get(c) for c in columns}) + "\n")
    else:
        import polars as pl

        pl.DataFrame([{c: r.get(c) for c in columns} for r in records]).write_parquet(path)
    return path


@pytest.fixture
def extract(tmp_path):
    return lambda source_name, rows, name=None: write_extract(tmp_path, source_name, rows, name)


@pytest.fixture(autouse=True)
def _own_keys(tmp_path_factory, monkeypatch):
    """Each test gets its own token and seal keys: a test that rotates keys must not change
    another's (xdist workers share FAIRDEBT_HOME)."""
    monkeypatch.setenv("FAIRDEBT_KEYS", str(tmp_path_factory.mktemp("keys") / "keys.json"))
