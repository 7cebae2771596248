"""Ledger entries, validation, reversals and positions (balance, arrears, ongoing, credit)."""

from dataclasses import FrozenInstanceError, replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdebt.domain.ledger import (
    Entry,
    Ledger,
    LedgerError,
    Position,
    position,
    reverse,
    validate_entry,
)
from fairdebt.domain.money import Pence
from fairdebt.domain.vocabulary import CREDIT_KINDS, DEBIT_KINDS, ENTRY_KINDS

# No example database: these tests must not write files into the working tree.
SETTINGS = settings(max_examples=200, deadline=None, database=None)
BASE = date(2024, 4, 1)
PLAIN_KINDS = tuple(k for k in ENTRY_KINDS if k != "reversal")


def day(n: int) -> date:
    return BASE + timedelta(days=n)


def entry(id, kind, pounds_pence, on, *, due=None, posted=None, debt="ct-2025", reverses=None):
    return Entry(
        id=id,
        kind=kind,
        amount=pounds_pence,
        effective_date=on,
        posting_date=posted or on,
        due_date=due,
        reverses=reverses,
        debt=debt,
    )


# --- strategies ------------------------------------------------------------------------------


# Generating ledgers is the slow part of these tests, so each step is one flat tuple of few
# draws, and the strategies are built once, at import.
ACTIONS = (
    ("charge", 1),
    ("cost", 1),
    ("interest", 1),
    ("payment", -1),
    ("write_off", -1),
    ("adjustment", 1),
    ("adjustment", -1),
    ("reverse", 0),  # reverse an earlier entry, if there is one left to reverse
    ("reverse", 0),
)
STEPS = st.tuples(
    st.sampled_from(ACTIONS),
    st.integers(min_value=1, max_value=200_000),  # size in pence; for "reverse": which entry
    st.integers(min_value=0, max_value=365),  # effective day
    st.integers(min_value=-31, max_value=120),  # due, days after effective; -31 means none
    st.integers(min_value=0, max_value=10),  # recorded, days after effective
    st.sampled_from(["ct-2024", "ct-2025", "rent"]),
)


def build_entry(id, step) -> Entry:
    """Any entry but a reversal, with the right sign for its kind."""
    (kind, sign), size, on, due, recorded, debt = step
    return Entry(
        id=id,
        kind=kind,
        amount=sign * size,
        effective_date=day(on),
        posting_date=day(on + recorded),
        due_date=None if due == -31 else day(on + due),
        debt=debt,
    )


new_entries = STEPS.filter(lambda step: step[0][0] != "reverse").map(
    lambda step: build_entry("x", step)
)


def build_ledger(steps, *, wild: bool) -> Ledger:
    """A valid ledger built by appending. With wild=True a reversal may take effect on any
    date, even before the entry it reverses (no rule forbids it); otherwise on or after it."""
    ledger = Ledger()
    for i, step in enumerate(steps):
        (action, _), pick, on, _, recorded, _ = step
        if action != "reverse":
            ledger = ledger.append(build_entry(f"e{i}", step))
            continue
        open_entries = [e for e in ledger if e.kind != "reversal" and not ledger.is_reversed(e.id)]
        if open_entries:
            original = open_entries[pick % len(open_entries)]
            when = day(on) if wild else original.effective_date + timedelta(recorded * 6)
            ledger = ledger.append(reverse(original, f"e{i}", when))
    return ledger


def ledgers(*, wild: bool = True):
    return st.lists(STEPS, max_size=16).map(lambda steps: build_ledger(steps, wild=wild))


def interesting_dates(entries) -> list[date]:
    """Dates either side of every change: the day before and the day an entry takes effect,
    and the day it falls due (not yet overdue) and the day after (overdue)."""
    dates = {day(-1)}
    for e in entries:
        before = e.effective_date - timedelta(1)
        dates.update((before, e.effective_date, e.due, e.due + timedelta(1)))
    return sorted(dates)


def fifo_position(entries, on: date) -> Position:
    """An independent model for ledgers whose reversals take effect on or after their original:
    drop every entry reversed by then, then let all credits clear debits oldest due date first."""
    effective = [e for e in entries if e.effective_date <= on]
    reversed_ids = {e.reverses for e in effective if e.kind == "reversal"}
    live = [e for e in effective if e.kind != "reversal" and e.id not in reversed_ids]
    debits = sorted((e for e in live if e.amount > 0), key=lambda e: e.due)
    pool = -sum(e.amount for e in live if e.amount < 0)
    arrears = ongoing = 0
    for debit in debits:
        paid = min(pool, debit.amount)
        pool -= paid
        if debit.due < on:
            arrears += debit.amount - paid
        else:
            ongoing += debit.amount - paid
    return Position(balance=arrears + ongoing - pool, arrears=arrears, ongoing=ongoing, credit=pool)


