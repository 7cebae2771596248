"""Holds, and the one decision every outbound action asks first: `may_act(person, debt, action, on)`.

Pure Python: no Django, no clock (the date is an argument), no I/O. The Django app
`fairdebt.holds` stores holds and suppressions; every sender in the product (letters, SMS,
email, pathway steps, fees and charges, enforcement referrals, write-backs that ask for
payment) reaches the outside world only through a choke point that calls `may_act` and keeps
each refusal as a suppression record (tests/integration/test_guard_senders.py proves it).

The model
---------
A *hold* is something that stops the council acting: a Breathing Space moratorium, a mental
health crisis moratorium, a vulnerability with its agreed effects, a dispute, a complaint, a
death, an insolvency, a pending housing benefit or Universal Credit claim (rent), a referral to
debt advice, or an officer's pause. Each has a start, an optional last day (`until`), and a
scope: the debts it lists (Breathing Space, insolvency, dispute: these protect a debt whoever
is asked to pay it, so joint debtors are covered too, DOMAIN.md s.1), or every debt of the
person (optionally only some account types).

An *action* is a kind (letter, SMS, fee, enforcement referral ...) and a purpose: does it ask
for arrears or escalate (`recovery`), bill a current instalment or rent (`ongoing`), answer the
resident (`requested`), go to their debt adviser, the estate, or tell an agent to stop? Fees,
interest, penalties, enforcement referrals, court action and possession notices are recovery
whatever purpose a caller claims.

Each hold carries *effects* (what it stops), from versioned policy (`HoldPolicy`):

- `stop_recovery`: no demand for payment of arrears and no escalation of any kind;
- `freeze_charges`: no fee, interest or penalty, whatever the purpose;
- `pause_enforcement`: no escalation (pathway steps, fees, enforcement agents, court), though
  reminders may still go;
- `no_enforcement_agents`: no referral to enforcement agents;
- `no_court`: no court action or possession notice;
- `stop_contact`: no contact with the resident at all, except the estate, their adviser, a
  complaint reply, and notices telling agents to stop (deceased);
- `letters_only`: no SMS or email (a need the resident told us about).

and *adjustments* that do not refuse but change how the action is done: `specialist_team`,
`supportive_tone`, `longer_waits`, and, for an ongoing bill during Breathing Space,
`moratorium_wording`.

Refusals are deterministic: the holds are considered in a fixed order (`HOLD_KINDS`), so the
same facts always give the same reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Protocol

from fairdebt.domain.summary import format_date

__all__ = [
    "ACTION_KINDS",
    "CONTACT_KINDS",
    "EFFECTS",
    "HOLD_KINDS",
    "PAUSE_REASONS",
    "PURPOSES",
    "Action",
    "Decision",
    "Hold",
    "HoldPolicy",
    "breathing_space_eligibility",
    "is_demand",
    "may_act",
]

# Hold kinds, in the order a refusal is explained (most serious first), with the officer's name.
HOLD_KINDS = {
    "deceased": "Deceased",
    "breathing_space": "Breathing Space",
    "mental_health_crisis": "Mental health crisis Breathing Space",
    "insolvency": "Insolvency",
    "vulnerability": "Vulnerability",
    "dispute": "Dispute",
    "complaint": "Complaint",
    "benefit_claim_pending": "Benefit claim pending",
    "debt_advice": "Referred to debt advice",
    "pause": "Paused",
}
_ORDER = {kind: n for n, kind in enumerate(HOLD_KINDS)}

# Hackney's pause reasons (shared/reference/hackney-manage-arrears.md), the shipped defaults.
PAUSE_REASONS = {
    "CDS": "Court date set",
    "EDS": "Eviction date set",
    "MBH": "Delayed benefit",
    "POP": "Promise of payment",
    "DEC": "Deceased",
    "RMD": "Missing data",
    "CVB": "COVID-19 court order breached",
    "GEN": "Other",
}

INSOLVENCY_TYPES = {"dro": "Debt relief order", "iva": "Individual voluntary arrangement", "bankruptcy": "Bankruptcy"}

VULNERABILITY_DRIVERS = {
    "health": "Health",
    "life_events": "Life events",
    "resilience": "Resilience",
    "capability": "Capability",
}
SEVERITIES = ("low", "medium", "high")

# Contact with the resident (or about them) by a channel.
CONTACT_KINDS = frozenset({"letter", "sms", "email", "phone_call", "home_visit"})
# Steps that escalate recovery. Always a demand, whatever purpose the caller gives.
ESCALATION_KINDS = frozenset({"pathway_step", "enforcement_referral", "court_action", "possession_notice"})
CHARGE_KINDS = frozenset({"fee", "interest", "penalty"})
ACTION_KINDS = CONTACT_KINDS | ESCALATION_KINDS | CHARGE_KINDS | {"write_back"}

PURPOSES = {
    "recovery": "asks for payment of arrears or escalates recovery",
    "ongoing": "bills or collects a current instalment or current rent",
    "requested": "answers something the resident asked for",
    "adviser": "goes to the resident's debt adviser",
    "complaint": "deals with a complaint",
    "estate": "goes to the personal representative of someone who has died",
    "agent_stop": "tells an enforcement agent or other creditor's agent to stop",
    "information": "tells the resident something without asking for payment",
}
# Purposes that never ask anyone to pay and never reach the resident against their wishes.
_ALWAYS_ALLOWED = frozenset({"adviser", "complaint", "agent_stop"})

EFFECTS = {
    "stop_recovery": "no demand for arrears and no recovery step",
    "freeze_charges": "no fees, interest or penalties",
    "pause_enforcement": "no escalation: no pathway step, fee, enforcement agent or court action",
    "no_enforcement_agents": "no referral to enforcement agents",
    "no_court": "no court action or possession notice",
    "stop_contact": "no contact with the resident",
    "letters_only": "no SMS or email",
}
ADJUSTMENTS = {
    "specialist_team": "route to the specialist team",
    "supportive_tone": "use the supportive wording",
    "longer_waits": "wait longer between steps",
    "moratorium_wording": "use the wording allowed during Breathing Space",
}


@dataclass(frozen=True)
class Action:
    """What a sender wants to do. `kind` from ACTION_KINDS, `purpose` from PURPOSES."""

    kind: str
    purpose: str = "recovery"

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown action kind {self.kind!r}; known: {', '.join(sorted(ACTION_KINDS))}")
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r}; known: {', '.join(PURPOSES)}")


def is_demand(action: Action) -> bool:
    """Does this action ask for money that may be protected, or escalate recovery?"""
    return action.purpose == "recovery" or action.kind in ESCALATION_KINDS or action.kind in CHARGE_KINDS


@dataclass(frozen=True)
class Hold:
    kind: str
    start: dt.date
    until: dt.date | None = None  # the last day held; None = until ended
    effects: frozenset[str] = frozenset()
    adjustments: frozenset[str] = frozenset()
    debts: frozenset[int] | None = None  # the debts held; None = every debt of the person
    account_types: frozenset[str] = frozenset()  # with debts=None: only these types (empty = all)
    reason: str = ""
    ref: str = ""  # the hold's own reference, for the suppression record

    def __post_init__(self) -> None:
        if self.kind not in HOLD_KINDS:
            raise ValueError(f"unknown hold kind {self.kind!r}")
        unknown = set(self.effects) - set(EFFECTS)
        if unknown:
            raise ValueError(f"unknown effects {sorted(unknown)}")
        if self.until is not None and self.until < self.start:
            raise ValueError("a hold cannot end before it starts")

    @property
    def label(self) -> str:
        return HOLD_KINDS[self.kind]

    def active(self, on: dt.date) -> bool:
        return self.start <= on and (self.until is None or on <= self.until)

    def covers(self, debt: DebtLike | None) -> bool:
        if debt is None:
            return True  # an action about the person as a whole meets every hold they have
        if self.debts is not None:
            return debt.id in self.debts
        return not self.account_types or debt.account_type in self.account_types

    def sort_key(self) -> tuple:
        return (_ORDER[self.kind], self.start, self.ref)


class DebtLike(Protocol):
    id: int
    account_type: str
    holds: Iterable[Hold]  # holds that list this debt, whoever they were placed for (joint debtors)


class PersonLike(Protocol):
    holds: Iterable[Hold]  # every hold placed for this person


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    hold: Hold | None = None
    rule: str = ""  # the effect that refused, or "" when allowed
    adjustments: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed


def _refusal(hold: Hold, action: Action) -> str:
    """The effect of `hold` that refuses `action`, or ""."""
    effects, kind, purpose = hold.effects, action.kind, action.purpose
    if purpose in _ALWAYS_ALLOWED and kind not in CHARGE_KINDS and kind not in ESCALATION_KINDS:
        return ""
    if "stop_contact" in effects and kind in CONTACT_KINDS | {"write_back"} and purpose != "estate":
        return "stop_contact"
    if "freeze_charges" in effects and kind in CHARGE_KINDS:
        return "freeze_charges"
    if "stop_recovery" in effects and is_demand(action):
        return "stop_recovery"
    if "pause_enforcement" in effects and (kind in ESCALATION_KINDS or kind in CHARGE_KINDS):
        return "pause_enforcement"
    if "no_enforcement_agents" in effects and kind == "enforcement_referral":
        return "no_enforcement_agents"
    if "no_court" in effects and kind in {"court_action", "possession_notice"}:
        return "no_court"
    if "letters_only" in effects and kind in {"sms", "email"} and purpose != "requested":
        return "letters_only"
    return ""


def may_act(person: PersonLike, debt: DebtLike | None, action: Action, on: dt.date) -> Decision:
    """May the council do `action` about `debt` (or the person as a whole, debt=None) on `on`?

    The person's own holds apply to each of their debts (within the hold's scope); holds that
    list the debt apply whoever is asked (joint liability). The first refusal in HOLD_KINDS
    order is the answer; otherwise allowed, with the adjustments of every active hold.
    """
    holds = {id(h): h for h in person.holds}
    if debt is not None:
        holds.update({id(h): h for h in debt.holds})
    relevant = sorted((h for h in holds.values() if h.active(on) and h.covers(debt)), key=Hold.sort_key)
    for hold in relevant:
        rule = _refusal(hold, action)
        if rule:
            until = f" until {format_date(hold.until)}" if hold.until else ""
            why = f" ({hold.reason})" if hold.reason else ""
            return Decision(False, f"{hold.label}{until}{why}: {EFFECTS[rule]}.", hold, rule)
    adjustments = {a for h in relevant for a in h.adjustments}
    if action.purpose == "ongoing" and any(h.kind in {"breathing_space", "mental_health_crisis"} for h in relevant):
        adjustments.add("moratorium_wording")
    return Decision(True, adjustments=tuple(sorted(adjustments)))


# ---------------------------------------------------------------------------------------------
# Policy: versioned data (fairdebt.holds.models.HoldPolicyVersion stores it as JSON).


def _default_vulnerability_effects() -> dict[str, dict[str, list[str]]]:
    # Severity "high" on any driver pauses enforcement; health and capability need letters only
    # when the resident asks (set per record), so they are not defaulted here.
    return {
        driver: {
            "low": ["supportive_tone"],
            "medium": ["supportive_tone", "longer_waits", "no_enforcement_agents"],
            "high": ["supportive_tone", "specialist_team", "pause_enforcement", "no_enforcement_agents"],
        }
        for driver in VULNERABILITY_DRIVERS
    }


@dataclass(frozen=True)
class HoldPolicy:
    """What each hold stops, and the Breathing Space clock. Councils edit this as versioned data."""

    effects: dict[str, list[str]] = field(
        default_factory=lambda: {
            "breathing_space": ["stop_recovery", "freeze_charges"],
            "mental_health_crisis": ["stop_recovery", "freeze_charges"],
            "deceased": ["stop_contact", "stop_recovery", "freeze_charges"],
            "insolvency": ["stop_recovery", "freeze_charges"],
            "dispute": ["stop_recovery"],
            "complaint": ["pause_enforcement"],
            "benefit_claim_pending": ["no_court"],
            "debt_advice": ["stop_recovery"],
            "pause": ["stop_recovery"],
        }
    )
    vulnerability_effects: dict[str, dict[str, list[str]]] = field(default_factory=_default_vulnerability_effects)
    standard_days: int = 60  # counting the start day as day 1 (DOMAIN.md s.1)
    start_day_is_day_one: bool = True
    crisis_extra_days: int = 30
    midway_review_days: tuple[int, int] = (26, 35)  # day numbers, start day = day 1
    creditor_review_days: int = 20  # beginning with the start (or the day a debt was added)
    repeat_months: int = 12  # a standard moratorium ended within this many months is flagged
    debt_advice_days: int = 28
    excluded_account_types: tuple[str, ...] = ()  # debt types Breathing Space never covers here
    benefit_claim_account_types: tuple[str, ...] = ("housing_rent",)
    pause_reasons: dict[str, str] = field(default_factory=lambda: dict(PAUSE_REASONS))

    @classmethod
    def from_dict(cls, data: dict) -> HoldPolicy:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown hold policy settings: {', '.join(sorted(unknown))}")
        data = dict(data)
        if "midway_review_days" in data:
            data["midway_review_days"] = tuple(data["midway_review_days"])
        for key in ("excluded_account_types", "benefit_claim_account_types"):
            if key in data:
                data[key] = tuple(data[key])
        policy = cls(**data)
        policy.validate()
        return policy

    def to_dict(self) -> dict:
        """As JSON stores it (tuples become lists); `from_dict(to_dict())` gives the same policy."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def validate(self) -> None:
        for kind, effects in self.effects.items():
            if kind not in HOLD_KINDS or kind == "vulnerability":
                raise ValueError(f"hold policy: no hold kind {kind!r} (vulnerability effects are set per driver)")
            _check_effects(effects, f"hold policy for {kind}")
        for driver, by_severity in self.vulnerability_effects.items():
            if driver not in VULNERABILITY_DRIVERS:
                raise ValueError(f"hold policy: unknown vulnerability driver {driver!r}")
            for severity, effects in by_severity.items():
                if severity not in SEVERITIES:
                    raise ValueError(f"hold policy: unknown severity {severity!r} for {driver}")
                _check_effects(effects, f"vulnerability {driver}/{severity}", adjustments=True)
        lo, hi = self.midway_review_days
        if not 1 <= lo <= hi or self.standard_days < 1 or self.crisis_extra_days < 0 or self.debt_advice_days < 1:
            raise ValueError("hold policy: day counts must be positive and the review window in order")

    def split(self, names: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
        """Separate a configured list into refusing effects and adjustments."""
        names = set(names)
        return frozenset(names & set(EFFECTS)), frozenset(names & set(ADJUSTMENTS))

    def hold_effects(self, kind: str) -> frozenset[str]:
        return frozenset(self.effects.get(kind, ()))

    # -- Breathing Space clock (DOMAIN.md s.1) ----------------------------------------------

    def moratorium_start(self, registered_on: dt.date) -> dt.date:
        return registered_on + dt.timedelta(days=1)

    def standard_end(self, start: dt.date) -> dt.date:
        """The last protected day of a standard moratorium."""
        return start + dt.timedelta(days=self.standard_days - (1 if self.start_day_is_day_one else 0))

    def crisis_end(self, treatment_end: dt.date | None) -> dt.date | None:
        """A mental health crisis moratorium lasts while treatment does, plus 30 days; open while it goes on."""
        return None if treatment_end is None else treatment_end + dt.timedelta(days=self.crisis_extra_days)

    def midway_review_window(self, start: dt.date) -> tuple[dt.date, dt.date]:
        lo, hi = self.midway_review_days
        return start + dt.timedelta(days=lo - 1), start + dt.timedelta(days=hi - 1)

    def creditor_review_deadline(self, clock_start: dt.date) -> dt.date:
        """The last day the council may ask the adviser to review (20 days beginning with the start)."""
        return clock_start + dt.timedelta(days=self.creditor_review_days - 1)

    def repeat_within_limit(self, start: dt.date, earlier_standard_ends: Iterable[dt.date]) -> dt.date | None:
        """The end of an earlier standard moratorium within `repeat_months` before `start`, if any (reg 24(3)(g))."""
        floor = _months_before(start, self.repeat_months)
        recent = [end for end in earlier_standard_ends if floor <= end < start]
        return max(recent) if recent else None


def _check_effects(names: Iterable[str], where: str, adjustments: bool = False) -> None:
    allowed = set(EFFECTS) | (set(ADJUSTMENTS) - {"moratorium_wording"} if adjustments else set())
    unknown = set(names) - allowed
    if unknown:
        raise ValueError(f"{where}: unknown effects {', '.join(sorted(unknown))}; known: {', '.join(sorted(allowed))}")


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


# ---------------------------------------------------------------------------------------------
# Which debts a Breathing Space covers (reg 5(4); DOMAIN.md s.1).

# A reg 23(1) council tax reminder (or NNDR reg 8(1) further notice) has been served at these stages.
_REMINDED = frozenset(
    {
        "reminder", "second_reminder", "final_notice", "summons", "liability_order", "enforcement_agent",
        "attachment_of_earnings", "attachment_of_benefits", "deduction_from_benefit", "direct_earnings_attachment",
    }
)  # fmt: skip


@dataclass(frozen=True)
class EligibilityFacts:
    account_type: str
    balance: int  # pence
    arrears: int
    ongoing: int
    recovery_stage: str = "none"
    description: str = ""


def breathing_space_eligibility(debt: EligibilityFacts, policy: HoldPolicy) -> tuple[bool, str]:
    """Does a Breathing Space cover this debt, and why (in words for the adviser's report)?"""
    if debt.account_type in policy.excluded_account_types:
        return False, "this type of debt is excluded from Breathing Space by the council's policy"
    if debt.balance <= 0:
        return False, "nothing is owed"
    if debt.account_type in {"council_tax", "business_rates"}:
        notice = "reminder (reg 23(1))" if debt.account_type == "council_tax" else "further notice (reg 8(1))"
        if debt.recovery_stage in _REMINDED:
            return True, f"a {notice} has been served"
        if debt.ongoing == 0 and debt.arrears > 0:
            return True, "every instalment has fallen due and one is unpaid"
        return False, f"instalments are still to fall due and no {notice} has been served: this year is not a qualifying debt"
    return True, "a qualifying debt"
