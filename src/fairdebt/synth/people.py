"""People, households and places of the synthetic council, and how each system writes them down.

A Person is the real resident (the ground truth). A source system never sees the Person itself:
`render_person` and `render_address` produce the record a given system holds, with the variation
real extracts have (nicknames, typos, maiden names, missing DOB or NINO, address styles).

Everything draws from a random.Random passed in by the caller; nothing here iterates over a set.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import names as N

# ---------------------------------------------------------------------------------------------- places


@dataclass
class Street:
    name: str
    short: str
    district: str
    locality: str
    postcodes: list[str]


@dataclass
class Property:
    uprn: str | None
    kind: str  # house | conv_flat | block_flat | shop | elsewhere
    street: Street
    number: int | None
    postcode: str
    town: str
    flat: int | None = None
    block: str | None = None
    estate: str | None = None
    unit: str | None = None  # shop unit
    band: str = "C"
    in_borough: bool = True


def _unit(rng: random.Random) -> str:
    return rng.choice(N.POSTCODE_UNIT_LETTERS) + rng.choice(N.POSTCODE_UNIT_LETTERS)


class Geography:
    """The borough's streets, estates and high streets, and a register of allocated properties."""

    def __init__(self, seed: int, scale: int):
        rng = random.Random(f"{seed}:geo")
        self.rng = rng
        self.streets: list[Street] = []
        used_pc: dict[str, bool] = {}

        def postcode(district: str) -> str:
            while True:
                pc = f"{district} {rng.randint(0, 9)}{_unit(rng)}"
                if pc not in used_pc:
                    used_pc[pc] = True
                    return pc

        firsts = list(N.STREET_FIRST)
        rng.shuffle(firsts)
        for first in firsts:
            full, short = rng.choice(N.STREET_TYPES)
            district, locality = rng.choice(N.DISTRICTS)
            pcs = [postcode(district) for _ in range(rng.randint(1, 3))]
            self.streets.append(Street(f"{first} {full}", f"{first} {short}", district, locality, pcs))
        self.high_streets: list[Street] = []
        for full, short in N.HIGH_STREETS:
            district, locality = rng.choice(N.DISTRICTS)
            self.high_streets.append(Street(full, short, district, locality, [postcode(district) for _ in range(2)]))
        # estates: (estate name, street, [(block, postcode, flats)])
        self.estates: list[tuple[str, Street, list[tuple[str, str, int]]]] = []
        blocks = list(N.BLOCK_NAMES)
        rng.shuffle(blocks)
        bi = 0
        for estate in N.ESTATE_NAMES:
            street = rng.choice(self.streets)
            bl = []
            for _ in range(rng.randint(2, 4)):
                name = blocks[bi % len(blocks)] if bi < len(blocks) else f"{blocks[bi % len(blocks)].split()[0]} {bi // len(blocks) + 1} Court"
                bi += 1
                bl.append((name, postcode(street.district), rng.randint(24, 96)))
            self.estates.append((estate, street, bl))
        self.max_number = 160 + scale // 40
        self.used: dict[tuple, bool] = {}
        self.uprn = 100021000000 + rng.randint(0, 99999) * 10

    def _next_uprn(self, rng: random.Random) -> str:
        self.uprn += rng.randint(1, 37)
        return str(self.uprn)

    def _claim(self, key: tuple) -> bool:
        if key in self.used:
            return False
        self.used[key] = True
        return True

    def house(self, rng: random.Random) -> Property:
        for attempt in range(200):
            st = rng.choice(self.streets)
            num = rng.randint(1, self.max_number * (1 + attempt // 20))
            if self._claim(("h", st.name, num)):
                return Property(self._next_uprn(rng), "house", st, num, rng.choice(st.postcodes), "London",
                                band=rng.choice("CDDDEEEFFG"))
        raise RuntimeError("no free house")

    def converted_flat(self, rng: random.Random) -> Property:
        for attempt in range(200):
            st = rng.choice(self.streets)
            num = rng.randint(1, self.max_number * (1 + attempt // 20))
            flat = rng.randint(1, 4)
            if ("h", st.name, num) in self.used:
                continue
            if self._claim(("f", st.name, num, flat)):
                return Property(self._next_uprn(rng), "conv_flat", st, num, rng.choice(st.postcodes), "London",
                                flat=flat, band=rng.choice("BBCCCD"))
        raise RuntimeError("no free flat")

    def block_flat(self, rng: random.Random) -> Property:
        for attempt in range(400):
            estate, st, blocks = rng.choice(self.estates)
            block, pc, flats = rng.choice(blocks)
            flat = rng.randint(1, flats * (1 + attempt // 40))
            if self._claim(("b", block, flat)):
                return Property(self._next_uprn(rng), "block_flat", st, None, pc, "London", flat=flat, block=block,
                                estate=estate, band=rng.choice("AABBBC"))
        raise RuntimeError("no free block flat")

    def shop(self, rng: random.Random) -> Property:
        for attempt in range(200):
            st = rng.choice(self.high_streets)
            num = rng.randint(1, 300 * (1 + attempt // 20))
            if self._claim(("s", st.name, num)):
                unit = f"Unit {rng.randint(1, 6)}" if rng.random() < 0.15 else None
                return Property(self._next_uprn(rng), "shop", st, num, rng.choice(st.postcodes), "London", unit=unit)
        raise RuntimeError("no free shop")

    def elsewhere(self, rng: random.Random) -> Property:
        town, district = rng.choice(N.ELSEWHERE)
        full, short = rng.choice(N.STREET_TYPES)
        first = rng.choice(N.STREET_FIRST[::-1])
        st = Street(f"{first} {full}", f"{first} {short}", district, town, [])
        pc = f"{district} {rng.randint(1, 9)}{_unit(rng)}"
        if rng.random() < 0.3:
            return Property(None, "conv_flat", st, rng.randint(1, 220), pc, town, flat=rng.randint(1, 6), in_borough=False)
        return Property(None, "house", st, rng.randint(1, 220), pc, town, in_borough=False)


FLOORS = ("Ground Floor Flat", "First Floor Flat", "Second Floor Flat", "Top Floor Flat")


def render_address(p: Property, style: str, rng: random.Random) -> tuple[str, str, str, str]:
    """Address lines 1-3 and postcode as one system writes them.

    style: "llpg" (upper case, flat on its own line), "plain", "short" (abbreviated, slash flats),
    "any" (a random mix, as typed in by residents).
    """
    if style == "any":
        style = rng.choice(("plain", "plain", "short", "llpg_mixed"))
    st = p.street
    road = st.short if (style == "short" or (style == "plain" and rng.random() < 0.15)) else st.name
    town = p.town
    locality = st.locality if p.in_borough else ""
    if p.kind == "house":
        lines = [f"{p.number} {road}", locality if rng.random() < 0.5 else "", town]
    elif p.kind == "conv_flat":
        letter = "ABCDEF"[(p.flat or 1) - 1]
        if style == "llpg" or style == "llpg_mixed":
            lines = [f"Flat {p.flat}", f"{p.number} {road}", town]
        else:
            r = rng.random()
            if r < 0.35:
                lines = [f"Flat {p.flat}, {p.number} {road}", locality, town]
            elif r < 0.55:
                lines = [f"{p.flat}/{p.number} {road}", town, ""]
            elif r < 0.75:
                lines = [f"{p.number}{letter} {road}", town, ""]
            elif r < 0.85 and (p.flat or 1) <= len(FLOORS):
                lines = [f"{FLOORS[(p.flat or 1) - 1]}, {p.number} {road}", town, ""]
            else:
                lines = [f"Flat {letter}", f"{p.number} {road}", town]
    elif p.kind == "block_flat":
        block = p.block or ""
        if style in ("llpg", "llpg_mixed"):
            lines = [f"Flat {p.flat}", block, road]
        else:
            r = rng.random()
            short_block = block.replace(" House", " Ho").replace(" Court", " Ct") if style == "short" else block
            if r < 0.4:
                lines = [f"Flat {p.flat} {short_block}", road, town]
            elif r < 0.7:
                lines = [f"{p.flat} {short_block}", f"{p.estate} Estate", town]
            else:
                lines = [f"{p.flat} {short_block}", road, locality or town]
    elif p.kind == "shop":
        if p.unit:
            lines = [p.unit, f"{p.number} {road}", town]
        else:
            lines = [f"{p.number} {road}", locality, town]
    else:
        lines = [f"{p.number} {road}", town, ""]
    # squeeze blanks up, keep three lines
    lines = [x for x in lines if x] + ["", "", ""]
    l1, l2, l3 = lines[0], lines[1], lines[2]
    if style == "llpg":
        l1, l2, l3 = l1.upper(), l2.upper(), l3.upper()
    return l1, l2, l3, p.postcode


# ---------------------------------------------------------------------------------------------- people

NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
NINO_BAD_PAIRS = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")


def make_nino(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(NINO_FIRST) + rng.choice(NINO_SECOND)
        if prefix not in NINO_BAD_PAIRS:
            break
    return f"{prefix}{rng.randint(0, 999999):06d}{rng.choice('ABCD')}"


def ascii_fold(s: str) -> str:
    s = s.replace("ł", "l").replace("Ł", "L")
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


@dataclass
class Payer:
    """How a household (or business) pays its bills."""

    style: str  # dd | late | broken | seasonal | partial | none
    method: str  # the manual method it uses: card | cash | bank_transfer
    break_after: int = 4  # months of payment before a broken payer stops
    season: tuple[int, ...] = ()
    partial_pct: int = 60
    response: str = "ignore"  # to a summons or court letter: pay | arrange | ignore
    bounce: float = 0.02
    dd_day: int = 1  # rent: the day of the month a monthly DD is taken


@dataclass
class Person:
    rid: str
    sex: str
    background: str
    title: str
    forename: str
    middle: str | None
    surname: str
    dob: date
    nino: str | None
    phone: str | None
    email: str | None
    prev_surname: str | None = None  # before marriage
    married_on: date | None = None
    alt_surname: str | None = None  # e.g. Begum, or a masculine form of a Polish surname
    old_email: str | None = None
    landline: str | None = None
    employed: bool = False
    on_benefits: bool = False
    deceased_on: date | None = None

    def age_on(self, d: date) -> int:
        return d.year - self.dob.year - ((d.month, d.day) < (self.dob.month, self.dob.day))


@dataclass
class Period:
    prop: Property
    start: date
    end: date | None  # last day there, or None if still there
    tenure: str  # council | leasehold | owner | private | ta | elsewhere


@dataclass
class Household:
    hid: int
    adults: list[Person]
    kind: str  # single | couple | family | lone_parent | sharers | multigen
    income: str  # low | modest | comfortable
    tenure: str
    periods: list[Period]
    payer: Payer
    left_on: date | None = None  # moved out of the borough
    couple: tuple[Person, Person] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def lead(self) -> Person:
        return self.adults[0]

    def home(self) -> Period:
        return self.periods[-1]


def _weighted(rng: random.Random, options: tuple) -> object:
    total = sum(w for w, _ in options)
    x = rng.random() * total
    for w, v in options:
        x -= w
        if x < 0:
            return v
    return options[-1][1]


BACKGROUND_CHOICES = tuple((w, k) for k, (w, *_rest) in N.BACKGROUNDS.items())


def _email(rng: random.Random, forename: str, surname: str, year: int) -> str:
    f = ascii_fold(forename).lower().replace(" ", "").replace("'", "")
    s = ascii_fold(surname).lower().replace(" ", "").replace("'", "").replace("-", "")
    dom = rng.choice(N.EMAIL_DOMAINS)
    r = rng.random()
    if r < 0.3:
        local = f"{f}.{s}"
    elif r < 0.5:
        local = f"{f}{s}{year % 100:02d}"
    elif r < 0.65:
        local = f"{f[0]}{s}"
    elif r < 0.75:
        local = f"{s}.{f}"
    elif r < 0.9:
        local = f"{f}.{s}{rng.randint(1, 999)}"
    else:
        local = f"{f}_{s[:3]}{rng.randint(10, 99)}"
    return f"{local}@{dom}"


def _mobile(rng: random.Random) -> str:
    return f"07{rng.randint(100, 999)}{rng.randint(0, 999999):06d}"


def make_person(rng: random.Random, rid: str, background: str, sex: str, dob: date, surname: str,
                as_of: date) -> Person:
    _, males, females, _surnames = N.BACKGROUNDS[background]
    forename = rng.choice(males if sex == "M" else females)
    middle = None
    if rng.random() < 0.35:
        middle = rng.choice(males if sex == "M" else females)
        if middle == forename:
            middle = None
    if sex == "F" and surname in N.FEMININE_SURNAME:
        surname = N.FEMININE_SURNAME[surname]
    title = "Mr" if sex == "M" else rng.choice(N.TITLES_FEMALE)
    if rng.random() < 0.01:
        title = "Dr"
    elif rng.random() < 0.005:
        title = "Mx"
    if background == "orthodox_jewish" and sex == "M" and rng.random() < 0.3:
        title = "Rabbi" if rng.random() < 0.2 else "Mr"
    nino = make_nino(rng) if rng.random() < 0.96 else None
    phone = _mobile(rng) if rng.random() < 0.88 else None
    email = _email(rng, forename, surname, dob.year) if rng.random() < 0.78 else None
    p = Person(rid, sex, background, title, forename, middle, surname, dob, nino, phone, email)
    if rng.random() < 0.2:
        p.old_email = _email(rng, forename, surname, dob.year)
    if rng.random() < 0.15:
        p.landline = f"020{rng.choice('78')}{rng.randint(0, 9999999):07d}"
    return p


# typos -------------------------------------------------------------------------------------------

KEYBOARD = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj", "i": "uo",
    "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o", "q": "w", "r": "et",
    "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc", "y": "tu", "z": "x",
}


def typo(s: str, rng: random.Random) -> str:
    if len(s) < 4:
        return s
    i = rng.randint(1, len(s) - 2)
    r = rng.random()
    if r < 0.35:  # transpose
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if r < 0.6:  # drop
        return s[:i] + s[i + 1:]
    if r < 0.8:  # double
        return s[:i] + s[i] + s[i:]
    c = s[i].lower()
    if c in KEYBOARD:
        sub = rng.choice(KEYBOARD[c])
        return s[:i] + (sub.upper() if s[i].isupper() else sub) + s[i + 1:]
    return s[:i] + s[i + 1:]


@dataclass(frozen=True)
class Style:
    """How carefully a system records people."""

    nick: float = 0.05  # uses a nickname or other spelling of the forename
    typo: float = 0.03  # a typo in forename or surname
    middle: float = 0.1  # forename field also holds the middle name
    initial: float = 0.0  # forename is only an initial
    upper: bool = False  # upper-cases names
    fold: float = 0.3  # drops accents (ł -> l)
    surname_variant: float = 0.08
    keep_old_surname: float = 0.8  # a record made before a marriage keeps the old surname
    title: float = 0.9
    dob: float = 0.5
    dob_error: float = 0.01
    nino: float = 0.3
    nino_error: float = 0.005
    phone: float = 0.6
    email: float = 0.5
    address: str = "plain"


def render_phone(phone: str | None, rng: random.Random) -> str:
    if not phone:
        return ""
    r = rng.random()
    if r < 0.45:
        return phone
    if r < 0.85:
        return f"{phone[:5]} {phone[5:]}"
    if phone.startswith("07"):
        return f"+44 {phone[1:5]} {phone[5:]}"
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}"


def render_person(p: Person, style: Style, rng: random.Random, created: date) -> dict:
    """Canonical account fields for a person as one system recorded them when the record was made."""
    forename = p.forename
    variants = N.FORENAME_VARIANTS.get(forename)
    if variants and rng.random() < style.nick:
        forename = rng.choice(variants)
    elif p.middle and rng.random() < style.middle:
        forename = f"{forename} {p.middle}"
    if style.initial and rng.random() < style.initial:
        forename = forename[0]
    surname = p.surname
    if p.prev_surname and p.married_on:
        if created < p.married_on:
            surname = p.prev_surname if rng.random() < style.keep_old_surname else p.surname
        elif rng.random() < 0.04:
            surname = p.prev_surname
    if p.alt_surname and rng.random() < 0.35:
        surname = p.alt_surname
    sv = N.SURNAME_VARIANTS.get(surname)
    if sv and rng.random() < style.surname_variant:
        surname = rng.choice(sv)
    if rng.random() < style.typo:
        if rng.random() < 0.6:
            surname = typo(surname, rng)
        else:
            forename = typo(forename, rng)
    if rng.random() < style.fold:
        forename, surname = ascii_fold(forename), ascii_fold(surname)
    if style.upper:
        surname = surname.upper()
        if rng.random() < 0.5:
            forename = forename.upper()
    dob = None
    if rng.random() < style.dob:
        dob = p.dob
        if rng.random() < style.dob_error:
            if dob.day <= 12 and dob.day != dob.month:
                dob = date(dob.year, dob.day, dob.month)
            else:
                dob = date(dob.year + rng.choice((-1, 1)), dob.month, min(dob.day, 28))
    nino = ""
    if p.nino and rng.random() < style.nino:
        nino = p.nino
        if rng.random() < style.nino_error:
            i = rng.randint(2, 7)
            nino = nino[:i] + str((int(nino[i]) + 1) % 10) + nino[i + 1:]
    phone = p.phone if rng.random() < 0.85 else (p.landline or p.phone)
    email = p.email if rng.random() < 0.85 else (p.old_email or p.email)
    return {
        "title": p.title if rng.random() < style.title else "",
        "forename": forename,
        "surname": surname,
        "date_of_birth": dob,
        "nino": nino,
        "phone": render_phone(phone, rng) if rng.random() < style.phone else "",
        "email": (email or "") if rng.random() < style.email else "",
    }


# ---------------------------------------------------------------------------------------------- households

PAYER_STYLES = {
    "low": ((30, "dd"), (17, "late"), (14, "broken"), (5, "seasonal"), (18, "partial"), (16, "none")),
    "modest": ((52, "dd"), (18, "late"), (10, "broken"), (6, "seasonal"), (8, "partial"), (6, "none")),
    "comfortable": ((78, "dd"), (12, "late"), (3, "broken"), (3, "seasonal"), (2, "partial"), (2, "none")),
}
SEASONS = ((6, 7, 8, 9), (11, 12), (3, 4), (1, 2, 3), (7, 8, 9, 10))


def make_payer(rng: random.Random, income: str) -> Payer:
    style = _weighted(rng, PAYER_STYLES[income])
    method = _weighted(rng, ((45, "card"), (25, "cash"), (30, "bank_transfer")))
    response = _weighted(rng, ((35, "pay"), (40, "arrange"), (25, "ignore")) if income != "low"
                         else ((15, "pay"), (45, "arrange"), (40, "ignore")))
    return Payer(
        style=style,
        method=method,
        break_after=rng.randint(2, 7),
        season=rng.choice(SEASONS),
        partial_pct=rng.choice((40, 50, 60, 70, 75, 80)),
        response=response,
        bounce=rng.choice((0.0, 0.01, 0.02, 0.03, 0.06)),
        dd_day=rng.choice((1, 1, 1, 5, 10, 15, 20, 25, 28)),
    )


def vary_payer(base: Payer, rng: random.Random, income: str) -> Payer:
    """The same household pays different bills differently, but mostly alike."""
    if rng.random() < 0.25:
        other = make_payer(rng, income)
        other.method = base.method
        return other
    return base


def shift_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def rand_date(rng: random.Random, start: date, end: date) -> date:
    if end <= start:
        return start
    return start + timedelta(days=rng.randint(0, (end - start).days))
