"""Allocating a payment across debts: payer's choice, exact match, then the default rule."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdebt.domain.ledger import ALLOCATION_RULES, Allocation, Outstanding, allocate
from fairdebt.domain.money import Pence

# No example database: these tests must not write files into the working tree.
SETTINGS = settings(max_examples=200, deadline=None, database=None)
BASE = date(2022, 4, 1)

CT_2023 = Outstanding("ct-2023", 20000, oldest_due=date(2023, 5, 1), created=date(2023, 3, 10))
CT_2024 = Outstanding("ct-2024", 30000, oldest_due=date(2024, 5, 1), created=date(2024, 3, 10))
RENT = Outstanding("rent", 15000, oldest_due=date(2024, 9, 2), created=date(2019, 1, 7))
DEBTS = [RENT, CT_2024, CT_2023]  # deliberately not in date order


# --- worked examples -------------------------------------------------------------------------


def test_with_no_choice_the_oldest_debt_is_paid_first():
    a = allocate(25000, DEBTS)
    assert a == Allocation(
        parts=(("ct-2023", 20000), ("ct-2024", 5000)),
        unallocated=0,
        reason="default rule: oldest first",
    )
    assert a.allocated == 25000 and a.to("ct-2024") == 5000 and a.to("rent") == 0


def test_an_amount_that_matches_a_debt_goes_to_that_debt():
    a = allocate(15000, DEBTS)
    assert a.parts == (("rent", 15000),)
    assert a.reason == "exact amount match"


def test_the_payers_choice_comes_first_and_the_rest_goes_oldest_first():
    a = allocate(40000, DEBTS, payer_choice=["rent"])
    assert a.parts == (("rent", 15000), ("ct-2023", 20000), ("ct-2024", 5000))
    assert a.reason == "payer's choice, then default rule: oldest first for the rest"


def test_the_payers_choice_beats_an_exact_match():
    a = allocate(15000, DEBTS, payer_choice=["ct-2024"])
    assert a.parts == (("ct-2024", 15000),)
    assert a.reason == "payer's choice"


def test_the_payers_choice_is_followed_in_the_order_given():
    a = allocate(35000, DEBTS, payer_choice=["ct-2024", "ct-2023"])
    assert a.parts == (("ct-2024", 30000), ("ct-2023", 5000))


def test_what_is_left_once_everything_is_cleared_is_held_as_credit():
    a = allocate(100000, DEBTS)
    assert a.parts == (("ct-2023", 20000), ("ct-2024", 30000), ("rent", 15000))
    assert a.unallocated == 35000
    assert allocate(5000, []).unallocated == 5000


@pytest.mark.parametrize(
    ("rule", "parts", "words"),
    [
        ("oldest_first", (("ct-2023", 20000), ("ct-2024", 5000)), "oldest first"),
        ("newest_first", (("rent", 15000), ("ct-2024", 10000)), "newest first"),
        ("largest_first", (("ct-2024", 25000),), "largest first"),
        ("smallest_first", (("rent", 15000), ("ct-2023", 10000)), "smallest first"),
    ],
)
def test_the_default_rule_is_configurable(rule, parts, words):
    a = allocate(25000, DEBTS, rule=rule)
    assert a.parts == parts
    assert a.reason == f"default rule: {words}"


def test_several_exact_matches_go_to_the_oldest():
    older = Outstanding("b", 10000, oldest_due=date(2024, 1, 1), created=date(2024, 1, 1))
    newer = Outstanding("a", 10000, oldest_due=date(2024, 6, 1), created=date(2023, 1, 1))
    assert allocate(10000, [newer, older]).parts == (("b", 10000),)


def test_ties_are_broken_by_created_then_id():
    same = dict(oldest_due=date(2024, 1, 1))
    debts = [
        Outstanding("z", 100, created=date(2023, 1, 1), **same),
        Outstanding("b", 100, created=date(2024, 1, 1), **same),
        Outstanding("a", 100, created=date(2024, 1, 1), **same),
    ]
    assert [d for d, _ in allocate(250, debts).parts] == ["z", "a", "b"]


def test_cleared_debts_get_no_zero_parts():
    cleared = Outstanding("done", 0, oldest_due=date(2020, 1, 1), created=date(2020, 1, 1))
    a = allocate(500, [cleared, RENT], payer_choice=["done"])
    assert a.parts == (("rent", 500),)
    assert a.reason == "payer's choice, then default rule: oldest first for the rest"


@pytest.mark.parametrize("amount", [0, -100])
def test_only_a_positive_payment_can_be_allocated(amount):
    with pytest.raises(ValueError, match="positive"):
        allocate(amount, DEBTS)


def test_allocate_refuses_mistakes():
    with pytest.raises(ValueError, match="oldest_first, newest_first, largest_first"):
        allocate(100, DEBTS, rule="most_burdensome")
    with pytest.raises(ValueError, match="'parking'"):
        allocate(100, DEBTS, payer_choice=["rent", "parking"])
    with pytest.raises(ValueError, match="twice"):
        allocate(100, [RENT, RENT])
    with pytest.raises(TypeError):
        allocate(100.0, DEBTS)
    with pytest.raises(ValueError, match="negative"):
        Outstanding("x", -1, oldest_due=BASE, created=BASE)
    with pytest.raises(TypeError):
        Outstanding("x", 1.5, oldest_due=BASE, created=BASE)


# --- properties ------------------------------------------------------------------------------


def _debt(i, spec):
    outstanding, due, created = spec
    # Mixed int and str ids, as different source systems use both.
    return Outstanding(
        i if i % 2 else f"d{i}",
        outstanding,
        oldest_due=BASE + timedelta(due),
        created=BASE + timedelta(created),
    )


# Small ranges on purpose, so that ties, equal balances and cleared debts happen often.
debt_lists = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 100, 2500, 10000]) | st.integers(0, 50_000),
        st.integers(0, 6),
        st.integers(0, 6),
    ),
    max_size=8,
).map(lambda specs: [_debt(i, s) for i, s in enumerate(specs)])
amounts = st.integers(min_value=1, max_value=150_000)
rules = st.sampled_from(ALLOCATION_RULES)

# The rules as the specification states them, written out again here so the test can fail.
RULE_KEYS = {
    "oldest_first": lambda d: (d.oldest_due, d.created),
    "newest_first": lambda d: (-d.oldest_due.toordinal(), -d.created.toordinal()),
    "largest_first": lambda d: (-d.outstanding, d.oldest_due, d.created),
    "smallest_first": lambda d: (d.outstanding, d.oldest_due, d.created),
}


# Which debts a payer names, as positions in the list of debts (taken modulo its length).
picks = st.lists(st.integers(min_value=0, max_value=7), max_size=6)


def chosen_ids(debts, positions):
    """Some of the debts (perhaps none), in any order, as a payer might name them."""
    ids = [debts[i % len(debts)].debt for i in positions] if debts else []
    return list(dict.fromkeys(ids))  # each once, in the order first named


def check_sound(a: Allocation, amount: int, debts: list[Outstanding]) -> None:
    """No penny created or lost, no part too big, zero or negative, no debt paid twice."""
    owed = {d.debt: d.outstanding for d in debts}
    assert sum(p for _, p in a.parts) + a.unallocated == amount
    assert len({d for d, _ in a.parts}) == len(a.parts)
    for debt, part in a.parts:
        assert 0 < part <= owed[debt]
        assert type(part) is Pence
    # Money is held as credit only once every debt is cleared.
    assert a.unallocated == max(0, amount - sum(owed.values()))
    assert type(a.unallocated) is Pence


@SETTINGS
@given(debt_lists, amounts, rules, picks)
def test_the_payers_choice_is_honoured_first_and_no_penny_is_created_or_lost(
    debts, amount, rule, positions
):
    # The choice may be empty, which means no choice (check_sound covers that case too).
    ids = [d.debt for d in debts]
    chosen = chosen_ids(debts, positions)
    a = allocate(amount, debts, payer_choice=chosen, rule=rule)
    check_sound(a, amount, debts)
    owed = {d.debt: d.outstanding for d in debts}
    left = amount
    for debt in chosen:  # the chosen debts, in the order given, each up to what is owed
        assert a.to(debt) == min(left, owed[debt])
        left -= a.to(debt)
    paid_chosen = [c for c in chosen if a.to(c)]
    assert [d for d, _ in a.parts[: len(paid_chosen)]] == paid_chosen
    others_paid = sum(a.to(d) for d in ids if d not in chosen)
    assert others_paid == min(left, sum(owed[d] for d in ids if d not in chosen))
    if chosen:
        assert a.reason.startswith("payer's choice")


@SETTINGS
@given(debt_lists.filter(lambda ds: any(d.outstanding for d in ds)), rules, st.integers(0, 7))
def test_an_exact_match_takes_the_whole_payment(debts, rule, pick):
    owed = [d.outstanding for d in debts if d.outstanding]
    amount = owed[pick % len(owed)]
    a = allocate(amount, debts, rule=rule)
    matches = [d for d in debts if d.outstanding == amount]
    oldest = min(matches, key=lambda d: (d.oldest_due, d.created))
    assert len(a.parts) == 1 and a.unallocated == 0 and a.reason == "exact amount match"
    ((debt, part),) = a.parts
    assert part == amount
    assert RULE_KEYS["oldest_first"](next(d for d in debts if d.debt == debt)) == (
        RULE_KEYS["oldest_first"](oldest)
    )


@SETTINGS
@given(debt_lists, amounts, rules)
def test_the_default_rule_pays_debts_in_its_order(debts, amount, rule):
    a = allocate(amount, debts, rule=rule)
    check_sound(a, amount, debts)
    # The order the debts are listed in does not matter: ties are broken by id.
    assert allocate(amount, debts[::-1], rule=rule) == a
    assert allocate(amount, debts[1:] + debts[:1], rule=rule) == a
    if any(d.outstanding == amount for d in debts):
        assert a.reason == "exact amount match"
        return
    assert a.reason == f"default rule: {rule.replace('_', ' ')}"
    key = RULE_KEYS[rule]
    # A debt left short means every debt strictly after it in the rule's order got nothing,
    # and at most one debt is part-paid.
    short = [d for d in debts if a.to(d.debt) < d.outstanding]
    for s in short:
        for d in debts:
            if key(d) > key(s):
                assert a.to(d.debt) == 0
    assert sum(1 for d in debts if 0 < a.to(d.debt) < d.outstanding) <= 1
