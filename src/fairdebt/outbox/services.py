"""Putting messages in the outbox and sending them: the choke point every outbound action passes.

`submit` asks the hold guard before a message is queued; `dispatch` asks again on the day it
leaves. A refusal at either point is a `holds.Suppression` and the message is kept with status
"suppressed", so "what we did not send and why" is complete. Each message has an idempotency
key: submitting it again (a re-run of a job) changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from fairdebt.domain import holds as rules
from fairdebt.holds import guard

from . import transports
from .models import CHANNELS, OutboxMessage

RECIPIENTS = ("resident", "adviser", "agent", "estate", "case_system")


@dataclass
class Submitted:
    message: OutboxMessage
    decision: rules.Decision
    new: bool

    @property
    def sent(self) -> bool:
        return self.message.status != "suppressed"


def submit(
    *,
    sender: str,
    person,
    debt,
    action: rules.Action,
    channel: str,
    key: str,
    recipient: str = "resident",
    template: str = "",
    payload: dict | None = None,
    on: dt.date | None = None,
) -> Submitted:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}")
    if recipient not in RECIPIENTS:
        raise ValueError(f"unknown recipient {recipient!r}; known: {', '.join(RECIPIENTS)}")
    existing = OutboxMessage.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return Submitted(existing, rules.Decision(existing.status != "suppressed"), new=False)
    with transaction.atomic():
        decision, suppression = guard.check(sender, person, debt, action, on=on, detail=template or channel, key=f"outbox:{key}")
        message = OutboxMessage.objects.create(
            idempotency_key=key, person=person, debt=debt, action_kind=action.kind, purpose=action.purpose,
            channel=channel, recipient=recipient, template=template, payload=payload or {},
            adjustments=list(decision.adjustments), sender=sender,
            status="queued" if decision.allowed else "suppressed", suppression=suppression,
        )
    return Submitted(message, decision, new=True)


def dispatch(on: dt.date | None = None, transport_for=None) -> dict[str, int]:
    """Send every queued message the guard still allows today. Returns counts by outcome."""
    on = on or timezone.localdate()
    transport_for = transport_for or transports.for_channel
    counts = {"sent": 0, "suppressed": 0, "failed": 0}
    queued = OutboxMessage.objects.filter(status="queued").select_related("person", "debt", "debt__account").order_by("id")
    for message in queued.iterator(chunk_size=500):
        action = rules.Action(message.action_kind, message.purpose)
        with transaction.atomic():
            decision, suppression = guard.check(
                f"{message.sender} (checked again when sending)", message.person, message.debt, action, on=on,
                detail=message.template or message.channel, key=f"dispatch:{message.idempotency_key}",
            )
            if not decision.allowed:
                message.status, message.suppression = "suppressed", suppression
                message.save(update_fields=["status", "suppression"])
                counts["suppressed"] += 1
                continue
            try:
                transport_for(message.channel).deliver(message)
            except transports.DeliveryFailed as exc:
                message.status, message.failure = "failed", str(exc)[:500]
                message.save(update_fields=["status", "failure"])
                counts["failed"] += 1
                continue
            message.status, message.sent_at = "sent", timezone.now()
            message.save(update_fields=["status", "sent_at"])
            counts["sent"] += 1
    return counts
