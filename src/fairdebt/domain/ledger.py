"""The ledger: entries, positions (balance, arrears, ongoing, credit) and payment allocation.

Pure Python: no Django, no I/O. Amounts are whole pence (`Pence`). See docs/ledger.md for a
walk-through with worked examples.

Sign convention (vocabulary.py): a positive amount increases what is owed. Charges, costs and
interest are positive; payments and write-offs negative; an adjustment either sign but never 0;
a reversal is the exact negative of the one entry it reverses. Entries are never edited or
deleted: a mistake is undone by a reversal, so the ledger keeps its history.

Position on a date `on`, from the entries whose effective_date <= on:

- balance  = the sum of their amounts.
- The *debit side* is what was charged: charge, cost, interest, adjustment > 0, and a reversal
  with amount < 0 (a reversed debit counts as a negative debit due on the original's due date).
  The *credit side* is what was paid or given up: payment, write_off, adjustment < 0, and a
  reversal with amount > 0 (a reversed credit, such as a bounced payment, is a negative credit).
- A debit is due on its due_date, or on its effective_date when it has none. It is *overdue*
  on `on` when that day is strictly before `on` (an instalment due today is not yet in arrears).
- overdue  = the sum of the debit-side amounts that are overdue.
- credits  = minus the sum of the credit-side amounts (so a payment of -5000 gives credits 5000).
- arrears  = max(0, overdue - credits), and never more than the balance.
- ongoing  = max(0, balance - arrears): owed, but not yet due.
- credit   = max(0, -balance): money held in credit for the resident.

So credits clear the oldest part of the debt, the overdue part, first; only what is left over
reduces what is not yet due. Always: balance == arrears + ongoing - credit, and all three >= 0.

(The cap "never more than the balance" only matters in odd data, such as a debit reversed with
an effective date before the debit itself; it keeps the identity above true.)

Allocation of a payment across several debts follows DOMAIN.md section 7: the payer's choice
first, then an amount that exactly matches one debt, then a configurable default rule (oldest
first by custom, after Clayton's case).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from fairdebt.domain.money import Pence, format_pounds
from fairdebt.domain.vocabulary import CREDIT_KINDS, DEBIT_KINDS, ENTRY_KINDS

__all__ = [
    "ALLOCATION_RULES",
    "Allocation",
    "Entry",
    "Ledger",
    "LedgerError",
    "Outstanding",
    "Position",
    "allocate",
    "position",
    "reverse",
    "validate_entry",
]

EntryId = str | int
DebtId = str | int


class LedgerError(ValueError):
    """An entry breaks a ledger rule. The message says which, in plain English."""


# How each kind reads in an error message.
_NOUN = {
    "charge": "a charge",
    "cost": "a cost",
    "interest": "interest",
    "payment": "a payment",
    "write_off": "a write-off",
    "adjustment": "an adjustment",
    "reversal": "a reversal",
}


def _unknown_kind(kind: object) -> str:
    return f"unknown entry kind {kind!r}; expected one of {', '.join(ENTRY_KINDS)}"


def _check_date(name: str, value: object, *, optional: bool = False) -> None:
    # datetime is a date subclass but cannot be compared with a date, which would fail later
    # and far from the cause; refuse it here.
    if value is None and optional:
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name} must be a date, not {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class Entry:
    """One line in a ledger. Immutable: to undo it, post a reversal (see `reverse`)."""

    id: EntryId
    kind: str
    amount: Pence  # signed: positive increases what is owed
    effective_date: date  # the date it counts from
    posting_date: date  # the date it was recorded
    due_date: date | None = None  # when a debit falls due; None means on effective_date
    reverses: EntryId | None = None  # for a reversal: the id of the entry it undoes
    debt: DebtId | None = None

    def __post_init__(self) -> None:
        # Pence() refuses floats and Decimals, so a pounds value can never slip in.
        object.__setattr__(self, "amount", Pence(self.amount))
        if self.id is None:
            raise TypeError("an entry needs an id")
        _check_date("effective_date", self.effective_date)
        _check_date("posting_date", self.posting_date)
        _check_date("due_date", self.due_date, optional=True)

    @property
    def due(self) -> date:
        """The date this entry falls due: due_date, or effective_date when there is none."""
        return self.due_date if self.due_date is not None else self.effective_date

    @property
    def is_debit(self) -> bool:
        """True for the debit side (what was charged); False for the credit side."""
        if self.kind in DEBIT_KINDS:
            return True
        if self.kind in CREDIT_KINDS:
            return False
        if self.kind == "adjustment":
            return self.amount > 0
        if self.kind == "reversal":
            # A reversal of a debit is negative, and counts as a negative debit so that it
            # cancels the original in the same due-date bucket.
            return self.amount < 0
        raise LedgerError(_unknown_kind(self.kind))


def validate_entry(entry: Entry, original: Entry | None = None) -> None:
    """Raise LedgerError, with a plain-English reason, if `entry` breaks a ledger rule.

    `original` is the entry that `entry` reverses; it is needed only for a reversal.
    """
    kind, amount = entry.kind, entry.amount
    if kind not in ENTRY_KINDS:
        raise LedgerError(_unknown_kind(kind))
    if kind in DEBIT_KINDS and amount <= 0:
        raise LedgerError(
            f"{_NOUN[kind]} must be a positive amount, because it increases what is owed; "
            f"got {format_pounds(amount)}"
        )
    if kind in CREDIT_KINDS and amount >= 0:
        raise LedgerError(
            f"{_NOUN[kind]} must be a negative amount, because it reduces what is owed; "
            f"got {format_pounds(amount)}"
        )
    if kind == "adjustment" and amount == 0:
        raise LedgerError("an adjustment of £0.00 changes nothing; do not post it")
    if kind != "reversal":
        if entry.reverses is not None:
            raise LedgerError(
                f"{_NOUN[kind]} cannot reverse another entry; only a reversal can (it says it "
                f"reverses {entry.reverses!r})"
            )
        return
    # --- reversals ---
    if entry.reverses is None:
        raise LedgerError("a reversal must say which entry it reverses")
    if original is None:
        raise LedgerError(f"a reversal needs the entry it reverses ({entry.reverses!r})")
    if original.id != entry.reverses:
        raise LedgerError(
            f"this reversal reverses entry {entry.reverses!r}, but entry {original.id!r} "
            "was given as the original"
        )
    if original.kind == "reversal":
        raise LedgerError(
            f"entry {original.id!r} is itself a reversal, and a reversal cannot be reversed; "
            "post the correct entry again instead"
        )
    if amount != -original.amount:
        raise LedgerError(
            f"a reversal must be the exact negative of the entry it reverses: entry "
            f"{original.id!r} is {format_pounds(original.amount)}, so the reversal must be "
            f"{format_pounds(-original.amount)}, not {format_pounds(amount)}"
        )
    if entry.debt != original.debt:
        raise LedgerError(
            f"a reversal must be on the same debt as the entry it reverses "
            f"({original.debt!r}, not {entry.debt!r})"
        )
    if entry.due != original.due:
        # Otherwise the reversed debit would leave its overdue/not-yet-due bucket and move
        # arrears between dates. reverse() copies the due date for you.
        raise LedgerError(
            f"a reversal must fall due on the same date as the entry it reverses "
            f"({original.due}, not {entry.due})"
        )


def reverse(
    original: Entry, id: EntryId, on: date, *, posting_date: date | None = None
) -> Entry:
    """Build the reversal of `original`, taking effect on `on` (recorded on `on` unless given).

    It carries the original's due date and debt, so it cancels the original exactly.
    """
    entry = Entry(
        id=id,
        kind="reversal",
        amount=-original.amount,
        effective_date=on,
        posting_date=posting_date if posting_date is not None else on,
        due_date=original.due,
        reverses=original.id,
        debt=original.debt,
    )
    validate_entry(entry, original)
    return entry


@dataclass(frozen=True)
class Position:
    """Where an account stands on a date. balance == arrears + ongoing - credit."""

    balance: Pence  # total owed (negative when in credit)
    arrears: Pence  # owed and overdue
    ongoing: Pence  # owed but not yet due
    credit: Pence  # held in credit for the resident


def position(entries: Iterable[Entry], on: date) -> Position:
    """The position on `on` from the entries effective on or before it (see module docstring)."""
    _check_date("on", on)
    everything = list(entries)
    # A reversal falls due with its original; look the original up among all entries, not just
    # those already effective, so an oddly-dated reversal still lands in the right bucket.
    due_of = {e.id: e.due for e in everything}
    balance = overdue = credits = 0
    for e in everything:
        if e.effective_date > on:
            continue
        balance += e.amount
        if e.is_debit:
            due = due_of.get(e.reverses, e.due) if e.kind == "reversal" else e.due
            if due < on:
                overdue += e.amount
        else:
            credits -= e.amount
    arrears = max(0, min(overdue - credits, balance))
    return Position(
        balance=Pence(balance),
        arrears=Pence(arrears),
        ongoing=Pence(max(0, balance - arrears)),
        credit=Pence(max(0, -balance)),
    )


class Ledger:
    """An immutable, validated sequence of entries.

    `append` returns a new Ledger; the old one is unchanged. Building a Ledger from entries
    validates them in order, as if appended one by one.
    """

    __slots__ = ("_by_id", "_entries", "_reversed")

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: tuple[Entry, ...] = ()
        self._by_id: dict[EntryId, Entry] = {}
        self._reversed: set[EntryId] = set()
        for entry in entries:
            self._add(entry)

    def _add(self, entry: Entry) -> None:
        if not isinstance(entry, Entry):
            raise TypeError(f"a ledger holds Entry objects, not {type(entry).__name__}")
        if entry.id in self._by_id:
            raise LedgerError(f"there is already an entry with id {entry.id!r}")
        original = None
        if entry.kind == "reversal" and entry.reverses is not None:
            original = self._by_id.get(entry.reverses)
            if original is None:
                raise LedgerError(
                    f"the reversal {entry.id!r} reverses entry {entry.reverses!r}, "
                    "which is not in this ledger"
                )
            if entry.reverses in self._reversed:
                raise LedgerError(f"entry {entry.reverses!r} has already been reversed")
        validate_entry(entry, original)
        self._entries += (entry,)
        self._by_id[entry.id] = entry
        if original is not None:
            self._reversed.add(original.id)

    def append(self, entry: Entry) -> Ledger:
        """A new Ledger with `entry` added, after checking it; raises LedgerError if it is wrong."""
        new = Ledger.__new__(Ledger)
        new._entries = self._entries
        new._by_id = dict(self._by_id)
        new._reversed = set(self._reversed)
        new._add(entry)
        return new

    def reverse(self, entry_id: EntryId, id: EntryId, on: date) -> Ledger:
        """A new Ledger with entry `entry_id` reversed by a new entry `id` taking effect `on`."""
        try:
            original = self._by_id[entry_id]
        except KeyError:
            raise LedgerError(f"there is no entry {entry_id!r} in this ledger to reverse") from None
        return self.append(reverse(original, id, on))

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._entries

    def get(self, entry_id: EntryId) -> Entry | None:
        return self._by_id.get(entry_id)

    def is_reversed(self, entry_id: EntryId) -> bool:
        return entry_id in self._reversed

    def position(self, on: date) -> Position:
        return position(self._entries, on)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ledger) and self._entries == other._entries

    def __hash__(self) -> int:
        return hash(self._entries)

    def __repr__(self) -> str:
        return f"Ledger({list(self._entries)!r})"


# --- payment allocation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outstanding:
    """One debt a payment could go to: what is still owed on it and how old it is."""

    debt: DebtId
    outstanding: Pence  # >= 0
    oldest_due: date  # due date of the oldest unpaid part
    created: date

    def __post_init__(self) -> None:
        object.__setattr__(self, "outstanding", Pence(self.outstanding))
        if self.outstanding < 0:
            raise ValueError(
                f"debt {self.debt!r}: outstanding cannot be negative "
                f"({format_pounds(self.outstanding)}); money in credit is not a debt"
            )
        _check_date("oldest_due", self.oldest_due)
        _check_date("created", self.created)


@dataclass(frozen=True)
class Allocation:
    """Where a payment goes: (debt, amount) parts, what is left over, and why."""

    parts: tuple[tuple[DebtId, Pence], ...]
    unallocated: Pence  # left over once every debt is cleared: held as credit
    reason: str  # which step applied, in plain words

    @property
    def allocated(self) -> Pence:
        return sum((amount for _, amount in self.parts), Pence(0))

    def to(self, debt: DebtId) -> Pence:
        """How much of the payment goes to `debt` (0 if none)."""
        return sum((amount for d, amount in self.parts if d == debt), Pence(0))


def _id_key(debt: DebtId) -> tuple[int, int, str]:
    # Ids may be ints or strings; order ints numerically, and never compare an int with a str.
    if isinstance(debt, int) and not isinstance(debt, bool):
        return (0, debt, "")
    return (1, 0, str(debt))


def _oldest_key(d: Outstanding) -> tuple[object, ...]:
    return (d.oldest_due, d.created, _id_key(d.debt))


def _newest_key(d: Outstanding) -> tuple[object, ...]:
    return (-d.oldest_due.toordinal(), -d.created.toordinal(), _id_key(d.debt))


# Every rule ends with the debt id so that the order never depends on the order of the input.
_RULES = {
    "oldest_first": ("oldest first", _oldest_key),
    "newest_first": ("newest first", _newest_key),
    "largest_first": ("largest first", lambda d: (-d.outstanding, *_oldest_key(d))),
    "smallest_first": ("smallest first", lambda d: (d.outstanding, *_oldest_key(d))),
}
ALLOCATION_RULES = tuple(_RULES)


def allocate(
    amount: int,
    debts: Sequence[Outstanding],
    *,
    payer_choice: Sequence[DebtId] | None = None,
    rule: str = "oldest_first",
) -> Allocation:
    """Allocate a payment of `amount` pence across `debts` (DOMAIN.md section 7).

    1. The payer's choice: the named debts, in the order given, each up to what is outstanding.
       Anything left over then goes by the default rule across the other debts.
    2. Otherwise, if the amount exactly matches what is outstanding on one debt, that debt (if
       several match, the one with the oldest unpaid due date).
    3. Otherwise the default `rule`: oldest_first (by oldest_due, then created, then id),
       newest_first, largest_first or smallest_first.

    What is left once every debt is cleared is `unallocated`, to be held as credit. Only pass
    the debts the money may go to: allocation never decides which services may share a payment.
    """
    amount = Pence(amount)
    if amount <= 0:
        raise ValueError(f"can only allocate a positive payment, not {format_pounds(amount)}")
    if rule not in _RULES:
        raise ValueError(f"unknown allocation rule {rule!r}; the rules are {', '.join(_RULES)}")
    by_debt: dict[DebtId, Outstanding] = {}
    for d in debts:
        if not isinstance(d, Outstanding):
            raise TypeError(f"debts must be Outstanding, not {type(d).__name__}")
        if d.debt in by_debt:
            raise ValueError(f"debt {d.debt!r} is listed twice")
        by_debt[d.debt] = d
    rule_words, rule_key = _RULES[rule]

    chosen: list[DebtId] = []
    for debt in payer_choice or ():
        if debt not in by_debt:
            raise ValueError(f"the payer chose debt {debt!r}, which is not one of the debts given")
        if debt not in chosen:  # naming a debt twice means the same as once
            chosen.append(debt)

    parts: list[tuple[DebtId, Pence]] = []
    left = amount

    def pay(queue: Iterable[Outstanding]) -> None:
        nonlocal left
        for d in queue:
            if left == 0:
                return
            share = min(left, d.outstanding)
            if share > 0:  # never a zero part
                parts.append((d.debt, share))
                left -= share

    if chosen:
        pay(by_debt[c] for c in chosen)
        reason = "payer's choice"
        if left > 0:
            rest = sorted((d for d in by_debt.values() if d.debt not in chosen), key=rule_key)
            if any(d.outstanding > 0 for d in rest):
                reason += f", then default rule: {rule_words} for the rest"
            pay(rest)
    else:
        matches = sorted((d for d in by_debt.values() if d.outstanding == amount), key=_oldest_key)
        if matches:
            pay(matches[:1])
            reason = "exact amount match"
        else:
            pay(sorted(by_debt.values(), key=rule_key))
            reason = f"default rule: {rule_words}"
    return Allocation(parts=tuple(parts), unallocated=left, reason=reason)

