"""Breathing Space: taking in the register's notices and doing what a creditor must (DOMAIN.md s.1).

On a new moratorium: find the person (by the references the adviser listed, then by the
debtor's tokens), hold every eligible debt in every service from the day the notice arrives,
freeze charges (the hold's effects), tell enforcement agents through the outbox, and produce
the report of the person's other debts for the adviser. Every notice is kept: one that cannot
be matched, or contradicts what we hold, waits for an officer and is never dropped.

The debtor's identifiers in a notice go to the identity vault only (system `breathing_space`).
"""

from __future__ import annotations

import datetime as dt
import uuid

import polars as pl
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fairdebt.accounts.models import Debt
from fairdebt.domain import holds as rules
from fairdebt.domain import identity
from fairdebt.domain.holds import Action
from fairdebt.domain.money import format_pounds
from fairdebt.domain.summary import format_date
from fairdebt.people.models import Party, Person
from fairdebt.vault import keys as vault_keys
from fairdebt.vault import services as vault

from .guard import sender
from .models import HeldDebt, Hold, HoldPolicyVersion, Moratorium, RegisterFeed, RegisterNotice
from .services import person_debts

VAULT_SYSTEM = "breathing_space"
EVENTS = ("moratorium_started", "debt_added", "moratorium_cancelled", "moratorium_ended")
# Recovery stages at which an enforcement agent (or a court-ordered deduction) is acting on the debt.
_AGENT_STAGES = {"enforcement_agent", "attachment_of_earnings", "attachment_of_benefits", "direct_earnings_attachment"}


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _debtor_record(debtor: dict) -> dict:
    address = debtor.get("address") or {}
    lines = list(address.get("lines") or []) + ["", "", ""]
    return {
        "forename": debtor.get("forenames") or "", "surname": debtor.get("surname") or "",
        "date_of_birth": debtor.get("date_of_birth") or "", "nino": debtor.get("nino") or "",
        "address_line_1": lines[0], "address_line_2": lines[1], "address_line_3": lines[2],
        "postcode": address.get("postcode") or "",
    }


# -- receiving -------------------------------------------------------------------------------


def receive(notification: dict, *, received_at: dt.datetime | None = None, source: str = "register", user=None) -> RegisterNotice:
    """Keep one notice (once: the register's id is the key) and apply it if we can."""
    event = notification.get("event")
    if event not in EVENTS:
        raise ValueError(f"unknown Breathing Space event {event!r}; expected one of {', '.join(EVENTS)}")
    notice_id = notification.get("id") or f"manual-{uuid.uuid4().hex[:12]}"
    existing = RegisterNotice.objects.filter(notice_id=notice_id).first()
    if existing is not None:
        return existing
    m = notification.get("moratorium") or {}
    debtor = notification.get("debtor") or {}
    record = _debtor_record(debtor)
    with transaction.atomic():
        notice = RegisterNotice.objects.create(
            notice_id=notice_id, sequence=notification.get("sequence"), event=event, source=source,
            moratorium_ref=m.get("reference") or "", moratorium_type=m.get("type") or "",
            registered_on=_date(m.get("registered_on")), start_date=_date(m.get("start_date")), end_date=_date(m.get("end_date")),
            debts=notification.get("debts") or [], adviser=notification.get("adviser") or {}, ended=notification.get("ended"),
            initials=identity.initials(record), received_at=received_at or timezone.now(), status="unmatched",
            resolved_by=user if source == "officer" else None,
        )
        if any(record.values()):
            vault.store_identities(VAULT_SYSTEM, pl.DataFrame([{"party_ref": notice_id, **record}]))
    apply(notice, user=user)
    return notice


def debtor_details(notice: RegisterNotice) -> dict:
    """The debtor's identifiers from the vault (callers check permission and audit)."""
    return vault.identities([(VAULT_SYSTEM, notice.notice_id)]).get((VAULT_SYSTEM, notice.notice_id), {})


