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


def rotate_keys(progress=None) -> dict:
    """New token and seal keys: re-seal every vault row, re-tokenise every party from its sealed
    identifiers, re-key quarantine fingerprints, then destroy the old keys. Returns counts."""
    import json as _json

    from django.db import transaction

    from fairdebt.ingest.models import QuarantinedRow
    from fairdebt.people.models import Party

    old = keys.load()
    new = keys.rotate()
    tokeniser = keys.tokeniser(new)
    counts = {"identities": 0, "parties": 0, "parties_without_identity": 0, "sealed_rows": 0, "quarantined_rows": 0}
    raw_by_party = {}
    with transaction.atomic(using=VAULT):
        for row in Identity.objects.using(VAULT).iterator(chunk_size=2000):
            plain = keys.unseal(row.key_id, row.sealed, row.context, old)
            row.key_id, row.sealed = keys.seal(plain, row.context, new)
            row.save(using=VAULT, update_fields=["key_id", "sealed", "updated_at"])
            raw_by_party[(row.system, row.party_ref)] = plain
            counts["identities"] += 1
        sealed_rows = {}
        for row in SealedRow.objects.using(VAULT).iterator(chunk_size=2000):
            plain = keys.unseal(row.key_id, row.sealed, row.context, old)
            row.key_id, row.sealed = keys.seal(plain, row.context, new)
            row.save(using=VAULT, update_fields=["key_id", "sealed"])
            sealed_rows[row.quarantined_row_id] = plain
            counts["sealed_rows"] += 1
    token_columns = Party.token_columns()
    with transaction.atomic():
        batch = []
        for party in Party.objects.iterator(chunk_size=2000):
            raw = raw_by_party.get((party.system, party.party_ref))
            if raw is None:
                counts["parties_without_identity"] += 1  # delivered pseudonymised: re-pseudonymise at source
                continue
            for field, value in tokeniser.tokenise(raw).items():
                setattr(party, field, value)
            batch.append(party)
            if len(batch) >= 2000:
                Party.objects.bulk_update(batch, [*token_columns, "token_key_id"])
                counts["parties"] += len(batch)
                batch = []
        Party.objects.bulk_update(batch, [*token_columns, "token_key_id"])
        counts["parties"] += len(batch)
        counts["party_addresses"] = _retokenise_addresses(tokeniser.key_id)
        for q in QuarantinedRow.objects.iterator(chunk_size=2000):
            raw = sealed_rows.get(q.id, q.raw)
            q.fingerprint = tokeniser.token("quarantined_row", _json.dumps([q.source, raw], sort_keys=True, default=str))
            q.save(update_fields=["fingerprint"])
            counts["quarantined_rows"] += 1
    keys.destroy_retired_token_keys()
    keys.destroy_unused_seal_keys({r for r in Identity.objects.using(VAULT).values_list("key_id", flat=True).distinct()}
                                  | {r for r in SealedRow.objects.using(VAULT).values_list("key_id", flat=True).distinct()})
    return counts


def _retokenise_addresses(key_id: str) -> int:
    """After rotation, a party's addresses (people.PartyAddress) under the old key are replaced by
    the address its re-tokenised Party row holds (the vault seals the first row's identifiers
    only); its other addresses come back, under the new key, when their accounts extracts are next
    loaded (ingest records every row's address, idempotently). Returns the rows now held."""
    from fairdebt.domain.identity import ADDRESS_TOKEN_FIELDS, address_key
    from fairdebt.people.models import Party, PartyAddress

    PartyAddress.objects.exclude(token_key_id=key_id).delete()
    rows = []
    for party in Party.objects.filter(token_key_id=key_id).only("id", "token_key_id", "source_file_id", *ADDRESS_TOKEN_FIELDS).iterator(chunk_size=5000):
        tokens = {c: getattr(party, c) for c in ADDRESS_TOKEN_FIELDS}
        key = address_key(tokens[c] for c in ADDRESS_TOKEN_FIELDS)
        if key:
            rows.append(PartyAddress(party_id=party.id, address_key=key, token_key_id=key_id, source_file_id=party.source_file_id, **tokens))
    PartyAddress.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    return PartyAddress.objects.count()
