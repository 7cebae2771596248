"""`ingest_file`: read, validate, and load one extract atomically; `resubmit`: a corrected quarantined row.

Accepted rows load in one transaction per file. Rejected rows go to quarantine with file, line,
field, reason and the raw row. Rows whose source key is already loaded are counted as duplicates
and change nothing, so loading the same file twice, or overlapping extracts, adds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import polars as pl
from django.db import transaction
from django.utils import timezone

from fairdebt.accounts import positions

from . import config, loader, reader, validate
from fairdebt.domain.identity import (
    ADDRESS_FIELDS,
    ADDRESS_TOKEN_FIELDS,
    IDENTIFIER_FIELDS,
    OTHER_ADDRESS_TOKEN_FIELDS,
    OTHER_ADDRESSES,
    address_key,
    record_addresses,
    token_fields,
)
from fairdebt.vault import keys as vault_keys
from fairdebt.vault import services as vault

from .models import QuarantinedRow, SourceFile
from .validate import ERR_FIELD, ERR_REASON, _err, add_errors

LINE = reader.LINE
TOKEN_FIELDS = list(token_fields())
UnreadableFile = reader.UnreadableFile


@dataclass
class Result:
    source_file: SourceFile
    rows: int
    accepted: int
    duplicates: int
    rejected: int
    seconds: float = 0.0  # read, validate and load (committed)
    refresh_seconds: float = 0.0  # then analysing a table the load grew much, and refreshing the touched accounts' cached balances
    touched_accounts: list | None = None
    timings: dict | None = None  # seconds per stage, for benchmarks and slow-load diagnosis

    @property
    def summary(self) -> str:
        return f"{self.source_file.source}: {self.accepted:,} accepted / {self.duplicates:,} duplicates / {self.rejected:,} rejected"


class ResubmitError(Exception):
    pass


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ingest_file(source_name: str, path: str | Path, *, loaded_by: str = "", progress: Callable[[str, int], None] | None = None) -> Result:
    """Load one extract. Raises UnreadableFile (nothing written) for a file that cannot be read."""
    started = timezone.now()
    clock = _Clock()
    source = config.get(source_name)
    path = Path(path)
    raw = reader.read(source, path)
    clock.mark("read")
    if progress:
        progress("read", raw.height)
    with transaction.atomic():
        sf = SourceFile.objects.create(
            source=source.name, system=source.system, feed=source.feed, path=str(path.resolve()),
            sha256=_sha256(path), size_bytes=path.stat().st_size, loaded_by=loaded_by,
        )
        result = _load(source, raw, sf, progress, clock)
        sf.status = "loaded"
        sf.finished_at = timezone.now()
        sf.save()
    clock.mark("commit")
    result.timings = clock.marks
    loaded = timezone.now()
    result.seconds = (loaded - started).total_seconds()
    # Cached balances are refreshed after the commit: a cache, re-derived nightly and checked by check_ledger.
    if result.accepted:
        loader.analyse_if_grown(_TABLES[source.feed], result.accepted)
    if result.touched_accounts:
        positions.refresh(loader.today(), result.touched_accounts)
    result.refresh_seconds = (timezone.now() - loaded).total_seconds()
    return result


def _load(source: config.Source, raw: pl.DataFrame, sf: SourceFile, progress=None, clock=None) -> Result:
    clock = clock or _Clock()
    if source.feed == "transactions":
        # The lookups need only the references, which validation leaves as they are (trimmed
        # text), so they run while another thread validates: polars releases the GIL and the
        # database works on the other core (1M rows: about 0.3 s of the lookups' 0.55 s hidden).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            checking = pool.submit(_validated, source, raw)
            found = _transaction_lookups(source, raw.select(**{f: _reference(source, raw, f) for f in ("transaction_ref", "debt_ref", "reverses_ref")}))
            df = checking.result()
        clock.mark("validate_and_lookups")
    else:
        df, found = _validated(source, raw), None
        clock.mark("validate")
    if progress:
        progress("validated", df.height)
    if found is not None:
        accepted, duplicates, df = _load_transactions(source, df, sf, progress, clock, found)
    else:
        accepted, duplicates, df = _LOADERS[source.feed](source, df, sf, progress, clock)
    rejected = df.filter(pl.col(ERR_REASON).is_not_null())
    _quarantine(source, raw, rejected, sf)
    clock.mark("quarantine")
    sf.rows, sf.accepted, sf.duplicates, sf.rejected = raw.height, accepted, duplicates, rejected.height
    touched = df.filter(pl.col("_id").is_not_null())["_account_id"].unique().to_list() if source.feed == "transactions" else None
    return Result(sf, raw.height, accepted, duplicates, rejected.height, touched_accounts=touched)


def _validated(source, raw: pl.DataFrame) -> pl.DataFrame:
    return validate.mark_in_file_duplicates(source, validate.normalise(source, raw))


def _reference(source, raw: pl.DataFrame, field: str) -> pl.Expr:
    """A reference column as validation leaves it (trimmed text; NULL when the extract lacks it)."""
    column = source.columns.get(field)
    return validate._text(column) if column and column in raw.columns else pl.lit(None, pl.Utf8)


def _quarantine(source, raw: pl.DataFrame, rejected: pl.DataFrame, sf: SourceFile) -> None:
    if rejected.height == 0:
        return
    cols = [c for c in raw.columns if not c.startswith("_") or c == "_unparseable"]
    originals = raw.join(rejected.select(LINE), on=LINE, how="semi").select(
        LINE, *[pl.col(c).cast(pl.Utf8) for c in cols]
    )
    by_line = {r[LINE]: {k: v for k, v in r.items() if k != LINE} for r in originals.iter_rows(named=True)}
    fingerprints = {line: _fingerprint(source.name, raw_row) for line, raw_row in by_line.items()}
    seen = set(
        QuarantinedRow.objects.filter(source=source.name, fingerprint__in=set(fingerprints.values())).values_list("fingerprint", flat=True)
    ) if len(fingerprints) < 50_000 else set(QuarantinedRow.objects.filter(source=source.name).values_list("fingerprint", flat=True))
    identifying = _identifier_columns(source)
    new_rows, sealed = [], {}
    for line, field, reason in rejected.select(LINE, ERR_FIELD, ERR_REASON).iter_rows():
        fp = fingerprints.get(line, "")
        if fp in seen:
            continue  # already in quarantine from an earlier load of the same row
        seen.add(fp)
        raw_row = by_line.get(line, {})
        shown, reason = _redact(raw_row, reason, identifying)
        row = QuarantinedRow(source_file=sf, source=source.name, line=line, field=field or "", reason=reason[:500], raw=shown, fingerprint=fp)
        new_rows.append(row)
        if shown != raw_row:
            sealed[id(row)] = raw_row
    QuarantinedRow.objects.bulk_create(new_rows, batch_size=5000)
    if sealed:
        vault.seal_rows({row.id: sealed[id(row)] for row in new_rows if id(row) in sealed})


HIDDEN = "(in the identity vault)"


def _identifier_columns(source) -> set[str]:
    if source.feed != "accounts":
        return set()
    return {source.columns[f] for f in IDENTIFIER_FIELDS if f in source.columns} | {"_unparseable"}


def _redact(raw_row: dict, reason: str, identifying: set[str]) -> tuple[dict, str]:
    """The quarantine's copy of a row: identifiers replaced, and never quoted in the reason."""
    if not identifying:
        return raw_row, reason
    shown = {k: (HIDDEN if k in identifying and v not in (None, "") else v) for k, v in raw_row.items()}
    for k in identifying:
        value = (raw_row.get(k) or "").strip()
        for fragment in (value, value[:60]):
            if len(fragment) >= 2:
                reason = reason.replace(f"'{fragment}'", "(hidden: see the row in the vault)")
    return shown, reason


