"""The one outbox: every message or instruction fairdebt sends out waits here first.

Rows are written only by fairdebt.outbox.services (which asks the hold guard), and leave only
through its `dispatch`, which asks the guard again on the day of sending: a hold placed between
queueing and sending still stops the message.
"""

from django.db import models

CHANNELS = {
    "letter": "Letter",
    "sms": "Text message",
    "email": "Email",
    "agent": "Enforcement agent",
    "case_system": "Write-back to a case system",
}
STATUSES = {"queued": "Queued", "sent": "Sent", "suppressed": "Not sent (held)", "failed": "Failed"}


class OutboxMessage(models.Model):
    idempotency_key = models.CharField(max_length=200, unique=True)
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    debt = models.ForeignKey("accounts.Debt", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    action_kind = models.CharField(max_length=24)
    purpose = models.CharField(max_length=20)
    channel = models.CharField(max_length=20, choices=list(CHANNELS.items()))
    recipient = models.CharField(max_length=20, default="resident")  # resident | adviser | agent | estate | case_system
    template = models.CharField(max_length=80, blank=True)
    payload = models.JSONField(default=dict)
    adjustments = models.JSONField(default=list, blank=True)
    sender = models.CharField(max_length=120)
    status = models.CharField(max_length=12, choices=list(STATUSES.items()), default="queued")
    suppression = models.ForeignKey("holds.Suppression", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "channel"]), models.Index(fields=["person", "-created_at"])]
