"""The domain's rule for a person's lead debt (plain Python; batch.people packs the same rank into one number)."""

from hypothesis import given
from hypothesis import strategies as st

from fairdebt.domain import prioritisation as rules


def lead(debts):
    return max(debts, key=lambda d: rules.lead_rank(*d))[3]


def test_work_comes_first_then_score_then_arrears_then_the_lowest_debt_id():
    assert lead([(False, 90.0, 500_00, 1), (True, 10.0, 0, 2)]) == 2
    assert lead([(True, 10.0, 900_00, 1), (True, 10.5, 0, 2)]) == 2
    assert lead([(True, 10.0, 100_00, 1), (True, 10.0, 200_00, 2)]) == 2
    assert lead([(True, 10.0, 100_00, 7), (True, 10.0, 100_00, 3)]) == 3


def test_scores_within_a_millionth_and_arrears_past_the_cap_rank_equal():
    assert lead([(True, 10.0, 0, 5), (True, 10.0 + 1e-9, 0, 4)]) == 4
    cap = rules.LEAD_ARREARS_CAP
    assert lead([(True, 1.0, cap + 1, 9), (True, 1.0, cap + 500, 8)]) == 8
    low, high = rules.LEAD_SCORE_RANGE
    assert rules.lead_rank(True, high * 10, 0, 1) == rules.lead_rank(True, high, 0, 1)
    assert rules.lead_rank(True, low * 10, 0, 1) == rules.lead_rank(True, low, 0, 1)


debt = st.tuples(st.booleans(), st.floats(-1e6, 1e6, allow_nan=False), st.integers(0, 10**7), st.integers(1, 10**rules.LEAD_ID_DIGITS - 1))


@given(st.lists(debt, min_size=1, max_size=8, unique_by=lambda d: d[3]), st.randoms())
def test_the_lead_does_not_depend_on_the_order_of_the_debts(debts, rnd):
    shuffled = list(debts)
    rnd.shuffle(shuffled)
    assert lead(shuffled) == lead(debts)