def _fingerprint(source_name: str, raw_row: dict) -> str:
    # Keyed, not a bare hash: a row's fingerprint must not let anyone test a guess of its identifiers.
    return vault_keys.tokeniser().token("quarantined_row", json.dumps([source_name, raw_row], sort_keys=True, default=str))


def _pseudonymised(frame: pl.DataFrame) -> bool:
    """An extract pseudonymised on the council's side carries tok_* columns instead of identifiers."""
    return "tok_surname" in frame.columns or "tok_organisation" in frame.columns


def _party_tokens(source, parties: pl.DataFrame) -> pl.DataFrame:
    """Token columns (+ initials, token_key_id) for each row: computed here, or as delivered."""
    columns = [*TOKEN_FIELDS, "initials", "token_key_id"]
    if _pseudonymised(parties):
        return pl.DataFrame({c: parties[c] if c in parties.columns else pl.Series([None] * parties.height, dtype=pl.Utf8) for c in columns})
    tokeniser = vault_keys.tokeniser()
    records = parties.select([f for f in IDENTIFIER_FIELDS if f in parties.columns]).to_dicts()
    return pl.DataFrame([tokeniser.tokenise(r) for r in records], schema={c: pl.Utf8 for c in columns}).select(columns)


def _split(df: pl.DataFrame, in_db: pl.Expr) -> tuple[pl.DataFrame, int]:
    """(rows to insert, number of duplicates). Rows with a problem stay in df for quarantine."""
    ok = pl.col(ERR_REASON).is_null()
    dup = pl.col("_dup_of_line").is_not_null() | in_db
    counts = df.select((ok & dup).sum().alias("d")).item()
    return df.filter(ok & ~dup), int(counts or 0)


