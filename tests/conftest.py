"""Shared test helpers.

Database tests run on whatever DATABASES says: SQLite by default, PostgreSQL when DATABASE_URL is
set (`make test` runs the integration suite a second time inside a throwaway cluster started by
`python -m fairdebt.testing.pgcluster`). Nothing mocks our own database.
"""

from __future__ import annotations

import csv
import datetime as dt
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


# A small council for hold tests, loaded through ingest as a real one would be.
TODAY = dt.date(2026, 1, 15)


@pytest.fixture
def today():
    return TODAY


@pytest.fixture
def resident(extract):
    """Jane Smith: council tax 2024/25 with enforcement agents (eligible), council tax 2025/26 still
    in instalments with no reminder (not eligible), rent arrears (eligible) and a parking penalty.
    John Smith is jointly liable for the council tax account."""
    from fairdebt.accounts import positions
    from fairdebt.ingest import services as ingest
    from fairdebt.people.models import Party

    load = lambda name, rows: ingest.ingest_file(name, extract(name, rows))  # noqa: E731
    load("council_tax.accounts", [
        dict(account_ref="CT1", party_ref="C1", role="L", forename="Jane", surname="Smith", date_of_birth="03/02/1980",
             nino="AB123456C", address_line_1="1 High Street", postcode="E8 1AA"),
        dict(account_ref="CT1", party_ref="C2", role="J", forename="John", surname="Smith", postcode="E8 1AA"),
    ])
    load("council_tax.debts", [
        dict(debt_ref="CT1-24", account_ref="CT1", description="Council tax 2024/25", period_start="01/04/2024",
             period_end="31/03/2025", recovery_stage="EA", stage_date="01/09/2025"),
        dict(debt_ref="CT1-25", account_ref="CT1", description="Council tax 2025/26", period_start="01/04/2025",
             period_end="31/03/2026"),
    ])
    load("council_tax.transactions", [
        dict(transaction_ref="T1", debt_ref="CT1-24", kind="INST", amount="900.00", effective_date="01/04/2024", due_date="01/04/2024"),
        dict(transaction_ref="T2", debt_ref="CT1-25", kind="INST", amount="600.00", effective_date="01/04/2025", due_date="01/04/2025"),
        dict(transaction_ref="T3", debt_ref="CT1-25", kind="INST", amount="600.00", effective_date="01/04/2025", due_date="01/02/2026"),
    ])
    load("housing.accounts", [dict(account_ref="TEN1", party_ref="P-1", role="MAIN", tenure="SEC", forename="Jane",
                                   surname="Smith", date_of_birth="1980-02-03", nino="AB123456C")])
    load("housing.debts", [dict(debt_ref="RENT1", account_ref="TEN1", description="Rent account")])
    load("housing.transactions", [
        dict(transaction_ref="H1", debt_ref="RENT1", kind="DEB", amount="120.00", effective_date="2025-12-01"),
        dict(transaction_ref="H2", debt_ref="RENT1", kind="DEB", amount="120.00", effective_date="2025-12-08"),
    ])
    positions.refresh(TODAY)
    person = Party.objects.get(party_ref="C1").person
    assert Party.objects.get(party_ref="P-1").person == person  # same NI number: one person
    return person


@pytest.fixture
def debts(resident):
    from fairdebt.accounts.models import Debt

    return {d.debt_ref: d for d in Debt.objects.select_related("account")}


@pytest.fixture
def joint(resident):
    from fairdebt.people.models import Party

    return Party.objects.get(party_ref="C2").person
