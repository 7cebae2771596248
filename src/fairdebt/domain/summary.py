"""One person's debt picture in plain English, for the officer who has them on the phone.

Pure and deterministic: no Django, no I/O, no clock (the date is `PersonPicture.on`), no
randomness, no locale (month names are spelled out here, not taken from strftime). The same
picture always gives the same text, and so does the same picture with its debts, arrangements
or holds listed in a different order.

    >>> picture = PersonPicture(on=date(2026, 3, 2), debts=[
    ...     DebtFacts("council_tax", description="Council tax 2024/25", balance=112000,
    ...               arrears=112000, recovery_stage="liability_order",
    ...               stage_date=date(2025, 9, 4)),
    ...     DebtFacts("housing_rent", description="Rent", balance=86000, arrears=86000,
    ...               weekly_charge=14300),
    ... ])
    >>> s = summarise(picture)
    >>> s.headline
    'Owes £1,980 across 2 services.'
    >>> s.lines
    ['Rent: £860, 6 weeks in arrears.', 'Council tax 2024/25: £1,120, liability order granted on 4 September 2025.']

The rules
---------

Amounts. Money is whole pence (`Pence`) throughout; nothing is ever a float, and every sum,
rounding and week count is integer arithmetic.

- In the lines every amount is exact to the penny, in GOV.UK style: "£1,120" for whole pounds
  (no ".00"), "£1,120.50" otherwise. These are the figures an officer quotes to the resident.
- In the headline, a total of £100 or more is rounded to the nearest whole pound, halves up
  ("£2,339.50" reads "£2,340"); below £100 it is exact, so a small debt never reads as "£0".
  `Summary.priority_total` and `Summary.non_priority_total` are always exact.

What is owed. A debt with a positive balance is owed; one with a negative balance is money held
in credit; a zero balance is left out. The headline total is the sum of the positive balances:
a credit on one debt never reduces another (money is not moved between services without the
resident's consent, DOMAIN.md s.7), so credits are reported on their own. "Services" counts the
distinct account types with something owed. Part of a balance not yet due (`ongoing`) is still
owed and counted, and the line says how much of it is not yet due.

Order. Holds come first, in the headline, because they change what the officer may do
("Breathing Space until 14 March 2026: no recovery action."), then a vulnerability flag, then
the total. The lines list priority debts (vocabulary.PRIORITY_ACCOUNT_TYPES) before non-priority
ones. Among priority debts, by how severe and how close the sanction is (DOMAIN.md s.4: eviction,
then committal, then enforcement): rent on a home, then leasehold charges (forfeiture), council
tax, business rates, parking penalties and garage rent (enforcement agents, losing the garage),
then benefit overpayments. Within one kind, oldest period first. Credits come last.

Grouping. Several council tax (or business rates) years with something owed share one line:
"Council tax: £1,900 for 2 years. 2023/24: £780, with enforcement agents since 2 June 2025.
2024/25: £1,120, liability order granted on 4 September 2025."

Rent arrears are also given in whole weeks of rent when the weekly charge is known, rounded
down so that the figure never overstates them ("6 weeks in arrears"; "less than 1 week").

Dates are GOV.UK style, always with the year: "14 March 2026".

Holds: `until` is the last day of the hold; a hold whose `until` is before `on` has ended and is
left out. A hold with `covers` applies to those debts only and is also noted on their lines.

Arrangements and holds name the debts they cover by description (or by `ref` when the debt has
one). An arrangement is described on the line of each debt it covers; one that covers no debt
with a balance gets its own line, so nothing given is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from fairdebt.domain.money import Pence
from fairdebt.domain.vocabulary import (
    ACCOUNT_TYPE_LABELS,
    ACCOUNT_TYPES,
    PRIORITY_ACCOUNT_TYPES,
    RECOVERY_STAGES,
    TENURE_LABELS,
    TENURES,
)

__all__ = [
    "ARRANGEMENT_FREQUENCIES",
    "HOLD_KINDS",
    "ArrangementFacts",
    "DebtFacts",
    "HoldFacts",
    "PersonPicture",
    "Summary",
    "format_date",
    "headline_pounds",
    "pounds",
    "summarise",
]

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# How often an arrangement is paid, and how that reads after the amount ("£20 a week").
ARRANGEMENT_FREQUENCIES = {
    "weekly": "a week",
    "fortnightly": "a fortnight",
    "four_weekly": "every 4 weeks",
    "monthly": "a month",
    "quarterly": "a quarter",
    "one_off": "once",
}

# Hold kinds, in the order they are listed: (name in the headline, what it means for the
# officer, how a debt's line says it is held).
HOLD_KINDS = {
    "deceased": ("Deceased", "stop recovery and letters; deal with the estate", "deceased"),
    "breathing_space": ("Breathing Space", "no recovery action", "Breathing Space"),
    "mental_health_crisis": (
        "Mental health crisis Breathing Space",
        "no recovery action",
        "mental health crisis Breathing Space",
    ),
    "insolvency": ("Insolvency", "no recovery action", "insolvency"),
    "vulnerability_pause": ("Vulnerability pause", "no recovery action", "vulnerability pause"),
    "dispute": ("Dispute", "recovery paused", "disputed"),
    "complaint": ("Complaint", "no escalation while it is answered", "complaint"),
    "benefit_claim_pending": ("Benefit claim pending", "no court action on rent", "benefit claim pending"),
    "debt_advice": ("Referred to debt advice", "recovery paused", "referred to debt advice"),
    "pause": ("Paused", "recovery paused", "paused"),
}
_HOLD_ORDER = {kind: n for n, kind in enumerate(HOLD_KINDS)}

# Recovery stages in officer words: (words, preposition before the stage date).
_STAGE_WORDS = {
    "none": ("", ""),
    "invoice": ("invoice sent", "on"),
    "reminder": ("reminder sent", "on"),
    "second_reminder": ("second reminder sent", "on"),
    "final_notice": ("final notice sent", "on"),
    "letter_before_action": ("letter before action sent", "on"),
    "summons": ("summons issued", "on"),
    "liability_order": ("liability order granted", "on"),
    "enforcement_agent": ("with enforcement agents", "since"),
    "attachment_of_earnings": ("attachment of earnings in place", "since"),
    "attachment_of_benefits": ("attachment of benefits in place", "since"),
    "deduction_from_benefit": ("deductions from benefit in place", "since"),
    "direct_earnings_attachment": ("direct earnings attachment in place", "since"),
    "arrangement": ("on an arrangement", "since"),
    "nosp": ("notice of seeking possession served", "on"),
    "court_claim": ("court claim issued", "on"),
    "possession_order": ("possession order granted", "on"),
    "warrant": ("warrant issued", "on"),
    "notice_to_owner": ("notice to owner sent", "on"),
    "charge_certificate": ("charge certificate issued", "on"),
    "order_for_recovery": ("order for recovery registered", "on"),
}
assert set(_STAGE_WORDS) == set(RECOVERY_STAGES)
# A warrant means different things on different debts.
_WARRANT_WORDS = {
    "housing_rent": "warrant of possession issued",
    "parking_pcn": "warrant of control issued",
}

# Severity rank of each account type (lower is listed first); see "Order" above.
_RANK = {
    "housing_rent": 10,
    "leasehold_service_charge": 20,
    "leasehold_major_works": 20,
    "council_tax": 30,
    "business_rates": 40,
    "parking_pcn": 50,
    "housing_benefit_overpayment": 60,
    "dwp_benefit_overpayment": 60,
    "sundry": 90,
}
_GARAGE_RANK = 55  # rent on a garage risks the garage, not the home: after enforcement agents
_NON_PRIORITY_RANK = 90
assert set(_RANK) == set(ACCOUNT_TYPES)
assert all((_RANK[t] < _NON_PRIORITY_RANK) == (t in PRIORITY_ACCOUNT_TYPES) for t in ACCOUNT_TYPES)

# Yearly liabilities: several years of the same one share a line.
_YEARLY = frozenset({"council_tax", "business_rates"})

_HEADLINE_EXACT_BELOW = 10_000  # £100, in pence


# --- formatting ----------------------------------------------------------------------------------


def pounds(p: int) -> str:
    """Exact, GOV.UK style: 112000 -> "£1,120", 112050 -> "£1,120.50", -4500 -> "-£45"."""
    value = int(Pence(p))  # Pence() refuses floats
    whole, rest = divmod(abs(value), 100)
    sign = "-" if value < 0 else ""
    return f"{sign}£{whole:,}" if rest == 0 else f"{sign}£{whole:,}.{rest:02d}"


def headline_pounds(p: int) -> str:
    """For the headline: whole pounds (nearest, halves up) from £100 up; exact below £100."""
    value = int(Pence(p))
    if abs(value) < _HEADLINE_EXACT_BELOW:
        return pounds(value)
    whole = (abs(value) + 50) // 100
    return f"{'-' if value < 0 else ''}£{whole:,}"


def format_date(d: date) -> str:
    """GOV.UK style, no leading zero, month spelled out: "14 March 2026"."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


