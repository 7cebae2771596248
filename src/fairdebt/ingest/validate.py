"""Vectorised validation of one feed: every row checked with column expressions, never a Python loop.

`normalise` turns the extract's columns into fairdebt's canonical, typed columns and records the
first problem of each row in `_err_field` (the extract's column) and `_err_reason` (plain words:
what is wrong and what a correct value looks like). Checks that need the database (references,
duplicates already loaded) are added by the pipeline with `add_errors`.
"""

from __future__ import annotations

import polars as pl

from fairdebt.domain import vocabulary as v

from .config import Source
from .feeds import FEEDS, KEYS
from .reader import LINE

ERR_FIELD, ERR_REASON = "_err_field", "_err_reason"

VOCAB = {
    "role": v.ROLES,
    "account_type": v.ACCOUNT_TYPES,
    "tenure": v.TENURES,
    "category": v.SUNDRY_CATEGORIES,
    "recovery_stage": v.RECOVERY_STAGES,
    "kind": v.ENTRY_KINDS,
    "method": v.PAYMENT_METHODS,
}
DEFAULTS = {"role": "lead", "recovery_stage": "none", "method": ""}

NINO_RE = r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$"
NINO_BAD_PREFIXES = ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"]
POSTCODE_RE = r"^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"  # without the space
POUNDS_RE = r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$"
PENCE_RE = r"^-?[0-9]{1,15}$"
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_RE = r"^\+?[0-9]{10,13}$"

_HUMAN_DATE = {"%d/%m/%Y": "DD/MM/YYYY", "%Y-%m-%d": "YYYY-MM-DD", "%d-%m-%Y": "DD-MM-YYYY", "%Y%m%d": "YYYYMMDD"}


def _text(col: str) -> pl.Expr:
    expr = pl.col(col).cast(pl.Utf8).str.strip_chars()
    return pl.when(expr == "").then(None).otherwise(expr)


def _quoted(raw: pl.Expr) -> pl.Expr:
    return pl.format("'{}'", raw.str.slice(0, 60))


def _err(condition: pl.Expr, message: pl.Expr | str) -> pl.Expr:
    return pl.when(condition).then(message if isinstance(message, pl.Expr) else pl.lit(message)).otherwise(None)


def _date(df: pl.DataFrame, col: str, fmt: str) -> tuple[pl.Expr, pl.Expr]:
    if df.schema[col] == pl.Date:
        return pl.col(col), pl.lit(None, pl.Utf8)
    if df.schema[col] == pl.Datetime or isinstance(df.schema[col], pl.Datetime):
        return pl.col(col).dt.date(), pl.lit(None, pl.Utf8)
    raw = _text(col)
    parsed = raw.str.strptime(pl.Date, fmt, strict=False)
    human = _HUMAN_DATE.get(fmt, fmt)
    return parsed, _err(raw.is_not_null() & parsed.is_null(), pl.format("{} is not a date in the form {}", _quoted(raw), pl.lit(human)))


def _money(df: pl.DataFrame, col: str, unit: str) -> tuple[pl.Expr, pl.Expr]:
    dtype = df.schema[col]
    if unit == "pence" and dtype.is_integer():
        return pl.col(col).cast(pl.Int64), pl.lit(None, pl.Utf8)
    raw = _text(col)
    if unit == "pence":
        ok = raw.str.contains(PENCE_RE)
        return (
            pl.when(ok).then(raw.cast(pl.Int64, strict=False)).otherwise(None),
            _err(raw.is_not_null() & ~ok, pl.format("{} is not an amount in whole pence, e.g. 12345 for £123.45", _quoted(raw))),
        )
    cleaned = raw.str.replace_all(r"[£,\s]", "")
    ok = cleaned.str.contains(POUNDS_RE)
    negative = cleaned.str.starts_with("-")
    digits = cleaned.str.strip_chars_start("-")
    parts = digits.str.split(".")
    whole = parts.list.get(0, null_on_oob=True).cast(pl.Int64, strict=False)
    frac = parts.list.get(1, null_on_oob=True).fill_null("").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    pence = whole * 100 + frac
    pence = pl.when(negative).then(-pence).otherwise(pence)
    return (
        pl.when(ok).then(pence).otherwise(None),
        _err(raw.is_not_null() & ~ok, pl.format("{} is not an amount of money in pounds and pence, e.g. 123.45 or -12.30", _quoted(raw))),
    )


