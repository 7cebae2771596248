"""Use cases over accounts and the ledger."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from fairdebt.ingest.models import QuarantinedRow
from fairdebt.people import services as people_services
from fairdebt.people.models import Person

from . import positions
from .models import Account, Debt, LedgerEntry


def status(on: dt.date) -> dict:
    """The figures behind `fairdebt status --json` and GET /api/v1/status."""
    figures = {
        "as_of": on.isoformat(),
        "people": Person.objects.filter(parties__isnull=False).distinct().count(),
        "accounts": Account.objects.count(),
        "debts": Debt.objects.count(),
        "ledger_entries": LedgerEntry.objects.count(),
        "quarantined_rows": QuarantinedRow.objects.filter(status="open").count(),
    }
    figures.update(positions.totals(on))
    return figures


def search_accounts(query: str = "", account_type: str = ""):
    """Accounts matching a reference, surname, postcode or NI number; highest arrears first."""
    qs = Account.objects.all()
    query = (query or "").strip()
    if query:
        match = Q(account_ref__iexact=query) | Q(debts__debt_ref__iexact=query)
        by_identity = people_services.party_query(query)
        if by_identity is not None:
            match |= by_identity
        qs = qs.filter(match).distinct()
    if account_type:
        qs = qs.filter(account_type=account_type)
    return qs.order_by("-arrears_pence", "-balance_pence", "id")