def candidates(notice: RegisterNotice) -> tuple[set[int], set[int]]:
    """People the notice's debt references point at, and people whose identifiers match the debtor's."""
    refs = [str(d.get("creditor_reference") or "").strip() for d in notice.debts]
    refs = [r for r in refs if r]
    by_ref: set[int] = set()
    if refs:
        q = Q()
        for r in refs:
            q |= Q(parties__accounts__account_ref__iexact=r) | Q(parties__accounts__debts__debt_ref__iexact=r)
        by_ref = set(Person.objects.filter(q).values_list("id", flat=True).distinct())
    by_identity: set[int] = set()
    record = debtor_details(notice)
    if record:
        tok = vault_keys.tokeniser().tokenise(record)
        q = Q()
        if tok.get("tok_nino"):
            q |= Q(tok_nino=tok["tok_nino"])
        if tok.get("tok_surname") and tok.get("tok_dob"):
            q |= Q(tok_surname=tok["tok_surname"], tok_dob=tok["tok_dob"])
        if tok.get("tok_surname") and tok.get("tok_postcode") and tok.get("tok_forename_canonical"):
            q |= Q(tok_surname=tok["tok_surname"], tok_postcode=tok["tok_postcode"], tok_forename_canonical=tok["tok_forename_canonical"])
        if q:
            by_identity = set(Party.objects.filter(q).values_list("person_id", flat=True).distinct())
    return by_ref, by_identity


def _match(notice: RegisterNotice) -> tuple[Person | None, str, list[int]]:
    by_ref, by_identity = candidates(notice)
    if by_ref and by_identity:
        both = by_ref & by_identity
        if len(both) == 1:
            return Person.objects.get(pk=next(iter(both))), "", []
        if not both:
            return None, "The debts listed belong to someone other than the person the debtor's details match. Check the references with the adviser.", sorted(by_ref | by_identity)
        return None, "More than one person matches both the references and the debtor's details.", sorted(both)
    found = by_ref or by_identity
    if len(found) == 1:
        return Person.objects.get(pk=next(iter(found))), "", []
    if not found:
        return None, "No person in our records matches this debtor or the references listed. Search for them and match by hand.", []
    return None, "More than one person matches (joint accounts or similar details). Choose the right one.", sorted(found)


def apply(notice: RegisterNotice, person: Person | None = None, user=None) -> RegisterNotice:
    """Apply a kept notice: to `person` when an officer matched it, otherwise to whoever it matches."""
    received_on = timezone.localtime(notice.received_at).date() if timezone.is_aware(notice.received_at) else notice.received_at.date()
    with transaction.atomic():
        if notice.event == "moratorium_started":
            if person is None:
                person, problem, found = _match(notice)
                if person is None:
                    notice.status, notice.problem, notice.candidates = ("unmatched" if not found else "ambiguous"), problem, found
                    if "someone other" in problem:
                        notice.status = "conflict"
                    notice.save(update_fields=["status", "problem", "candidates"])
                    return notice
            _start(notice, person, received_on, user)
        else:
            _change(notice, received_on)
        if user is not None and notice.status == "applied":
            notice.resolved_by, notice.resolved_at = user, timezone.now()
            notice.save(update_fields=["resolved_by", "resolved_at"])
    return notice


