"""Everything one person owes, gathered across services: the facts behind the single view and its summary."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fairdebt.accounts.models import Account, Debt, LedgerEntry
from fairdebt.domain import summary as summary_rules
from fairdebt.domain import vocabulary as v
from fairdebt.domain.money import Pence

from .models import Person

RECENT_PAYMENTS = 10


@dataclass
class DebtRow:
    debt: Debt
    account: Account
    priority: bool
    last_payment: LedgerEntry | None


@dataclass
class PersonView:
    person: Person
    on: dt.date
    summary: summary_rules.Summary
    debts: list[DebtRow]
    accounts: list[Account]
    recent_payments: list[LedgerEntry]
    parties: list = field(default_factory=list)
    holds: list = field(default_factory=list)  # active holds.Hold rows, for the banner
    vulnerable: bool = False
    not_sent: int = 0
    balance: int = 0
    arrears: int = 0
    ongoing: int = 0


def gather(person: Person, on: dt.date) -> PersonView:
    """One query per kind of fact, however many services the person owes (no query per row)."""
    parties = list(person.parties.order_by("system", "party_ref"))
    accounts = list(
        Account.objects.filter(liable__party__person=person).distinct().order_by("account_type", "account_ref")
    )
    debts = list(Debt.objects.filter(account__in=accounts).select_related("account").order_by("account__account_type", "-period_start", "debt_ref"))
    debt_ids = [d.id for d in debts]
    last_payment: dict[int, LedgerEntry] = {}
    last_charge: dict[int, LedgerEntry] = {}
    if debt_ids:
        # Only the latest payment and charge of each debt leave the database, however long its history.
        placeholders = ", ".join(["%s"] * len(debt_ids))
        latest = LedgerEntry.objects.raw(
            f"""SELECT id, debt_id, kind, amount_pence, effective_date, method FROM (
                  SELECT id, debt_id, kind, amount_pence, effective_date, method,
                         ROW_NUMBER() OVER (PARTITION BY debt_id, kind ORDER BY effective_date DESC, id DESC) AS n
                  FROM accounts_ledgerentry
                  WHERE debt_id IN ({placeholders}) AND kind IN ('payment', 'charge') AND effective_date <= %s
                ) latest WHERE n = 1""",
            [*debt_ids, on],
        )
        for entry in latest:
            (last_payment if entry.kind == "payment" else last_charge)[entry.debt_id] = entry
    recent = list(
        LedgerEntry.objects.filter(debt_id__in=debt_ids, kind="payment", effective_date__lte=on)
        .select_related("debt", "debt__account")
        .order_by("-effective_date", "-id")[:RECENT_PAYMENTS]
    )
    facts, rows = [], []
    for d in debts:
        paid = last_payment.get(d.id)
        charge = last_charge.get(d.id)
        weekly = Pence(charge.amount_pence) if d.account.account_type == "housing_rent" and charge else None
        facts.append(
            summary_rules.DebtFacts(
                account_type=d.account.account_type, description=d.description, balance=Pence(d.balance_pence),
                arrears=Pence(d.arrears_pence), ongoing=Pence(d.ongoing_pence), tenure=d.account.tenure,
                period_start=d.period_start, period_end=d.period_end, recovery_stage=d.recovery_stage, stage_date=d.stage_date,
                last_payment_date=paid.effective_date if paid else None,
                last_payment_amount=Pence(-paid.amount_pence) if paid else None,
                weekly_charge=weekly, ref=d.debt_ref,
            )
        )
        rows.append(DebtRow(d, d.account, d.account.account_type in v.PRIORITY_ACCOUNT_TYPES, paid))
    holds, hold_facts, vulnerable = _holds(person, on, {d.id: d.description or d.debt_ref for d in debts})
    picture = summary_rules.PersonPicture(on=on, debts=tuple(facts), holds=tuple(hold_facts), vulnerable=vulnerable)
    from fairdebt.holds.models import Suppression

    return PersonView(
        person=person, on=on, summary=summary_rules.summarise(picture), debts=rows, accounts=accounts,
        recent_payments=recent, parties=parties, holds=holds, vulnerable=vulnerable,
        not_sent=Suppression.objects.filter(person=person).count(),
        balance=sum(d.balance_pence for d in debts), arrears=sum(d.arrears_pence for d in debts),
        ongoing=sum(d.ongoing_pence for d in debts),
    )


def _holds(person: Person, on: dt.date, refs: dict[int, str]):
    """Active holds, their facts for the summary, and whether a vulnerability is recorded."""
    from fairdebt.holds import services as holds
    from fairdebt.holds.models import HeldDebt

    active = list(holds.active_holds(person, on))
    listed: dict[int, list[str]] = {}
    for hold_id, debt_id in HeldDebt.objects.filter(hold__in=[h for h in active if h.scope_debts]).values_list("hold_id", "debt_id"):
        if debt_id in refs:
            listed.setdefault(hold_id, []).append(refs[debt_id])
    facts = []
    for h in active:
        if h.kind == "vulnerability":
            if {"stop_recovery", "pause_enforcement"} & set(h.effects):
                facts.append(summary_rules.HoldFacts("vulnerability_pause", h.until))
            continue
        if h.scope_debts and not listed.get(h.pk):
            continue  # holds none of the debts we can see
        facts.append(summary_rules.HoldFacts(h.kind, h.until, covers=tuple(sorted(listed.get(h.pk, ())))))
    return active, facts, any(h.kind == "vulnerability" for h in active)


@dataclass
class LookupResult:
    people: list[Person]
    message: str = ""


def lookup(system: str, ref: str) -> LookupResult:
    """The people behind a case system's reference: an account, a debt or a person's own id in that system."""
    from fairdebt.ingest import config

    system, ref = (system or "").strip(), (ref or "").strip()
    known = config.systems()
    if system not in known:
        return LookupResult([], f"fairdebt does not know a case system called ‘{system}’. Known systems: {', '.join(known)}.")
    if not ref:
        return LookupResult([], "The case system sent no reference. Check the lookup tool's selector for this page.")
    people = list(
        Person.objects.filter(parties__accounts__system=system, parties__accounts__account_ref__iexact=ref).distinct()
        | Person.objects.filter(parties__accounts__system=system, parties__accounts__debts__debt_ref__iexact=ref).distinct()
        | Person.objects.filter(parties__system=system, parties__party_ref__iexact=ref).distinct()
    )
    people = sorted(set(people), key=lambda p: p.pk)
    if not people:
        return LookupResult([], f"No {system} account, debt or person has the reference ‘{ref}’. Check the reference, or search the accounts.")
    return LookupResult(people)