# --- worked examples -------------------------------------------------------------------------


def council_tax() -> Ledger:
    """Billed 10 March 2025: two instalments of £100 due 1 April and 1 May; £50 paid 10 May."""
    billed = date(2025, 3, 10)
    return Ledger(
        [
            entry(1, "charge", 10000, billed, due=date(2025, 4, 1)),
            entry(2, "charge", 10000, billed, due=date(2025, 5, 1)),
            entry(3, "payment", -5000, date(2025, 5, 10)),
        ]
    )


@pytest.mark.parametrize(
    ("on", "balance", "arrears", "ongoing"),
    [
        (date(2025, 3, 9), 0, 0, 0),  # before the bill
        (date(2025, 3, 20), 20000, 0, 20000),  # billed, nothing due yet
        (date(2025, 4, 1), 20000, 0, 20000),  # due today is not yet overdue
        (date(2025, 4, 2), 20000, 10000, 10000),  # April instalment missed
        (date(2025, 5, 1), 20000, 10000, 10000),
        (date(2025, 5, 2), 20000, 20000, 0),  # both missed
        (date(2025, 5, 10), 15000, 15000, 0),  # £50 paid clears £50 of arrears
        (date(2025, 5, 15), 15000, 15000, 0),
    ],
)
def test_council_tax_instalments_worked_example(on, balance, arrears, ongoing):
    assert council_tax().position(on) == Position(balance, arrears, ongoing, 0)


def test_a_payment_before_anything_is_due_clears_the_oldest_instalment_first():
    # £150 paid on 15 March: it pays April's £100 and £50 of May's.
    ledger = council_tax().entries[:2] + (entry(3, "payment", -15000, date(2025, 3, 15)),)
    assert position(ledger, date(2025, 4, 2)) == Position(5000, 0, 5000, 0)
    assert position(ledger, date(2025, 5, 2)) == Position(5000, 5000, 0, 0)


def test_a_bounced_payment_puts_the_arrears_back():
    ledger = Ledger(
        [
            entry("c", "charge", 10000, date(2025, 3, 10), due=date(2025, 4, 1)),
            entry("p", "payment", -10000, date(2025, 4, 5)),
        ]
    ).reverse("p", "bounce", date(2025, 4, 12))
    assert ledger.position(date(2025, 4, 4)).arrears == 10000
    assert ledger.position(date(2025, 4, 11)) == Position(0, 0, 0, 0)
    assert ledger.position(date(2025, 4, 12)) == Position(10000, 10000, 0, 0)
    bounce = ledger.get("bounce")
    assert bounce.amount == 10000 and bounce.due == date(2025, 4, 5) and bounce.debt == "ct-2025"


def test_an_overpayment_is_held_in_credit():
    ledger = Ledger(
        [
            entry(1, "charge", 3000, date(2025, 4, 1)),
            entry(2, "payment", -5000, date(2025, 4, 3)),
        ]
    )
    assert ledger.position(date(2025, 4, 10)) == Position(-2000, 0, 0, 2000)


def test_costs_interest_adjustments_and_write_offs():
    ledger = Ledger(
        [
            entry(1, "charge", 12000, date(2025, 4, 1)),  # due on its effective date
            entry(2, "cost", 7000, date(2025, 6, 1), due=date(2025, 6, 15)),  # summons costs
            entry(3, "adjustment", -2000, date(2025, 6, 2)),  # discount applied
            entry(4, "write_off", -1000, date(2025, 6, 3)),
        ]
    )
    # On 10 June: £120 overdue, £30 of credits, £70 costs not due until 15 June.
    assert ledger.position(date(2025, 6, 10)) == Position(16000, 9000, 7000, 0)
    assert ledger.position(date(2025, 6, 16)) == Position(16000, 16000, 0, 0)