# ----------------------------------------------------------------------------------------- accounts
def _load_accounts(source, df: pl.DataFrame, sf: SourceFile, progress=None, clock=None):
    system = source.system
    accounts = loader.lookup(
        "SELECT a.account_ref, a.id, a.account_type FROM accounts_account a JOIN fd_keys k ON a.account_ref = k.k WHERE a.system = %s",
        df["account_ref"], [system], {"account_ref": pl.Utf8, "_account_id": pl.Int64, "_db_type": pl.Utf8},
    )
    parties = loader.lookup(
        "SELECT p.party_ref, p.id, p.person_id FROM people_party p JOIN fd_keys k ON p.party_ref = k.k WHERE p.system = %s",
        df["party_ref"], [system], {"party_ref": pl.Utf8, "_party_id": pl.Int64, "_person_id": pl.Int64},
    )
    pairs = loader.lookup(
        "SELECT ap.account_id, ap.party_id FROM accounts_accountparty ap JOIN accounts_account a ON a.id = ap.account_id "
        "JOIN fd_keys k ON a.account_ref = k.k WHERE a.system = %s",
        df["account_ref"], [system], {"_account_id": pl.Int64, "_party_id": pl.Int64},
    ).with_columns(pl.lit(True).alias("_pair_in_db"))
    df = df.join(accounts, on="account_ref", how="left").join(parties, on="party_ref", how="left")
    df = df.join(pairs, on=["_account_id", "_party_id"], how="left")
    type_col = source.columns.get("account_type") or source.columns["account_ref"]
    df = add_errors(df, [(type_col, _err(pl.col("_db_type").is_not_null() & (pl.col("_db_type") != pl.col("account_type")),
                                         pl.format("account {} is already loaded as {}, not {}", pl.col("account_ref"), pl.col("_db_type"), pl.col("account_type"))))])
    rows, duplicates = _split(df, pl.col("_pair_in_db").fill_null(False))

    # New accounts: the first row of each new account_ref.
    new_accounts = rows.filter(pl.col("_account_id").is_null()).unique("account_ref", keep="first", maintain_order=True)
    first = loader.reserve_ids("accounts_account", new_accounts.height)
    new_accounts = new_accounts.with_row_index("_n").with_columns((pl.col("_n").cast(pl.Int64) + first).alias("_new_account_id"))
    loader.insert(
        "accounts_account",
        new_accounts.select(
            pl.col("_new_account_id").alias("id"), pl.lit(system).alias("system"), "account_ref", "account_type",
            pl.col("tenure").fill_null(""), pl.col("category").fill_null(""), pl.lit(sf.id).alias("source_file_id"),
            pl.lit(0).alias("balance_pence"), pl.lit(0).alias("arrears_pence"), pl.lit(0).alias("ongoing_pence"),
        ),
    )

    # New parties: the first row of each new party_ref. Identifiers become tokens here, and the raw
    # values go to the identity vault; nothing else stores them (decision 0004).
    new_parties = rows.filter(pl.col("_party_id").is_null()).unique("party_ref", keep="first", maintain_order=True)
    delivered_as_tokens = _pseudonymised(new_parties)
    tokens = _party_tokens(source, new_parties)
    new_parties = pl.concat([new_parties.drop([c for c in tokens.columns if c in new_parties.columns]), tokens], how="horizontal")
    area = (
        pl.col("postcode").cast(pl.Utf8).str.to_uppercase().str.replace_all(r"\s", "").str.head(-3)
        .str.extract(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)$", 1).fill_null("")
        if "postcode" in new_parties.columns else pl.lit("")
    )
    new_parties = new_parties.with_columns(area.alias("area"))
    # A person is shared on an exact NI number match, until linkage runs.
    known = loader.lookup(
        "SELECT p.tok_nino, MIN(p.person_id) FROM people_party p JOIN fd_keys k ON p.tok_nino = k.k GROUP BY p.tok_nino",
        new_parties["tok_nino"], [], {"tok_nino": pl.Utf8, "_known_person": pl.Int64},
    )
    new_parties = new_parties.join(known, on="tok_nino", how="left").with_columns(
        pl.when(pl.col("tok_nino").is_not_null()).then(pl.col("tok_nino")).otherwise(pl.concat_str([pl.lit("\x1f"), pl.col("party_ref")])).alias("_person_key")
    )
    new_people = new_parties.filter(pl.col("_known_person").is_null()).unique("_person_key", keep="first", maintain_order=True)
    first_person = loader.reserve_ids("people_person", new_people.height)
    new_people = new_people.with_row_index("_n").select("_person_key", (pl.col("_n").cast(pl.Int64) + first_person).alias("_new_person"))
    loader.insert("people_person", new_people.select(pl.col("_new_person").alias("id"), pl.lit(timezone.now().isoformat()).alias("created_at")))
    new_parties = new_parties.join(new_people, on="_person_key", how="left").with_columns(
        pl.coalesce("_known_person", "_new_person").alias("person_id")
    )
    first_party = loader.reserve_ids("people_party", new_parties.height)
    new_parties = new_parties.with_row_index("_n").with_columns((pl.col("_n").cast(pl.Int64) + first_party).alias("_new_party_id"))
    if not delivered_as_tokens:
        vault.store_identities(system, new_parties.select("party_ref", *[f for f in IDENTIFIER_FIELDS if f in new_parties.columns]))
    loader.insert(
        "people_party",
        new_parties.select(
            pl.col("_new_party_id").alias("id"), pl.lit(system).alias("system"), "party_ref", "person_id",
            pl.col("initials").fill_null(""), "area", "token_key_id", *TOKEN_FIELDS, "deceased_on", pl.lit(sf.id).alias("source_file_id"),
        ),
    )

    # A date of death reported for a party we already hold is recorded too (a later extract, the
    # same tenancy): the nightly job turns it into a deceased hold. The first date reported stands.
    if "deceased_on" in df.columns:
        deaths = df.filter(pl.col(ERR_REASON).is_null() & pl.col("_party_id").is_not_null() & pl.col("deceased_on").is_not_null())
        if deaths.height:
            from fairdebt.people.models import Party

            for party_id, died in deaths.group_by("_party_id").agg(pl.col("deceased_on").min()).iter_rows():
                Party.objects.filter(pk=party_id, deceased_on__isnull=True).update(deceased_on=died)

    _record_addresses(df, new_parties.select("party_ref", "_new_party_id"), sf)

    links = rows.join(new_accounts.select("account_ref", "_new_account_id"), on="account_ref", how="left").join(
        new_parties.select("party_ref", "_new_party_id"), on="party_ref", how="left"
    ).select(
        pl.coalesce("_account_id", "_new_account_id").alias("account_id"),
        pl.coalesce("_party_id", "_new_party_id").alias("party_id"),
        "role", "liable_from", "liable_to",
    )
    first_link = loader.reserve_ids("accounts_accountparty", links.height)
    links = links.with_row_index("id", offset=first_link).with_columns(pl.col("id").cast(pl.Int64))
    loader.insert("accounts_accountparty", links, _progress(progress, "loaded"))
    return links.height, duplicates, df