def _code(source: Source, name: str, col: str) -> tuple[pl.Expr, pl.Expr]:
    raw = pl.col(col).cast(pl.Utf8).str.strip_chars()
    mapping = source.codes.get(name)
    if mapping:
        mapped = raw.fill_null("").replace_strict(mapping, default=None, return_dtype=pl.Utf8)
        expected = ", ".join(repr(k) for k in mapping if k)
        err = _err(
            mapped.is_null() & (raw.fill_null("") != ""),
            pl.format("unknown {} code {} (this source's codes are: {})", pl.lit(name), _quoted(raw), pl.lit(expected)),
        )
    else:
        allowed = list(VOCAB[name])
        mapped = pl.when(raw == "").then(None).otherwise(raw)
        err = _err(
            mapped.is_not_null() & ~mapped.is_in(allowed),
            pl.format("unknown {} {} (expected one of: {})", pl.lit(name), _quoted(raw), pl.lit(", ".join(a for a in allowed if a))),
        )
    return mapped, err


def _nino(col: str) -> tuple[pl.Expr, pl.Expr]:
    raw = _text(col)
    compact = raw.str.replace_all(r"\s", "").str.to_uppercase()
    ok = compact.str.contains(NINO_RE) & ~compact.str.slice(0, 2).is_in(NINO_BAD_PREFIXES)
    return (
        pl.when(ok).then(compact).otherwise(None),
        _err(raw.is_not_null() & ~ok.fill_null(False),
             pl.format("{} is not a National Insurance number (two letters, six digits and A, B, C or D, e.g. AB123456C)", _quoted(raw))),
    )


def _postcode(col: str) -> tuple[pl.Expr, pl.Expr]:
    raw = _text(col)
    compact = raw.str.replace_all(r"\s", "").str.to_uppercase()
    ok = compact.str.contains(POSTCODE_RE)
    formatted = pl.concat_str([compact.str.slice(0, compact.str.len_chars() - 3), pl.lit(" "), compact.str.slice(-3)])
    return (
        pl.when(ok).then(formatted).otherwise(None),
        _err(raw.is_not_null() & ~ok.fill_null(False), pl.format("{} is not a UK postcode (e.g. SW1A 1AA)", _quoted(raw))),
    )


def _pattern(col: str, regex: str, what: str, strip: str | None = None) -> tuple[pl.Expr, pl.Expr]:
    raw = _text(col)
    value = raw.str.replace_all(strip, "") if strip else raw
    ok = value.str.contains(regex)
    return pl.when(ok).then(value).otherwise(None), _err(raw.is_not_null() & ~ok.fill_null(False), pl.format("{} is not {}", _quoted(raw), pl.lit(what)))


def add_errors(df: pl.DataFrame, checks: list[tuple[str, pl.Expr]]) -> pl.DataFrame:
    """Record the first failing check of each row that has no problem yet."""
    if not checks:
        return df
    field = pl.coalesce([pl.when(e.is_not_null()).then(pl.lit(f)).otherwise(None) for f, e in checks])
    reason = pl.coalesce([e for _, e in checks])
    clean = pl.col(ERR_REASON).is_null()
    return df.with_columns(
        pl.when(clean).then(field).otherwise(pl.col(ERR_FIELD)).alias(ERR_FIELD),
        pl.when(clean).then(reason).otherwise(pl.col(ERR_REASON)).alias(ERR_REASON),
    )


def normalise(source: Source, raw: pl.DataFrame) -> pl.DataFrame:
    """Canonical typed columns + _line + the first problem found in each row."""
    parsed: dict[str, pl.Expr] = {}
    checks: list[tuple[str, pl.Expr]] = []
    if "_unparseable" in raw.columns:
        checks.append(("(whole line)", pl.col("_unparseable")))
    for f in FEEDS[source.feed]:
        col = source.columns.get(f.name)
        if col is None or col not in raw.columns:
            if f.name == "account_type" and source.account_type:
                parsed[f.name] = pl.lit(source.account_type)
            elif f.type in ("date",):
                parsed[f.name] = pl.lit(None, pl.Date)
            elif f.type == "money":
                parsed[f.name] = pl.lit(None, pl.Int64)
            else:
                parsed[f.name] = pl.lit(DEFAULTS.get(f.name), pl.Utf8)
            continue
        if f.type == "date":
            value, err = _date(raw, col, source.date_format)
        elif f.type == "money":
            value, err = _money(raw, col, source.amount_unit)
        elif f.type == "code":
            value, err = _code(source, f.name, col)
            if f.name in DEFAULTS:
                value = value.fill_null(DEFAULTS[f.name])
        elif f.type == "nino":
            value, err = _nino(col)
        elif f.type == "postcode":
            value, err = _postcode(col)
        elif f.type == "uprn":
            value, err = _pattern(col, r"^[0-9]{1,12}$", "a UPRN (up to 12 digits)")
        elif f.type == "email":
            value, err = _pattern(col, EMAIL_RE, "an email address")
        elif f.type == "phone":
            value, err = _pattern(col, PHONE_RE, "a UK phone number (10 to 13 digits)", strip=r"[\s()\-]")
        else:
            value, err = _text(col), pl.lit(None, pl.Utf8)
        if f.required:
            missing = _err(_text(col).is_null(), f"{f.name.replace('_', ' ')} is missing: every row needs one")
            checks.append((col, missing))
        checks.append((col, err))
        parsed[f.name] = value
    out = raw.select(pl.col(LINE), *[e.alias(n) for n, e in parsed.items()]).with_columns(
        pl.lit(None, pl.Utf8).alias(ERR_FIELD), pl.lit(None, pl.Utf8).alias(ERR_REASON)
    )
    # Evaluate the checks against the raw columns, then attach them.
    errs = raw.select(*[e.alias(f"_c{i}") for i, (_, e) in enumerate(checks)]) if checks else None
    if errs is not None:
        out = pl.concat([out, errs], how="horizontal")
        out = add_errors(out, [(f, pl.col(f"_c{i}")) for i, (f, _) in enumerate(checks)]).drop(errs.columns)
    return _feed_rules(source, out)


