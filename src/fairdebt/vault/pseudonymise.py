"""Pseudonymise an accounts extract on the council's side, before it goes anywhere else."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fairdebt.domain.identity import IDENTIFIER_FIELDS
from fairdebt.ingest import reader, validate
from fairdebt.ingest.config import Source

from . import keys, services


def extract(source: Source, path: Path, out: Path) -> dict:
    """Write `out`: the extract with its identifier columns replaced by tok_* columns, initials and the
    key id. Raw identifiers go to the vault. Rows that fail the checks stay on this side, in
    OUT.rejected.csv with their reasons, because they carry raw identifiers."""
    if source.feed != "accounts":
        raise ValueError(f"{source.name} carries no personal identifiers: only accounts extracts need pseudonymising.")
    raw = reader.read(source, path)
    checked = validate.normalise(source, raw)
    ok = checked.filter(pl.col(validate.ERR_REASON).is_null())
    bad_lines = checked.filter(pl.col(validate.ERR_REASON).is_not_null()).select(reader.LINE, validate.ERR_FIELD, validate.ERR_REASON)
    tokeniser = keys.tokeniser()
    present = [f for f in IDENTIFIER_FIELDS if f in ok.columns]
    tokens = pl.DataFrame([tokeniser.tokenise_extract(r) for r in ok.select(present).to_dicts()],
                          schema={c: pl.Utf8 for c in [*tokeniser.tokenise_extract({}).keys()]})
    ident_columns = {source.columns[f] for f in IDENTIFIER_FIELDS if f in source.columns}
    kept = raw.join(ok.select(reader.LINE), on=reader.LINE, how="semi").sort(reader.LINE)
    output = pl.concat([kept.drop([c for c in kept.columns if c in ident_columns or c.startswith("_")]), tokens], how="horizontal")
    services.store_identities(source.system, ok.select("party_ref", *present).unique("party_ref", keep="first"))
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        output.write_parquet(out)
    elif suffix in (".jsonl", ".ndjson"):
        output.write_ndjson(out)
    else:
        output.write_csv(out)
    rejected_path = out.with_name(out.name + ".rejected.csv")
    if bad_lines.height:
        raw.join(bad_lines, on=reader.LINE, how="inner").sort(reader.LINE).rename({reader.LINE: "line"}).select(
            pl.all().cast(pl.Utf8)
        ).write_csv(rejected_path)
    return {"rows": output.height, "rejected": bad_lines.height, "rejected_path": str(rejected_path)}