# --- input ---------------------------------------------------------------------------------------


def _check_date(owner: str, name: str, value: object, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{owner}: {name} must be a date, not {type(value).__name__} {value!r}")


def _check_text(owner: str, name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{owner}: {name} must be text, not {type(value).__name__} {value!r}")


def _names(owner: str, value: object) -> tuple[str, ...]:
    # A lone string would otherwise iterate as its letters.
    names = (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]
    for n in names:
        _check_text(owner, "covers", n)
    return names


@dataclass(frozen=True)
class DebtFacts:
    """What is known about one debt on the day of the picture. Amounts are whole pence.

    balance: what is owed (negative when in credit); arrears: the part overdue; ongoing: the
    part owed but not yet due (ledger.Position has the same three). weekly_charge is the weekly
    rent, used to give rent arrears in weeks. last_payment_amount is the amount paid, positive.
    ref is an optional identifier that arrangements and holds may name instead of description.
    """

    account_type: str
    description: str = ""
    balance: Pence = Pence(0)
    arrears: Pence = Pence(0)
    ongoing: Pence = Pence(0)
    tenure: str = ""
    period_start: date | None = None
    period_end: date | None = None
    recovery_stage: str = "none"
    stage_date: date | None = None
    last_payment_date: date | None = None
    last_payment_amount: Pence | None = None
    weekly_charge: Pence | None = None
    ref: str = ""

    def __post_init__(self) -> None:
        who = f"debt {self.description or self.ref or self.account_type!r}"
        if self.account_type not in ACCOUNT_TYPES:
            raise ValueError(
                f"{who}: unknown account type {self.account_type!r}; "
                f"expected one of {', '.join(ACCOUNT_TYPES)}"
            )
        for name in ("description", "tenure", "recovery_stage", "ref"):
            _check_text(who, name, getattr(self, name))
        if self.tenure and self.tenure not in TENURES:
            raise ValueError(f"{who}: unknown tenure {self.tenure!r}; expected one of {', '.join(TENURES)}")
        if self.recovery_stage == "":
            object.__setattr__(self, "recovery_stage", "none")
        if self.recovery_stage not in RECOVERY_STAGES:
            raise ValueError(
                f"{who}: unknown recovery stage {self.recovery_stage!r}; "
                f"expected one of {', '.join(RECOVERY_STAGES)}"
            )
        for name in ("balance", "arrears", "ongoing"):
            object.__setattr__(self, name, Pence(getattr(self, name)))  # refuses floats
        for name in ("last_payment_amount", "weekly_charge"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, Pence(getattr(self, name)))
        if self.arrears < 0 or self.ongoing < 0:
            raise ValueError(f"{who}: arrears and ongoing cannot be negative (a credit is a negative balance)")
        if self.weekly_charge is not None and self.weekly_charge <= 0:
            raise ValueError(f"{who}: the weekly charge must be more than £0")
        if self.last_payment_amount is not None and self.last_payment_amount <= 0:
            raise ValueError(f"{who}: the last payment amount is the amount paid, so it must be more than £0")
        for name in ("period_start", "period_end", "stage_date", "last_payment_date"):
            _check_date(who, name, getattr(self, name))

    @property
    def label(self) -> str:
        return ACCOUNT_TYPE_LABELS[self.account_type]

    @property
    def title(self) -> str:
        return self.description or self.label

    @property
    def names(self) -> frozenset[str]:
        """What an arrangement or hold may call this debt."""
        return frozenset(n for n in (self.description, self.ref) if n)

    @property
    def rank(self) -> int:
        if self.account_type == "housing_rent" and self.tenure == "garage":
            return _GARAGE_RANK
        return _RANK[self.account_type]

    @property
    def priority(self) -> bool:
        return self.account_type in PRIORITY_ACCOUNT_TYPES


@dataclass(frozen=True)
class ArrangementFacts:
    """An agreement to pay `amount` pence at `frequency` from `start` towards the debts it covers.

    covers: the debts' descriptions (or refs). kept_since: kept without a miss since that date.
    broken_on: the date it was broken (ignored if after the picture's date).
    """

    covers: tuple[str, ...]
    amount: Pence
    frequency: str
    start: date
    kept_since: date | None = None
    broken_on: date | None = None

    def __post_init__(self) -> None:
        who = "arrangement"
        object.__setattr__(self, "covers", _names(who, self.covers))
        object.__setattr__(self, "amount", Pence(self.amount))
        if self.amount <= 0:
            raise ValueError("arrangement: the amount must be more than £0")
        if self.frequency not in ARRANGEMENT_FREQUENCIES:
            raise ValueError(
                f"arrangement: unknown frequency {self.frequency!r}; "
                f"expected one of {', '.join(ARRANGEMENT_FREQUENCIES)}"
            )
        _check_date(who, "start", self.start, optional=False)
        _check_date(who, "kept_since", self.kept_since)
        _check_date(who, "broken_on", self.broken_on)


@dataclass(frozen=True)
class HoldFacts:
    """A stop on recovery: `kind` (see HOLD_KINDS), its last day `until` (None: no end date set),
    and the debts it `covers` by description or ref (empty: everything the person owes)."""

    kind: str
    until: date | None = None
    covers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in HOLD_KINDS:
            raise ValueError(f"unknown hold kind {self.kind!r}; expected one of {', '.join(HOLD_KINDS)}")
        object.__setattr__(self, "covers", _names("hold", self.covers))
        _check_date("hold", "until", self.until)


@dataclass(frozen=True)
class PersonPicture:
    """Everything summarised about one person on the date `on`."""

    on: date
    debts: tuple[DebtFacts, ...] = ()
    arrangements: tuple[ArrangementFacts, ...] = ()
    holds: tuple[HoldFacts, ...] = ()
    vulnerable: bool = False

    def __post_init__(self) -> None:
        _check_date("picture", "on", self.on, optional=False)
        for name, kind in (("debts", DebtFacts), ("arrangements", ArrangementFacts), ("holds", HoldFacts)):
            items = tuple(getattr(self, name))
            for item in items:
                if not isinstance(item, kind):
                    raise TypeError(f"picture: {name} must be {kind.__name__}, not {type(item).__name__}")
            object.__setattr__(self, name, items)
        if not isinstance(self.vulnerable, bool):
            raise TypeError("picture: vulnerable must be True or False")


@dataclass(frozen=True)
class Summary:
    """The debt picture: a headline and one line per debt (or group of years), in order."""

    headline: str
    lines: list[str] = field(default_factory=list)
    priority_total: Pence = Pence(0)  # exact sum of positive balances on priority debts
    non_priority_total: Pence = Pence(0)
    services: int = 0  # distinct account types with something owed

    @property
    def total(self) -> Pence:
        return self.priority_total + self.non_priority_total

    @property
    def text(self) -> str:
        """Headline and lines as one paragraph."""
        return " ".join([self.headline, *self.lines])


# --- the summary ---------------------------------------------------------------------------------


def _opt(value: object) -> tuple[int, object]:
    # None sorts after every value, and is never compared with one.
    return (1, 0) if value is None else (0, value)


def _debt_key(d: DebtFacts) -> tuple[object, ...]:
    # Every field takes part, so the order never depends on the order of the input.
    return (
        d.rank, ACCOUNT_TYPES.index(d.account_type), _opt(d.period_start), _opt(d.period_end),
        d.description, d.ref, d.tenure, d.balance, d.arrears, d.ongoing,
        RECOVERY_STAGES.index(d.recovery_stage), _opt(d.stage_date), _opt(d.last_payment_date),
        _opt(d.last_payment_amount), _opt(d.weekly_charge),
    )  # fmt: skip


def _arrangement_key(a: ArrangementFacts) -> tuple[object, ...]:
    return (a.start, tuple(sorted(a.covers)), a.amount, a.frequency, _opt(a.kept_since), _opt(a.broken_on))


def _hold_key(h: HoldFacts) -> tuple[object, ...]:
    return (_HOLD_ORDER[h.kind], _opt(h.until), tuple(sorted(h.covers)))


def _year_label(d: DebtFacts) -> str:
    """ "2024/25" for a debt in a group of years."""
    prefix = d.label.lower() + " "
    if d.description.lower().startswith(prefix) and d.description[len(prefix) :].strip():
        return d.description[len(prefix) :].strip()
    if d.description:
        return d.description
    if d.period_start is not None:
        start = d.period_start.year if d.period_start.month >= 4 else d.period_start.year - 1
        return f"{start}/{(start + 1) % 100:02d}"
    return d.label


def _stage(d: DebtFacts) -> str:
    words, prep = _STAGE_WORDS[d.recovery_stage]
    if d.recovery_stage == "warrant":
        words = _WARRANT_WORDS.get(d.account_type, words)
    if not words:
        return ""
    return f"{words} {prep} {format_date(d.stage_date)}" if d.stage_date is not None else words


def _amount(d: DebtFacts) -> str:
    not_due = min(d.ongoing, d.balance)
    if not_due >= d.balance:
        return f"{pounds(d.balance)} not yet due"
    if not_due > 0:
        return f"{pounds(d.balance)} ({pounds(not_due)} not yet due)"
    return pounds(d.balance)


def _weeks(d: DebtFacts) -> str:
    if d.account_type != "housing_rent" or d.weekly_charge is None or d.arrears <= 0:
        return ""
    weeks = int(d.arrears) // int(d.weekly_charge)
    return "less than 1 week in arrears" if weeks == 0 else f"{_count(weeks, 'week', 'weeks')} in arrears"


def _last_payment(d: DebtFacts) -> str:
    if d.last_payment_amount is not None and d.last_payment_date is not None:
        return f"last paid {pounds(d.last_payment_amount)} on {format_date(d.last_payment_date)}"
    if d.last_payment_amount is not None:
        return f"last paid {pounds(d.last_payment_amount)}"
    if d.last_payment_date is not None:
        return f"last paid on {format_date(d.last_payment_date)}"
    return ""


def _arrangement(a: ArrangementFacts, on: date, here: frozenset[str]) -> str:
    """How an arrangement reads on the line for the debts called `here`."""
    text = f"arrangement of {pounds(a.amount)} {ARRANGEMENT_FREQUENCIES[a.frequency]}"
    others = sorted(set(a.covers) - here)
    if others and here:
        text += f" (also covers {_and(others)})"
    elif others:
        text += f" for {_and(others)}"
    if a.broken_on is not None and a.broken_on <= on:
        return f"{text} broken on {format_date(a.broken_on)}"
    if a.start > on:
        return f"{text} starting {format_date(a.start)}"
    if a.kept_since is not None:
        return f"{text} kept since {format_date(a.kept_since)}"
    return f"{text} since {format_date(a.start)}"


def _hold_headline(h: HoldFacts) -> str:
    name, effect, _ = HOLD_KINDS[h.kind]
    scope = ""
    if h.covers:
        covered = _and(sorted(h.covers))
        scope = f" ({covered})" if h.kind == "deceased" else f" on {covered}"
    if h.kind == "deceased":
        until = ""
    elif h.until is not None:
        until = f" until {format_date(h.until)}"
    else:
        until = ", no end date"
    return f"{name}{scope}{until}: {effect}."


def _hold_note(h: HoldFacts) -> str:
    """The note on the line of a debt that a hold covers: "on hold (disputed) until 1 May 2026"."""
    _, _, noun = HOLD_KINDS[h.kind]
    until = f" until {format_date(h.until)}" if h.until is not None and h.kind != "deceased" else ""
    return f"on hold ({noun}){until}"


def _covers_all(covers: tuple[str, ...], debts: list[DebtFacts]) -> bool:
    return all(set(covers) & d.names for d in debts)


class _Notes:
    """Arrangement and hold notes for the debt lines."""

    def __init__(self, picture: PersonPicture, holds: list[HoldFacts]) -> None:
        self.on = picture.on
        self.arrangements = sorted(picture.arrangements, key=_arrangement_key)
        self.holds = [h for h in holds if h.covers]  # holds on everything are in the headline only

    def for_line(self, debts: list[DebtFacts], *, group: list[DebtFacts] | None = None) -> list[str]:
        """Notes for a line about `debts`. On a year within a `group`, the notes that cover the
        whole group are left out: the group's own line gives them once."""
        here = frozenset().union(*(d.names for d in debts))
        out = []
        for a in self.arrangements:
            if here & set(a.covers) and not (group and _covers_all(a.covers, group)):
                out.append(_arrangement(a, self.on, here))
        for h in self.holds:
            if here & set(h.covers) and not (group and _covers_all(h.covers, group)):
                out.append(_hold_note(h))
        return out

    def for_group(self, group: list[DebtFacts]) -> list[str]:
        """Notes that cover every debt in `group`."""
        here = frozenset().union(*(d.names for d in group))
        out = [_arrangement(a, self.on, here) for a in self.arrangements if _covers_all(a.covers, group)]
        out += [_hold_note(h) for h in self.holds if _covers_all(h.covers, group)]
        return out


def _debt_line(d: DebtFacts, notes: _Notes, *, group: list[DebtFacts] | None = None) -> str:
    if group:
        title = _year_label(d)
    else:
        title = d.title
        if d.tenure and d.tenure != "secure":
            title += f" ({TENURE_LABELS[d.tenure].lower()})"
    parts = [_amount(d), _weeks(d), _stage(d), *notes.for_line([d], group=group), _last_payment(d)]
    return f"{title}: {', '.join(p for p in parts if p)}."


def _group_line(group: list[DebtFacts], notes: _Notes) -> str:
    total = sum((d.balance for d in group), Pence(0))
    distinct_years = len({_year_label(d) for d in group}) == len(group)
    span = _count(len(group), "year", "years") if distinct_years else _count(len(group), "debt", "debts")
    head = ", ".join([f"{pounds(total)} for {span}", *notes.for_group(group)])
    years = " ".join(_debt_line(d, notes, group=group) for d in group)
    return f"{group[0].label}: {head}. {years}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def summarise(picture: PersonPicture) -> Summary:
    """The plain-English debt picture of one person on `picture.on` (see the module docstring)."""
    if not isinstance(picture, PersonPicture):
        raise TypeError(f"summarise needs a PersonPicture, not {type(picture).__name__}")
    on = picture.on
    owed = sorted((d for d in picture.debts if d.balance > 0), key=_debt_key)
    credits = sorted((d for d in picture.debts if d.balance < 0), key=_debt_key)
    holds = sorted((h for h in picture.holds if h.until is None or h.until >= on), key=_hold_key)
    notes = _Notes(picture, holds)

    priority_total = sum((d.balance for d in owed if d.priority), Pence(0))
    non_priority_total = sum((d.balance for d in owed if not d.priority), Pence(0))
    credit_total = -sum((d.balance for d in credits), Pence(0))
    services = len({d.account_type for d in owed})

    # Headline: holds, vulnerability, then the totals.
    head = [_hold_headline(h) for h in holds]
    if picture.vulnerable:
        head.append("Vulnerability recorded: check support needs before any contact.")
    total = priority_total + non_priority_total
    if total > 0:
        where = f"across {services} services" if services > 1 else "for 1 service"
        owes = f"Owes {headline_pounds(total)} {where}"
        if priority_total > 0 and non_priority_total > 0:
            owes += f", {headline_pounds(priority_total)} of it priority debt"
        head.append(owes + ".")
    else:
        head.append("Nothing owed.")
    if credit_total > 0:
        head.append(f"{headline_pounds(credit_total)} in credit.")

    # Lines: owed debts by severity (yearly liabilities grouped), then credits.
    lines: list[str] = []
    i = 0
    while i < len(owed):
        d = owed[i]
        if d.account_type in _YEARLY:
            j = i
            while j < len(owed) and owed[j].account_type == d.account_type:
                j += 1
            group = owed[i:j]
            lines.append(_group_line(group, notes) if len(group) > 1 else _debt_line(d, notes))
            i = j
        else:
            lines.append(_debt_line(d, notes))
            i += 1
    for d in credits:
        lines.append(f"{d.title}: {pounds(-d.balance)} in credit.")

    # Arrangements that cover no debt with a balance still get said.
    shown = frozenset().union(*(d.names for d in owed)) if owed else frozenset()
    for a in notes.arrangements:
        if not (set(a.covers) & shown):
            lines.append(_sentence(_arrangement(a, on, frozenset())))

    return Summary(
        headline=" ".join(head),
        lines=lines,
        priority_total=priority_total,
        non_priority_total=non_priority_total,
        services=services,
    )
