"""Holds and what they stopped. The rules are in fairdebt.domain.holds; these tables remember.

- `HoldPolicyVersion`: the council's hold policy (effects per hold kind and vulnerability,
  the Breathing Space clock) as versioned data with an author.
- `Hold` (+ `HeldDebt`): one stop on action, for a person, with its effects copied from the
  policy version in force when it was placed (so a past decision can be explained).
- `Moratorium`, `RegisterNotice`, `ReviewRequest`: Breathing Space as DOMAIN.md s.1 says a
  creditor must record it.
- `Vulnerability`: FCA FG21/1 record; special category data, seen only with permission.
- `Suppression`: every action the guard refused, append-only: the proof of what we did not send.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from fairdebt.config.models import Versioned
from fairdebt.domain import holds as rules


def _choices(mapping):
    return [(k, v) for k, v in mapping.items()]


class HoldPolicyVersion(Versioned):
    data = models.JSONField(default=dict, help_text="Settings that differ from the shipped defaults (see docs/holds.md).")

    def __str__(self) -> str:
        return f"Hold policy from {self.effective_from}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        try:
            rules.HoldPolicy.from_dict(self.data or {})
        except (TypeError, ValueError) as exc:
            raise ValidationError({"data": str(exc)}) from exc

    @property
    def policy(self) -> rules.HoldPolicy:
        return rules.HoldPolicy.from_dict(self.data or {})

    @classmethod
    def current(cls, on: dt.date | None = None) -> tuple[rules.HoldPolicy, HoldPolicyVersion | None]:
        version = cls.in_force(on)
        return (version.policy if version else rules.HoldPolicy()), version


class Moratorium(models.Model):
    """A Breathing Space moratorium as the register (or an officer, from the register's email) told us."""

    TYPES = {"standard": "Standard", "mental_health_crisis": "Mental health crisis"}
    reference = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=24, choices=_choices(TYPES))
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="moratoria")
    registered_on = models.DateField()
    received_on = models.DateField(help_text="The day the notice reached the council: holds apply from then.")
    start_date = models.DateField()
    expected_end = models.DateField(null=True, blank=True, help_text="Empty for a mental health crisis moratorium.")
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    cancelled = models.BooleanField(default=False)
    adviser_name = models.CharField(max_length=200, blank=True)
    adviser_organisation = models.CharField(max_length=200, blank=True)
    adviser_fca_reference = models.CharField(max_length=40, blank=True)
    adviser_email = models.CharField(max_length=200, blank=True)
    adviser_phone = models.CharField(max_length=40, blank=True)
    flags = models.JSONField(default=list, help_text="Problems an officer must look at: repeats, overlaps, contradictions.")
    agents_notified_at = models.DateTimeField(null=True, blank=True)
    other_debts_report = models.JSONField(default=dict)
    other_debts_reported_at = models.DateTimeField(null=True, blank=True)
    court_told_at = models.DateTimeField(null=True, blank=True)
    policy_version = models.ForeignKey(HoldPolicyVersion, null=True, blank=True, on_delete=models.PROTECT)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "moratoria"
        ordering = ["-start_date", "reference"]

    def __str__(self) -> str:
        return f"Breathing Space {self.reference}"

    @property
    def last_day(self) -> dt.date | None:
        return self.ended_on or self.expected_end

    def active(self, on: dt.date) -> bool:
        return self.received_on <= on and (self.last_day is None or on <= self.last_day)


class HoldQuerySet(models.QuerySet):
    def active(self, on: dt.date):
        """Holds in force on `on`: started, and not yet past their last day."""
        return self.filter(start__lte=on).filter(Q(until__isnull=True) | Q(until__gte=on))


