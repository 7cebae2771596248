"""The one guard: loads a person's and a debt's holds, asks `domain.holds.may_act`, and keeps
each refusal as a `Suppression`.

Only the choke points call `check`: `outbox.services.submit` and `dispatch` (every letter,
SMS, email, agent instruction and write-back) and `accounts.charges.add_charge` (every fee,
interest and penalty fairdebt adds). Senders are the functions the rest of the product calls;
each is registered here with `@sender`, and tests/integration/test_guard_senders.py finds them
all in the source, runs each against a held debt and fails if any sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from fairdebt.domain import holds as rules

from .models import Hold, Suppression

SENDERS: dict[str, SenderInfo] = {}


@dataclass(frozen=True)
class SenderInfo:
    name: str
    function: Callable
    action: rules.Action  # the action it takes when called with `example`
    example: Callable[..., dict]  # (person, debt) -> keyword arguments for a typical call


def sender(action: rules.Action, example: Callable[..., dict]):
    """Register a function that sends something out (or charges). The name is module.function."""

    def register(fn):
        name = f"{fn.__module__}.{fn.__qualname__}"
        SENDERS[name] = SenderInfo(name, fn, action, example)
        fn.sender_name = name
        return fn

    return register


@dataclass
class PersonFacts:
    holds: list[rules.Hold] = field(default_factory=list)
    by_ref: dict[str, Hold] = field(default_factory=dict)


@dataclass
class DebtFacts:
    id: int
    account_type: str
    holds: list[rules.Hold] = field(default_factory=list)


def _domain(holds: list[Hold]) -> tuple[list[rules.Hold], dict[str, Hold]]:
    ids = [h.pk for h in holds if h.scope_debts]
    listed: dict[int, set[int]] = {}
    if ids:
        from .models import HeldDebt

        for hold_id, debt_id in HeldDebt.objects.filter(hold_id__in=ids).values_list("hold_id", "debt_id"):
            listed.setdefault(hold_id, set()).add(debt_id)
    out = [h.rule(frozenset(listed.get(h.pk, ()))) for h in holds]
    return out, {f"H{h.pk}": h for h in holds}


def facts(person, debt) -> tuple[PersonFacts, DebtFacts | None]:
    """The holds that bear on acting about `debt` (None: the person as a whole) for `person`.

    With no person (a fee on a debt, say), every person liable for the debt counts: a charge
    is refused if any of them is protected.
    """
    if person is not None:
        people_q = {"person": person}
    elif debt is not None:
        people_q = {"person__parties__accounts__debts": debt}
    else:
        raise ValueError("the guard needs a person or a debt")
    own = list(Hold.objects.filter(**people_q).distinct())
    debt_holds = list(Hold.objects.filter(scope_debts=True, held_debts__debt=debt).distinct()) if debt is not None else []
    own_rules, refs = _domain(own)
    # Holds that list the debt for someone else (a joint debtor); the person's own are already in own_rules.
    debt_rules, debt_refs = _domain([h for h in debt_holds if f"H{h.pk}" not in refs])
    refs.update(debt_refs)
    person_facts = PersonFacts(holds=own_rules, by_ref=refs)
    if debt is None:
        return person_facts, None
    return person_facts, DebtFacts(debt.pk, debt.account.account_type, holds=debt_rules)


def check(
    sender_name: str,
    person,
    debt,
    action: rules.Action,
    *,
    on: dt.date | None = None,
    detail: str = "",
    key: str | None = None,
) -> tuple[rules.Decision, Suppression | None]:
    """Ask the guard; on refusal store (once per idempotency key) and return the suppression."""
    on = on or timezone.localdate()
    person_facts, debt_facts = facts(person, debt)
    decision = rules.may_act(person_facts, debt_facts, action, on)
    if decision.allowed:
        return decision, None
    hold = person_facts.by_ref.get(decision.hold.ref) if decision.hold else None
    values = dict(
        person=person if person is not None else (hold.person if hold else None), debt=debt, hold=hold,
        action_kind=action.kind, purpose=action.purpose, sender=sender_name, rule=decision.rule,
        reason=decision.reason[:500], detail=detail[:300], decided_on=on,
    )
    if key:
        try:
            with transaction.atomic():
                suppression, _ = Suppression.objects.get_or_create(idempotency_key=key, defaults=values)
        except IntegrityError:  # a concurrent worker stored it first
            suppression = Suppression.objects.get(idempotency_key=key)
    else:
        suppression = Suppression.objects.create(**values)
    return decision, suppression
