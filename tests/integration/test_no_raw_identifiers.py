"""Pseudonymisation is a real boundary: after loading a synthetic council (bad rows included),
no table outside the identity vault, and no batch file, holds a raw name, date of birth,
NI number, address line, phone number or email of any resident."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from fairdebt.ingest import config, reader

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def identifiers_in(extracts: Path) -> set[str]:
    """Every identifier value in the council's accounts extracts, in the forms it could be stored."""
    found: set[str] = set()
    manifest = json.loads((extracts / "manifest.json").read_text())
    for entry in manifest["files"]:
        source = config.get(entry["source"])
        if source.feed != "accounts":
            continue
        raw = reader.read(source, extracts / entry["path"])
        for field in ("forename", "surname", "date_of_birth", "nino", "address_line_1", "phone", "email",
                      "previous_address_line_1", "forwarding_address_line_1", "billing_address_line_1"):
            column = source.columns.get(field)
            if not column or column not in raw.columns:
                continue
            for value in raw[column].drop_nulls().cast(pl.Utf8).to_list():
                value = value.strip()
                if field == "forename":
                    continue  # compared with the surname below, as a full name
                if field == "date_of_birth":
                    try:
                        day = dt.datetime.strptime(value, source.date_format).date()
                    except ValueError:
                        continue
                    found |= {day.isoformat(), day.strftime("%d/%m/%Y")}
                elif field == "nino":
                    found |= {value.upper(), value.upper().replace(" ", "")}
                elif field == "phone":
                    found.add(re.sub(r"\D", "", value))
                elif len(value) >= 4:
                    found.add(value.upper())
        if source.columns.get("forename") in raw.columns and source.columns.get("surname") in raw.columns:
            for first, last in raw.select(source.columns["forename"], source.columns["surname"]).drop_nulls().iter_rows():
                found.add(f"{first} {last}".upper().strip())
    return {v for v in found if len(v) >= 6}


ADVISER_COLUMNS = {("holds_moratorium", f"adviser_{f}") for f in ("name", "organisation", "email", "phone", "fca_reference")} | {
    ("holds_registernotice", "adviser")
}


def stored_text():
    """(table, column, value) for every text value in every table of the main database."""
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            description = connection.introspection.get_table_description(cur, table)
            columns = [c.name for c in description]
            cur.execute(f'SELECT {", ".join(connection.ops.quote_name(c) for c in columns)} FROM {connection.ops.quote_name(table)}')
            for row in cur.fetchall():
                for column, value in zip(columns, row):
                    if isinstance(value, (str, dict, list)):
                        yield table, column, value if isinstance(value, str) else json.dumps(value)
                    elif isinstance(value, dt.date) and table == "people_party":
                        yield table, column, value.isoformat()


def test_no_raw_identifier_outside_the_vault(tmp_path):
    from fairdebt.synth.council import generate

    extracts = tmp_path / "council"
    generate(250, 11, extracts, dt.date(2026, 10, 31), bad_row_rate=0.03)
    call_command("ingest", manifest=str(extracts / "manifest.json"))
    # Breathing Space notices name the debtor: that must reach the vault only, and nothing sent may carry it.
    from fairdebt.fakes.breathing_space import FakeRegister, scenarios_from_council
    from fairdebt.holds import breathing_space
    from fairdebt.holds.register import RegisterClient
    from fairdebt.outbox import services as outbox

    with FakeRegister(api_key="k") as register:
        register.load(scenarios_from_council(extracts, 11, dt.date(2026, 10, 31)))
        assert sum(breathing_space.pull(RegisterClient(register.url, "k")).values()) > 5
    outbox.dispatch()
    needles = identifiers_in(extracts)
    assert len(needles) > 500, "the scan must have something to look for"
    pattern = re.compile("|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    leaks = []
    for table, column, value in stored_text():
        if (table, column) in ADVISER_COLUMNS:
            continue  # a debt adviser's work contact details, not a resident's (a surname may coincide)
        text = value.upper()
        digits = re.sub(r"\D", "", value) if column not in ("id",) else ""
        hit = pattern.search(text) or (digits and pattern.search(digits))
        if hit:
            leaks.append(f"{table}.{column}: {hit.group(0)!r} in {value[:120]!r}")
    for folder in (Path(settings.HOME) / "batch", Path(settings.HOME) / "outbox"):
        for path in folder.rglob("*") if folder.exists() else ():
            if path.is_file():
                hit = pattern.search(path.read_bytes().decode("utf-8", "replace").upper())
                if hit:
                    leaks.append(f"{path}: {hit.group(0)!r}")
    assert leaks == [], "raw identifiers outside the vault:\n" + "\n".join(leaks[:30])
