"""Fees, interest and penalties fairdebt itself adds: the choke point for charges.

Every charge asks the hold guard first (Breathing Space freezes them: "if a system cannot stop
them accruing, they can never be charged", DOMAIN.md s.1); a refusal is a suppression, and the
ledger is untouched. Charges that source systems added arrive through ingest as history.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from fairdebt.domain import holds as rules
from fairdebt.domain.money import Pence, format_pounds
from fairdebt.holds import guard

from . import positions
from .models import LedgerEntry

SYSTEM = "fairdebt"
_ENTRY_KIND = {"fee": "cost", "penalty": "cost", "interest": "interest"}


def add_charge(*, sender: str, debt, kind: str, amount: Pence, reason: str, key: str, on: dt.date | None = None):
    """Post a fee, penalty or interest on `debt` unless a hold forbids it. Returns the entry or the suppression."""
    if kind not in _ENTRY_KIND:
        raise ValueError(f"unknown charge {kind!r}; use one of {', '.join(_ENTRY_KIND)}")
    amount = Pence(amount)
    if amount <= 0:
        raise ValueError("a charge must be more than £0")
    on = on or timezone.localdate()
    with transaction.atomic():
        existing = LedgerEntry.objects.filter(source_system=SYSTEM, source_key=key).first()
        if existing is not None:
            return existing
        decision, suppression = guard.check(
            sender, None, debt, rules.Action(kind, "recovery"), on=on,
            detail=f"{kind} of {format_pounds(amount)}: {reason}", key=f"charge:{key}",
        )
        if not decision.allowed:
            return suppression
        entry = LedgerEntry.objects.create(
            debt=debt, kind=_ENTRY_KIND[kind], amount_pence=int(amount), effective_date=on, posting_date=on,
            method="", source_system=SYSTEM, source_key=key,
        )
    positions.refresh(on, account_ids=[debt.account_id])
    return entry