def test_reversing_a_charge_removes_it_from_its_own_due_date_bucket():
    ledger = council_tax().reverse(1, "r1", date(2025, 5, 20))
    rev = ledger.get("r1")
    assert rev.kind == "reversal" and rev.amount == -10000 and rev.due == date(2025, 4, 1)
    assert ledger.position(date(2025, 5, 19)) == Position(15000, 15000, 0, 0)
    assert ledger.position(date(2025, 5, 20)) == Position(5000, 5000, 0, 0)


def test_position_takes_a_reversals_due_date_from_its_original():
    # Ledger.append refuses a reversal with the wrong due date, but position() may be given raw
    # entries (say, from the database); it looks the original up so the bucket is still right.
    charge = entry(1, "charge", 10000, date(2025, 3, 1), due=date(2025, 4, 1))
    later = entry(2, "charge", 5000, date(2025, 3, 1), due=date(2025, 6, 1))
    wrong = entry(3, "reversal", -10000, date(2025, 3, 5), due=date(2025, 7, 1), reverses=1)
    assert position([charge, later, wrong], date(2025, 4, 2)) == Position(5000, 0, 5000, 0)
    # Without its original, a reversal falls due on its own due date.
    assert position([wrong], date(2025, 4, 2)) == Position(-10000, 0, 0, 10000)


# --- validation ------------------------------------------------------------------------------


@SETTINGS
@given(st.sampled_from(PLAIN_KINDS), st.integers(min_value=-(10**9), max_value=10**9))
def test_validate_entry_checks_the_sign_of_every_kind(kind, amount):
    e = entry(1, kind, amount, BASE)
    right = (
        amount > 0 if kind in DEBIT_KINDS else amount < 0 if kind in CREDIT_KINDS else amount != 0
    )
    if right:
        validate_entry(e)
    else:
        with pytest.raises(LedgerError, match="positive|negative|£0.00"):
            validate_entry(e)


@pytest.mark.parametrize(
    ("kind", "amount", "words"),
    [
        ("charge", -100, "a charge must be a positive amount"),
        ("cost", 0, "a cost must be a positive amount"),
        ("interest", -1, "interest must be a positive amount"),
        ("payment", 100, "a payment must be a negative amount"),
        ("write_off", 5, "a write-off must be a negative amount"),
        ("adjustment", 0, "adjustment of £0.00"),
        ("refund", -100, "unknown entry kind"),
    ],
)
def test_validate_entry_explains_itself(kind, amount, words):
    with pytest.raises(LedgerError, match=words):
        validate_entry(entry(1, kind, amount, BASE))


def test_entries_may_be_recorded_before_or_after_they_take_effect():
    # Bills are raised before they take effect (a council-tax year billed in March), and
    # payments are recorded days after they were made: both are ordinary.
    validate_entry(entry(1, "charge", 100, day(5), posted=day(4)))
    validate_entry(entry(1, "charge", 100, day(4), posted=day(5)))


def test_reversal_rules():
    charge = entry(1, "charge", 10000, BASE, due=day(30))
    good = reverse(charge, 2, day(3))
    validate_entry(good, charge)
    assert (good.amount, good.reverses, good.due_date, good.debt) == (-10000, 1, day(30), "ct-2025")

    with pytest.raises(LedgerError, match="must say which entry"):
        validate_entry(replace(good, reverses=None), charge)
    with pytest.raises(LedgerError, match="needs the entry it reverses"):
        validate_entry(good, None)
    with pytest.raises(LedgerError, match="was given as the original"):
        validate_entry(good, replace(charge, id=99))
    with pytest.raises(LedgerError, match="exact negative"):
        validate_entry(replace(good, amount=-9999), charge)
    with pytest.raises(LedgerError, match="exact negative"):
        validate_entry(replace(good, amount=10000), charge)
    with pytest.raises(LedgerError, match="same debt"):
        validate_entry(replace(good, debt="rent"), charge)
    with pytest.raises(LedgerError, match="same date"):
        validate_entry(replace(good, due_date=None), charge)
    with pytest.raises(LedgerError, match="cannot be reversed"):
        reverse(good, 3, day(4))
    with pytest.raises(LedgerError, match="only a reversal can"):
        validate_entry(replace(charge, id=5, reverses=1))


