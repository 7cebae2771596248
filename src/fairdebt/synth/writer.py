"""Writes canonical rows as one source's extract: its columns, codes, date format, money unit and format.

Rows stream straight to disk. With a bad-row rate above zero, a deliberately bad copy of a real
row is added after some account and transaction rows; each one is listed in bad_rows.csv with its
line in the file (CSV: the header is line 1; JSON Lines and Parquet: the first record is line 1).
Bad rows are extra rows with their own references (except the duplicate-reference case), so the good
rows are the same whatever the rate, and dropping the bad rows leaves a consistent extract.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date
from pathlib import Path

from fairdebt.ingest.config import Source
from fairdebt.ingest.feeds import FEEDS

from .people import make_nino


def pounds_text(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    q, r = divmod(abs(pence), 100)
    return f"{sign}{q}.{r:02d}"


class SourceWriter:
    def __init__(self, src: Source, path: Path):
        self.src = src
        self.path = path
        self.fields = list(src.columns.keys())
        self.cols = list(src.columns.values())
        types = {f.name: f.type for f in FEEDS[src.feed]}
        self.types = [types[f] for f in self.fields]
        self.pos = {f: i for i, f in enumerate(self.fields)}
        self.fmt = src.date_format
        self.pence = src.amount_unit == "pence"
        self._dates: dict[date, str] = {}
        self._codes: dict[tuple[str, str], str] = {}
        self.format = src.format
        self.ops = self._converters()
        self.lines = 0
        self.rows = 0
        if self.format == "csv":
            self.fh = path.open("w", encoding="utf-8", newline="")
            self.csv = csv.writer(self.fh, lineterminator="\n")
            self.csv.writerow(self.cols)
            self.lines = 1
        elif self.format == "jsonl":
            self.fh = path.open("w", encoding="utf-8", newline="")
        else:
            self.fh = None
            self.buffer: list[list] = [[] for _ in self.cols]
            self.pq_writer = None

    def date(self, d: date) -> str:
        s = self._dates.get(d)
        if s is None:
            s = d.strftime(self.fmt)
            self._dates[d] = s
        return s

    def code(self, field: str, value: str) -> str:
        key = (field, value)
        s = self._codes.get(key)
        if s is None:
            s = self.src.encode(field, value)
            self._codes[key] = s
        return s

    def _converters(self) -> list:
        convs = []
        for f, t in zip(self.fields, self.types):
            if t == "date":
                convs.append(self.date)
            elif t == "money":
                convs.append(None if self.pence else pounds_text)
            elif t == "code":
                convs.append(lambda v, f=f: self.code(f, v))
            else:
                convs.append(None)
        return list(zip(self.fields, convs))

    def encode(self, row: dict) -> list:
        get = row.get
        return [None if ((v := get(f)) is None or v == "") else (v if c is None else c(v)) for f, c in self.ops]

    def write(self, values: list) -> int:
        """Writes one encoded row; returns its line number."""
        self.rows += 1
        if self.format == "csv":
            self.csv.writerow(["" if v is None else v for v in values])
            self.lines += 1
        elif self.format == "jsonl":
            rec = {c: ("" if v is None else v) for c, v in zip(self.cols, values)}
            self.fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.lines += 1
        else:
            for col, v in zip(self.buffer, values):
                col.append(v)
            self.lines += 1
            if len(self.buffer[0]) >= 50_000:
                self._flush_parquet()
        return self.lines

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = []
        fields = []
        for name, f, values in zip(self.cols, self.fields, self.buffer):
            if f == "amount" and self.pence:
                typ = pa.int64()
                values = [v if isinstance(v, int) or v is None else None for v in values]
            else:
                typ = pa.string()
                values = [None if v is None else str(v) for v in values]
            arrays.append(pa.array(values, type=typ))
            fields.append(pa.field(name, typ))
        table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
        if self.pq_writer is None:
            self.pq_writer = pq.ParquetWriter(str(self.path), table.schema)
        self.pq_writer.write_table(table)
        self.buffer = [[] for _ in self.cols]

    def close(self) -> None:
        if self.format in ("csv", "jsonl"):
            self.fh.close()
        else:
            if self.buffer[0] or self.pq_writer is None:
                self._flush_parquet()
            self.pq_writer.close()


UNPARSEABLE_DATES = ("TBC", "#VALUE!", "??/??/????", "see notes", "1O/O3/2O21")
BAD_AMOUNTS = ("abc", "#REF!", "12.3.4")


class Output:
    """All extract files of one synthetic council, plus truth and bad-row bookkeeping."""

    def __init__(self, out: Path, sources: list[Source], seed: int, rate: float, fresh):
        self.out = out
        self.writers: dict[str, SourceWriter] = {}
        for s in sources:
            self.writers[s.name] = SourceWriter(s, out / f"{s.system}_{s.feed}.{s.format}")
        self.rate = rate
        self.fresh = fresh  # fresh(system, "party" | "txn" | "debt", rng) -> a reference no good row uses
        self.truth: dict[tuple[str, str], str] = {}
        self.bad: list[tuple[str, int, str, str]] = []
        self.bad_rng = {name: random.Random(f"{seed}:bad:{name}") for name in self.writers}
        self.recent: dict[str, list[tuple[str, list]]] = {name: [] for name in self.writers}

    def has(self, system: str) -> bool:
        return f"{system}.accounts" in self.writers

    # -------------------------------------------------------------------------------- good rows
    def account(self, system: str, row: dict, rid: str) -> None:
        name = f"{system}.accounts"
        w = self.writers.get(name)
        if w is None:
            return
        self.truth.setdefault((system, row["party_ref"]), rid)
        w.write(w.encode(row))
        if self.rate and self.bad_rng[name].random() < self.rate:
            self._bad_account(name, w, system, row, rid)

    def debt(self, system: str, row: dict) -> None:
        w = self.writers.get(f"{system}.debts")
        if w is not None:
            w.write(w.encode(row))

    def transactions(self, system: str, rows: list[dict]) -> None:
        name = f"{system}.transactions"
        w = self.writers.get(name)
        if w is None:
            return
        rate = self.rate
        for row in rows:
            enc = w.encode(row)
            w.write(enc)
            if rate and row["kind"] != "reversal":
                rng = self.bad_rng[name]
                if rng.random() < rate:
                    self._bad_txn(name, w, system, row, enc, rng)
                recent = self.recent[name]
                if len(recent) < 64:
                    recent.append((row["transaction_ref"], enc))
                else:
                    recent[rng.randrange(64)] = (row["transaction_ref"], enc)

    # -------------------------------------------------------------------------------- bad rows
    def _impossible(self, w: SourceWriter, rng: random.Random, year: int) -> str:
        day, month = rng.choice(((31, 2), (30, 2), (31, 4), (31, 6), (31, 9), (31, 11)))
        fmt = w.fmt
        out = fmt.replace("%d", f"{day:02d}").replace("%m", f"{month:02d}").replace("%Y", f"{year:04d}")
        out = out.replace("%y", f"{year % 100:02d}")
        if "%" in out:
            out = f"{day:02d}/{month:02d}/{year:04d}"
        return out

    def _bad_account(self, name: str, w: SourceWriter, system: str, row: dict, rid: str) -> None:
        rng = self.bad_rng[name]
        options = [("surname", "missing_required"), ("account_ref", "missing_required")]
        if "nino" in w.pos:
            options.append(("nino", "bad_nino"))
        if "postcode" in w.pos and row.get("postcode"):
            options.append(("postcode", "bad_postcode"))
        for f in ("date_of_birth", "liable_from"):
            if f in w.pos:
                options.append((f, "unparseable_date"))
                options.append((f, "impossible_date"))
        field, problem = rng.choice(options)
        new = dict(row)
        new["party_ref"] = self.fresh(system, "party", rng)
        if new.get("role") == "lead":
            try:
                w.src.encode("role", "joint")
                new["role"] = "joint"
            except KeyError:
                pass
        enc = w.encode(new)
        i = w.pos[field]
        if problem == "missing_required":
            enc[i] = None
        elif problem == "bad_nino":
            base = row.get("nino") or make_nino(rng)
            enc[i] = rng.choice((
                rng.choice("DFIQUV") + base[1:],
                base[0] + "O" + base[2:],
                base[:8] + rng.choice("EFXZ"),
                base[:7] + base[8:],
                base[:2] + base[2:4] + "A" + base[5:],
            ))
        elif problem == "bad_postcode":
            pc = row["postcode"]
            outward, inward = pc.split(" ")
            enc[i] = rng.choice((
                pc[:-1],
                pc + rng.choice("ABDXZ"),
                f"{outward} {inward[1]}{inward[0]}{inward[2]}",
                f"{outward[::-1]} {inward}",
            ))
        elif problem == "unparseable_date":
            enc[i] = rng.choice(UNPARSEABLE_DATES)
        else:
            d = row.get(field)
            enc[i] = self._impossible(w, rng, d.year if isinstance(d, date) else 1980)
        line = w.write(enc)
        self.truth.setdefault((system, new["party_ref"]), rid)
        self.bad.append((name, line, field, problem))

    def _bad_txn(self, name: str, w: SourceWriter, system: str, row: dict, enc: list, rng: random.Random) -> None:
        options = [("effective_date", "unparseable_date"), ("effective_date", "impossible_date"),
                   ("debt_ref", "unknown_debt_ref")]
        if not (w.format == "parquet" and w.pence):
            options.append(("amount", "malformed_amount"))
        if row["kind"] == "payment":
            options.append(("amount", "payment_positive"))
        if self.recent[name]:
            options.append(("transaction_ref", "duplicate_transaction_ref"))
        field, problem = rng.choice(options)
        new = dict(row)
        if problem == "duplicate_transaction_ref":
            old_ref, old_enc = rng.choice(self.recent[name])
            new["transaction_ref"] = old_ref
            out = w.encode(new)
            if out == old_enc:
                amt = new["amount"]
                new["amount"] = amt + (100 if amt > 0 else -100)
                out = w.encode(new)
        else:
            new["transaction_ref"] = self.fresh(system, "txn", rng)
            if problem == "payment_positive":
                new["amount"] = -row["amount"]
            elif problem == "unknown_debt_ref":
                new["debt_ref"] = self.fresh(system, "debt", rng)
            out = w.encode(new)
            i = w.pos[field]
            if problem == "unparseable_date":
                out[i] = rng.choice(UNPARSEABLE_DATES)
            elif problem == "impossible_date":
                out[i] = self._impossible(w, rng, row["effective_date"].year)
            elif problem == "malformed_amount":
                text = pounds_text(row["amount"]) if not w.pence else str(row["amount"])
                digits = [k for k, ch in enumerate(text) if ch.isdigit()]
                extra_dot = text[: digits[len(digits) // 2]] + "." + text[digits[len(digits) // 2]:]
                if "." not in text:
                    extra_dot = text + ".5.0"
                out[i] = rng.choice(BAD_AMOUNTS + (extra_dot, extra_dot))
        line = w.write(out)
        self.bad.append((name, line, field, problem))

    # -------------------------------------------------------------------------------- finish
    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        with (self.out / "truth.csv").open("w", encoding="utf-8", newline="") as fh:
            cw = csv.writer(fh, lineterminator="\n")
            cw.writerow(["resident_id", "system", "party_ref"])
            for (system, party_ref), rid in self.truth.items():
                cw.writerow([rid, system, party_ref])
        with (self.out / "bad_rows.csv").open("w", encoding="utf-8", newline="") as fh:
            cw = csv.writer(fh, lineterminator="\n")
            cw.writerow(["source", "line", "field", "problem"])
            for row in self.bad:
                cw.writerow(row)
