"""Source layouts: how each council extract maps onto fairdebt's canonical feeds.

The shipped layouts are in sources.toml beside this file; $FAIRDEBT_HOME/sources.toml adds or
replaces entries for one council without a code change.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .feeds import FEEDS

SHIPPED = Path(__file__).with_name("sources.toml")
FORMATS = ("csv", "jsonl", "parquet")


class SourceConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Source:
    name: str  # e.g. "council_tax.transactions"
    system: str  # e.g. "council_tax"
    feed: str  # accounts | debts | transactions
    format: str  # csv | jsonl | parquet
    columns: dict[str, str]  # canonical field -> column in the extract
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # canonical field -> {source code: canonical}
    account_type: str | None = None
    date_format: str = "%Y-%m-%d"
    amount_unit: str = "pounds"  # pounds | pence

    def source_column(self, canonical: str) -> str | None:
        return self.columns.get(canonical)

    def canonical_for(self, column: str) -> str | None:
        for canonical, col in self.columns.items():
            if col == column:
                return canonical
        return None

    def required_columns(self) -> list[str]:
        return [self.columns[f.name] for f in FEEDS[self.feed] if f.required and f.name in self.columns]

    def encode(self, canonical_field: str, value: str) -> str:
        """The source system's code for a canonical value (used by the synthetic council)."""
        mapping = self.codes.get(canonical_field)
        if not mapping:
            return value
        for code, canon in mapping.items():
            if canon == value:
                return code
        raise KeyError(f"{self.name}: no source code for {canonical_field}={value!r}")


def _parse(name: str, raw: dict) -> Source:
    try:
        feed = raw["feed"]
        system = raw["system"]
    except KeyError as missing:
        raise SourceConfigError(f"source {name!r} has no {missing.args[0]!r}") from None
    if feed not in FEEDS:
        raise SourceConfigError(f"source {name!r}: feed must be one of {', '.join(FEEDS)}, not {feed!r}")
    fmt = raw.get("format", "csv")
    if fmt not in FORMATS:
        raise SourceConfigError(f"source {name!r}: format must be one of {', '.join(FORMATS)}")
    columns = dict(raw.get("columns", {}))
    known = {f.name for f in FEEDS[feed]}
    unknown = set(columns) - known
    if unknown:
        raise SourceConfigError(f"source {name!r} maps unknown fields: {', '.join(sorted(unknown))}")
    missing = [f.name for f in FEEDS[feed] if f.required and f.name not in columns]
    if missing:
        raise SourceConfigError(f"source {name!r} does not map required fields: {', '.join(missing)}")
    if feed == "accounts" and not raw.get("account_type") and "account_type" not in columns:
        raise SourceConfigError(f"source {name!r} needs account_type or an account_type column")
    unit = raw.get("amount_unit", "pounds")
    if unit not in ("pounds", "pence"):
        raise SourceConfigError(f"source {name!r}: amount_unit must be pounds or pence")
    return Source(
        name=name,
        system=system,
        feed=feed,
        format=fmt,
        columns=columns,
        codes={k: dict(v) for k, v in raw.get("codes", {}).items()},
        account_type=raw.get("account_type"),
        date_format=raw.get("date_format", "%Y-%m-%d"),
        amount_unit=unit,
    )


def home() -> Path:
    return Path(os.environ.get("FAIRDEBT_HOME", "var")).resolve()


@lru_cache(maxsize=None)
def _load(paths: tuple[Path, ...]) -> dict[str, Source]:
    merged: dict[str, dict] = {}
    for path in paths:
        if path.exists():
            with path.open("rb") as fh:
                try:
                    merged.update(tomllib.load(fh).get("sources", {}))
                except tomllib.TOMLDecodeError as exc:
                    raise SourceConfigError(f"{path} is not valid TOML ({exc}). Correct it (docs/ingest.md shows a layout) and run again.") from None
    return {name: _parse(name, raw) for name, raw in merged.items()}


def sources() -> dict[str, Source]:
    return _load((SHIPPED, home() / "sources.toml"))


def get(name: str) -> Source:
    all_sources = sources()
    if name not in all_sources:
        raise SourceConfigError(
            f"unknown source {name!r}. Known sources: {', '.join(sorted(all_sources))}. "
            "Add a layout to $FAIRDEBT_HOME/sources.toml for a new extract (see docs/ingest.md)."
        )
    return all_sources[name]


def systems() -> list[str]:
    return sorted({s.system for s in sources().values()})
