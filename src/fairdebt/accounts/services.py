"""Use cases over accounts and the ledger."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from fairdebt.ingest.models import QuarantinedRow
from fairdebt.people.models import Person

from . import positions
from .models import Account, Debt, LedgerEntry


def status(on: dt.date) -> dict:
    """The figures behind `fairdebt status --json` and GET /api/v1/status."""
    figures = {
        "as_of": on.isoformat(),
        "people": Person.objects.count(),
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
        compact = query.replace(" ", "").upper()
        qs = qs.filter(
            Q(account_ref__iexact=query)
            | Q(debts__debt_ref__iexact=query)
            | Q(parties__surname__iexact=query)
            | Q(parties__organisation__icontains=query)
            | Q(parties__postcode__iexact=query.upper())
            | Q(parties__nino=compact)
        ).distinct()
    if account_type:
        qs = qs.filter(account_type=account_type)
    return qs.order_by("-arrears_pence", "-balance_pence", "id")
