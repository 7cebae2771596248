"""Cached positions (balance, arrears, ongoing) computed in SQL agree with domain/ledger.py, on the
real database (SQLite, and PostgreSQL in make test's second run)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairdebt.accounts import positions
from fairdebt.accounts.models import Account, Debt, LedgerEntry
from fairdebt.domain import ledger as domain_ledger
from fairdebt.domain.vocabulary import CREDIT_KINDS, DEBIT_KINDS

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 3, 1)
_keys = itertools.count()

# An entry: kind, whole pence (its size), days from ON it took effect, days from ON it fell due (or none).
plain_entries = st.tuples(
    st.sampled_from(sorted(DEBIT_KINDS | CREDIT_KINDS) + ["adjustment", "adjustment"]),
    st.integers(1, 100_000),
    st.booleans(),  # an adjustment's sign: True reduces what is owed
    st.integers(-90, 30),
    st.one_of(st.none(), st.integers(-90, 90)),
)
# A debt: its entries, and which of them are reversed (each at most once) and when.
debts = st.lists(
    st.tuples(st.lists(plain_entries, min_size=1, max_size=8), st.lists(st.tuples(st.integers(0, 7), st.integers(-60, 30)), max_size=4)),
    min_size=1, max_size=4,
)


def _account(ref: str) -> Account:
    return Account.objects.create(system="council_tax", account_ref=ref, account_type="council_tax")


def _post(debt: Debt, kind: str, amount: int, effective: dt.date, due: dt.date | None, reverses: LedgerEntry | None = None) -> LedgerEntry:
    return LedgerEntry.objects.create(
        debt=debt, kind=kind, amount_pence=amount, effective_date=effective, posting_date=effective, due_date=due,
        reverses=reverses, source_system="council_tax", source_key=f"K{next(_keys)}",
    )


def _book(spec) -> list[Debt]:
    """Post `spec` as ingest would: a reversal is the exact negative of its original and falls due with it."""
    made = []
    for n, (entries, reversals) in enumerate(spec):
        account = _account(f"A{next(_keys)}")
        debt = Debt.objects.create(account=account, system="council_tax", debt_ref=f"D{next(_keys)}")
        posted = []
        for kind, size, reduces, eff, due in entries:
            amount = -size if kind in CREDIT_KINDS or (kind == "adjustment" and reduces) else size
            due_date = ON + dt.timedelta(days=due) if due is not None else None
            posted.append(_post(debt, kind, amount, ON + dt.timedelta(days=eff), due_date))
        for index in sorted({i for i, _ in reversals if i < len(posted)}):
            original = posted[index]
            when = ON + dt.timedelta(days=dict(reversals)[index])
            _post(debt, "reversal", -original.amount_pence, when, original.due_date or original.effective_date, original)
        made.append(debt)
    return made


def _expected(debt: Debt, on: dt.date) -> tuple[int, int, int]:
    entries = [
        domain_ledger.Entry(id=e.id, kind=e.kind, amount=e.amount_pence, effective_date=e.effective_date,
                            posting_date=e.posting_date, due_date=e.due_date, reverses=e.reverses_id, debt=debt.id)
        for e in LedgerEntry.objects.filter(debt=debt)
    ]
    p = domain_ledger.position(entries, on)
    return (p.balance, p.arrears, p.ongoing)


def _cached(obj) -> tuple[int, int, int]:
    obj.refresh_from_db()
    return (obj.balance_pence, obj.arrears_pence, obj.ongoing_pence)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=debts, whole_book=st.booleans())
def test_cached_positions_are_the_domain_ledgers_for_every_kind_of_entry(spec, whole_book):
    with transaction.atomic():
        made = _book(spec)
        positions.refresh(ON, None if whole_book else [d.account_id for d in made[:1]])
        refreshed = made if whole_book else made[:1]
        for debt in refreshed:
            assert _cached(debt) == _expected(debt, ON)
            account = Account.objects.get(id=debt.account_id)
            assert _cached(account) == _expected(debt, ON)  # one debt per account here
        assert positions.stale(ON) == []
        transaction.set_rollback(True)


def test_a_scope_covering_most_accounts_is_refreshed_as_the_whole_book(monkeypatch):
    made = _book([([("charge", 1000, False, -40, -30), ("payment", 300, False, -5, None)], [])] * 4)
    monkeypatch.setattr(positions, "WHOLE_BOOK_MIN_ACCOUNTS", 1)
    # Three of four accounts: refreshed as everything, so the fourth is brought up to date too.
    written = positions.refresh(ON, [d.account_id for d in made[:3]])
    assert written == {"debts": 4, "accounts": 4}
    assert [_cached(d) for d in made] == [(700, 700, 0)] * 4
    # One of four: only that one.
    later = ON + dt.timedelta(days=1)
    assert positions.refresh(later, [made[0].account_id]) == {"debts": 1, "accounts": 1}
    assert Debt.objects.get(id=made[1].id).positions_as_of == ON


def test_a_refresh_writes_only_the_positions_that_changed():
    made = _book([([("charge", 1000, False, -40, 10)], [])] * 3)
    assert positions.refresh(ON) == {"debts": 3, "accounts": 3}
    assert positions.refresh(ON) == {"debts": 0, "accounts": 0}
    _post(made[1], "payment", -250, ON, None)
    assert positions.refresh(ON) == {"debts": 1, "accounts": 1}
    assert _cached(made[1]) == (750, 0, 750)
    # A new day moves every cached date, so every row is written again; the charge falls due.
    assert positions.refresh(ON + dt.timedelta(days=11)) == {"debts": 3, "accounts": 3}
    assert _cached(made[0]) == (1000, 1000, 0)
    # A debt whose only entry is not yet effective holds nothing, and is written once.
    empty = _book([([("charge", 500, False, 30, 30)], [])])[0]
    assert positions.refresh(ON + dt.timedelta(days=11)) == {"debts": 1, "accounts": 1}
    Debt.objects.filter(id=empty.id).update(balance_pence=1)  # a wrong cache is put right
    assert positions.refresh(ON + dt.timedelta(days=11)) == {"debts": 1, "accounts": 0}
    assert _cached(empty) == (0, 0, 0)