def _addresses(ok: pl.DataFrame) -> pl.DataFrame:
    """_pid, kind, ADDRESS_TOKEN_FIELDS, token_key_id: each distinct address the rows give (their
    own, and any previous or forwarding address), as tokens: computed here, or as delivered."""
    columns = [*ADDRESS_TOKEN_FIELDS, "token_key_id"]
    parts = []
    if _pseudonymised(ok):
        given = {"account": {c: c for c in ADDRESS_TOKEN_FIELDS}} | {
            kind: dict(fields) for kind, fields in OTHER_ADDRESS_TOKEN_FIELDS.items()}
        for kind, mapping in given.items():
            parts.append(ok.select(
                "_pid", pl.lit(kind).alias("kind"),
                *[(pl.col(mapping[c]).cast(pl.Utf8) if mapping.get(c) in ok.columns else pl.lit(None, pl.Utf8)).alias(c)
                  for c in ADDRESS_TOKEN_FIELDS],
                (pl.col("token_key_id").cast(pl.Utf8) if "token_key_id" in ok.columns else pl.lit(None, pl.Utf8)).alias("token_key_id"),
            ))
        return pl.concat(parts).unique(maintain_order=True)
    present = [f for f in (*ADDRESS_FIELDS, *[f for fields in OTHER_ADDRESSES.values() for f in fields]) if f in ok.columns]
    rows = ok.select("_pid", *[pl.col(c).cast(pl.Utf8) for c in present]).unique(maintain_order=True)
    tokeniser = vault_keys.tokeniser()
    out = []
    for record in rows.iter_rows(named=True):
        for kind, place in record_addresses(record):
            out.append({"_pid": record["_pid"], "kind": kind, **tokeniser.tokenise_address(place), "token_key_id": tokeniser.key_id})
    return pl.DataFrame(out, schema={"_pid": pl.Int64, "kind": pl.Utf8, **{c: pl.Utf8 for c in columns}})