def _start(notice: RegisterNotice, person: Person, received_on: dt.date, user) -> None:
    policy, version = HoldPolicyVersion.current(received_on)
    existing = Moratorium.objects.filter(reference=notice.moratorium_ref).first()
    if existing is not None:
        same = existing.person_id == person.pk and existing.start_date == notice.start_date and existing.expected_end == notice.end_date
        notice.status = "duplicate" if same else "conflict"
        notice.problem = "" if same else f"Moratorium {existing.reference} is already recorded with different details (from {format_date(existing.start_date)}). Check with the register."
        notice.person, notice.moratorium = person, existing
        notice.save(update_fields=["status", "problem", "person", "moratorium"])
        return
    kind = "mental_health_crisis" if notice.moratorium_type == "mental_health_crisis" or notice.end_date is None else "standard"
    registered = notice.registered_on or received_on
    start = notice.start_date or policy.moratorium_start(registered)
    expected_end = notice.end_date if kind == "standard" else None
    if kind == "standard" and expected_end is None:
        expected_end = policy.standard_end(start)
    flags = []
    if kind == "standard" and notice.end_date and notice.end_date != policy.standard_end(start):
        flags.append(f"The register's end date {format_date(notice.end_date)} is not {policy.standard_days} days from the start ({format_date(policy.standard_end(start))}). We hold until the register's date; check with the register.")
    if kind == "standard":
        earlier = [m.last_day for m in person.moratoria.filter(type="standard") if m.last_day]
        repeat = policy.repeat_within_limit(start, earlier)
        if repeat:
            flags.append(f"A standard moratorium for this person ended on {format_date(repeat)}, within {policy.repeat_months} months (reg 24(3)(g)). Consider asking the adviser for a review.")
    for other in person.moratoria.all():
        if other.last_day is None or other.last_day >= start:
            flags.append(f"Overlaps moratorium {other.reference} (from {format_date(other.start_date)}). Check with the register which one stands.")
    adviser = notice.adviser or {}
    moratorium = Moratorium.objects.create(
        reference=notice.moratorium_ref, type=kind, person=person, registered_on=registered, received_on=received_on,
        start_date=start, expected_end=expected_end, adviser_name=adviser.get("name", "")[:200],
        adviser_organisation=adviser.get("organisation", "")[:200], adviser_fca_reference=adviser.get("fca_reference", "")[:40],
        adviser_email=adviser.get("email", "")[:200], adviser_phone=adviser.get("phone", "")[:40], flags=flags,
        policy_version=version, entered_by=user if notice.source == "officer" else None,
    )
    hold = Hold.objects.create(
        person=person, kind="breathing_space" if kind == "standard" else "mental_health_crisis",
        reason=f"Breathing Space {moratorium.reference}", start=min(received_on, start), until=expected_end, scope_debts=True,
        effects=sorted(policy.hold_effects("breathing_space" if kind == "standard" else "mental_health_crisis")),
        policy_version=version, moratorium=moratorium, source="register" if notice.source == "register" else "officer", created_by=user,
    )
    report = _hold_debts(hold, moratorium, person, notice.debts, received_on, policy)
    notice.status, notice.problem = ("conflict" if flags else "applied"), " ".join(flags)
    notice.person, notice.moratorium = person, moratorium
    notice.save(update_fields=["status", "problem", "person", "moratorium"])
    moratorium.other_debts_report = report
    moratorium.save(update_fields=["other_debts_report"])
    _notify_agents(moratorium, hold, received_on)
    _report_to_adviser(moratorium, received_on)


def _listed_debts(person: Person, listed: list[dict]) -> tuple[list[Debt], list[str]]:
    """The person's debts the notice lists (by account or debt reference), and references we could not find."""
    debts, missing = [], []
    mine = list(person_debts(person))
    for item in listed:
        ref = str(item.get("creditor_reference") or "").strip()
        if not ref:
            continue
        hits = [d for d in mine if d.debt_ref.lower() == ref.lower() or d.account.account_ref.lower() == ref.lower()]
        if not hits:
            missing.append(ref)
        debts.extend(hits)
    return debts, missing


def _debt_line(d: Debt, why: str) -> dict:
    return {
        "debt_id": d.pk, "service": d.account.type_label, "reference": d.debt_ref, "description": d.description or d.debt_ref,
        "balance_pence": d.balance_pence, "arrears_pence": d.arrears_pence, "ongoing_pence": d.ongoing_pence,
        "balance": format_pounds(d.balance_pence), "why": why,
    }


def _hold_debts(hold: Hold, moratorium: Moratorium, person: Person, listed: list[dict], on: dt.date, policy) -> dict:
    """Hold every eligible debt of the person in every service; report the rest (reg 14 search)."""
    held, not_held = [], []
    listed_debts, missing = _listed_debts(person, listed)
    listed_ids = {d.pk for d in listed_debts}
    rows = []
    for d in person_debts(person).order_by("account__account_type", "period_start", "debt_ref"):
        ok, why = rules.breathing_space_eligibility(
            rules.EligibilityFacts(d.account.account_type, d.balance_pence, d.arrears_pence, d.ongoing_pence, d.recovery_stage, d.description), policy
        )
        if not ok and d.pk in listed_ids and d.balance_pence > 0:
            ok, why = True, f"listed by the adviser, although {why}: held; consider a review request"
        if ok:
            rows.append(HeldDebt(hold=hold, debt=d, added_on=on, why=why[:300]))
            held.append(_debt_line(d, why))
        else:
            not_held.append(_debt_line(d, why))
    HeldDebt.objects.bulk_create(rows)
    # Joint debtors are protected on these debts too (the hold is on the debt); record who they are.
    held_ids = [r.debt_id for r in rows]
    joint = sorted(
        Person.objects.filter(parties__accounts__debts__in=held_ids).exclude(pk=person.pk).distinct().values_list("pk", flat=True)
    )
    return {
        "joint_debtors": [f"P{pk:07d}" for pk in joint],
        "generated_on": on.isoformat(), "moratorium": moratorium.reference,
        "held": held, "not_held": not_held, "not_found": missing,
        "total_held_pence": sum(x["balance_pence"] for x in held),
    }


