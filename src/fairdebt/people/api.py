import datetime as dt

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema

from . import picture
from .models import Person

router = Router(tags=["people"])


class DebtLine(Schema):
    account_ref: str
    account_type: str
    debt_ref: str
    description: str
    priority: bool
    recovery_stage: str
    balance_pence: int
    arrears_pence: int
    ongoing_pence: int


class SummaryOut(Schema):
    person: str
    as_of: dt.date
    headline: str
    lines: list[str]
    priority_total_pence: int
    non_priority_total_pence: int
    services: int
    balance_pence: int
    arrears_pence: int
    debts: list[DebtLine]


class Error(Schema):
    detail: str


@router.get("people/{person_id}/summary", response={200: SummaryOut, 404: Error},
            summary="One person's debt picture in plain English (no names: re-identification is a separate, audited step)")
def person_summary(request, person_id: int):
    view = picture.gather(get_object_or_404(Person, pk=person_id), timezone.localdate())
    return {
        "person": view.person.reference, "as_of": view.on, "headline": view.summary.headline, "lines": view.summary.lines,
        "priority_total_pence": int(view.summary.priority_total), "non_priority_total_pence": int(view.summary.non_priority_total),
        "services": view.summary.services, "balance_pence": view.balance, "arrears_pence": view.arrears,
        "debts": [
            {"account_ref": r.account.account_ref, "account_type": r.account.account_type, "debt_ref": r.debt.debt_ref,
             "description": r.debt.description, "priority": r.priority, "recovery_stage": r.debt.recovery_stage,
             "balance_pence": r.debt.balance_pence, "arrears_pence": r.debt.arrears_pence, "ongoing_pence": r.debt.ongoing_pence}
            for r in view.debts
        ],
    }
