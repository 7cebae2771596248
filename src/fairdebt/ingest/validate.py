"""Vectorised validation of one feed: every row checked with column expressions, never a Python loop.

`normalise` turns the extract's columns into fairdebt's canonical, typed columns and records the
first problem of each row in `_err_field` (the extract's column) and `_err_reason` (plain words:
what is wrong and what a correct value looks like). Checks that need the database (references,
duplicates already loaded) are added by the pipeline with `add_errors`.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Check:
    """A failing condition and its message. Conditions run on every row; messages only on failing rows."""

    condition: pl.Expr
    message: pl.Expr


def _err(condition: pl.Expr, message: pl.Expr | str) -> Check:
    return Check(condition, message if isinstance(message, pl.Expr) else pl.lit(message))


def _cleaned_pounds(t: pl.Expr) -> pl.Expr:
    """'£-1,234.5' -> '-1234.5': symbols, thousands separators and spaces out (literal replacements,
    several times faster than a regex over a million rows)."""
    return t.str.replace_many(["£", ",", " ", "\t", "\u00a0"], ["", "", "", "", ""])


def _pounds_to_pence(cleaned: pl.Expr) -> pl.Expr:
    """'-1234.5' (already cleaned, and best a column: it is read four times) -> -123450 with string
    operations only (no float ever)."""
    dot = cleaned.str.find(".", literal=True)
    decimals = cleaned.str.len_chars() - dot - 1
    digits = cleaned.str.replace(".", "", literal=True)
    padded = pl.when(dot.is_null()).then(digits + "00").when(decimals == 1).then(digits + "0").otherwise(digits)
    return pl.when(cleaned.str.contains(POUNDS_RE)).then(padded.cast(pl.Int64, strict=False)).otherwise(None)


def _parse(source: Source, f, col: str, dtype, t: pl.Expr, cleaned: str) -> tuple[pl.Expr, pl.Expr | None, pl.Expr | None]:
    """(value, message for a present-but-invalid value, and an intermediate column to compute
    first under the name `cleaned`, or None) for one field of the extract."""
    if f.type == "date":
        if dtype == pl.Date:
            return pl.col(col), None, None
        if isinstance(dtype, pl.Datetime):
            return pl.col(col).dt.date(), None, None
        human = _HUMAN_DATE.get(source.date_format, source.date_format)
        return t.str.strptime(pl.Date, source.date_format, strict=False), pl.format("{} is not a date in the form {}", _quoted(t), pl.lit(human)), None
    if f.type == "money":
        if source.amount_unit == "pence" and dtype.is_integer():
            return pl.col(col).cast(pl.Int64), None, None
        if source.amount_unit == "pence":
            return (pl.when(t.str.contains(PENCE_RE)).then(t.cast(pl.Int64, strict=False)).otherwise(None),
                    pl.format("{} is not an amount in whole pence, e.g. 12345 for £123.45", _quoted(t)), None)
        return (_pounds_to_pence(pl.col(cleaned)),
                pl.format("{} is not an amount of money in pounds and pence, e.g. 123.45 or -12.30", _quoted(t)), _cleaned_pounds(t))
    if f.type == "code":
        mapping = source.codes.get(f.name)
        if mapping:
            value = t.fill_null("").replace_strict(mapping, default=None, return_dtype=pl.Utf8)
            expected = ", ".join(repr(k) for k in mapping if k)
            return value, pl.format("unknown {} code {} (this source's codes are: {})", pl.lit(f.name), _quoted(t), pl.lit(expected)), None
        allowed = [a for a in VOCAB[f.name] if a]
        return (pl.when(t.is_in(allowed)).then(t).otherwise(None),
                pl.format("unknown {} {} (expected one of: {})", pl.lit(f.name), _quoted(t), pl.lit(", ".join(allowed))), None)
    if f.type == "nino":
        compact = t.str.replace_all(r"\s", "").str.to_uppercase()
        ok = compact.str.contains(NINO_RE) & ~compact.str.slice(0, 2).is_in(NINO_BAD_PREFIXES)
        return (pl.when(ok).then(compact).otherwise(None),
                pl.format("{} is not a National Insurance number (two letters, six digits and A, B, C or D, e.g. AB123456C)", _quoted(t)), None)
    if f.type == "postcode":
        compact = t.str.replace_all(r"\s", "").str.to_uppercase()
        formatted = pl.concat_str([compact.str.slice(0, compact.str.len_chars() - 3), pl.lit(" "), compact.str.slice(-3)])
        return pl.when(compact.str.contains(POSTCODE_RE)).then(formatted).otherwise(None), pl.format("{} is not a UK postcode (e.g. SW1A 1AA)", _quoted(t)), None
    patterns = {
        "uprn": (r"^[0-9]{1,12}$", "a UPRN (up to 12 digits)", None),
        "email": (EMAIL_RE, "an email address", None),
        "phone": (PHONE_RE, "a UK phone number (10 to 13 digits)", r"[\s()\-]"),
    }
    if f.type in patterns:
        regex, what, strip = patterns[f.type]
        value = t.str.replace_all(strip, "") if strip else t
        return pl.when(value.str.contains(regex)).then(value).otherwise(None), pl.format("{} is not {}", _quoted(t), pl.lit(what)), None
    return t, None, None


def add_errors(df: pl.DataFrame, checks: list[tuple[str, Check]]) -> pl.DataFrame:
    """Record the first failing check of each row that has no problem yet.

    The conditions are evaluated on every row (cheap booleans); the messages only on the rows that
    fail, which are few: a clean million-row file builds no message at all.
    """
    checks = [(f, c) for f, c in checks if c is not None]
    if not checks:
        return df
    flags = df.select(
        pl.col(ERR_REASON).is_null().alias("_clean"),
        *[c.condition.fill_null(False).alias(f"_f{i}") for i, (_, c) in enumerate(checks)],
    )
    failing = flags.select(pl.col("_clean") & pl.any_horizontal([pl.col(f"_f{i}") for i in range(len(checks))])).to_series()
    index = failing.arg_true()
    if index.len() == 0:
        return df
    sub = pl.concat([df[index], flags[index]], how="horizontal")
    found = sub.select(
        pl.coalesce([pl.when(pl.col(f"_f{i}")).then(pl.lit(f)) for i, (f, _) in enumerate(checks)]).alias("f"),
        pl.coalesce([pl.when(pl.col(f"_f{i}")).then(c.message) for i, (_, c) in enumerate(checks)]).alias("r"),
    )
    return df.with_columns(
        df[ERR_FIELD].scatter(index, found["f"]).alias(ERR_FIELD),
        df[ERR_REASON].scatter(index, found["r"]).alias(ERR_REASON),
    )


def normalise(source: Source, raw: pl.DataFrame) -> pl.DataFrame:
    """Canonical typed columns + _line + the first problem found in each row."""
    lf = raw.lazy()
    texts, prepared, values = {}, {}, {}
    checks: list[tuple[str, Check]] = []
    if "_unparseable" in raw.columns:
        checks.append(("(whole line)", _err(pl.col("_unparseable").is_not_null(), pl.col("_unparseable"))))
    fields = FEEDS[source.feed]
    tokens_given = source.feed == "accounts" and ("tok_surname" in raw.columns or "tok_organisation" in raw.columns)
    carried = [c for c in raw.columns if c.startswith("tok_") or c in ("initials", "token_key_id")] if tokens_given else []
    if tokens_given:
        # Pseudonymised on the council's side: identifiers arrive as tokens, checked there.
        checks.append(("tok_surname", _err(pl.col("tok_surname").is_null() & pl.col("tok_organisation").is_null() if "tok_organisation" in raw.columns else pl.col("tok_surname").is_null(),
                                           "a pseudonymised row needs tok_surname or tok_organisation")))
        checks.append(("token_key_id", _err(pl.col("token_key_id").is_null() if "token_key_id" in raw.columns else pl.lit(True),
                                            "a pseudonymised row needs token_key_id (the key version that made its tokens)")))
    for i, f in enumerate(fields):
        col = source.columns.get(f.name)
        if col is None or col not in raw.columns:
            if f.name == "account_type" and source.account_type:
                values[f.name] = pl.lit(source.account_type)
            elif f.type == "date":
                values[f.name] = pl.lit(None, pl.Date)
            elif f.type == "money":
                values[f.name] = pl.lit(None, pl.Int64)
            else:
                values[f.name] = pl.lit(DEFAULTS.get(f.name), pl.Utf8)
            continue
        dtype = raw.schema[col]
        tname = f"_t{i}"
        texts[tname] = _text(col)
        t = pl.col(tname)
        value, message, prep = _parse(source, f, col, dtype, t, f"_c{i}")
        if prep is not None:
            prepared[f"_c{i}"] = prep
        values[f.name] = value
        if f.required and not (tokens_given and f.name == "surname"):
            checks.append((col, _err(t.is_null(), f"{f.name.replace('_', ' ')} is missing: every row needs one")))
        if message is not None:
            # Present but not understood (t is already null when the cell is blank).
            checks.append((col, _err(t.is_not_null() & pl.col(f.name).is_null(), message)))
    out = (
        lf.with_columns(**texts)
        .with_columns(**prepared)
        .with_columns(**values)
        .with_columns(*[pl.col(c).cast(pl.Utf8) for c in carried])
        .with_columns(pl.lit(None, pl.Utf8).alias(ERR_FIELD), pl.lit(None, pl.Utf8).alias(ERR_REASON))
        .collect()
    )
    out = add_errors(out, checks)
    # Blank codes take their default only after the checks, so an unknown code is never masked.
    out = out.with_columns([pl.col(name).fill_null(default) for name, default in DEFAULTS.items() if name in out.columns])
    keep = [LINE, *[f.name for f in fields], *carried, ERR_FIELD, ERR_REASON]
    # Text columns stay for quarantine messages until the feed rules have run.
    out = _feed_rules(source, out)
    return out.select(keep)


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
        df = df.with_columns(scrub_free_text(pl.col("description")).alias("description"))
        return add_errors(
            df, [(col("period_end") or col("debt_ref"), _err(pl.col("period_end") < pl.col("period_start"), "period_end is before period_start"))]
        )
    return df


_STREETS = (
    "road|rd|street|st|avenue|ave|lane|ln|close|cl|drive|dr|court|ct|place|pl|gardens|gdns|terrace|ter|"
    "crescent|cres|square|sq|grove|gr|parade|pde|way|walk|row|hill|rise|mews|green|park|house|estate|gate|yard"
)
ADDRESS_RE = rf"(?i)\b(flat\s+\w+,?\s+)?\d+[a-z]?(/\d+[a-z]?)?,?\s+([a-z'\-]+\s+){{0,4}}({_STREETS})\b"
POSTCODE_TEXT_RE = r"(?i)\b[a-z]{1,2}[0-9][a-z0-9]?\s*[0-9][a-z]{2}\b"


def scrub_free_text(expr: pl.Expr) -> pl.Expr:
    """Free text from a source system (a debt's description) may name an address: keep the words,
    drop the address. The identifiers belong in the vault, with the person."""
    return expr.str.replace_all(ADDRESS_RE, "[address]").str.replace_all(POSTCODE_TEXT_RE, "[postcode]")


def key_expr(source: Source) -> pl.Expr:
    keys = KEYS[source.feed]
    return pl.concat_str([pl.col(k).fill_null("") for k in keys], separator="\x1f") if len(keys) > 1 else pl.col(keys[0])


def mark_in_file_duplicates(source: Source, df: pl.DataFrame) -> pl.DataFrame:
    """Repeats of a key inside one file: identical repeats are duplicates; differing ones are rejected.

    Adds `_key` and `_dup_of_line` (the first line with that key, for an identical repeat). Content
    is compared only for keys that repeat, so a clean file costs one hash of its keys.
    """
    df = df.with_columns(key_expr(source).alias("_key"))
    repeated = df.select(pl.col("_key").is_duplicated() & pl.col("_key").is_not_null()).to_series()
    if not repeated.any():
        return df.with_columns(pl.lit(None, pl.UInt32).alias("_dup_of_line"))
    content = [c for c in df.columns if not c.startswith("_")]
    index = repeated.arg_true()
    sub = df[index].with_columns(pl.struct(content).hash(seed=7).alias("_content"))
    sub = sub.with_columns(
        pl.col(LINE).first().over("_key").alias("_first_line"),
        pl.col("_content").first().over("_key").alias("_first_content"),
    )
    is_repeat = pl.col(LINE) != pl.col("_first_line")
    differs = sub.select(is_repeat & (pl.col("_content") != pl.col("_first_content"))).to_series()
    same = sub.select(is_repeat & (pl.col("_content") == pl.col("_first_content"))).to_series()
    dup_of = pl.Series("_dup_of_line", [None] * df.height, dtype=pl.UInt32)
    dup_of = dup_of.scatter(index.filter(same), sub["_first_line"].filter(same).cast(pl.UInt32))
    df = df.with_columns(dup_of)
    marks = pl.Series("_differs", [False] * df.height).scatter(index.filter(differs), True)
    firsts = pl.Series("_first", [None] * df.height, dtype=pl.UInt32).scatter(index, sub["_first_line"].cast(pl.UInt32))
    key_col = source.columns[KEYS[source.feed][0]]
    keyname = " and ".join(KEYS[source.feed])
    df = add_errors(
        df.with_columns(marks, firsts),
        [(key_col, _err(pl.col("_differs"), pl.format("{} {} already appears on line {} with different values: correct one of them",
                                                        pl.lit(keyname), _quoted(pl.col("_key").str.replace_all("\x1f", " / ")), pl.col("_first"))))],
    )
    # A differing repeat that was rejected is not also a duplicate.
    df = df.with_columns(pl.when(pl.col(ERR_REASON).is_null()).then(pl.col("_dup_of_line")).otherwise(None).alias("_dup_of_line"))
    return df.drop("_differs", "_first")
