"""A small append-only ledger for one synthetic debt, and date helpers.

Amounts are integer pence, signed with the ledger convention: positive increases what is owed
(charge, cost, interest, positive adjustment); payments and write-offs are negative; a reversal is
the exact negative of the entry it reverses and keeps that entry's due date.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def next_weekday(d: date) -> date:
    wd = d.weekday()
    if wd == 5:
        return d + timedelta(days=2)
    if wd == 6:
        return d + ONE_DAY
    return d


def add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    y = d.year + m // 12
    m = m % 12 + 1
    day = min(d.day, 28) if d.day > 28 else d.day
    return date(y, m, day)


def month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def fy_start(d: date) -> date:
    """1 April of the financial year holding d."""
    return date(d.year if d.month >= 4 else d.year - 1, 4, 1)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def pounds(rng: random.Random, lo: int, hi: int, step: int = 1) -> int:
    """Whole pounds between lo and hi, as pence."""
    return rng.randrange(lo, hi + 1, step) * 100


class Ledger:
    """Entries of one debt; rows() orders them by date and gives each a reference."""

    __slots__ = ("e", "as_of")

    def __init__(self, as_of: date):
        self.e: list[list] = []  # [kind, amount, effective, posting, due, method, reverses_index]
        self.as_of = as_of

    def add(self, kind: str, amount: int, eff: date, due: date | None = None, method: str = "",
            post: date | None = None) -> int:
        if amount == 0:
            return -1
        if kind in ("charge", "cost", "interest"):
            assert amount > 0, (kind, amount)
        elif kind in ("payment", "write_off"):
            assert amount < 0, (kind, amount)
        post = post or eff
        if post > self.as_of:
            post = self.as_of
        self.e.append([kind, amount, eff, post, due or eff, method, -1])
        return len(self.e) - 1

    def reverse(self, i: int, eff: date, post: date | None = None) -> int:
        kind, amount, _, _, due, _, _ = self.e[i]
        post = post or eff
        if post > self.as_of:
            post = self.as_of
        self.e.append(["reversal", -amount, eff, post, due, "", i])
        return len(self.e) - 1

    def balance(self) -> int:
        return sum(x[1] for x in self.e)

    def rows(self, debt_ref: str, next_ref, method_map: dict[str, str]) -> list[dict]:
        e = self.e
        order = sorted(range(len(e)), key=lambda i: (e[i][2], i))
        refs: dict[int, str] = {}
        out = []
        for i in order:
            kind, amount, eff, post, due, method, rev = e[i]
            ref = next_ref()
            refs[i] = ref
            out.append({
                "transaction_ref": ref,
                "debt_ref": debt_ref,
                "kind": kind,
                "amount": amount,
                "effective_date": eff,
                "posting_date": post,
                "due_date": due,
                "reverses_ref": refs[rev] if rev >= 0 else "",
                "method": method_map[method] if method else "",
            })
        return out


def posting(rng: random.Random, d: date, method: str) -> date:
    """When a payment reaches the ledger: cash and cheques a day or two later, most others the same day."""
    if method in ("cash", "cheque"):
        return next_weekday(d + days(rng.randint(1, 3)))
    if method in ("card", "bank_transfer") and rng.random() < 0.25:
        return next_weekday(d + ONE_DAY)
    return d