@sender(Action("write_back", "agent_stop"), lambda person, debt: {"key": f"example-agent-{debt.pk}", "moratorium_ref": "BS-EXAMPLE"})
def tell_agent_to_stop(person, debt, *, key: str, moratorium_ref: str, on: dt.date | None = None):
    """Tell the enforcement agent holding `debt` to stop (reg 12): no notice, visit, control or sale."""
    from fairdebt.outbox import services as outbox

    return outbox.submit(
        sender=tell_agent_to_stop.sender_name, person=person, debt=debt, action=Action("write_back", "agent_stop"),
        channel="agent", recipient="agent", key=key, template="breathing_space_stop",
        payload={"moratorium": moratorium_ref, "system": debt.system, "debt_ref": debt.debt_ref}, on=on,
    )


def _notify_agents(moratorium: Moratorium, hold: Hold, on: dt.date, debts: list[Debt] | None = None) -> int:
    if debts is None:
        debts = [h.debt for h in hold.held_debts.select_related("debt", "debt__account")]
    sent = 0
    for debt in debts:
        if debt.recovery_stage in _AGENT_STAGES:
            tell_agent_to_stop(moratorium.person, debt, key=f"bs-agent:{moratorium.reference}:{debt.pk}", moratorium_ref=moratorium.reference, on=on)
            sent += 1
    if sent and moratorium.agents_notified_at is None:
        moratorium.agents_notified_at = timezone.now()
        moratorium.save(update_fields=["agents_notified_at"])
    return sent


def _report_to_adviser(moratorium: Moratorium, on: dt.date) -> None:
    """Send the other-debts report to the adviser (reg 14); allowed during the moratorium."""
    from fairdebt.comms import senders as comms

    if not moratorium.adviser_email:
        return  # shown on the moratorium page for the officer to send by the adviser's channel
    result = comms.send_email(
        moratorium.person, None, template="breathing_space_other_debts", key=f"bs-report:{moratorium.reference}",
        purpose="adviser", recipient="adviser", payload={"report": moratorium.other_debts_report}, on=on,
    )
    if result.sent:
        moratorium.other_debts_reported_at = timezone.now()
        moratorium.save(update_fields=["other_debts_reported_at"])


def _change(notice: RegisterNotice, received_on: dt.date) -> None:
    moratorium = Moratorium.objects.filter(reference=notice.moratorium_ref).first()
    if moratorium is None:
        notice.status = "unmatched"
        notice.problem = f"We have no moratorium {notice.moratorium_ref}: its start notice may not have arrived or was not matched. Match the start notice first, then apply this one."
        notice.save(update_fields=["status", "problem"])
        return
    hold = moratorium.holds.order_by("id").first()
    notice.person, notice.moratorium = moratorium.person, moratorium
    if notice.event == "debt_added":
        policy, _ = HoldPolicyVersion.current(received_on)
        debts, missing = _listed_debts(moratorium.person, notice.debts)
        already = set(hold.held_debts.values_list("debt_id", flat=True))
        new = [d for d in debts if d.pk not in already]
        HeldDebt.objects.bulk_create([HeldDebt(hold=hold, debt=d, added_on=received_on, why="added by the adviser") for d in new])
        report = dict(moratorium.other_debts_report or {})
        report.setdefault("added", []).extend(_debt_line(d, f"added on {received_on.isoformat()}") for d in new)
        moratorium.other_debts_report = report
        moratorium.save(update_fields=["other_debts_report"])
        _notify_agents(moratorium, hold, received_on, new)
        notice.status = "conflict" if missing else "applied"
        notice.problem = f"References not found in our records: {', '.join(missing)}. Check them with the adviser." if missing else ""
    else:
        ended = notice.ended or {}
        end = _date(ended.get("date"))
        treatment_end = _date(ended.get("treatment_end"))
        if end is None and treatment_end is not None and moratorium.type == "mental_health_crisis":
            end = HoldPolicyVersion.current(received_on)[0].crisis_end(treatment_end)  # treatment end + 30 days
        end = end or received_on
        if moratorium.ended_on is not None and moratorium.ended_on != end:
            notice.status = "conflict"
            notice.problem = f"Moratorium {moratorium.reference} was already recorded as ended on {format_date(moratorium.ended_on)}; this notice says {format_date(end)}. We keep the earlier record; check with the register."
            notice.save(update_fields=["status", "problem", "person", "moratorium"])
            return
        moratorium.ended_on, moratorium.end_reason = end, (ended.get("reason") or notice.event.replace("_", " "))[:300]
        moratorium.cancelled = notice.event == "moratorium_cancelled"
        moratorium.save(update_fields=["ended_on", "end_reason", "cancelled"])
        for h in moratorium.holds.all():
            h.until = max(h.start, end)
            h.end_reason = moratorium.end_reason
            h.save(update_fields=["until", "end_reason"])
        notice.status, notice.problem = "applied", ""
    notice.save(update_fields=["status", "problem", "person", "moratorium"])


