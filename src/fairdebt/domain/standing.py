"""How long a decision stands when nothing happens: the days for which time alone cannot change a
debt's workstream, RAG, next action or overlaps (decision 0007).

Between one event on a debt (an entry, a debit falling due, a payment leaving a window, a new
recovery stage, a new picture of the person) and the next, the only features that move are the
day counts (`DAY_FEATURES`), each by one a day, and then only those that count from a date the
debt has (a debt with no payment and no charge counts nothing: its "days since the last payment"
stays 0). A rule's comparison of a day count with a value changes its answer at a day that can be
worked out, and so does a RAG rule's `min_score`, because the score moves by the growing
features' weights each day. So a night need decide again only the debts that moved and those
whose decision has run out of days, and it still comes out as deciding every debt afresh.

`stands_for` is conservative: it may say fewer days than the truth (a debt decided again too
early costs a little time), never more (a stale decision would be wrong). Pure Python, no Django.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from fractions import Fraction
from typing import Any

from fairdebt.domain.prioritisation import Condition, Policy, Rule, factor, score

__all__ = ["DAY_FEATURES", "HORIZON", "stands_for"]

# The features that count days from a date: each grows by one a day while its date stands.
DAY_FEATURES = ("days_since_last_payment", "uc_started_days", "stage_days", "days_since_contact")
# However long a decision could stand, it is made again after this many days: a yearly look at
# every debt, and a bound on the score's rounding (see _score_stands).
HORIZON = 365
_UNIT = Fraction(1, 2**53)  # a double's unit roundoff
_NEVER = 10**9  # a condition or score line that time alone never crosses


def stands_for(policy: Policy, features: Mapping[str, Any], growing: Collection[str], horizon: int = HORIZON) -> int:
    """The number of days d (0 <= d <= horizon) after the decision's day for which, on every day
    k = 0 .. d, the same features with each growing day count k days on give the same segment,
    RAG and action rules and the same overlaps. `growing`: the day counts that count from a date
    this debt has (a null count never grows). 0: decide it again tomorrow."""
    grow = {f for f in growing if f in DAY_FEATURES and features.get(f) is not None}
    if not grow:
        return horizon
    bound = horizon
    terms = _score_terms(policy, features, grow, horizon)  # the same for every score line
    for rule in (*policy.segments, *policy.rags, *policy.actions):
        moving = _moving(rule, features, grow)
        if moving is None:
            continue  # a fixed condition fails: the rule never matches, whatever the day
        for c in moving:
            bound = min(bound, _condition_stands(c, features[c.feature]))
        if rule.min_score is not None and terms is not None:
            bound = min(bound, _score_stands(terms, rule.min_score, horizon))
        if bound == 0:
            return 0
    return bound


def _moving(rule: Rule, features: Mapping[str, Any], grow: set[str]) -> list[Condition] | None:
    """The rule's conditions on growing day counts; None when a condition that time cannot move
    (or the rule's services) already fails, so the rule's answer is No on every day."""
    if rule.account_types and features.get("account_type") not in rule.account_types:
        return None
    moving = []
    for c in rule.when:
        if c.feature in grow and c.op not in {"is_null", "not_null"}:  # a growing count is never null: fixed
            moving.append(c)
        elif not c.holds(features):
            return None
    return moving


def _condition_stands(c: Condition, value: int) -> int:
    """Days for which `c` on a count at `value` today, one more each day, keeps today's answer.
    A comparison with a whole number x can change its answer only where the count reaches x or
    passes it (x - value or x - value + 1 days on), so those days are the only ones tried."""
    targets = c.value if isinstance(c.value, tuple) else (c.value,)
    today = c.holds({c.feature: value})
    for k in sorted({x - value + e for x in targets for e in (0, 1) if x - value + e >= 1}):
        if c.holds({c.feature: value + k}) != today:
            return k - 1
    return _NEVER


def _score_terms(policy: Policy, features: Mapping[str, Any], grow: set[str], horizon: int):
    """What every score line's bound needs: today's score (doubles, as domain.prioritisation.score
    gives it), the exact sum of the same doubles, the exact drift a day, and the rounding allowance.
    None when no weighted feature grows: the score stands still, and so does every line.

    The score on day k is the exact sum S + k * drift only to within a rounding bound (products and
    n - 1 additions of terms no larger than C: at most (n + 1) units of C); the allowance is twice it."""
    weighted = [f for f in policy.weights if factor(policy, f) != 0]
    moving = [f for f in weighted if f in grow]
    if not moving:
        return None
    total, _ = score(policy, features)
    exact = sum((Fraction(float(features.get(f) or 0)) * Fraction(factor(policy, f)) for f in weighted), Fraction(0))
    drift = sum((Fraction(factor(policy, f)) for f in moving), Fraction(0))
    size = sum((abs(Fraction(factor(policy, f))) * (abs(Fraction(float(features.get(f) or 0))) + (horizon if f in grow else 0))
                for f in weighted), Fraction(0))
    err = 2 * (len(weighted) + 1) * _UNIT * size  # twice the bound: generous, and still a tiny fraction of a point
    return total, exact, drift, err


def _score_stands(terms, min_score: float, horizon: int) -> int:
    """Days for which `score >= min_score` keeps today's answer as the growing weighted features
    add their factors to the score each day (`terms`: `_score_terms`). The answer is sure to stand
    while the score's interval stays on today's side of min_score; near the line, 0 days."""
    total, exact, drift, err = terms
    today = total >= min_score
    line = Fraction(min_score)
    if today:
        # stands while exact - err + k * drift >= line
        room = exact - err - line
        if room < 0:
            return 0
        return horizon if drift >= 0 else min(horizon, int(room / -drift))
    # stands while exact + err + k * drift < line
    room = line - exact - err
    if room <= 0:
        return 0
    if drift <= 0:
        return horizon
    k = room / drift  # stands for every whole day below k
    last = int(k) - 1 if k.denominator == 1 else int(k)
    return max(0, min(horizon, last))
