"""Placing, ending and listing holds; recording vulnerability. Breathing Space is in breathing_space.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fairdebt.accounts.models import Debt
from fairdebt.domain import holds as rules
from fairdebt.domain.summary import format_date

from .models import HeldDebt, Hold, HoldPolicyVersion, Moratorium, RegisterNotice, Vulnerability

# Kinds an officer places by hand here (Breathing Space comes from the register or its own form;
# vulnerability from its own record).
MANUAL_KINDS = ("pause", "dispute", "complaint", "deceased", "insolvency", "benefit_claim_pending", "debt_advice")


class HoldError(ValueError):
    """What was wrong with a hold an officer asked for, and what to do instead."""


def person_debts(person):
    return Debt.objects.filter(account__liable__party__person=person).distinct().select_related("account")


def active_holds(person, on: dt.date):
    return Hold.objects.active(on).filter(person=person).select_related("moratorium", "vulnerability").order_by("start", "id")


def vulnerable_people(on: dt.date) -> set[int]:
    """Ids of people with a vulnerability hold in force on `on`."""
    return set(Hold.objects.active(on).filter(kind="vulnerability").values_list("person_id", flat=True))


@transaction.atomic
def place_hold(
    person,
    kind: str,
    *,
    start: dt.date,
    until: dt.date | None = None,
    reason_code: str = "",
    reason: str = "",
    debts: list | None = None,
    user=None,
    source: str = "officer",
) -> Hold:
    policy, version = HoldPolicyVersion.current(start)
    if kind not in MANUAL_KINDS:
        raise HoldError(f"‘{kind}’ is not a hold placed here. Choose one of: {', '.join(rules.HOLD_KINDS[k] for k in MANUAL_KINDS)}.")
    if until is not None and until < start:
        raise HoldError(f"The hold cannot end ({format_date(until)}) before it starts ({format_date(start)}). Check the dates.")
    account_types: list[str] = []
    if kind == "pause":
        if reason_code not in policy.pause_reasons:
            raise HoldError(f"Choose a pause reason: {', '.join(f'{k} ({v})' for k, v in policy.pause_reasons.items())}.")
        if until is None:
            raise HoldError("A pause needs an end date. Enter the date recovery may start again.")
        if reason_code == "GEN" and not reason.strip():
            raise HoldError("A pause for another reason needs a comment saying what it is.")
    elif kind == "debt_advice" and until is None:
        until = start + dt.timedelta(days=policy.debt_advice_days - 1)
    elif kind == "insolvency":
        if reason_code not in rules.INSOLVENCY_TYPES:
            raise HoldError(f"Choose the kind of insolvency: {', '.join(rules.INSOLVENCY_TYPES.values())}.")
        # The order covers debts owed when it was made, not later liabilities.
        debts = list(person_debts(person).filter(Q(period_start__isnull=True) | Q(period_start__lte=start))) if debts is None else debts
    elif kind == "benefit_claim_pending":
        account_types = list(policy.benefit_claim_account_types)
    elif kind in {"dispute", "complaint"} and not reason.strip():
        raise HoldError(f"Say what the {kind} is about, so the next officer knows what to resolve.")
    hold = Hold.objects.create(
        person=person, kind=kind, reason_code=reason_code, reason=reason.strip(), start=start, until=until,
        scope_debts=debts is not None, account_types=account_types, effects=sorted(policy.hold_effects(kind)),
        policy_version=version, created_by=user, source=source,
    )
    if debts is not None:
        own = set(person_debts(person).values_list("id", flat=True))
        strangers = [d for d in debts if d.pk not in own]
        if strangers:
            raise HoldError(f"{strangers[0]} is not a debt of {person}. Choose from the person's own debts.")
        HeldDebt.objects.bulk_create([HeldDebt(hold=hold, debt=d, added_on=start) for d in debts])
    return hold


@transaction.atomic
def end_hold(hold: Hold, on: dt.date, reason: str, user=None) -> Hold:
    """End a hold early: `on` is its last day. Breathing Space ends only by the register's notice."""
    if hold.kind in {"breathing_space", "mental_health_crisis"}:
        raise HoldError("A Breathing Space ends only when the register says so (or its end date passes). Record the register's notice instead.")
    if not reason.strip():
        raise HoldError("Say why the hold is ending.")
    hold.until = max(hold.start, min(on, hold.until or on))
    hold.end_reason, hold.ended_by = reason.strip(), user
    hold.save(update_fields=["until", "end_reason", "ended_by"])
    if hold.vulnerability_id:
        Vulnerability.objects.filter(pk=hold.vulnerability_id).update(ended_on=hold.until)
    return hold


@transaction.atomic
def record_vulnerability(person, *, driver: str, severity: str, impact: str, duration: str, support_needs: str,
                         consent_given: bool, consent_scope: str, review_on: dt.date, letters_only: bool = False,
                         on: dt.date | None = None, user=None) -> Vulnerability:
    on = on or timezone.localdate()
    if driver not in rules.VULNERABILITY_DRIVERS:
        raise HoldError(f"Choose a driver: {', '.join(rules.VULNERABILITY_DRIVERS.values())}.")
    if severity not in rules.SEVERITIES:
        raise HoldError("Choose how much it affects the resident: low, medium or high.")
    if not impact.strip():
        raise HoldError("Describe the impact: how it affects the resident's dealings with us.")
    if review_on <= on:
        raise HoldError("The review date must be in the future.")
    if consent_given and not consent_scope.strip():
        raise HoldError("Record what the resident agreed to: who may see and use this.")
    policy, version = HoldPolicyVersion.current(on)
    record = Vulnerability.objects.create(
        person=person, driver=driver, severity=severity, impact=impact.strip(), duration=duration,
        support_needs=support_needs.strip(), consent_given=consent_given, consent_scope=consent_scope.strip(),
        review_on=review_on, letters_only=letters_only, recorded_on=on, recorded_by=user,
    )
    effects, adjustments = policy.split(policy.vulnerability_effects.get(driver, {}).get(severity, ()))
    if letters_only:
        effects |= {"letters_only"}
    Hold.objects.create(
        person=person, kind="vulnerability", reason_code=driver, reason=f"{rules.VULNERABILITY_DRIVERS[driver]}, {severity}",
        start=on, until=None, effects=sorted(effects), adjustments=sorted(adjustments), policy_version=version,
        vulnerability=record, created_by=user,
    )
    return record