def test_the_ledger_refuses_duplicates_double_reversals_and_strangers():
    ledger = Ledger([entry(1, "charge", 10000, BASE), entry(2, "payment", -500, day(1))])
    with pytest.raises(LedgerError, match="already an entry with id 1"):
        ledger.append(entry(1, "charge", 10000, BASE))
    once = ledger.reverse(2, 3, day(2))
    with pytest.raises(LedgerError, match="already been reversed"):
        once.reverse(2, 4, day(3))
    with pytest.raises(LedgerError, match="already been reversed"):
        once.append(reverse(ledger.get(2), 4, day(3)))
    with pytest.raises(LedgerError, match="not in this ledger"):
        ledger.append(reverse(entry(7, "charge", 5, BASE), 8, day(3)))
    with pytest.raises(LedgerError, match="no entry 7"):
        ledger.reverse(7, 8, day(3))
    undo_the_undo = replace(once.get(3), id=4, amount=-500, reverses=3)
    with pytest.raises(LedgerError, match="cannot be reversed"):
        once.append(undo_the_undo)
    with pytest.raises(LedgerError, match="positive"):
        ledger.append(entry(9, "charge", -1, BASE))
    with pytest.raises(LedgerError):
        Ledger([entry(1, "payment", 100, BASE)])


def test_the_ledger_is_a_value():
    empty = Ledger()
    one = empty.append(entry(1, "charge", 100, BASE))
    assert len(empty) == 0 and len(one) == 1
    assert one == Ledger([entry(1, "charge", 100, BASE)]) and hash(one) == hash(Ledger(one))
    assert list(one) == [entry(1, "charge", 100, BASE)]
    with pytest.raises(FrozenInstanceError):
        one.entries[0].amount = 5


def test_entries_hold_pence_and_dates_only():
    assert type(entry(1, "charge", 100, BASE).amount) is Pence
    with pytest.raises(TypeError):
        entry(1, "charge", 100.0, BASE)
    with pytest.raises(TypeError):
        entry(1, "charge", 100, datetime(2025, 4, 1, 9, 0))
    with pytest.raises(TypeError):
        entry(None, "charge", 100, BASE)
    with pytest.raises(TypeError):
        position([], datetime(2025, 4, 1, 9, 0))


# --- properties ------------------------------------------------------------------------------


@SETTINGS
@given(ledgers())
def test_positions_add_up_at_every_date(ledger):
    # One generated ledger, several properties: generating ledgers is the slow part.
    shuffled = ledger.entries[::-1]
    for on in interesting_dates(ledger):
        p = ledger.position(on)
        # The balance is the sum of the entries in effect on that date.
        assert p.balance == sum(e.amount for e in ledger if e.effective_date <= on)
        # balance == arrears + ongoing - credit, none of them negative.
        assert p.balance == p.arrears + p.ongoing - p.credit
        assert p.arrears >= 0 and p.ongoing >= 0 and p.credit >= 0
        assert not (p.credit > 0 and p.arrears + p.ongoing > 0)  # never owed and in credit
        assert all(type(v) is Pence for v in (p.balance, p.arrears, p.ongoing, p.credit))
        # The order entries are listed in does not matter.
        assert position(shuffled, on) == p


@SETTINGS
@given(ledgers(wild=False))
def test_credits_clear_the_oldest_due_debits_first(ledger):
    for on in interesting_dates(ledger):
        assert ledger.position(on) == fifo_position(ledger, on)


@SETTINGS
@given(ledgers(), st.integers(min_value=1, max_value=300_000), st.integers(0, 400))
def test_a_payment_reduces_arrears_before_anything_else(ledger, paid, when):
    paid_on = day(when)
    after = ledger.append(entry("pay", "payment", -paid, paid_on))
    for on in interesting_dates(after):
        before, now = ledger.position(on), after.position(on)
        if on < paid_on:
            assert now == before
        else:
            assert now.balance == before.balance - paid
            assert now.arrears == max(0, before.arrears - paid)
            if now.arrears > 0:
                assert now.ongoing == before.ongoing


DELAYS = st.sampled_from([0, 0, 1, 7]) | st.integers(min_value=0, max_value=90)


@SETTINGS
@given(ledgers(), new_entries, DELAYS)
def test_a_reversal_restores_the_earlier_position(ledger, x, delay):
    # ledger + X + reverse(X) is the ledger without X once the reversal takes effect.
    undone_on = x.effective_date + timedelta(delay)
    with_x = ledger.append(x)
    undone = with_x.append(reverse(x, "undo-x", undone_on))
    for on in interesting_dates(undone):
        if on < x.effective_date or on >= undone_on:
            assert undone.position(on) == ledger.position(on), on
        else:
            assert undone.position(on) == with_x.position(on), on
