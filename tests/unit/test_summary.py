"""The plain-English debt picture: worked examples with exact text, and properties for any picture."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdebt.domain.money import Pence
from fairdebt.domain.summary import (
    ARRANGEMENT_FREQUENCIES,
    HOLD_KINDS,
    ArrangementFacts,
    DebtFacts,
    HoldFacts,
    PersonPicture,
    Summary,
    format_date,
    headline_pounds,
    pounds,
    summarise,
)
from fairdebt.domain.vocabulary import (
    ACCOUNT_TYPE_LABELS,
    ACCOUNT_TYPES,
    PRIORITY_ACCOUNT_TYPES,
    RECOVERY_STAGES,
    TENURES,
)

# No example database: these tests must not write files into the working tree.
SETTINGS = settings(max_examples=200, deadline=None, database=None)

ON = date(2026, 3, 2)


def ctax(year: int, balance: int, **kw) -> DebtFacts:
    return DebtFacts(
        "council_tax", f"Council tax {year}/{(year + 1) % 100:02d}", balance=balance,
        arrears=kw.pop("arrears", balance), period_start=date(year, 4, 1), period_end=date(year + 1, 3, 31), **kw,
    )  # fmt: skip


# --- worked examples -----------------------------------------------------------------------------


def test_nothing_owed():
    assert summarise(PersonPicture(on=ON)) == Summary(
        headline="Nothing owed.", lines=[], priority_total=Pence(0), non_priority_total=Pence(0), services=0
    )
    cleared = PersonPicture(on=ON, debts=[DebtFacts("council_tax", "Council tax 2024/25"), DebtFacts("sundry")])
    assert summarise(cleared).headline == "Nothing owed."
    assert summarise(cleared).lines == []


def test_the_issue_example():
    picture = PersonPicture(
        on=ON,
        debts=[
            DebtFacts("sundry", "Trade waste", balance=36000, arrears=36000),
            ctax(2024, 112000, recovery_stage="liability_order", stage_date=date(2025, 9, 4)),
            DebtFacts("housing_rent", "Rent", tenure="secure", balance=86000, arrears=86000, weekly_charge=14333),
        ],
        arrangements=[ArrangementFacts(["Rent"], 2000, "weekly", date(2026, 1, 5), kept_since=date(2026, 1, 5))],
    )
    s = summarise(picture)
    assert s.headline == "Owes £2,340 across 3 services, £1,980 of it priority debt."
    assert s.lines == [
        "Rent: £860, 6 weeks in arrears, arrangement of £20 a week kept since 5 January 2026.",
        "Council tax 2024/25: £1,120, liability order granted on 4 September 2025.",
        "Trade waste: £360.",
    ]
    assert (s.priority_total, s.non_priority_total, s.services) == (198000, 36000, 3)
    assert s.total == 234000
    assert s.text == " ".join([s.headline, *s.lines])


def test_holds_come_first_in_the_headline():
    picture = PersonPicture(
        on=ON,
        debts=[
            ctax(2024, 112000),
            DebtFacts("parking_pcn", "PCN AB12345678", balance=11000, arrears=11000, recovery_stage="warrant"),
        ],
        holds=[
            HoldFacts("dispute", date(2026, 5, 1), covers="PCN AB12345678"),
            HoldFacts("breathing_space", date(2026, 3, 14)),
            HoldFacts("vulnerability_pause", date(2026, 3, 1)),  # ended yesterday: left out
        ],
        vulnerable=True,
    )
    s = summarise(picture)
    assert s.headline == (
        "Breathing Space until 14 March 2026: no recovery action. "
        "Dispute on PCN AB12345678 until 1 May 2026: recovery paused. "
        "Vulnerability recorded: check support needs before any contact. "
        "Owes £1,230 across 2 services."
    )
    assert s.lines == [
        "Council tax 2024/25: £1,120.",
        "PCN AB12345678: £110, warrant of control issued, on hold (disputed) until 1 May 2026.",
    ]


@pytest.mark.parametrize(
    ("hold", "sentence"),
    [
        (HoldFacts("breathing_space", ON), "Breathing Space until 2 March 2026: no recovery action."),
        (HoldFacts("breathing_space"), "Breathing Space, no end date: no recovery action."),
        (
            HoldFacts("mental_health_crisis"),
            "Mental health crisis Breathing Space, no end date: no recovery action.",
        ),
        (HoldFacts("deceased"), "Deceased: stop recovery and letters; deal with the estate."),
        (HoldFacts("deceased", covers=["Rent"]), "Deceased (Rent): stop recovery and letters; deal with the estate."),
        (HoldFacts("insolvency", date(2027, 1, 9)), "Insolvency until 9 January 2027: no recovery action."),
        (
            HoldFacts("vulnerability_pause", date(2026, 4, 30)),
            "Vulnerability pause until 30 April 2026: no recovery action.",
        ),
        (HoldFacts("dispute", covers=["Rent", "Council tax 2024/25"]),
         "Dispute on Council tax 2024/25 and Rent, no end date: recovery paused."),
    ],
)  # fmt: skip
def test_hold_sentences(hold, sentence):
    s = summarise(PersonPicture(on=ON, debts=[DebtFacts("housing_rent", "Rent", balance=100, arrears=100)], holds=[hold]))
    assert s.headline == f"{sentence} Owes £1 for 1 service."


def test_council_tax_years_share_a_line():
    picture = PersonPicture(
        on=ON,
        debts=[
            ctax(2025, 120000, arrears=90000, ongoing=30000, recovery_stage="reminder", stage_date=date(2025, 11, 3)),
            ctax(2023, 78000, recovery_stage="enforcement_agent", stage_date=date(2025, 6, 2)),
            ctax(2024, 112000, recovery_stage="liability_order", stage_date=date(2025, 9, 4),
                 last_payment_amount=5000, last_payment_date=date(2026, 2, 1)),
        ],
        arrangements=[
            ArrangementFacts(["Council tax 2023/24", "Council tax 2024/25", "Council tax 2025/26"], 5000, "monthly",
                             date(2025, 12, 1), broken_on=date(2026, 2, 1)),
            ArrangementFacts(["Council tax 2024/25"], 1000, "monthly", date(2026, 4, 1)),
        ],
    )  # fmt: skip
    s = summarise(picture)
    assert s.headline == "Owes £3,100 for 1 service."
    assert s.lines == [
        "Council tax: £3,100 for 3 years, arrangement of £50 a month broken on 1 February 2026. "
        "2023/24: £780, with enforcement agents since 2 June 2025. "
        "2024/25: £1,120, liability order granted on 4 September 2025, "
        "arrangement of £10 a month starting 1 April 2026, last paid £50 on 1 February 2026. "
        "2025/26: £1,200 (£300 not yet due), reminder sent on 3 November 2025."
    ]


def test_one_year_of_council_tax_is_not_grouped():
    s = summarise(PersonPicture(on=ON, debts=[ctax(2024, 112000), DebtFacts("sundry", "Care charges", balance=5)]))
    assert s.lines == ["Council tax 2024/25: £1,120.", "Care charges: £0.05."]
    # £100 and over rounds to the pound in the headline; the lines stay exact.
    assert s.headline == "Owes £1,120 across 2 services, £1,120 of it priority debt."


def test_priority_debts_come_first_by_severity():
    debts = [
        DebtFacts("sundry", "Care charges", balance=100000, arrears=100000),
        DebtFacts("dwp_benefit_overpayment", balance=500, arrears=500),
        DebtFacts("parking_pcn", "PCN AB1", balance=7000, arrears=7000),
        DebtFacts("housing_rent", "Garage 12", tenure="garage", balance=3000, arrears=3000),
        ctax(2024, 20000),
        DebtFacts("business_rates", "Business rates 2024/25", balance=9000, arrears=9000),
        DebtFacts("housing_rent", "Rent", tenure="temporary_accommodation", balance=4000, arrears=4000),
        DebtFacts("leasehold_service_charge", balance=6000, arrears=6000),
    ]
    s = summarise(PersonPicture(on=ON, debts=debts))
    assert [line.split(":")[0] for line in s.lines] == [
        "Rent (temporary accommodation)",
        "Leasehold service charge",
        "Council tax 2024/25",
        "Business rates 2024/25",
        "PCN AB1",
        "Garage 12 (garage)",
        "DWP benefit overpayment",
        "Care charges",
    ]
    assert s.services == 7  # the garage and the home are both housing_rent
    assert s.priority_total == 49500 and s.non_priority_total == 100000


def test_credits_are_reported_not_netted():
    s = summarise(
        PersonPicture(
            on=ON,
            debts=[
                DebtFacts("housing_rent", "Rent", balance=-4500),
                DebtFacts("council_tax", "Council tax 2025/26", balance=30000, ongoing=30000),
            ],
        )
    )
    assert s.headline == "Owes £300 for 1 service. £45 in credit."
    assert s.lines == ["Council tax 2025/26: £300 not yet due.", "Rent: £45 in credit."]
    only_credit = summarise(PersonPicture(on=ON, debts=[DebtFacts("housing_rent", "Rent", balance=-4550)]))
    assert only_credit.headline == "Nothing owed. £45.50 in credit."
    assert only_credit.lines == ["Rent: £45.50 in credit."]


@pytest.mark.parametrize(
    ("arrears", "words"),
    [(1, "less than 1 week in arrears"), (14300, "1 week in arrears"), (28599, "1 week in arrears"),
     (28600, "2 weeks in arrears"), (1430000, "100 weeks in arrears")],
)  # fmt: skip
def test_rent_arrears_in_whole_weeks_rounded_down(arrears, words):
    rent = DebtFacts("housing_rent", "Rent", balance=arrears, arrears=arrears, weekly_charge=14300)
    assert summarise(PersonPicture(on=ON, debts=[rent])).lines == [f"Rent: {pounds(arrears)}, {words}."]


def test_rent_without_a_weekly_charge_or_arrears_has_no_weeks():
    debts = [
        DebtFacts("housing_rent", "Rent", balance=14300, arrears=14300),
        DebtFacts("housing_rent", "Rent, 2 Mill Lane", balance=14300, ongoing=14300, weekly_charge=14300),
    ]
    assert summarise(PersonPicture(on=ON, debts=debts)).lines == [
        "Rent: £143.",
        "Rent, 2 Mill Lane: £143 not yet due.",
    ]


@pytest.mark.parametrize(
    ("account_type", "stage", "words"),
    [
        ("council_tax", "reminder", "reminder sent on 14 March 2026"),
        ("council_tax", "final_notice", "final notice sent on 14 March 2026"),
        ("council_tax", "summons", "summons issued on 14 March 2026"),
        ("council_tax", "liability_order", "liability order granted on 14 March 2026"),
        ("council_tax", "enforcement_agent", "with enforcement agents since 14 March 2026"),
        ("council_tax", "attachment_of_earnings", "attachment of earnings in place since 14 March 2026"),
        ("housing_rent", "nosp", "notice of seeking possession served on 14 March 2026"),
        ("housing_rent", "court_claim", "court claim issued on 14 March 2026"),
        ("housing_rent", "possession_order", "possession order granted on 14 March 2026"),
        ("housing_rent", "warrant", "warrant of possession issued on 14 March 2026"),
        ("parking_pcn", "warrant", "warrant of control issued on 14 March 2026"),
        ("sundry", "warrant", "warrant issued on 14 March 2026"),
        ("parking_pcn", "charge_certificate", "charge certificate issued on 14 March 2026"),
    ],
)
def test_recovery_stages_in_officer_words(account_type, stage, words):
    debt = DebtFacts(account_type, "X", balance=100, arrears=100, recovery_stage=stage, stage_date=date(2026, 3, 14))
    assert summarise(PersonPicture(on=ON, debts=[debt])).lines == [f"X: £1, {words}."]
    undated = DebtFacts(account_type, "X", balance=100, arrears=100, recovery_stage=stage)
    assert summarise(PersonPicture(on=ON, debts=[undated])).lines == [f"X: £1, {words.rsplit(' ', 4)[0]}."]


def test_no_stage_says_nothing():
    for stage in ("none", ""):
        debt = DebtFacts("sundry", "X", balance=100, recovery_stage=stage)
        assert summarise(PersonPicture(on=ON, debts=[debt])).lines == ["X: £1."]


def test_arrangements():
    debts = [DebtFacts("housing_rent", "Rent", balance=100000, arrears=100000), ctax(2024, 50000)]
    arrangements = [
        ArrangementFacts(["Rent", "Council tax 2024/25"], 8000, "four_weekly", date(2025, 9, 1)),
        ArrangementFacts(["Rent"], 500, "fortnightly", date(2025, 1, 6), kept_since=date(2025, 2, 1),
                         broken_on=date(2026, 3, 3)),  # broken tomorrow: not yet broken today
        ArrangementFacts(["Sundry 991"], 1000, "one_off", date(2026, 3, 20)),
    ]  # fmt: skip
    assert summarise(PersonPicture(on=ON, debts=debts, arrangements=arrangements)).lines == [
        "Rent: £1,000, arrangement of £5 a fortnight kept since 1 February 2025, "
        "arrangement of £80 every 4 weeks (also covers Council tax 2024/25) since 1 September 2025.",
        "Council tax 2024/25: £500, arrangement of £80 every 4 weeks (also covers Rent) since 1 September 2025.",
        "Arrangement of £10 once for Sundry 991 starting 20 March 2026.",
    ]


def test_debts_named_by_ref():
    debt = DebtFacts("parking_pcn", "Parking", ref="AB123", balance=7000, arrears=7000)
    s = summarise(
        PersonPicture(
            on=ON,
            debts=[debt],
            arrangements=[ArrangementFacts("AB123", 1000, "weekly", date(2026, 1, 1))],
            holds=[HoldFacts("breathing_space", date(2026, 4, 1), covers=("AB123",))],
        )
    )
    assert s.lines == [
        "Parking: £70, arrangement of £10 a week since 1 January 2026, on hold (Breathing Space) until 1 April 2026."
    ]


def test_formatting_rules():
    assert [pounds(p) for p in (0, 5, 100, 112000, 112050, -4500, 123456789)] == [
        "£0", "£0.05", "£1", "£1,120", "£1,120.50", "-£45", "£1,234,567.89",
    ]  # fmt: skip
    assert [headline_pounds(p) for p in (9999, 10000, 10049, 10050, 233950, 233949, -233950)] == [
        "£99.99", "£100", "£100", "£101", "£2,340", "£2,339", "-£2,340",
    ]  # fmt: skip
    assert format_date(date(2026, 3, 4)) == "4 March 2026"
    assert [format_date(date(2025, m, 1)).split()[1] for m in range(1, 13)] == [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ]  # fmt: skip


def test_large_totals_are_rounded_in_the_headline_only():
    s = summarise(PersonPicture(on=ON, debts=[DebtFacts("sundry", "Care", balance=233950, arrears=233950)]))
    assert s.headline == "Owes £2,340 for 1 service."
    assert s.lines == ["Care: £2,339.50."]
    assert s.non_priority_total == 233950


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: DebtFacts("council_tax", balance=12.5), TypeError),
        (lambda: DebtFacts("council_tax", arrears=1.0), TypeError),
        (lambda: DebtFacts("council_tax", weekly_charge=0), ValueError),
        (lambda: DebtFacts("council_tax", arrears=-1), ValueError),
        (lambda: DebtFacts("council_tax", last_payment_amount=-500), ValueError),
        (lambda: DebtFacts("water"), ValueError),
        (lambda: DebtFacts("housing_rent", tenure="freehold"), ValueError),
        (lambda: DebtFacts("council_tax", recovery_stage="bailiffs"), ValueError),
        (lambda: DebtFacts("council_tax", stage_date=datetime(2026, 1, 1)), TypeError),
        (lambda: DebtFacts("council_tax", stage_date="2026-01-01"), TypeError),
        (lambda: ArrangementFacts(["Rent"], 0, "weekly", ON), ValueError),
        (lambda: ArrangementFacts(["Rent"], 100, "daily", ON), ValueError),
        (lambda: ArrangementFacts(["Rent"], 100.0, "weekly", ON), TypeError),
        (lambda: HoldFacts("holiday"), ValueError),
        (lambda: PersonPicture(on=datetime(2026, 1, 1)), TypeError),
        (lambda: PersonPicture(on=ON, debts=["Rent"]), TypeError),
        (lambda: PersonPicture(on=ON, vulnerable=1), TypeError),
        (lambda: summarise({"on": ON}), TypeError),
    ],
)
def test_invalid_facts_are_refused(make, error):
    with pytest.raises(error):
        make()


def test_covers_given_as_one_string_is_one_name():
    assert HoldFacts("dispute", covers="Rent").covers == ("Rent",)
    assert ArrangementFacts("Rent", 100, "weekly", ON).covers == ("Rent",)


# --- properties ----------------------------------------------------------------------------------

TAGS = ["2023/24", "2024/25", "2025/26", "A", "B"]
dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
money = st.integers(min_value=-(10**9), max_value=10**9)
positive = st.integers(min_value=1, max_value=10**8)


@st.composite
def debt_facts(draw) -> DebtFacts:
    account_type = draw(st.sampled_from(ACCOUNT_TYPES))
    # Descriptions start with the label (as real ones do) so a line can be traced to its type;
    # few tags, so that names collide and council tax years group.
    description = draw(st.sampled_from(["", f"{ACCOUNT_TYPE_LABELS[account_type]} {draw(st.sampled_from(TAGS))}"]))
    return DebtFacts(
        account_type=account_type,
        description=description,
        balance=draw(money),
        arrears=draw(st.just(0) | st.integers(min_value=0, max_value=10**9)),
        ongoing=draw(st.just(0) | st.integers(min_value=0, max_value=10**9)),
        tenure=draw(st.sampled_from(("", *TENURES))) if account_type == "housing_rent" else "",
        period_start=draw(st.none() | dates),
        period_end=draw(st.none() | dates),
        recovery_stage=draw(st.sampled_from(("", *RECOVERY_STAGES))),
        stage_date=draw(st.none() | dates),
        last_payment_date=draw(st.none() | dates),
        last_payment_amount=draw(st.none() | positive),
        weekly_charge=draw(st.none() | positive),
        ref=draw(st.sampled_from(["", "R1", "R2"])),
    )


@st.composite
def pictures(draw) -> PersonPicture:
    debts = draw(st.lists(debt_facts(), max_size=8))
    names = sorted({n for d in debts for n in d.names} | {"Elsewhere"})
    covers = st.lists(st.sampled_from(names), max_size=3)
    arrangements = draw(
        st.lists(
            st.builds(
                ArrangementFacts,
                covers=covers.map(tuple),
                amount=positive,
                frequency=st.sampled_from(sorted(ARRANGEMENT_FREQUENCIES)),
                start=dates,
                kept_since=st.none() | dates,
                broken_on=st.none() | dates,
            ),
            max_size=3,
        )
    )
    holds = draw(
        st.lists(
            st.builds(HoldFacts, kind=st.sampled_from(sorted(HOLD_KINDS)), until=st.none() | dates, covers=covers),
            max_size=3,
        )
    )
    return PersonPicture(on=draw(dates), debts=debts, arrangements=arrangements, holds=holds,
                         vulnerable=draw(st.booleans()))  # fmt: skip


# Whole pounds with thousands commas, then pence only when there are some; nothing may follow that
# would make it a longer number or a float ("£1,120, 6 weeks" is fine; "£1,1200", "£1.5" and
# "£1e+05" are not).
AMOUNT = re.compile(r"£[0-9]{1,3}(?:,[0-9]{3})*(?:\.[0-9]{2})?(?![0-9A-Za-z])(?![.,][0-9])")
LABELS = sorted(ACCOUNT_TYPE_LABELS.items(), key=lambda kv: -len(kv[1]))


def severity(account_type: str, line: str) -> int:
    """DOMAIN.md s.4: the home first, then committal, then other priority debts, then the rest."""
    if account_type not in PRIORITY_ACCOUNT_TYPES:
        return 3
    if account_type == "housing_rent" and "(garage)" not in line.split(":")[0]:
        return 0
    if account_type in ("leasehold_service_charge", "leasehold_major_works"):
        return 0
    return 1 if account_type == "council_tax" else 2


def line_type(line: str) -> str | None:
    for account_type, label in LABELS:
        if line.startswith(label):
            return account_type
    return None


@SETTINGS
@given(pictures())
def test_never_raises_and_is_well_formed(picture):
    s = summarise(picture)
    assert isinstance(s.headline, str) and s.headline.endswith(".")
    assert all(isinstance(line, str) and line.endswith(".") for line in s.lines)
    assert ".." not in s.text and "  " not in s.text and "None" not in s.text


@SETTINGS
@given(pictures())
def test_totals_are_exact_sums_of_positive_balances(picture):
    s = summarise(picture)
    owed = [d for d in picture.debts if d.balance > 0]
    assert s.priority_total == sum(d.balance for d in owed if d.account_type in PRIORITY_ACCOUNT_TYPES)
    assert s.non_priority_total == sum(d.balance for d in owed if d.account_type not in PRIORITY_ACCOUNT_TYPES)
    assert s.services == len({d.account_type for d in owed})
    assert type(s.priority_total) is Pence and type(s.non_priority_total) is Pence and type(s.services) is int

    total = sum(d.balance for d in owed)
    if total == 0:
        assert "Nothing owed." in s.headline and "Owes" not in s.headline
        return
    said = Pence.from_pounds(re.search(r"Owes (£[0-9]{1,3}(?:,[0-9]{3})*(?:\.[0-9]{2})?) ", s.headline).group(1))
    if total < 10_000:  # under £100: exact
        assert said == total
    else:  # whole pounds, nearest, halves up
        assert said % 100 == 0 and total - 49 <= said <= total + 50


@SETTINGS
@given(pictures())
def test_amounts_are_whole_pence_in_govuk_style(picture):
    s = summarise(picture)
    text = s.text
    for at in (m.start() for m in re.finditer("£", text)):
        amount = AMOUNT.match(text, at)
        assert amount, text[at : at + 20]
        assert not amount.group().endswith(".00"), amount.group()
        assert Pence.from_pounds(amount.group()) >= 0  # exact pence; the sign is said in words
    for d in picture.debts:  # nothing owed or held is dropped, and each line amount is exact
        if d.balance != 0:
            assert pounds(abs(d.balance)) in s.text


@SETTINGS
@given(pictures())
def test_priority_debts_first_then_credits(picture):
    s = summarise(picture)
    kinds = []  # (is a debt line, severity)
    for line in s.lines:
        credit = line.endswith(" in credit.")
        arrangement = line.startswith("Arrangement of ")
        account_type = line_type(line)
        if credit or arrangement or account_type is None:
            kinds.append((1 if credit else 2, 0))
        else:
            kinds.append((0, severity(account_type, line)))
    assert kinds == sorted(kinds)


@SETTINGS
@given(pictures(), st.data())
def test_same_picture_same_text_whatever_the_order(picture, data):
    first = summarise(picture)
    assert summarise(picture) == first
    shuffled = PersonPicture(
        on=picture.on,
        debts=data.draw(st.permutations(picture.debts)),
        arrangements=data.draw(st.permutations(picture.arrangements)),
        holds=data.draw(st.permutations(picture.holds)),
        vulnerable=picture.vulnerable,
    )
    assert summarise(shuffled) == first


@SETTINGS
@given(pictures())
def test_active_holds_lead_the_headline(picture):
    s = summarise(picture)
    active = [h for h in picture.holds if h.until is None or h.until >= picture.on]
    rest = s.headline.index("Owes" if "Owes" in s.headline else "Nothing owed.")
    names = {HOLD_KINDS[h.kind][0] for h in active}
    for name in names:
        assert s.headline.index(name) < rest
    if active:
        assert any(s.headline.startswith(name) for name in names)
    else:
        assert not any(s.headline.startswith(v[0]) for v in HOLD_KINDS.values())
    assert ("Vulnerability recorded" in s.headline) == picture.vulnerable