def sync_deceased(on: dt.date) -> int:
    """A death recorded in any source system places a deceased hold on the person (once)."""
    from fairdebt.people.models import Party

    policy, version = HoldPolicyVersion.current(on)
    held = set(Hold.objects.filter(kind="deceased").values_list("person_id", flat=True))
    deaths: dict[int, dt.date] = {}
    for person_id, died in Party.objects.filter(deceased_on__isnull=False).values_list("person_id", "deceased_on"):
        if person_id not in held:
            deaths[person_id] = min(died, deaths.get(person_id, died))
    Hold.objects.bulk_create([
        Hold(person_id=pid, kind="deceased", start=min(died, on), reason=f"Date of death {format_date(died)} in a source system",
             effects=sorted(policy.hold_effects("deceased")), policy_version=version, source="system")
        for pid, died in deaths.items()
    ])
    return len(deaths)


def _entries_during(moratorium: Moratorium, kinds: list[str]):
    from fairdebt.accounts.models import LedgerEntry

    debt_ids = HeldDebt.objects.filter(hold__moratorium=moratorium).values_list("debt_id", flat=True)
    start = min(moratorium.start_date, moratorium.received_on)
    entries = LedgerEntry.objects.filter(debt_id__in=list(debt_ids), kind__in=kinds, effective_date__gte=start)
    if moratorium.last_day:
        entries = entries.filter(effective_date__lte=moratorium.last_day)
    return entries.select_related("debt").order_by("effective_date", "id")


def payments_during(moratorium: Moratorium):
    """Payments on the moratorium's debts since it started: ongoing liabilities and voluntary payments."""
    return _entries_during(moratorium, ["payment"])


def charges_during(moratorium: Moratorium):
    """Fees or interest a source system added to a moratorium debt while it was held: these can never
    be collected (DOMAIN.md s.1), so each needs reversing in that system. fairdebt's own are refused."""
    return _entries_during(moratorium, ["cost", "interest"]).exclude(source_system="fairdebt")


# -- officer lists ---------------------------------------------------------------------------


def all_active(on: dt.date, kind: str = ""):
    qs = Hold.objects.active(on).select_related("person")
    return qs.filter(kind=kind) if kind else qs


def ending_soon(on: dt.date, days: int = 14):
    return all_active(on).filter(until__isnull=False, until__lte=on + dt.timedelta(days=days)).order_by("until", "id")


@dataclass
class Task:
    due: dt.date
    what: str
    person_id: int
    link: str
    opens: dt.date | None = None


def worklist(on: dt.date, horizon_days: int = 7) -> list[Task]:
    """Breathing Space reviews and deadlines, notices to match and vulnerability reviews, by due date."""
    policy, _ = HoldPolicyVersion.current(on)
    horizon = on + dt.timedelta(days=horizon_days)
    tasks: list[Task] = []
    live = Moratorium.objects.filter(Q(ended_on__isnull=True) | Q(ended_on__gte=on))
    for m in live.select_related("person"):
        if not m.active(on) and m.received_on > on:
            continue
        link = f"/holds/breathing-space/{m.pk}"
        if m.type == "standard":
            opens, closes = policy.midway_review_window(m.start_date)
            if opens <= horizon and closes >= on:
                tasks.append(Task(closes, f"Midway review of {m.reference}: the adviser reviews between {format_date(opens)} and {format_date(closes)}. Tell them of any missed ongoing payments.", m.person_id, link, opens))
        asked = set(m.review_requests.values_list("debt_id", flat=True))
        for held in HeldDebt.objects.filter(hold__moratorium=m).select_related("debt"):
            deadline = policy.creditor_review_deadline(max(held.added_on, m.start_date))
            # Shown from the day the clock starts: the whole 20 days is the window to act in.
            if on <= deadline and held.debt_id not in asked and None not in asked:
                tasks.append(Task(deadline, f"{format_date(deadline)} is the last day to ask the adviser to review {held.debt} in {m.reference} (reg 17).", m.person_id, link))
    for notice in RegisterNotice.objects.filter(status__in=["unmatched", "ambiguous", "conflict"]):
        tasks.append(Task(notice.received_at.date(), f"Breathing Space notice {notice.moratorium_ref}: {notice.get_status_display()}.", notice.person_id or 0, f"/holds/notices/{notice.pk}"))
    for v in Vulnerability.objects.filter(ended_on__isnull=True, review_on__lte=horizon):
        tasks.append(Task(v.review_on, f"Review the vulnerability recorded on {format_date(v.recorded_on)}.", v.person_id, f"/people/{v.person_id}/holds"))
    return sorted(tasks, key=lambda t: (t.due, t.what))