def _record_addresses(df: pl.DataFrame, new_parties: pl.DataFrame, sf: SourceFile) -> int:
    """Keep every accepted row's addresses for its party (people.PartyAddress), for new and
    existing parties alike, as tokens: the account's address, and a previous or forwarding address
    where the extract gives one. Linkage compares each of a party's addresses, not only the first
    row's (decision 0006). One row per party and distinct address, so a reload adds nothing.
    `new_parties`: party_ref, _new_party_id of the parties this load created."""
    ok = df.filter(pl.col(ERR_REASON).is_null()).join(new_parties, on="party_ref", how="left").with_columns(
        pl.coalesce("_party_id", "_new_party_id").alias("_pid")
    ).filter(pl.col("_pid").is_not_null())
    if ok.height == 0:
        return 0
    tokens = _addresses(ok)
    keys = [address_key(row) for row in tokens.select(ADDRESS_TOKEN_FIELDS).iter_rows()]
    tokens = tokens.with_columns(pl.Series("address_key", keys, dtype=pl.Utf8)).filter(pl.col("address_key") != "")
    tokens = tokens.unique(["_pid", "address_key"], keep="first", maintain_order=True)
    if tokens.height == 0:
        return 0
    known = loader.lookup(
        "SELECT pa.party_id, pa.address_key FROM people_partyaddress pa JOIN fd_keys k ON pa.address_key = k.k",
        tokens["address_key"], [], {"_pid": pl.Int64, "address_key": pl.Utf8},
    )
    fresh = tokens.join(known, on=["_pid", "address_key"], how="anti")
    if fresh.height == 0:
        return 0
    first = loader.reserve_ids("people_partyaddress", fresh.height)
    fresh = fresh.with_row_index("id", offset=first).with_columns(pl.col("id").cast(pl.Int64))
    return loader.insert(
        "people_partyaddress",
        fresh.select("id", pl.col("_pid").alias("party_id"), "address_key", "kind",
                     pl.col("token_key_id").fill_null(""), *ADDRESS_TOKEN_FIELDS, pl.lit(sf.id).alias("source_file_id")),
    )


# ----------------------------------------------------------------------------------------- debts
def _load_debts(source, df: pl.DataFrame, sf: SourceFile, progress=None, clock=None):
    system = source.system
    accounts = loader.lookup(
        "SELECT a.account_ref, a.id FROM accounts_account a JOIN fd_keys k ON a.account_ref = k.k WHERE a.system = %s",
        df["account_ref"], [system], {"account_ref": pl.Utf8, "_account_id": pl.Int64},
    )
    existing = loader.lookup(
        "SELECT d.debt_ref, d.id FROM accounts_debt d JOIN fd_keys k ON d.debt_ref = k.k WHERE d.system = %s",
        df["debt_ref"], [system], {"debt_ref": pl.Utf8, "_debt_id": pl.Int64},
    )
    df = df.join(accounts, on="account_ref", how="left").join(existing, on="debt_ref", how="left")
    df = add_errors(df, [(source.columns["account_ref"], _err(pl.col("account_ref").is_not_null() & pl.col("_account_id").is_null(),
                          pl.format("unknown account_ref '{}': no {} account has this reference. Load the accounts extract first, or correct the reference", pl.col("account_ref"), pl.lit(system))))])
    rows, duplicates = _split(df, pl.col("_debt_id").is_not_null())
    first = loader.reserve_ids("accounts_debt", rows.height)
    loader.insert(
        "accounts_debt",
        rows.with_row_index("_n").select(
            (pl.col("_n").cast(pl.Int64) + first).alias("id"), pl.col("_account_id").alias("account_id"), pl.lit(system).alias("system"),
            "debt_ref", pl.col("description").fill_null(""), "period_start", "period_end", "recovery_stage", "stage_date",
            pl.lit(sf.id).alias("source_file_id"), pl.lit(0).alias("balance_pence"), pl.lit(0).alias("arrears_pence"), pl.lit(0).alias("ongoing_pence"),
        ),
        _progress(progress, "loaded"),
    )
    return rows.height, duplicates, df