def _feed_rules(source: Source, df: pl.DataFrame) -> pl.DataFrame:
    col = source.columns.get
    if source.feed == "transactions":
        kind, amount = pl.col("kind"), pl.col("amount")
        df = add_errors(
            df,
            [
                (col("amount"), _err(kind.is_in(sorted(v.DEBIT_KINDS)) & (amount <= 0),
                                     pl.format("a {} must be a positive amount (it increases what is owed)", kind))),
                (col("amount"), _err(kind.is_in(sorted(v.CREDIT_KINDS)) & (amount >= 0),
                                     pl.format("a {} must be a negative amount (it reduces what is owed)", kind))),
                (col("amount"), _err(amount == 0, "an entry of £0.00 changes nothing: leave it out")),
                (col("reverses_ref") or col("kind"), _err((kind == "reversal") & pl.col("reverses_ref").is_null(),
                                                          "a reversal must name the transaction it reverses")),
                (col("reverses_ref") or col("kind"), _err((kind != "reversal") & pl.col("reverses_ref").is_not_null(),
                                                          "only a reversal may name a transaction it reverses")),
            ],
        )
        return df.with_columns(pl.col("posting_date").fill_null(pl.col("effective_date")))
    if source.feed == "accounts":
        rent = pl.col("account_type") == "housing_rent"
        return add_errors(
            df,
            [
                (col("tenure") or col("account_ref"), _err(rent & pl.col("tenure").is_null(),
                                                            "a housing account needs a tenure (secure, non_secure, introductory, temporary_accommodation or garage)")),
                (col("tenure") or col("account_ref"), _err(~rent & pl.col("tenure").is_not_null(), "only housing rent accounts have a tenure")),
                (col("account_type") or col("account_ref"), _err(pl.col("account_type").is_null(), "the account type is missing")),
                (col("liable_to") or col("account_ref"), _err(pl.col("liable_to") < pl.col("liable_from"), "liable_to is before liable_from")),
            ],
        )
    if source.feed == "debts":
        return add_errors(
            df, [(col("period_end") or col("debt_ref"), _err(pl.col("period_end") < pl.col("period_start"), "period_end is before period_start"))]
        )
    return df


def key_expr(source: Source) -> pl.Expr:
    keys = KEYS[source.feed]
    return pl.concat_str([pl.col(k).fill_null("") for k in keys], separator="\x1f") if len(keys) > 1 else pl.col(keys[0])


def mark_in_file_duplicates(source: Source, df: pl.DataFrame) -> pl.DataFrame:
    """Repeats of a key inside one file: identical repeats are duplicates; differing ones are rejected.

    Adds `_key` and `_dup_of_line` (the first line with that key, for a repeat).
    """
    content = [c for c in df.columns if not c.startswith("_")]
    df = df.with_columns(key_expr(source).alias("_key"), pl.struct(content).hash(seed=7).alias("_content"))
    first = df.group_by("_key", maintain_order=True).agg(pl.col(LINE).first().alias("_first_line"), pl.col("_content").first().alias("_first_content"))
    df = df.join(first, on="_key", how="left", maintain_order="left")
    repeat = pl.col("_key").is_not_null() & (pl.col(LINE) != pl.col("_first_line"))
    key_col = source.columns[KEYS[source.feed][0]]
    keyname = " and ".join(KEYS[source.feed])
    df = add_errors(
        df,
        [(key_col, _err(repeat & (pl.col("_content") != pl.col("_first_content")),
                        pl.format("{} {} already appears on line {} with different values: correct one of them", pl.lit(keyname), _quoted(pl.col("_key").str.replace_all("\x1f", " / ")), pl.col("_first_line"))))],
    )
    return df.with_columns(
        pl.when(repeat & pl.col(ERR_REASON).is_null()).then(pl.col("_first_line")).otherwise(None).alias("_dup_of_line")
    ).drop("_content", "_first_content", "_first_line")
