"""Writing to and reading from the identity vault. Reading for staff goes through people.services."""

from __future__ import annotations

import datetime as dt

import polars as pl

from . import keys
from .models import Identity, SealedRow

VAULT = "vault"


def _plain(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def store_identities(system: str, frame: pl.DataFrame) -> int:
    """Seal each row's identifiers (columns other than party_ref) under its source key. Existing rows stay."""
    current = keys.load()
    rows = []
    for record in frame.to_dicts():
        party_ref = record.pop("party_ref")
        plain = {k: _plain(v) for k, v in record.items() if v not in (None, "")}
        key_id, sealed = keys.seal(plain, f"identity|{system}|{party_ref}", current)
        rows.append(Identity(system=system, party_ref=party_ref, key_id=key_id, sealed=sealed))
    Identity.objects.using(VAULT).bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def identities(parties: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Raw identifiers of (system, party_ref) pairs. Callers check permission and write the audit row."""
    if not parties:
        return {}
    current = keys.load()
    wanted = set(parties)
    systems = {s for s, _ in parties}
    found = {}
    for row in Identity.objects.using(VAULT).filter(system__in=systems, party_ref__in={p for _, p in parties}):
        if (row.system, row.party_ref) in wanted:
            found[(row.system, row.party_ref)] = keys.unseal(row.key_id, row.sealed, row.context, current)
    return found


def seal_rows(rows: dict[int, dict]) -> None:
    """Keep the raw form of quarantined rows that carry identifiers (by quarantined row id)."""
    current = keys.load()
    objs = []
    for row_id, raw in rows.items():
        key_id, sealed = keys.seal(raw, f"quarantine|{row_id}", current)
        objs.append(SealedRow(quarantined_row_id=row_id, key_id=key_id, sealed=sealed))
    SealedRow.objects.using(VAULT).bulk_create(objs, batch_size=2000, ignore_conflicts=True)


def sealed_row(row_id: int) -> dict | None:
    row = SealedRow.objects.using(VAULT).filter(quarantined_row_id=row_id).first()
    return keys.unseal(row.key_id, row.sealed, row.context) if row else None
