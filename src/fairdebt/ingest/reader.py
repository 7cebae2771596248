"""Read one extract file into a frame of its rows, or refuse it with one clear message.

A file that cannot be read as its format (binary junk, wrong encoding, a missing required column)
raises UnreadableFile before anything is written, so nothing is ever half-loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from .config import Source

LINE = "_line"  # the row's line in the file (CSV: the header is line 1), kept for quarantine


class UnreadableFile(Exception):
    """The whole file is refused; the message says what is wrong and what to do."""


def _format_of(source: Source, path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet"}.get(suffix, source.format)


def _looks_binary(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(65536)
    return b"\x00" in head


def _read_csv(path: Path) -> pl.DataFrame:
    if _looks_binary(path):
        raise UnreadableFile(f"{path} is not a CSV text file (it contains binary data). Check that you picked the right file.")
    try:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8")
    except pl.exceptions.ComputeError as exc:
        if "fields" in str(exc).lower():  # a ragged line ("found more fields than defined")
            return _read_csv_ragged(path)
        if "utf-8" in str(exc).lower():
            raise UnreadableFile(
                f"{path} is not UTF-8 text. Export the extract as UTF-8 (in Excel: 'CSV UTF-8'), or convert it "
                "with `iconv -f WINDOWS-1252 -t UTF-8`, then load it again."
            ) from None
        raise UnreadableFile(f"{path} could not be read as CSV: {exc}. Check the delimiter and quoting.") from None
    except (pl.exceptions.NoDataError, pl.exceptions.PolarsError) as exc:
        raise UnreadableFile(f"{path} could not be read as CSV ({exc}). Check the file is a complete CSV extract.") from None
    # Line numbers assume no line breaks inside quoted fields, which extracts do not have.
    return df.with_row_index(LINE, offset=2)


def _read_csv_ragged(path: Path) -> pl.DataFrame:
    """Slow path for a CSV with ragged lines: each such line becomes a row for quarantine, not a lost file."""
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        header = next(rows, None)
        if not header:
            raise UnreadableFile(f"{path} is empty: it has no header row.")
        good, bad = [], []
        for record in rows:
            line = rows.line_num
            if len(record) == len(header):
                good.append([*record, line])
            elif record:
                bad.append((line, f"line has {len(record)} fields but the header has {len(header)}: check for an unquoted comma: {','.join(record)[:400]}"))
    schema = {**{c: pl.Utf8 for c in header}, LINE: pl.UInt32}
    df = pl.DataFrame(good, schema=schema, orient="row").with_columns(
        [pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in header]
    )
    if bad:
        junk = pl.DataFrame({LINE: [b[0] for b in bad], "_unparseable": [b[1] for b in bad]}, schema={LINE: pl.UInt32, "_unparseable": pl.Utf8})
        df = pl.concat([df, junk], how="diagonal").sort(LINE)
    return df


def _read_jsonl(path: Path) -> pl.DataFrame:
    if _looks_binary(path):
        raise UnreadableFile(f"{path} is not a JSON Lines text file (it contains binary data).")
    rows, bad = [], []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UnreadableFile(f"{path} is not UTF-8 text. Export the extract as UTF-8 and load it again.") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            value = None
            bad.append((number, f"line is not valid JSON ({exc.msg})", line))
        if value is not None and not isinstance(value, dict):
            bad.append((number, "line is not a JSON object", line))
            continue
        if value is not None:
            rows.append({k: (None if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v)))
                         for k, v in value.items()} | {LINE: number})
    if bad and not rows:
        raise UnreadableFile(f"{path} is not JSON Lines: {bad[0][1]} on line {bad[0][0]}.")
    if not rows:
        return pl.DataFrame({LINE: pl.Series([], dtype=pl.UInt32)})
    columns = list(dict.fromkeys(k for r in rows for k in r))
    df = pl.from_dicts(rows, schema={c: (pl.UInt32 if c == LINE else pl.Utf8) for c in columns})
    if bad:
        # Unparseable lines are kept as rows with only a marker, so they reach quarantine, not the bin.
        junk = pl.DataFrame({LINE: [b[0] for b in bad], "_unparseable": [f"{b[1]}: {b[2][:500]}" for b in bad]},
                            schema={LINE: pl.UInt32, "_unparseable": pl.Utf8})
        df = pl.concat([df, junk], how="diagonal").sort(LINE)
    return df


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # pyarrow and polars raise several types for a corrupt file
        raise UnreadableFile(f"{path} is not a readable Parquet file ({type(exc).__name__}). Check the file is complete.") from None
    return df.with_row_index(LINE, offset=1)


def read(source: Source, path: Path) -> pl.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file. Check the path.")
    fmt = _format_of(source, path)
    df = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt](path)
    present = set(df.columns)
    required = source.required_columns()
    if source.feed == "accounts" and ({"tok_surname", "tok_organisation"} & present):
        # A pseudonymised extract: its identifiers are token columns.
        required = [c for c in required if c != source.columns.get("surname")]
    missing = [col for col in required if col not in present]
    if missing and not (fmt == "jsonl" and df.height == 0):
        raise UnreadableFile(
            f"{path} is missing required column(s) {', '.join(repr(m) for m in missing)} for source {source.name}. "
            f"The file's columns are: {', '.join(c for c in df.columns if not c.startswith('_')) or '(none)'}. "
            "Check that the file is the right extract, or map its columns in $FAIRDEBT_HOME/sources.toml."
        )
    return df