# -- pulling from the register ---------------------------------------------------------------


def pull(client, *, received_at: dt.datetime | None = None) -> dict[str, int]:
    """Fetch every notice since our last cursor and keep each. Safe to run again: ids are keys."""
    feed, _ = RegisterFeed.objects.get_or_create(name="breathing_space")
    counts: dict[str, int] = {}
    try:
        for notification, cursor in client.notifications(after=feed.cursor or None):
            notice = receive(notification, received_at=received_at)
            counts[notice.status] = counts.get(notice.status, 0) + 1
            if cursor:
                feed.cursor = cursor
                feed.save(update_fields=["cursor"])
    except Exception as exc:
        feed.last_error = str(exc)[:500]
        feed.save(update_fields=["last_error"])
        raise
    feed.last_pulled_at, feed.last_error = timezone.now(), ""
    feed.save(update_fields=["last_pulled_at", "last_error"])
    return counts


def enter_by_hand(person: Person, *, reference: str, type: str, registered_on: dt.date, end_date: dt.date | None,
                  debt_refs: list[str], adviser: dict, user, received_at: dt.datetime | None = None) -> RegisterNotice:
    """An officer records a moratorium from the register's email or portal, for a person already found."""
    if Moratorium.objects.filter(reference=reference).exists():
        raise ValueError(f"Moratorium {reference} is already recorded. Open it from the holds list instead.")
    policy, _ = HoldPolicyVersion.current(registered_on)
    start = policy.moratorium_start(registered_on)
    if type == "standard" and end_date is None:
        end_date = policy.standard_end(start)
    notification = {
        "event": "moratorium_started",
        "moratorium": {"reference": reference, "type": type, "registered_on": registered_on.isoformat(),
                       "start_date": start.isoformat(), "end_date": end_date.isoformat() if end_date and type == "standard" else None},
        "debts": [{"creditor_reference": r} for r in debt_refs], "adviser": adviser,
    }
    notice = RegisterNotice.objects.create(
        notice_id=f"manual-{uuid.uuid4().hex[:12]}", event="moratorium_started", source="officer", moratorium_ref=reference,
        moratorium_type=type, registered_on=registered_on, start_date=start, end_date=notification["moratorium"]["end_date"] and end_date,
        debts=notification["debts"], adviser=adviser, initials="", received_at=received_at or timezone.now(), status="unmatched",
    )
    return apply(notice, person=person, user=user)


def match_by_hand(notice: RegisterNotice, person: Person, user) -> RegisterNotice:
    if notice.status not in {"unmatched", "ambiguous", "conflict"}:
        raise ValueError("This notice has already been applied.")
    if notice.moratorium_id is not None:
        raise ValueError("This notice is already attached to a moratorium; resolve the conflict on the moratorium page.")
    if notice.event != "moratorium_started":
        return apply(notice, user=user)
    return apply(notice, person=person, user=user)

