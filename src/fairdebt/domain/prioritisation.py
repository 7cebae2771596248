"""Prioritisation policy: features -> score (with each factor's contribution), workstream
(Prevent / Resolve / Recover), RAG, and the next recommended action. Pure Python, no Django.

A policy is data (councils edit it as a versioned record): weights, and ordered rules whose
conditions compare features with values. The same policy runs two ways:

- here, on one debt's features (a dict), to explain a decision to an officer and in tests;
- in `fairdebt.batch.prioritise`, compiled to Ibis expressions, on every debt at once (DuckDB,
  or Spark). tests/unit/test_prioritise_batch.py proves the two agree.

Rules: the first rule whose conditions all hold decides (segment, RAG, action). For actions,
every other rule that also matched is reported as an overlap, never hidden.

Features are integers or short strings (money in pence, time in days), so scores are the only
floats: a score is an ordering, never money.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FEATURES", "OPS", "Condition", "Decision", "Policy", "Rule", "challenger_share", "decide", "hackney_example"]

# Every feature a rule or weight may name: (type, meaning). Money in pence; time in days.
FEATURES: dict[str, tuple[str, str]] = {
    "account_type": ("str", "the service (council_tax, housing_rent, ...)"),
    "tenure": ("str", "rent tenure (secure, temporary_accommodation, garage ...)"),
    "balance": ("int", "balance, pence"),
    "arrears": ("int", "arrears (overdue and unpaid), pence"),
    "ongoing": ("int", "charged but not yet due, pence"),
    "charge_amount": ("int", "the latest regular charge (a week's rent, an instalment), pence"),
    "arrears_periods": ("int", "arrears in whole charge periods: weeks of rent, missed instalments"),
    "days_since_last_payment": ("int", "days since the last payment (since the first charge if none)"),
    "payments_90d": ("int", "payments in the last 90 days"),
    "payments_365d": ("int", "payments in the last 365 days"),
    "last_payment": ("int", "the last payment, pence"),
    "payment_amount_delta": ("int", "change in payment amounts (p1-p2)-(p2-p3), pence, absolute"),
    "payment_date_delta": ("int", "change in payment intervals (d1-d2)-(d2-d3), days, absolute"),
    "payments_falling": ("int", "1 when the last payment was smaller than the one before"),
    "uc_started_days": ("int", "days since the first Universal Credit payment (null: none)"),
    "recovery_stage": ("str", "the recovery stage recorded by the source system"),
    "stage_days": ("int", "days since the recovery stage was reached"),
    "held": ("int", "1 when a hold stops recovery on this debt today"),
    "vulnerable": ("int", "1 when the person has a vulnerability recorded"),
    "arrangement_live": ("int", "1 when an arrangement covers this debt (from the arrangements issue)"),
    "broken_arrangements": ("int", "arrangements broken in the last year"),
    "days_since_contact": ("int", "days since we last sent something to the person (null: never)"),
    "services_owed": ("int", "how many services the person owes"),
    "person_arrears": ("int", "the person's arrears across all services, pence"),
    "priority_share": ("int", "priority debts' share of the person's arrears, percent"),
}
OPS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "is_null", "not_null")
SEGMENTS = ("prevent", "resolve", "recover", "none")
MAX_RULES = 1000
RAGS = ("red", "amber", "green")


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.feature not in FEATURES:
            raise ValueError(f"unknown feature {self.feature!r}; known: {', '.join(FEATURES)}")
        if self.op not in OPS:
            raise ValueError(f"unknown comparison {self.op!r}; use one of {', '.join(OPS)}")
        if self.op in {"in", "not_in"}:
            if not isinstance(self.value, (list, tuple)) or not self.value:
                raise ValueError(f"{self.feature} {self.op}: give a non-empty list")
            object.__setattr__(self, "value", tuple(self.value))
        elif self.op not in {"is_null", "not_null"}:
            kind = FEATURES[self.feature][0]
            if kind == "int" and (isinstance(self.value, bool) or not isinstance(self.value, int)):
                raise ValueError(f"{self.feature} is a whole number (pence or days): {self.value!r} is not")
            if kind == "str" and not isinstance(self.value, str):
                raise ValueError(f"{self.feature} is text: {self.value!r} is not")

    def holds(self, features: Mapping[str, Any]) -> bool:
        x = features.get(self.feature)
        if self.op == "is_null":
            return x is None
        if self.op == "not_null":
            return x is not None
        if x is None:
            return False  # as SQL: a comparison with nothing is not true
        return {
            "==": lambda: x == self.value, "!=": lambda: x != self.value, ">": lambda: x > self.value,
            ">=": lambda: x >= self.value, "<": lambda: x < self.value, "<=": lambda: x <= self.value,
            "in": lambda: x in self.value, "not_in": lambda: x not in self.value,
        }[self.op]()

    def describe(self) -> str:
        words = {"==": "is", "!=": "is not", ">": ">", ">=": "≥", "<": "<", "<=": "≤", "in": "is one of", "not_in": "is not one of"}
        if self.op in {"is_null", "not_null"}:
            return f"{self.feature} {'is not known' if self.op == 'is_null' else 'is known'}"
        value = ", ".join(map(str, self.value)) if isinstance(self.value, tuple) else self.value
        return f"{self.feature} {words[self.op]} {value}"

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Condition:
        return cls(data["feature"], data["op"], data.get("value"))


@dataclass(frozen=True)
class Rule:
    name: str  # unique within its list; stored with every decision
    outcome: str  # the segment, RAG or action
    when: tuple[Condition, ...] = ()
    account_types: tuple[str, ...] = ()  # empty: any
    min_score: float | None = None  # for RAG rules on the score

    @property
    def catch_all(self) -> bool:
        """A rule with no conditions: the default at the end of a list; never reported as an overlap."""
        return not self.when and not self.account_types and self.min_score is None

    def matches(self, features: Mapping[str, Any], score: float) -> bool:
        if self.account_types and features.get("account_type") not in self.account_types:
            return False
        if self.min_score is not None and score < self.min_score:
            return False
        return all(c.holds(features) for c in self.when)

    def describe(self) -> str:
        parts = [c.describe() for c in self.when]
        if self.account_types:
            parts.insert(0, f"service is {' or '.join(self.account_types)}")
        if self.min_score is not None:
            parts.append(f"score ≥ {self.min_score:g}")
        return " and ".join(parts) or "always"

    @classmethod
    def parse(cls, data: Mapping[str, Any], outcome_key: str) -> Rule:
        unknown = set(data) - {"name", outcome_key, "when", "account_types", "min_score"}
        if unknown:
            raise ValueError(f"rule {data.get('name')!r}: unknown settings {', '.join(sorted(unknown))}")
        return cls(
            name=str(data["name"]), outcome=str(data[outcome_key]),
            when=tuple(Condition.parse(c) for c in data.get("when", ())),
            account_types=tuple(data.get("account_types", ())), min_score=data.get("min_score"),
        )


@dataclass(frozen=True)
class Policy:
    weights: Mapping[str, float]
    segments: tuple[Rule, ...]
    rags: tuple[Rule, ...]
    actions: tuple[Rule, ...]
    scale: float = 1.0  # score = scale * sum(weight * feature)
    actions_kinds: Mapping[str, str] = field(default_factory=dict)  # action -> letter | sms | call | home_visit | review | step | none

    def __post_init__(self) -> None:
        for f in self.weights:
            if f not in FEATURES or FEATURES[f][0] != "int":
                raise ValueError(f"weight on {f!r}: only numeric features can be weighted")
        for rules, allowed, what in ((self.segments, SEGMENTS, "segment"), (self.rags, RAGS, "RAG")):
            for r in rules:
                if r.outcome not in allowed:
                    raise ValueError(f"{what} rule {r.name!r}: {r.outcome!r} is not one of {', '.join(allowed)}")
        for rules in (self.segments, self.rags, self.actions):
            names = [r.name for r in rules]
            if len(names) != len(set(names)):
                raise ValueError("rule names must be unique within each list")
            if len(rules) > MAX_RULES:
                raise ValueError(f"at most {MAX_RULES} rules in each list (a decision stores the rule's number)")
        missing = {r.outcome for r in self.actions} - set(self.actions_kinds)
        if self.actions_kinds and missing:
            raise ValueError(f"actions without a kind: {', '.join(sorted(missing))}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        unknown = set(data) - {"weights", "scale", "segments", "rags", "actions", "action_kinds"}
        if unknown:
            raise ValueError(f"unknown policy settings: {', '.join(sorted(unknown))}")
        return cls(
            weights={k: float(v) for k, v in data.get("weights", {}).items()},
            segments=tuple(Rule.parse(r, "segment") for r in data.get("segments", ())),
            rags=tuple(Rule.parse(r, "rag") for r in data.get("rags", ())),
            actions=tuple(Rule.parse(r, "action") for r in data.get("actions", ())),
            scale=float(data.get("scale", 1.0)), actions_kinds=dict(data.get("action_kinds", {})),
        )

    def kind_of(self, action: str) -> str:
        return self.actions_kinds.get(action, "none")


@dataclass(frozen=True)
class Decision:
    score: float
    contributions: dict[str, float]
    segment: str
    segment_rule: str
    rag: str
    rag_rule: str
    action: str
    action_rule: str
    overlaps: tuple[str, ...]  # other action rules that also matched, in order

    def why(self, policy: Policy) -> list[str]:
        """The decision in words: the biggest contributions, then each rule that fired."""
        rules = {r.name: r for r in (*policy.segments, *policy.rags, *policy.actions)}
        top = sorted(((v, k) for k, v in self.contributions.items() if v), reverse=True)[:4]
        lines = [f"Score {self.score:.2f}: " + ", ".join(f"{k.replace('_', ' ')} {v:+.2f}" for v, k in top) if top else f"Score {self.score:.2f}"]
        for label, outcome, name in (("Workstream", self.segment, self.segment_rule), ("RAG", self.rag, self.rag_rule), ("Next action", self.action, self.action_rule)):
            rule = rules.get(name)
            lines.append(f"{label} {outcome.replace('_', ' ')}: " + (f"rule ‘{name}’ ({rule.describe()})" if rule else "no rule matched (default)"))
        if self.overlaps:
            lines.append("Also matched: " + ", ".join(self.overlaps))
        return lines


def score(policy: Policy, features: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
    """Each weighted feature's contribution, value x (scale x weight), and their sum in the
    policy's order. Not rounded: the batch multiplies and adds the same doubles in the same order,
    so a score is identical on every engine (rounding is for display)."""
    contributions = {f: float(features.get(f) or 0) * factor(policy, f) for f in policy.weights}
    total = 0.0
    for value in contributions.values():  # not sum(): from Python 3.12 it compensates float rounding
        total += value
    return total, contributions


def factor(policy: Policy, feature: str) -> float:
    return policy.scale * policy.weights[feature]


def decide(policy: Policy, features: Mapping[str, Any]) -> Decision:
    total, contributions = score(policy, features)

    def first(rules: tuple[Rule, ...], default: str) -> tuple[str, str, list[str]]:
        hits = [r for r in rules if r.matches(features, total)]
        return (hits[0].outcome, hits[0].name, [r.name for r in hits[1:] if not r.catch_all]) if hits else (default, "", [])

    segment, segment_rule, _ = first(policy.segments, "none")
    rag, rag_rule, _ = first(policy.rags, "green")
    action, action_rule, overlaps = first(policy.actions, "no_action")
    return Decision(total, contributions, segment, segment_rule, rag, rag_rule, action, action_rule, tuple(overlaps))


# A person's lead debt: the limits of the ranking (batch.people packs it into one 128-bit number).
LEAD_SCORE_RANGE = (-1e9, 3.9e12)  # scores outside rank as the nearest end
LEAD_ARREARS_CAP = 899_999_999  # pence: more arrears than this (£9M) rank equal
LEAD_ID_DIGITS = 10  # ties of everything else go to the lowest debt id (its last ten digits)


def lead_rank(busy: bool, score: float, arrears: int, debt_id: int) -> tuple[int, int, int, int]:
    """How a person's lead debt is chosen: the largest rank among their debts leads. Work first (a
    workstream), then the highest score (to a millionth), the most arrears, the lowest debt id: one
    lead for the same decisions, whatever order the debts come in."""
    low, high = LEAD_SCORE_RANGE
    return (int(busy), math.floor((min(max(score, low), high) - low) * 1e6), min(max(arrears, 0), LEAD_ARREARS_CAP),
            -(debt_id % 10**LEAD_ID_DIGITS))


def challenger_share(person_id: int, seed: str, percent: int) -> bool:
    """Is this person in the challenger's share? Reproducible: a hash of the seed and the person."""
    digest = hashlib.sha256(f"{seed}:{person_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def _c(feature, op, value=None):
    return {"feature": feature, "op": op, "value": value} if value is not None else {"feature": feature, "op": op}


ESCALATED = ["summons", "liability_order", "enforcement_agent", "nosp", "court_claim", "possession_order", "warrant",
             "charge_certificate", "order_for_recovery", "letter_before_action"]


def hackney_example() -> dict:
    """The shipped example policy: Hackney's 2018-20 weights (reference/hackney-manage-arrears.md),
    Southwark's Prevent / Resolve / Recover workstreams, and Hackney's rent actions, extended to the
    other services. A council copies and edits it as a new version."""
    return {
        # Hackney: balance 1.2/£ but the final score subtracts the balance, leaving 0.2/£; days since
        # payment x weeks; payment amount and date deltas; broken agreements 50; NOSP 50; all / 10.
        "scale": 0.1,
        "weights": {
            "arrears": 0.002,  # 0.2 per pound
            "arrears_periods": 10.5,  # 1.5 per day in arrears, counted in weeks
            "days_since_last_payment": 1.0,
            "payment_amount_delta": 0.01,  # 1 per pound
            "payment_date_delta": 5.0,
            "broken_arrangements": 50.0,
            "arrangement_live": 100.0,
            "services_owed": 20.0,
        },
        "segments": [
            {"name": "held", "segment": "none", "when": [_c("held", "==", 1)]},
            {"name": "escalated", "segment": "recover", "when": [_c("arrears", ">", 0), _c("recovery_stage", "in", ESCALATED)]},
            {"name": "long_arrears_no_payment", "segment": "recover", "when": [_c("arrears_periods", ">=", 8), _c("days_since_last_payment", ">=", 60)]},
            {"name": "arrangement", "segment": "resolve", "when": [_c("arrears", ">", 0), _c("arrangement_live", "==", 1)]},
            {"name": "in_arrears_and_paying", "segment": "resolve", "when": [_c("arrears", ">", 0), _c("days_since_last_payment", "<=", 35)]},
            {"name": "in_arrears_not_paying", "segment": "recover", "when": [_c("arrears_periods", ">=", 2)]},
            {"name": "first_missed_payment", "segment": "prevent", "when": [_c("arrears_periods", "==", 1)]},
            {"name": "falling_payments", "segment": "prevent", "when": [_c("payments_falling", "==", 1), _c("payments_90d", ">=", 1)]},
            {"name": "new_universal_credit", "segment": "prevent", "when": [_c("uc_started_days", "<=", 60)]},
            {"name": "small_arrears", "segment": "prevent", "when": [_c("arrears", ">", 0)]},
        ],
        "rags": [
            {"name": "red_score", "rag": "red", "min_score": 50.0, "when": []},
            {"name": "red_balance", "rag": "red", "when": [_c("arrears", ">", 104900)]},
            {"name": "red_weeks", "rag": "red", "when": [_c("arrears_periods", ">", 30), _c("account_type", "==", "housing_rent")]},
            {"name": "red_broken", "rag": "red", "when": [_c("broken_arrangements", ">", 2)]},
            {"name": "amber_score", "rag": "amber", "min_score": 15.0, "when": [_c("arrangement_live", "==", 0)]},
            {"name": "amber_balance", "rag": "amber", "when": [_c("arrears", ">", 35000)]},
            {"name": "amber_weeks", "rag": "amber", "when": [_c("arrears_periods", ">", 15)]},
            {"name": "amber_nosp", "rag": "amber", "when": [_c("recovery_stage", "==", "nosp")]},
        ],
        "actions": [
            {"name": "on_hold", "action": "no_action_held", "when": [_c("held", "==", 1)]},
            {"name": "nothing_owed", "action": "no_action", "when": [_c("arrears", "<=", 0)]},
            {"name": "vulnerable_recover", "action": "home_visit", "when": [_c("vulnerable", "==", 1), _c("arrears_periods", ">=", 4)]},
            # Rent (Hackney's rulesets, simplified to what the extracts record).
            {"name": "rent_court_warning", "action": "send_court_warning_letter", "account_types": ["housing_rent"],
             "when": [_c("recovery_stage", "==", "nosp"), _c("arrears_periods", ">=", 4), _c("stage_days", ">=", 28)]},
            {"name": "rent_nosp", "action": "serve_nosp", "account_types": ["housing_rent"],
             "when": [_c("arrears_periods", ">=", 4), _c("recovery_stage", "in", ["second_reminder"])]},
            {"name": "rent_letter_two", "action": "send_letter_two", "account_types": ["housing_rent"],
             "when": [_c("recovery_stage", "==", "reminder"), _c("stage_days", ">=", 14), _c("arrears", ">=", 1000)]},
            {"name": "rent_letter_one", "action": "send_letter_one", "account_types": ["housing_rent"],
             "when": [_c("recovery_stage", "==", "none"), _c("arrears", ">=", 1000)]},
            {"name": "rent_first_sms", "action": "send_sms", "account_types": ["housing_rent"],
             "when": [_c("arrears", ">=", 500), _c("arrears", "<", 1000)]},
            {"name": "rent_falling", "action": "phone_call", "account_types": ["housing_rent"], "when": [_c("payments_falling", "==", 1)]},
            # Council tax and business rates (SI 1992/613: reminder, final notice, summons, liability order).
            {"name": "ctax_reminder", "action": "send_reminder", "account_types": ["council_tax", "business_rates"],
             "when": [_c("recovery_stage", "in", ["none", "invoice"])]},
            {"name": "ctax_final", "action": "send_final_notice", "account_types": ["council_tax", "business_rates"],
             "when": [_c("recovery_stage", "in", ["reminder", "second_reminder"]), _c("stage_days", ">=", 14)]},
            {"name": "ctax_summons", "action": "request_summons", "account_types": ["council_tax", "business_rates"],
             "when": [_c("recovery_stage", "==", "final_notice"), _c("stage_days", ">=", 14)]},
            {"name": "ctax_enforcement", "action": "refer_to_enforcement_agent", "account_types": ["council_tax", "business_rates"],
             "when": [_c("recovery_stage", "==", "liability_order"), _c("days_since_last_payment", ">=", 28)]},
            # Everything else owed.
            {"name": "long_silence_call", "action": "phone_call", "when": [_c("days_since_last_payment", ">=", 60)]},
            {"name": "reminder", "action": "send_reminder", "when": [_c("recovery_stage", "in", ["none", "invoice"])]},
            {"name": "review", "action": "review_case", "when": []},
        ],
        "action_kinds": {
            "no_action_held": "none", "no_action": "none", "home_visit": "home_visit", "send_court_warning_letter": "letter",
            "serve_nosp": "step", "send_letter_two": "letter", "send_letter_one": "letter", "send_sms": "sms",
            "phone_call": "call", "send_reminder": "letter", "send_final_notice": "letter", "request_summons": "step",
            "refer_to_enforcement_agent": "step", "review_case": "review",
        },
    }