class Hold(models.Model):
    objects = HoldQuerySet.as_manager()

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="holds")
    kind = models.CharField(max_length=24, choices=_choices(rules.HOLD_KINDS))
    reason_code = models.CharField(max_length=20, blank=True, help_text="Pause reason, insolvency type or vulnerability driver.")
    reason = models.CharField(max_length=500, blank=True)
    start = models.DateField()
    until = models.DateField(null=True, blank=True, help_text="The last day held; empty = until ended.")
    scope_debts = models.BooleanField(default=False, help_text="Only the debts listed (HeldDebt), whoever pays them.")
    account_types = models.JSONField(default=list, blank=True)
    effects = models.JSONField(default=list)
    adjustments = models.JSONField(default=list, blank=True)
    policy_version = models.ForeignKey(HoldPolicyVersion, null=True, blank=True, on_delete=models.PROTECT)
    moratorium = models.ForeignKey(Moratorium, null=True, blank=True, on_delete=models.PROTECT, related_name="holds")
    vulnerability = models.ForeignKey("Vulnerability", null=True, blank=True, on_delete=models.PROTECT, related_name="holds")
    source = models.CharField(max_length=20, default="officer")  # officer | register | system
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    end_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["person", "until"]), models.Index(fields=["until"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=list(rules.HOLD_KINDS)), name="hold_kind_known"),
            models.CheckConstraint(condition=Q(until__isnull=True) | Q(until__gte=models.F("start")), name="hold_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.start}"

    @property
    def label(self) -> str:
        label = rules.HOLD_KINDS[self.kind]
        if self.kind == "pause" and self.reason_code:
            label += f": {rules.PAUSE_REASONS.get(self.reason_code, self.reason_code)}"
        elif self.kind == "insolvency" and self.reason_code:
            label += f" ({rules.INSOLVENCY_TYPES.get(self.reason_code, self.reason_code)})"
        return label

    def active(self, on: dt.date) -> bool:
        return self.start <= on and (self.until is None or on <= self.until)

    def rule(self, debt_ids: frozenset[int] | None = None) -> rules.Hold:
        """The domain form of this hold; `debt_ids` are the held debts when scoped to debts."""
        return rules.Hold(
            kind=self.kind, start=self.start, until=self.until, effects=frozenset(self.effects),
            adjustments=frozenset(self.adjustments), debts=(debt_ids or frozenset()) if self.scope_debts else None,
            account_types=frozenset(self.account_types), reason=self.reason or self.label, ref=f"H{self.pk}",
        )


class HeldDebt(models.Model):
    """A debt a hold lists, and when it was added (each Breathing Space debt has its own review clock)."""

    hold = models.ForeignKey(Hold, on_delete=models.PROTECT, related_name="held_debts")
    debt = models.ForeignKey("accounts.Debt", on_delete=models.PROTECT, related_name="held_by")
    added_on = models.DateField()
    why = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hold", "debt"], name="held_debt_once")]


class RegisterNotice(models.Model):
    """Every Breathing Space notification received, kept whether or not it could be applied.

    The debtor's name, date of birth and address are sealed in the identity vault (system
    `breathing_space`, keyed by the notice id); this row keeps initials and the debts listed.
    """

    STATUSES = {
        "applied": "Applied",
        "unmatched": "No matching person: match by hand",
        "ambiguous": "More than one possible person: choose",
        "conflict": "Contradicts what we hold: check",
        "duplicate": "Already received",
    }
    notice_id = models.CharField(max_length=60, unique=True)
    sequence = models.BigIntegerField(null=True, blank=True)
    event = models.CharField(max_length=30)
    source = models.CharField(max_length=20, default="register")  # register | officer
    moratorium_ref = models.CharField(max_length=40)
    moratorium_type = models.CharField(max_length=24, blank=True)
    registered_on = models.DateField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    debts = models.JSONField(default=list)
    adviser = models.JSONField(default=dict)
    ended = models.JSONField(null=True, blank=True)
    initials = models.CharField(max_length=8, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=_choices(STATUSES))
    problem = models.CharField(max_length=500, blank=True)
    candidates = models.JSONField(default=list, blank=True)  # person ids an officer can choose between
    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    moratorium = models.ForeignKey(Moratorium, null=True, blank=True, on_delete=models.PROTECT, related_name="notices")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]


class ReviewRequest(models.Model):
    """The council asking the adviser to review a moratorium or one of its debts (reg 17)."""

    GROUNDS = {
        "unfair_prejudice": "Unfairly prejudices the council's interests",
        "ineligible_debtor": "The debtor was not eligible",
        "debt_not_qualifying": "The debt does not qualify",
        "sufficient_funds": "The debtor has enough money to pay",
    }
    moratorium = models.ForeignKey(Moratorium, on_delete=models.PROTECT, related_name="review_requests")
    debt = models.ForeignKey("accounts.Debt", null=True, blank=True, on_delete=models.PROTECT)
    grounds = models.CharField(max_length=30, choices=_choices(GROUNDS))
    detail = models.TextField(blank=True)
    requested_on = models.DateField()
    outcome = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)


class Vulnerability(models.Model):
    """FCA FG21/1: driver, impact, duration, support needs, consent and its scope, review date."""

    DURATIONS = {"temporary": "Temporary", "long_term": "Long term", "permanent": "Permanent", "unknown": "Not known"}
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="vulnerabilities")
    driver = models.CharField(max_length=20, choices=_choices(rules.VULNERABILITY_DRIVERS))
    severity = models.CharField(max_length=10, choices=[(s, s.capitalize()) for s in rules.SEVERITIES])
    impact = models.TextField(help_text="How it affects the resident's dealings with us.")
    duration = models.CharField(max_length=12, choices=_choices(DURATIONS))
    support_needs = models.TextField(blank=True)
    letters_only = models.BooleanField(default=False, help_text="The resident asked for letters, not SMS or email.")
    consent_given = models.BooleanField()
    consent_scope = models.CharField(max_length=300, blank=True, help_text="Who may see and use this, as the resident agreed.")
    review_on = models.DateField()
    recorded_on = models.DateField(default=timezone.localdate)
    ended_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "vulnerabilities"
        permissions = [("view_vulnerability_details", "Can see vulnerability details (special category data)")]


class Suppression(models.Model):
    """An action the guard refused: who, which debt, what, which sender, which hold, why. Append-only."""

    person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="suppressions")
    debt = models.ForeignKey("accounts.Debt", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    hold = models.ForeignKey(Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="suppressions")
    action_kind = models.CharField(max_length=24)
    purpose = models.CharField(max_length=20)
    sender = models.CharField(max_length=120)
    rule = models.CharField(max_length=30)
    reason = models.CharField(max_length=500)
    detail = models.CharField(max_length=300, blank=True)  # e.g. the template or fee that was not sent
    decided_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "-created_at"])]


class RegisterFeed(models.Model):
    """Where our last pull from the Breathing Space register stopped (its opaque cursor)."""

    name = models.CharField(max_length=40, unique=True, default="breathing_space")
    cursor = models.CharField(max_length=200, blank=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
