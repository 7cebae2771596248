"""Money as whole pence: parsing, formatting, arithmetic, splitting and apportioning."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdebt.domain.money import Pence, apportion, format_pounds, split

# No example database: these tests must not write files into the working tree.
SETTINGS = settings(max_examples=200, deadline=None, database=None)
amounts = st.integers(min_value=-(10**12), max_value=10**12)
floats = st.floats(allow_nan=True, allow_infinity=True)


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pence"),
    [
        ("1234.56", 123456),
        ("-12.3", -1230),
        ("£1,234.56", 123456),
        ("12", 1200),
        ("0.05", 5),
        ("-£12.30", -1230),
        ("£-12.30", -1230),
        ("+7.01", 701),
        ("  £1,000,000.00 ", 100000000),
        ("0", 0),
        ("-0.00", 0),
        ("999", 99900),
    ],
)
def test_from_pounds_reads_exactly(text, pence):
    value = Pence.from_pounds(text)
    assert value == pence
    assert type(value) is Pence


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "blank"),
        ("   ", "blank"),
        ("12.345", "more than 2 decimal places"),
        ("0.001", "more than 2 decimal places"),
        ("abc", "not an amount"),
        ("12.3x", "not an amount"),
        ("1e3", "not an amount"),
        ("nan", "not an amount"),
        ("inf", "not an amount"),
        ("١٢", "not an amount"),  # Arabic-Indic digits: isdigit() says yes, we say no
        ("£ 12", "not an amount"),
        ("1,23.45", "commas"),
        ("12,3456", "commas"),
        (",123", "commas"),
        ("12.", "after the decimal point"),
        (".5", "before the decimal point"),
        ("1.2.3", "more than one decimal point"),
        ("--1", "more than one sign"),
        ("-£-1", "more than one sign"),
        ("£", "no digits"),
        ("-", "no digits"),
    ],
)
def test_from_pounds_rejects_junk_saying_what_is_wrong(text, complaint):
    with pytest.raises(ValueError, match=complaint):
        Pence.from_pounds(text)


@pytest.mark.parametrize("value", [12.5, Decimal("12.50"), 1250, None])
def test_from_pounds_reads_only_text(value):
    with pytest.raises(TypeError):
        Pence.from_pounds(value)


# --- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pence", "text"),
    [
        (123456, "£1,234.56"),
        (-1230, "-£12.30"),
        (0, "£0.00"),
        (5, "£0.05"),
        (-5, "-£0.05"),
        (100, "£1.00"),
        (123456789, "£1,234,567.89"),
    ],
)
def test_format_pounds(pence, text):
    assert format_pounds(pence) == text
    assert Pence(pence).format() == text


def test_str_and_repr_stay_plain():
    # str() is used for storage and CSV, so it stays the int's digits.
    assert str(Pence(1230)) == "1230"
    assert repr(Pence(1230)) == "Pence(1230)"


@SETTINGS
@given(amounts)
def test_from_pounds_round_trips_format(p):
    assert Pence.from_pounds(format_pounds(p)) == p
    assert Pence.from_pounds(format_pounds(p).replace(",", "")) == p


@SETTINGS
@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
def test_from_pounds_agrees_with_exact_arithmetic(pounds, pence):
    text = f"{pounds}.{pence:02d}"
    assert Pence.from_pounds(text) == int(Decimal(text) * 100)
    assert Pence.from_pounds("-" + text) == -(pounds * 100 + pence)


# --- arithmetic ------------------------------------------------------------------------------


def test_arithmetic_between_pence_stays_pence():
    a, b = Pence(1000), Pence(250)
    for result, expected in [
        (a + b, 1250),
        (a - b, 750),
        (b - a, -750),
        (-a, -1000),
        (abs(Pence(-3)), 3),
        (+a, 1000),
        (a + 5, 1005),
        (5 + a, 1005),
        (5 - a, -995),
        (a * 3, 3000),
        (3 * a, 3000),
        (sum([a, b, Pence(1)]), 1251),
    ]:
        assert type(result) is Pence
        assert result == expected


def test_pence_behaves_as_an_int_for_storage():
    p = Pence(1234)
    assert isinstance(p, int)
    assert int(p) == 1234 and hash(p) == hash(1234)
    assert p == 1234 and p < 1235
    assert {p: "x"}[1234] == "x"


@pytest.mark.parametrize("bad", [12.5, Decimal("12.5"), Fraction(1, 2), "12", True, None])
def test_pence_is_built_only_from_whole_numbers(bad):
    with pytest.raises(TypeError):
        Pence(bad)


@SETTINGS
@given(amounts, floats)
def test_no_float_arithmetic_is_accepted(p, f):
    money = Pence(p)
    for operation in (
        lambda: money * f,
        lambda: money + f,
        lambda: money - f,
        lambda: money / 2,
        lambda: money / f,
        lambda: money / money,
        lambda: Pence(f),
    ):
        with pytest.raises(TypeError):
            operation()


@pytest.mark.parametrize("other", [Decimal("0.5"), Fraction(1, 3), Pence(2)])
def test_no_decimal_fraction_or_pence_squared(other):
    with pytest.raises(TypeError):
        Pence(100) * other
    with pytest.raises(TypeError):
        Pence(100) + Decimal("1")


# --- split -----------------------------------------------------------------------------------


def test_split_worked_examples():
    assert split(1000, 3) == [334, 333, 333]
    assert split(1001, 3) == [334, 334, 333]
    assert split(999, 3) == [333, 333, 333]
    assert split(2, 5) == [1, 1, 0, 0, 0]
    assert split(-1000, 3) == [-334, -333, -333]
    assert split(0, 2) == [0, 0]
    # A £1,234.56 council tax bill in 10 instalments.
    assert split(123456, 10) == [12346] * 6 + [12345] * 4
    assert all(type(p) is Pence for p in split(1000, 3))


@pytest.mark.parametrize("n", [0, -1])
def test_split_needs_at_least_one_part(n):
    with pytest.raises(ValueError, match="at least 1"):
        split(1000, n)


def test_split_refuses_floats():
    with pytest.raises(TypeError):
        split(10.0, 3)
    with pytest.raises(TypeError):
        split(1000, 3.0)


@SETTINGS
@given(amounts, st.integers(min_value=1, max_value=400))
def test_split_sums_exactly_and_parts_differ_by_at_most_a_penny(total, n):
    parts = split(total, n)
    assert len(parts) == n
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    # The first parts take the extra pennies: sizes never grow along the list.
    sizes = [abs(p) for p in parts]
    assert sizes == sorted(sizes, reverse=True)
    assert all(p == 0 or (p > 0) == (total > 0) for p in parts)


# --- apportion -------------------------------------------------------------------------------


def test_apportion_worked_examples():
    assert apportion(100, [1, 1, 1]) == [34, 33, 33]
    assert apportion(1000, [50, 30, 20]) == [500, 300, 200]
    # 1001 by 1:2 is 333.67 and 667.33: the larger remainder (0.67) gets the penny.
    assert apportion(1001, [1, 2]) == [334, 667]
    assert apportion(10, [0, 5, 0]) == [0, 10, 0]
    assert apportion(-100, [1, 1, 1]) == [-34, -33, -33]
    # A £50 payment shared over debts of £30 and £90 (pence as weights).
    assert apportion(5000, [3000, 9000]) == [1250, 3750]


@pytest.mark.parametrize(
    ("weights", "error"),
    [([], ValueError), ([0, 0], ValueError), ([1, -1], ValueError), ([0.5, 0.5], TypeError)],
)
def test_apportion_refuses_bad_weights(weights, error):
    with pytest.raises(error):
        apportion(100, weights)


@SETTINGS
@given(amounts, st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30))
def test_apportion_sums_exactly_and_each_part_is_its_share_rounded(total, weights):
    if sum(weights) == 0:
        weights = [*weights, 1]
    parts = apportion(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total * weight, sum(weights))  # exact rational share, never a float
        assert abs(int(part) - exact) < 1
        if weight == 0:
            assert part == 0
