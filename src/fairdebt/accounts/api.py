import datetime as dt

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema

from . import services
from .models import Account

router = Router(tags=["accounts"])


class StatusOut(Schema):
    as_of: dt.date
    people: int
    accounts: int
    debts: int
    ledger_entries: int
    quarantined_rows: int
    balance_pence: int
    arrears_pence: int
    ongoing_pence: int


class PartyOut(Schema):
    party_ref: str
    role: str
    name: str


class DebtOut(Schema):
    id: int
    debt_ref: str
    description: str
    recovery_stage: str
    balance_pence: int
    arrears_pence: int
    ongoing_pence: int


class AccountOut(Schema):
    id: int
    system: str
    account_ref: str
    account_type: str
    tenure: str
    balance_pence: int
    arrears_pence: int
    ongoing_pence: int
    positions_as_of: dt.date | None


class AccountDetailOut(AccountOut):
    liable: list[PartyOut]
    debts: list[DebtOut]


class AccountPage(Schema):
    count: int
    results: list[AccountOut]


class Error(Schema):
    detail: str


@router.get("status", response=StatusOut, summary="Counts and money totals of the whole ledger today")
def status(request):
    return services.status(timezone.localdate())


@router.get("accounts", response=AccountPage, summary="Search accounts (reference, surname, postcode, NI number)")
def accounts(request, q: str = "", account_type: str = "", limit: int = 50, offset: int = 0):
    limit = max(1, min(limit, 500))
    qs = services.search_accounts(q, account_type)
    return {"count": qs.count(), "results": list(qs[offset : offset + limit])}


@router.get("accounts/{account_id}", response={200: AccountDetailOut, 404: Error}, summary="One account with its debts")
def account(request, account_id: int):
    acc = get_object_or_404(Account, pk=account_id)
    liable = [
        {"party_ref": ap.party.party_ref, "role": ap.role, "name": ap.party.display_name}
        for ap in acc.liable.select_related("party").order_by("role", "id")
    ]
    return {**AccountOut.from_orm(acc).dict(), "liable": liable, "debts": list(acc.debts.order_by("period_start", "id"))}