# ----------------------------------------------------------------------------------------- transactions
def _load_transactions(source, df: pl.DataFrame, sf: SourceFile, progress=None, clock=None, found=None):
    clock = clock or _Clock()
    system = source.system
    col = source.columns.get
    if found is None:
        found = _transaction_lookups(source, df.select("transaction_ref", "debt_ref", "reverses_ref"))
        clock.mark("lookups")
    debts, existing, known = found
    df = df.join(debts, on="debt_ref", how="left").join(
        existing.unique().with_columns(pl.lit(True).alias("_in_db")), on="_key", how="left"
    )
    df = add_errors(df, [(col("debt_ref"), _err(pl.col("debt_ref").is_not_null() & pl.col("_debt_id").is_null(),
                          pl.format("unknown debt_ref '{}': no {} debt has this reference. Load the debts extract first, or correct the reference", pl.col("debt_ref"), pl.lit(system))))])
    in_db = pl.col("_in_db").fill_null(False)
    candidate = pl.col(ERR_REASON).is_null() & pl.col("_dup_of_line").is_null() & ~in_db
    first = loader.reserve_ids("accounts_ledgerentry", int(df.select(candidate.sum()).item() or 0))
    df = df.with_columns(pl.when(candidate).then(pl.int_range(pl.len(), dtype=pl.Int64)).otherwise(None).alias("_order"))
    df = df.with_columns(pl.when(candidate).then(pl.col("_order").rank("ordinal").over(candidate).cast(pl.Int64) - 1 + first).otherwise(None).alias("_id"))
    df = _resolve_reversals(df, known, col("reverses_ref") or col("kind"), col("amount"))
    rows, duplicates = _split(df, in_db)
    # Fixed-width columns first: the binary COPY encoder writes them as one block.
    ledger_rows = rows.select(
        pl.col("_id").alias("id"), pl.col("_debt_id").alias("debt_id"), pl.col("amount").alias("amount_pence"),
        "effective_date", "posting_date", pl.lit(sf.id, pl.Int64).alias("source_file_id"),
        "kind", pl.col("method").fill_null(""), pl.lit(system).alias("source_system"), "due_date",
        pl.col("_reverses_id").alias("reverses_id"), pl.col("_key").alias("source_key"),
    )
    clock.mark("checks")
    with loader.bulk_indexes("accounts_ledgerentry", rows.height) as bulk:
        loader.insert("accounts_ledgerentry", ledger_rows, _progress(progress, "loaded"), binary=True)
        clock.mark("copy")
    if bulk.saved:
        clock.mark("rebuild_indexes")
    return rows.height, duplicates, df


