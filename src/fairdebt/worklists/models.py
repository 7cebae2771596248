"""Nightly decisions per debt and per person, officers, allocations and the action history.

The rules are in fairdebt.domain.prioritisation (policy) and fairdebt.domain.allocation; the
batch pipeline in fairdebt.batch.prioritise. These tables keep the latest decision (with the
contributions and rules that made it), who holds each case, and what officers did.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from fairdebt.config.models import Versioned
from fairdebt.domain import prioritisation as rules

SEGMENTS = {"prevent": "Prevent", "resolve": "Resolve", "recover": "Recover", "none": "No work"}
RAGS = {"red": "Red", "amber": "Amber", "green": "Green"}
KINDS = {"call": "Phone call", "home_visit": "Home visit", "review": "Review", "letter": "Letter to request", "sms": "Text to request",
         "step": "Recovery step to request", "none": "Nothing to do"}
OUTCOMES = {
    "call": {"spoke_arranged": "Spoke: arrangement made", "spoke_promised": "Spoke: promise to pay", "spoke_support": "Spoke: referred for support",
             "no_answer": "No answer", "wrong_number": "Wrong number"},
    "home_visit": {"seen_arranged": "Seen: arrangement made", "seen_support": "Seen: referred for support", "not_home": "Not at home: card left",
                   "refused": "Refused to engage", "moved": "Moved away"},
    "review": {"no_change": "Reviewed: no change", "escalate": "Reviewed: escalate", "close": "Reviewed: close the case"},
    "letter": {"requested": "Letter requested", "not_needed": "Not needed"},
    "sms": {"requested": "Text requested", "not_needed": "Not needed"},
    "step": {"requested": "Step requested", "not_needed": "Not needed"},
    "none": {"done": "Done"},
}


def default_policy() -> dict:
    return rules.hackney_example()


class PrioritisationPolicyVersion(Versioned):
    data = models.JSONField(default=default_policy, help_text="Weights and ordered rules (docs/prioritisation.md).")
    allocation = models.JSONField(default=dict, blank=True, help_text='Skills a case needs, e.g. {"needs": {"vulnerable": "vulnerability", "step": "court"}}')
    challenger = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   help_text="Another version tried on a share of people (champion / challenger).")
    challenger_percent = models.PositiveSmallIntegerField(default=0)
    challenger_seed = models.CharField(max_length=40, blank=True, help_text="Keeps the split the same every night; change it to draw a new one.")

    def __str__(self) -> str:
        return f"Prioritisation policy from {self.effective_from}" + (f" ({self.note})" if self.note else "")

    def clean(self) -> None:
        try:
            rules.Policy.from_dict(self.data or {})
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError({"data": f"{exc}. Fix the policy and save again."}) from exc
        if self.challenger_percent > 50:
            raise ValidationError({"challenger_percent": "A challenger may decide at most half of the cases."})
        if self.challenger_percent and not (self.challenger_id and self.challenger_seed):
            raise ValidationError({"challenger": "Choose the challenger version and a seed, or set the share to 0."})

    @property
    def policy(self) -> rules.Policy:
        return rules.Policy.from_dict(self.data)

    @classmethod
    def current(cls, on: dt.date | None = None) -> PrioritisationPolicyVersion:
        version = cls.in_force(on)
        if version is None:  # the shipped example, recorded so every decision names a version
            version = cls.objects.create(effective_from=dt.date(2000, 1, 1), note="the shipped example (Hackney weights)")
        return version


class DebtPriority(models.Model):
    debt = models.OneToOneField("accounts.Debt", primary_key=True, on_delete=models.CASCADE, related_name="priority")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="debt_priorities")
    score = models.FloatField()
    contributions = models.JSONField(default=dict)
    segment = models.CharField(max_length=10, choices=list(SEGMENTS.items()))
    segment_rule = models.CharField(max_length=60, blank=True)
    rag = models.CharField(max_length=5, choices=list(RAGS.items()))
    rag_rule = models.CharField(max_length=60, blank=True)
    action = models.CharField(max_length=60)
    action_rule = models.CharField(max_length=60, blank=True)
    overlaps = models.PositiveSmallIntegerField(default=0)
    variant = models.CharField(max_length=12, default="champion")
    policy_version = models.ForeignKey(PrioritisationPolicyVersion, on_delete=models.PROTECT, related_name="+")
    decided_on = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["segment", "-score"])]


class PersonPriority(models.Model):
    person = models.OneToOneField("people.Person", primary_key=True, on_delete=models.CASCADE, related_name="priority")
    lead_debt = models.ForeignKey("accounts.Debt", null=True, on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField()
    segment = models.CharField(max_length=10, choices=list(SEGMENTS.items()))
    rag = models.CharField(max_length=5, choices=list(RAGS.items()))
    action = models.CharField(max_length=60)
    action_kind = models.CharField(max_length=12, choices=list(KINDS.items()))
    variant = models.CharField(max_length=12, default="champion")
    debts = models.PositiveIntegerField(default=0)
    arrears_pence = models.BigIntegerField(default=0)
    area = models.CharField(max_length=4, blank=True)
    policy_version = models.ForeignKey(PrioritisationPolicyVersion, on_delete=models.PROTECT, related_name="+")
    decided_on = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["segment", "rag", "-score"]), models.Index(fields=["action_kind", "area"])]


class Officer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="officer")
    team = models.CharField(max_length=60, blank=True)
    workstreams = models.JSONField(default=list, help_text='Any of "prevent", "resolve", "recover".')
    skills = models.JSONField(default=list, blank=True, help_text='e.g. "vulnerability", "court", "leasehold".')
    languages = models.JSONField(default=list, blank=True)
    capacity = models.PositiveIntegerField(default=60, help_text="Cases at once.")
    away_until = models.DateField(null=True, blank=True, help_text="Away up to and including this day: cases go to others.")

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username

    def away(self, on: dt.date) -> bool:
        return self.away_until is not None and on <= self.away_until


class Allocation(models.Model):
    """Who holds a case. A new row for each change; the current one has no end date."""

    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="allocations")
    officer = models.ForeignKey(Officer, on_delete=models.PROTECT, related_name="allocations")
    allocated_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person"], condition=Q(ended_on__isnull=True), name="one_current_allocation")]


class CaseAction(models.Model):
    """The action history: what an officer did about a person, and what came of it."""

    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="case_actions")
    debt = models.ForeignKey("accounts.Debt", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=60)
    kind = models.CharField(max_length=12, choices=list(KINDS.items()))
    outcome = models.CharField(max_length=30)
    notes = models.TextField(blank=True)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prompted_on = models.DateField(null=True, blank=True, help_text="The night's decision that prompted it.")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["person", "-recorded_at"])]

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.kind, {}).get(self.outcome, self.outcome)
