"""The guard's rules, the Breathing Space clock and eligibility: pure domain, no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdebt.domain import holds as h
from fairdebt.domain.vocabulary import ACCOUNT_TYPES

D = dt.date
POLICY = h.HoldPolicy()


@dataclass
class P:
    holds: list = field(default_factory=list)


@dataclass
class Dbt:
    id: int
    account_type: str = "council_tax"
    holds: list = field(default_factory=list)


def bs(start=D(2026, 3, 2), debts=(1,), **kw):
    return h.Hold("breathing_space", start, POLICY.standard_end(start), effects=POLICY.hold_effects("breathing_space"), debts=frozenset(debts), **kw)


def test_breathing_space_refuses_demands_fees_and_escalation_but_not_ongoing_or_requested():
    hold = bs()
    debt = Dbt(1, holds=[hold])
    person = P([hold])
    on = D(2026, 3, 10)
    for kind in ("letter", "sms", "email", "phone_call", "home_visit", "write_back"):
        d = h.may_act(person, debt, h.Action(kind, "recovery"), on)
        assert not d.allowed and d.rule == "stop_recovery" and d.hold is hold
        assert d.reason.startswith("Breathing Space until 30 April 2026")
    for kind in ("fee", "interest", "penalty"):
        for purpose in h.PURPOSES:
            d = h.may_act(person, debt, h.Action(kind, purpose), on)
            assert not d.allowed and d.rule == "freeze_charges", (kind, purpose)
    for kind in ("pathway_step", "enforcement_referral", "court_action", "possession_notice"):
        assert not h.may_act(person, debt, h.Action(kind, "ongoing"), on).allowed
    ongoing = h.may_act(person, debt, h.Action("letter", "ongoing"), on)
    assert ongoing.allowed and ongoing.adjustments == ("moratorium_wording",)
    for purpose in ("requested", "adviser", "complaint", "information"):
        assert h.may_act(person, debt, h.Action("letter", purpose), on).allowed


def test_hold_days_are_inclusive_and_other_debts_are_untouched():
    hold = bs()
    person = P([hold])
    held, other = Dbt(1, holds=[hold]), Dbt(2)
    demand = h.Action("letter")
    assert h.may_act(person, held, demand, D(2026, 3, 1)).allowed  # before the start
    assert not h.may_act(person, held, demand, D(2026, 3, 2)).allowed  # day 1
    assert not h.may_act(person, held, demand, D(2026, 4, 30)).allowed  # day 60
    assert h.may_act(person, held, demand, D(2026, 5, 1)).allowed  # day 61
    assert h.may_act(person, other, demand, D(2026, 3, 10)).allowed  # a non-moratorium debt
    # A demand about the person as a whole meets every hold they have.
    assert not h.may_act(person, None, demand, D(2026, 3, 10)).allowed


def test_a_moratorium_debt_is_protected_from_a_joint_debtor_too():
    hold = bs()
    debt = Dbt(1, holds=[hold])
    joint = P([])  # the other tenant has no hold of their own
    assert not h.may_act(joint, debt, h.Action("letter"), D(2026, 3, 5)).allowed


def test_a_person_wide_hold_does_not_follow_a_joint_debt_to_the_other_debtor():
    deceased = h.Hold("deceased", D(2026, 1, 1), effects=POLICY.hold_effects("deceased"))
    debt = Dbt(1)
    assert not h.may_act(P([deceased]), debt, h.Action("letter", "ongoing"), D(2026, 2, 1)).allowed
    assert h.may_act(P([deceased]), debt, h.Action("letter", "estate"), D(2026, 2, 1)).allowed
    assert h.may_act(P([]), debt, h.Action("letter"), D(2026, 2, 1)).allowed  # the surviving joint tenant


def test_benefit_claim_pending_stops_court_on_rent_only():
    hold = h.Hold("benefit_claim_pending", D(2026, 1, 1), effects=POLICY.hold_effects("benefit_claim_pending"), account_types=frozenset({"housing_rent"}))
    person = P([hold])
    rent, ctax = Dbt(1, "housing_rent"), Dbt(2, "council_tax")
    on = D(2026, 1, 5)
    assert not h.may_act(person, rent, h.Action("court_action"), on).allowed
    assert not h.may_act(person, rent, h.Action("possession_notice"), on).allowed
    assert h.may_act(person, rent, h.Action("letter"), on).allowed  # reminders still go
    assert h.may_act(person, ctax, h.Action("court_action"), on).allowed


def test_vulnerability_effects_and_adjustments():
    effects, adjustments = POLICY.split(POLICY.vulnerability_effects["health"]["high"])
    hold = h.Hold("vulnerability", D(2026, 1, 1), effects=effects, adjustments=adjustments)
    person, debt, on = P([hold]), Dbt(1), D(2026, 1, 2)
    assert not h.may_act(person, debt, h.Action("enforcement_referral"), on).allowed
    letter = h.may_act(person, debt, h.Action("letter"), on)
    assert letter.allowed and set(letter.adjustments) == {"specialist_team", "supportive_tone"}
    only_letters = h.Hold("vulnerability", D(2026, 1, 1), effects=frozenset({"letters_only"}))
    assert not h.may_act(P([only_letters]), debt, h.Action("sms", "ongoing"), on).allowed
    assert h.may_act(P([only_letters]), debt, h.Action("sms", "requested"), on).allowed


def test_refusals_are_explained_by_the_most_serious_hold_whatever_the_order():
    pause = h.Hold("pause", D(2026, 1, 1), D(2026, 2, 1), effects=frozenset({"stop_recovery"}), reason="Promise of payment")
    breathing = bs(D(2026, 1, 5))
    debt = Dbt(1, holds=[breathing])
    for person in (P([pause, breathing]), P([breathing, pause])):
        d = h.may_act(person, debt, h.Action("letter"), D(2026, 1, 10))
        assert d.hold is breathing
    d = h.may_act(P([pause]), Dbt(3), h.Action("letter"), D(2026, 1, 10))
    assert "Paused until 1 February 2026 (Promise of payment)" in d.reason


def test_unknown_kinds_and_purposes_are_refused_at_construction():
    with pytest.raises(ValueError):
        h.Action("carrier_pigeon")
    with pytest.raises(ValueError):
        h.Action("letter", "because")
    with pytest.raises(ValueError):
        h.Hold("pause", D(2026, 2, 1), D(2026, 1, 1))


# -- Breathing Space clock -------------------------------------------------------------------


def test_breathing_space_clock():
    registered = D(2026, 11, 2)
    start = POLICY.moratorium_start(registered)
    assert start == D(2026, 11, 3)
    assert POLICY.standard_end(start) == start + dt.timedelta(days=59)
    assert POLICY.midway_review_window(start) == (start + dt.timedelta(days=25), start + dt.timedelta(days=34))
    assert POLICY.creditor_review_deadline(start) == start + dt.timedelta(days=19)
    assert POLICY.crisis_end(None) is None
    assert POLICY.crisis_end(D(2027, 1, 10)) == D(2027, 2, 9)
    other = h.HoldPolicy(start_day_is_day_one=False)
    assert other.standard_end(start) == start + dt.timedelta(days=60)


@given(st.dates(D(2000, 1, 1), D(2100, 1, 1)), st.integers(0, 800))
def test_repeat_rule_flags_exactly_the_standard_moratoria_ended_in_the_last_12_months(start, days_before):
    ended = start - dt.timedelta(days=days_before)
    flagged = POLICY.repeat_within_limit(start, [ended])
    a_year_earlier = h._months_before(start, 12)
    assert (flagged == ended) == (a_year_earlier <= ended < start)


def test_months_before_clamps_to_month_end():
    assert h._months_before(D(2024, 2, 29), 12) == D(2023, 2, 28)
    assert h._months_before(D(2026, 3, 31), 1) == D(2026, 2, 28)


# -- eligibility ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts, eligible",
    [
        (h.EligibilityFacts("council_tax", 50000, 10000, 40000, "none"), False),  # instalments still to fall due
        (h.EligibilityFacts("council_tax", 50000, 10000, 40000, "reminder"), True),  # reg 23(1) reminder served
        (h.EligibilityFacts("council_tax", 10000, 10000, 0, "none"), True),  # all due, one unpaid
        (h.EligibilityFacts("business_rates", 90000, 0, 90000, "none"), False),
        (h.EligibilityFacts("business_rates", 90000, 30000, 60000, "final_notice"), True),
        (h.EligibilityFacts("housing_rent", 30000, 30000, 0), True),
        (h.EligibilityFacts("parking_pcn", 7000, 7000, 0), True),
        (h.EligibilityFacts("housing_benefit_overpayment", 100, 100, 0), True),
        (h.EligibilityFacts("housing_rent", -500, 0, 0), False),  # in credit
    ],
)
def test_breathing_space_eligibility(facts, eligible):
    ok, why = h.breathing_space_eligibility(facts, POLICY)
    assert ok is eligible and why


def test_excluded_types_are_configurable():
    policy = h.HoldPolicy(excluded_account_types=("sundry",))
    ok, why = h.breathing_space_eligibility(h.EligibilityFacts("sundry", 100, 100, 0), policy)
    assert not ok and "excluded" in why


def test_policy_round_trips_and_refuses_unknown_settings():
    assert h.HoldPolicy.from_dict(POLICY.to_dict()) == POLICY
    with pytest.raises(ValueError, match="unknown hold policy"):
        h.HoldPolicy.from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="unknown effects"):
        h.HoldPolicy.from_dict({"effects": {"dispute": ["shout"]}})


# -- the property: no demand for a held debt ever passes; permitted contact always does ------

kinds = st.sampled_from(sorted(h.HOLD_KINDS))
day = st.integers(0, 120).map(lambda n: D(2026, 1, 1) + dt.timedelta(days=n))


@st.composite
def held_world(draw):
    debts = [Dbt(i, draw(st.sampled_from(ACCOUNT_TYPES))) for i in range(draw(st.integers(1, 4)))]
    person = P([])
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(kinds)
        start = draw(day)
        until = draw(st.none() | st.integers(0, 90).map(lambda n, s=start: s + dt.timedelta(days=n)))
        if kind == "vulnerability":
            effects, adjustments = POLICY.split(POLICY.vulnerability_effects[draw(st.sampled_from(sorted(h.VULNERABILITY_DRIVERS)))][draw(st.sampled_from(h.SEVERITIES))])
        else:
            effects, adjustments = POLICY.hold_effects(kind), frozenset()
        scoped = draw(st.booleans())
        covered = frozenset(d.id for d in debts if draw(st.booleans())) if scoped else None
        hold = h.Hold(kind, start, until, effects=effects, adjustments=adjustments, debts=covered)
        person.holds.append(hold)
        for d in debts:
            if covered is not None and d.id in covered:
                d.holds.append(hold)
    return person, debts


@settings(max_examples=300)
@given(held_world(), st.sampled_from(sorted(h.ACTION_KINDS)), st.sampled_from(sorted(h.PURPOSES)), day)
def test_no_demand_for_a_debt_under_a_stopping_hold_ever_passes(world, kind, purpose, on):
    person, debts = world
    action = h.Action(kind, purpose)
    for debt in debts:
        decision = h.may_act(person, debt, action, on)
        stopping = [
            hold for hold in person.holds
            if hold.active(on) and hold.covers(debt) and {"stop_recovery", "stop_contact"} & hold.effects
        ]
        if stopping and h.is_demand(action):
            assert not decision.allowed, (hold, action)
        freezing = [hold for hold in person.holds if hold.active(on) and hold.covers(debt) and "freeze_charges" in hold.effects]
        if freezing and kind in h.CHARGE_KINDS:
            assert not decision.allowed
        # Permitted contact still goes: an ongoing bill, or a reply the resident asked for, by letter,
        # is refused only by a hold that stops all contact (a death).
        if kind == "letter" and purpose in {"ongoing", "requested", "adviser"}:
            blockers = [hold for hold in person.holds if hold.active(on) and hold.covers(debt) and "stop_contact" in hold.effects]
            assert decision.allowed == (not blockers or purpose == "adviser"), decision
        if not decision.allowed:
            assert decision.reason and decision.rule and decision.hold is not None