def _transaction_lookups(source, refs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """What the database already holds for a transactions file: its debts, those of its keys
    already loaded, and the originals its reversals point at. `refs`: transaction_ref, debt_ref and
    reverses_ref, as validation leaves them (trimmed text)."""
    system = source.system
    debts = loader.lookup(
        "SELECT d.debt_ref, d.id, d.account_id FROM accounts_debt d JOIN fd_keys k ON d.debt_ref = k.k WHERE d.system = %s",
        refs["debt_ref"], [system], {"debt_ref": pl.Utf8, "_debt_id": pl.Int64, "_account_id": pl.Int64},
    )
    # Keys already in the ledger: pull those in this file's key range (an index range scan; extracts
    # are mostly new, increasing ids, so the range holds few old keys), then anti-join in memory.
    keys = refs["transaction_ref"].drop_nulls()
    existing = (
        loader.pull(
            "SELECT source_key FROM accounts_ledgerentry WHERE source_system = %s AND source_key >= %s AND source_key <= %s",
            [system, keys.min(), keys.max()], {"_key": pl.Utf8},
        )
        if keys.len()
        else pl.DataFrame(schema={"_key": pl.Utf8})
    )
    # The originals that reversals in this file point at (few rows).
    collate = ' COLLATE "C"' if loader.is_postgres() else ""
    known = loader.lookup(
        "SELECT l.source_key, l.id, l.kind, l.amount_pence, l.debt_id, COALESCE(l.due_date, l.effective_date), r.id "
        f"FROM fd_keys k JOIN accounts_ledgerentry l ON l.source_key = k.k{collate} "
        "LEFT JOIN accounts_ledgerentry r ON r.reverses_id = l.id AND r.reverses_id IS NOT NULL WHERE l.source_system = %s",
        refs["reverses_ref"], [system],
        {"_ref": pl.Utf8, "_id": pl.Int64, "_kind": pl.Utf8, "_amount": pl.Int64, "_debt": pl.Int64, "_due": pl.Date, "_reversed_by": pl.Int64},
    )
    return debts, existing, known


# The table each feed mainly grows (analysed after a large load).
_TABLES = {"accounts": "accounts_account", "debts": "accounts_debt", "transactions": "accounts_ledgerentry"}
_LOADERS = {"accounts": _load_accounts, "debts": _load_debts, "transactions": _load_transactions}


def _resolve_reversals(df: pl.DataFrame, known: pl.DataFrame, ref_col: str, amount_col: str) -> pl.DataFrame:
    """Point each reversal at its original (in the ledger or earlier in the accepted rows of this file)."""
    if not df.select((pl.col("kind") == "reversal").any()).item():
        return df.with_columns(pl.lit(None, pl.Int64).alias("_reverses_id"))
    for _ in range(5):  # a rejected original can orphan a reversal: repeat until nothing changes
        before = df.select(pl.col(ERR_REASON).is_not_null().sum()).item()
        ok = pl.col(ERR_REASON).is_null() & pl.col("_id").is_not_null()
        in_file = df.filter(ok).select(
            pl.col("_key").alias("reverses_ref"), pl.col("_id").alias("_f_id"), pl.col("kind").alias("_f_kind"),
            pl.col("amount").alias("_f_amount"), pl.col("_debt_id").alias("_f_debt"),
            pl.coalesce("due_date", "effective_date").alias("_f_due"),
        )
        in_db = known.select(
            pl.col("_ref").alias("reverses_ref"), pl.col("_id").alias("_d_id"), pl.col("_kind").alias("_d_kind"),
            pl.col("_amount").alias("_d_amount"), pl.col("_debt").alias("_d_debt"), pl.col("_due").alias("_d_due"),
            pl.col("_reversed_by").is_not_null().alias("_d_reversed"),
        )
        drop = [c for c in df.columns if c.startswith(("_f_", "_d_", "_o_")) or c in ("_reverses_id", "_rev_rank")]
        base = df.drop(drop)
        cur = base.join(in_file, on="reverses_ref", how="left").join(in_db, on="reverses_ref", how="left").with_columns(
            pl.coalesce("_d_id", "_f_id").alias("_reverses_id"),
            pl.coalesce("_d_kind", "_f_kind").alias("_o_kind"),
            pl.coalesce("_d_amount", "_f_amount").alias("_o_amount"),
            pl.coalesce("_d_debt", "_f_debt").alias("_o_debt"),
            pl.coalesce("_d_due", "_f_due").alias("_o_due"),
        )
        # Only rows about to be inserted (they hold an id); already-loaded duplicates are left alone.
        is_rev = (pl.col("kind") == "reversal") & pl.col(ERR_REASON).is_null() & pl.col("_id").is_not_null()
        cur = cur.with_columns(
            pl.when(is_rev & pl.col("_reverses_id").is_not_null()).then(pl.int_range(pl.len())).otherwise(None).alias("_rev_rank")
        ).with_columns(pl.col("_rev_rank").rank("ordinal").over("_reverses_id").alias("_rev_rank"))
        cur = add_errors(cur, [
            (ref_col, _err(is_rev & pl.col("_reverses_id").is_null(),
                           pl.format("reverses '{}', which is not in the ledger or among this file's accepted rows", pl.col("reverses_ref")))),
            (ref_col, _err(is_rev & (pl.col("_o_kind") == "reversal"), "a reversal cannot reverse another reversal: post the original again instead")),
            (ref_col, _err(is_rev & pl.col("_d_reversed").fill_null(False), pl.format("transaction '{}' has already been reversed", pl.col("reverses_ref")))),
            (ref_col, _err(is_rev & (pl.col("_rev_rank") > 1), pl.format("transaction '{}' is reversed more than once in this file", pl.col("reverses_ref")))),
            (ref_col, _err(is_rev & (pl.col("_o_debt") != pl.col("_debt_id")), "a reversal must be on the same debt as the transaction it reverses")),
            (amount_col, _err(is_rev & (pl.col("amount") != -pl.col("_o_amount")),
                              pl.format("a reversal must be the exact negative of the original ({} pence)", -pl.col("_o_amount")))),
        ])
        cur = cur.with_columns(
            pl.when(pl.col("kind") == "reversal").then(pl.col("_o_due")).otherwise(pl.col("due_date")).alias("due_date"),
            pl.when(pl.col(ERR_REASON).is_null()).then(pl.col("_id")).otherwise(None).alias("_id"),
        )
        df = cur
        if df.select(pl.col(ERR_REASON).is_not_null().sum()).item() == before:
            break
    return df


class _Clock:
    def __init__(self):
        import time

        self._time = time.perf_counter
        self._last = self._time()
        self.marks: dict[str, float] = {}

    def mark(self, stage: str) -> None:
        now = self._time()
        self.marks[stage] = round(self.marks.get(stage, 0) + now - self._last, 3)
        self._last = now


def _progress(progress, stage):
    if not progress:
        return None
    return lambda n: progress(stage, n)


# ----------------------------------------------------------------------------------------- quarantine
def resubmit(row_id: int, corrections: dict[str, str], *, by: str = "") -> Result:
    """Re-run a quarantined row, with corrections by column name, through the same checks; load it if it now passes."""
    with transaction.atomic():
        try:
            q = QuarantinedRow.objects.select_for_update().get(pk=row_id)
        except QuarantinedRow.DoesNotExist:
            raise ResubmitError(f"No quarantined row {row_id}. List them with `fairdebt quarantine`.") from None
        if q.status != "open":
            raise ResubmitError(f"Quarantined row {row_id} is already {q.get_status_display().lower()}.")
        source = config.get(q.source)
        unknown = [c for c in corrections if c not in source.columns.values()]
        if unknown:
            raise ResubmitError(
                f"{', '.join(unknown)} is not a column of {source.name}. Its columns are: {', '.join(source.columns.values())}"
            )
        raw_row = vault.sealed_row(q.id) or q.raw
        values = {k: v for k, v in raw_row.items() if k != "_unparseable"} | corrections
        for c in source.columns.values():
            values.setdefault(c, None)
        raw = pl.DataFrame({k: [v] for k, v in values.items()}, schema={k: pl.Utf8 for k in values}).with_columns(
            pl.lit(q.line, pl.UInt32).alias(LINE)
        )
        sf = SourceFile.objects.create(
            source=source.name, system=source.system, feed=source.feed, path=f"quarantine row {q.id} (line {q.line} of {q.source_file.path})",
            sha256=_fingerprint(source.name, values), status="resubmission", loaded_by=by,
        )
        df = validate.mark_in_file_duplicates(source, validate.normalise(source, raw))
        with transaction.atomic():
            accepted, duplicates, df = _LOADERS[source.feed](source, df, sf, None, None)
            problem = df.filter(pl.col(ERR_REASON).is_not_null())
            if problem.height:
                transaction.set_rollback(True)
        if problem.height:
            field, reason = problem.select(ERR_FIELD, ERR_REASON).row(0)
            reason = _redact(values, reason, _identifier_columns(source))[1]
            raise ResubmitError(f"Still rejected: {field}: {reason}. Correct it with --set {field}=VALUE and try again.")
        sf.rows, sf.accepted, sf.duplicates, sf.finished_at = 1, accepted, duplicates, timezone.now()
        sf.save()
        q.status, q.resolved_at, q.resolved_by = "resubmitted", timezone.now(), by
        q.resolution = "loaded" if accepted else "already loaded (duplicate)"
        if corrections:
            hidden = _identifier_columns(source)
            q.resolution += "; corrected " + ", ".join(k if k in hidden else f"{k}={v!r}" for k, v in corrections.items())
        q.save()
    if source.feed == "transactions" and accepted:
        positions.refresh(loader.today(), df["_account_id"].drop_nulls().unique().to_list())
    return Result(sf, 1, accepted, duplicates, 0)


def positions_date() -> dt.date:
    return loader.today()
