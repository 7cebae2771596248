"""A synthetic council: residents, households and businesses, and each source system's extracts.

`generate()` writes one file per source in sources.toml (except the national DWP sources), in each
source's own layout, plus manifest.json, truth.csv (which source person records are the same real
person) and bad_rows.csv (rows deliberately made bad). The same arguments give byte-identical files.

The model, in short: households live at addresses in a fictional inner-London borough (E5, E8, E9,
N16); some moved within the last three years (older systems keep the old address), some left the
borough. Couples hold council tax and tenancies jointly. Each system holds its own record of a
person, with its own id scheme and the variation real extracts have. Each debt's ledger comes from
a payment profile (direct debit, late, broken arrangement, seasonal, partial, non-payer) run
through that service's recovery steps (engines.py).
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import date
from pathlib import Path

from fairdebt.ingest import config

from . import names as N
from .engines import (
    Step,
    instalment_plan,
    instalment_year,
    invoice_debt,
    pcn,
    rent_account,
    weekly_rents,
)
from .ledger import Ledger, add_months, days, fy_start, month_start
from .people import (
    BACKGROUND_CHOICES,
    Geography,
    Household,
    Payer,
    Period,
    Person,
    Property,
    Style,
    _weighted,
    make_payer,
    make_person,
    rand_date,
    render_address,
    render_person,
    shift_years,
    vary_payer,
)
from .writer import Output

SYSTEMS = ("council_tax", "business_rates", "housing", "leasehold", "hb_overpayments", "parking", "sundry")
FEED_ORDER = ("accounts", "debts", "transactions")

STYLES = {
    "council_tax": Style(nick=0.06, typo=0.03, middle=0.08, upper=True, fold=0.7, surname_variant=0.05,
                         keep_old_surname=0.85, title=0.95, dob=0.35, nino=0.2, phone=0.5, email=0.45, address="llpg"),
    "business_rates": Style(nick=0.05, typo=0.03, initial=0.15, upper=True, fold=0.7, dob=0.2, nino=0.1,
                            phone=0.8, email=0.7, address="llpg"),
    "housing": Style(nick=0.04, typo=0.02, middle=0.15, fold=0.2, keep_old_surname=0.9, dob=0.97, nino=0.8,
                     phone=0.85, email=0.6, address="plain"),
    "leasehold": Style(nick=0.08, typo=0.03, middle=0.2, fold=0.3, dob=0.3, nino=0.1, phone=0.8, email=0.8,
                       address="any"),
    "hb_overpayments": Style(nick=0.02, typo=0.02, middle=0.3, upper=True, fold=0.5, keep_old_surname=0.9,
                             dob=1.0, dob_error=0.005, nino=0.99, phone=0.6, email=0.3, address="short"),
    "parking": Style(nick=0.2, typo=0.05, middle=0.25, initial=0.05, fold=0.1, surname_variant=0.15, title=0.5,
                     dob=0.04, nino=0.0, phone=0.3, email=0.6, address="any"),
    "sundry": Style(nick=0.15, typo=0.05, middle=0.1, initial=0.12, fold=0.4, surname_variant=0.1, title=0.8,
                    dob=0.1, nino=0.05, phone=0.6, email=0.6, address="any"),
}
ASC_STYLE = replace(STYLES["sundry"], dob=1.0, nino=0.6, initial=0.02)
# how likely each system is to have been told of a death
RECORDS_DEATH = {"council_tax": 0.85, "business_rates": 0.5, "housing": 0.8, "leasehold": 0.5,
                 "hb_overpayments": 0.9, "parking": 0.0, "sundry": 0.4}
# a person who reappears in a system gets a new person record this often
DUPLICATE_RECORD = {"council_tax": 0.3, "business_rates": 0.2, "housing": 0.15, "leasehold": 0.3,
                    "hb_overpayments": 0.1, "parking": 0.35, "sundry": 0.2}

# How often a new account records the address its holder came from, when they moved within the
# borough: council tax move-in forms ask for it (older and paper-form records often lack it);
# housing applications ask for an address history, which the tenancy record keeps.
PREVIOUS_ADDRESS = {"council_tax": 0.7, "housing": 0.8}

BAND_NINTHS = {"A": 6, "B": 7, "C": 8, "D": 9, "E": 11, "F": 13, "G": 15, "H": 18}


# ---------------------------------------------------------------------------------------------- references


def _uuidish(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


class Refs:
    """Each system's own id schemes. Good references count up from low numbers; references for
    deliberately bad rows come from a reserved high range, so they never collide with good ones."""

    FORMATS = {
        "council_tax": {"party": ("C{:07d}", 12000, 9000000), "account": ("{:08d}", 30000000, 39000000),
                        "debt": ("{:08d}/X", 0, 39500000), "txn": ("{:010d}", 1000000000, 9000000000)},
        "business_rates": {"party": ("NR{:06d}", 10000, 900000), "account": ("8{:07d}", 100000, 9000000),
                           "debt": ("8{:07d}/X", 0, 9500000), "txn": ("N{:09d}", 100000000, 900000000)},
        "housing": {"party": ("P-{:05d}", 10000, 900000), "account": ("T{:06d}", 100000, 900000),
                    "debt": ("RA{:07d}", 1000000, 9000000), "txn": ("{:09d}", 300000000, 900000000)},
        "leasehold": {"party": ("LH{:05d}", 10000, 900000), "account": ("SC{:06d}", 100000, 900000),
                      "debt": ("INV{:07d}", 1000000, 9000000), "txn": ("LT{:08d}", 10000000, 90000000)},
        "hb_overpayments": {"party": ("{:08d}", 40000000, 49000000), "account": ("HB{:07d}", 1000000, 9000000),
                            "debt": ("OP{:07d}", 1000000, 9000000), "txn": ("{:09d}", 500000000, 950000000)},
        "parking": {"party": ("", 0, 0), "account": ("KA{:08d}", 10000000, 90000000),
                    "debt": ("HK{:08d}", 20000000, 90000000), "txn": ("", 0, 0)},
        "sundry": {"party": ("{:06d}", 100000, 900000), "account": ("SD{:06d}", 100000, 900000),
                   "debt": ("SI{:07d}", 1000000, 9000000), "txn": ("{:010d}", 1800000000, 1990000000)},
    }

    def __init__(self):
        self.n: dict[tuple[str, str], int] = {}
        self.bad_n: dict[tuple[str, str], int] = {}

    def next(self, system: str, what: str, rng: random.Random | None = None, gap: int = 1) -> str:
        fmt, start, _ = self.FORMATS[system][what]
        if system == "parking" and what in ("party", "txn"):
            return _uuidish(rng) if rng is not None else ""
        key = (system, what)
        n = self.n.get(key, start) + (rng.randint(1, gap) if (rng is not None and gap > 1) else 1)
        self.n[key] = n
        return fmt.format(n)

    def txn_counter(self, system: str, rng: random.Random):
        if system == "parking":
            return lambda: "txn_" + f"{rng.getrandbits(96):024x}"
        fmt, start, _ = self.FORMATS[system]["txn"]
        key = (system, "txn")

        def nxt() -> str:
            n = self.n.get(key, start) + 1
            self.n[key] = n
            return fmt.format(n)

        return nxt

    def bad(self, system: str, what: str, rng: random.Random) -> str:
        if system == "parking" and what in ("party", "txn"):
            return _uuidish(rng) if what == "party" else "txn_" + f"{rng.getrandbits(96):024x}"
        fmt, _, start = self.FORMATS[system][what]
        key = (system, what)
        n = self.bad_n.get(key, start) + 1
        self.bad_n[key] = n
        ref = fmt.format(n)
        if ref.endswith("/X"):
            ref = ref[:-2] + "/2425"
        return ref


# ---------------------------------------------------------------------------------------------- the council


class _Council:
    def __init__(self, residents: int, seed: int, as_of: date, out: Output, refs: Refs):
        self.residents = residents
        self.seed = seed
        self.as_of = as_of
        self.out = out
        self.geo = Geography(seed, residents)
        self.refs = refs
        crng = random.Random(f"{seed}:council")
        self.fy0 = fy_start(as_of)
        self.fys = [date(self.fy0.year - 2, 4, 1), date(self.fy0.year - 1, 4, 1), self.fy0]
        band_d = crng.randint(175000, 215000)
        self.band_d = {self.fy0: band_d}
        for i in (1, 2, 3):
            band_d = band_d * 10000 // 10499
            self.band_d[date(self.fy0.year - i, 4, 1)] = band_d
        self.ct_summons = crng.choice((7000, 8000, 9000, 9500, 10500, 12100))
        self.ct_lo = crng.choice((0, 2000, 3000, 4000))
        self.br_summons = self.ct_summons + crng.choice((0, 2000, 3000))
        self.free_weeks = crng.random() < 0.6
        self.rent_window = as_of - days(730)
        self.window3 = shift_years(as_of, -3)
        self.records: dict[tuple[str, str], dict] = {}  # (system, party_ref) -> rendered person record
        self.party_of: dict[tuple[str, str], str] = {}  # (system, rid) -> latest party_ref
        self.rid_n = 0
        self.mailboxes: dict[str, str] = {}  # email address -> the one resident (rid) whose mailbox it is
        self.method_maps: dict[str, dict[str, str]] = {}
        for system in SYSTEMS:
            name = f"{system}.transactions"
            src = config.sources().get(name)
            avail = list(src.codes.get("method", {}).values()) if src else []
            mm = {}
            for m in ("direct_debit", "cash", "card", "cheque", "bank_transfer", "housing_benefit",
                      "universal_credit", "benefit_deduction", "attachment_of_earnings", "attachment_of_benefits"):
                if not avail or m in avail:
                    mm[m] = m
                else:
                    for alt in ("card", "bank_transfer", "cheque", "cash", "direct_debit"):
                        if alt in avail:
                            mm[m] = alt
                            break
                    else:
                        mm[m] = ""
            self.method_maps[system] = mm

    # ------------------------------------------------------------------------------ people
    def new_rid(self) -> str:
        self.rid_n += 1
        return f"R{self.rid_n:06d}"

    def dob(self, rng: random.Random, lo: int, hi: int) -> date:
        age = rng.randint(lo, hi)
        return rand_date(rng, date(self.as_of.year - age - 1, self.as_of.month, 1), date(self.as_of.year - age, self.as_of.month, 1))

    def adult_age(self, rng: random.Random) -> tuple[int, int]:
        return _weighted(rng, ((25, (18, 29)), (38, (30, 49)), (20, (50, 65)), (17, (66, 94))))

    def make_household(self, h: int, rng: random.Random, cap: int) -> Household:
        A = self.as_of
        kind = _weighted(rng, ((34, "single"), (38, "couple"), (10, "family"), (6, "lone_parent"), (7, "sharers"),
                               (5, "multigen")))
        bg = _weighted(rng, BACKGROUND_CHOICES)
        surnames = N.BACKGROUNDS[bg][3]
        surname = rng.choice(surnames)
        adults: list[Person] = []
        couple = None
        if kind == "single":
            lo, hi = self.adult_age(rng)
            adults.append(make_person(rng, self.new_rid(), bg, rng.choice("MF"), self.dob(rng, lo, hi), surname, A))
        elif kind == "sharers":
            for _ in range(rng.choice((2, 2, 3))):
                b = _weighted(rng, BACKGROUND_CHOICES)
                adults.append(make_person(rng, self.new_rid(), b, rng.choice("MF"), self.dob(rng, 20, 40),
                                          rng.choice(N.BACKGROUNDS[b][3]), A))
        else:
            if kind == "lone_parent":
                lo, hi = 36, 62
            elif kind == "family":
                lo, hi = 42, 64
            elif kind == "multigen":
                lo, hi = 35, 60
            else:
                lo, hi = self.adult_age(rng)
            age = rng.randint(lo, hi)
            if kind == "lone_parent":
                sex = "F" if rng.random() < 0.85 else "M"
                adults.append(make_person(rng, self.new_rid(), bg, sex, self.dob(rng, age, age), surname, A))
            else:
                adults.extend(self.make_couple(rng, bg, surname, age))
                couple = (adults[0], adults[1])
                husband = next((p for p in couple if p.sex == "M"), None)
                surname = husband.surname if (husband is not None and adults[0].married_on) else adults[0].surname
                surname = {v: k for k, v in N.FEMININE_SURNAME.items()}.get(surname, surname)
            if kind in ("family", "lone_parent"):
                for _ in range(1 if rng.random() < 0.7 else 2):
                    child_surname = surname if (kind == "family" or rng.random() < 0.7) else rng.choice(surnames)
                    adults.append(make_person(rng, self.new_rid(), bg, rng.choice("MF"),
                                              self.dob(rng, 18, min(30, age - 17)), child_surname, A))
            if kind == "multigen":
                parent = make_person(rng, self.new_rid(), bg, rng.choice("MF"), self.dob(rng, max(age + 18, 70), 96),
                                     adults[0].prev_surname or surname, A)
                adults.append(parent)
        if len(adults) > cap:
            for p in adults[cap:]:
                self.rid_n -= 1  # not used: keep resident ids dense
            adults = adults[:cap]
            if couple and len(adults) < 2:
                couple = None
        lead = adults[0]
        lead_age = lead.age_on(A)
        income = _weighted(rng, ((45, "low"), (35, "modest"), (20, "comfortable")) if (lead_age >= 66 or kind == "lone_parent")
                           else ((27, "low"), (41, "modest"), (32, "comfortable")))
        for p in adults:
            age = p.age_on(A)
            if age >= 66:
                p.employed = False
                p.on_benefits = income == "low"
            else:
                p.employed = rng.random() < {"low": 0.35, "modest": 0.8, "comfortable": 0.92}[income]
                p.on_benefits = income == "low" and (not p.employed or rng.random() < 0.5)
            # dying within the last three years
            death_p = (0.35 if age >= 90 else 0.2 if age >= 80 else 0.07 if age >= 70 else 0.025 if age >= 60
                       else 0.004)
            if rng.random() < death_p:
                p.deceased_on = rand_date(rng, shift_years(A, -3), A - days(7))
        if len(adults) > 1 and rng.random() < 0.3:
            landline = f"020{rng.choice('78')}{rng.randint(0, 9999999):07d}"
            for p in adults:
                p.landline = landline  # the household's shared phone
        tenure = _weighted(rng, {
            "low": ((55, "council"), (3, "leasehold"), (10, "owner"), (32, "private")),
            "modest": ((25, "council"), (9, "leasehold"), (30, "owner"), (36, "private")),
            "comfortable": ((8, "council"), (8, "leasehold"), (55, "owner"), (29, "private")),
        }[income])
        periods = self.make_periods(rng, tenure, lead)
        left_on = periods[-1].start if not periods[-1].prop.in_borough else None
        hh = Household(h, adults, kind, income, tenure, periods, make_payer(rng, income), left_on, couple)
        return hh

    def make_couple(self, rng: random.Random, bg: str, surname: str, age: int) -> list[Person]:
        A = self.as_of
        same_sex = rng.random() < 0.05
        s1, s2 = ("M", "F") if not same_sex else ((x := rng.choice("MF")), x)
        if rng.random() < 0.4 and not same_sex:
            s1, s2 = "F", "M"
        bg2 = bg if rng.random() < 0.85 else _weighted(rng, BACKGROUND_CHOICES)
        age2 = max(18, min(95, age + rng.randint(-4, 8) * (1 if s1 == "F" else -1)))
        married = rng.random() < 0.65
        p1_surname = surname
        own2 = rng.choice(N.BACKGROUNDS[bg2][3])
        a = make_person(rng, self.new_rid(), bg, s1, self.dob(rng, age, age), p1_surname, A)
        wife_takes = {"south_asian_muslim": 0.0, "somali": 0.0, "east_asian": 0.3, "southern_european": 0.2}.get(bg, 0.8)
        b_surname = own2
        b = make_person(rng, self.new_rid(), bg2, s2, self.dob(rng, age2, age2), b_surname, A)
        if married and not same_sex:
            wife, husband = (a, b) if a.sex == "F" else (b, a)
            recent = rng.random() < 0.15
            lo = max(wife.dob, husband.dob)
            married_on = (rand_date(rng, shift_years(A, -4), A - days(30)) if recent
                          else rand_date(rng, shift_years(lo, 20), max(shift_years(lo, 21), shift_years(A, -4))))
            if bg == "south_asian_muslim" and wife.background == "south_asian_muslim":
                if rng.random() < 0.5:
                    wife.surname, wife.alt_surname = husband.surname, "Begum"
                else:
                    wife.surname, wife.alt_surname = "Begum", husband.surname
            elif rng.random() < wife_takes:
                maiden = wife.surname
                married_name = husband.surname
                fem = N.FEMININE_SURNAME.get(married_name)
                wife.surname = fem or married_name
                if fem and rng.random() < 0.25:
                    wife.alt_surname = married_name
                wife.prev_surname = maiden
                wife.married_on = married_on
                if wife.email and rng.random() < 0.5:
                    wife.old_email = wife.email
        return [a, b]

    def _prop_for(self, rng: random.Random, tenure: str) -> Property:
        g = self.geo
        if tenure == "council":
            return _weighted(rng, ((75, g.block_flat), (10, g.converted_flat), (15, g.house)))(rng)
        if tenure == "ta":
            return _weighted(rng, ((50, g.block_flat), (50, g.converted_flat)))(rng)
        if tenure == "leasehold":
            return g.block_flat(rng)
        if tenure == "owner":
            return _weighted(rng, ((70, g.house), (30, g.converted_flat)))(rng)
        if tenure == "private":
            return _weighted(rng, ((55, g.converted_flat), (30, g.house), (15, g.block_flat)))(rng)
        return g.elsewhere(rng)

    def make_periods(self, rng: random.Random, tenure: str, lead: Person) -> list[Period]:
        A = self.as_of
        adult_from = shift_years(lead.dob, 18)
        move = _weighted(rng, ((58, "stayed"), (14, "arrived"), (20, "moved"), (8, "left")))
        three = shift_years(A, -3)
        if move == "stayed":
            start = max(adult_from, rand_date(rng, shift_years(A, -25), three - days(1)))
            return [Period(self._prop_for(rng, tenure), start, None, tenure)]
        if move == "arrived":
            start = rand_date(rng, three, A - days(20))
            cur_tenure = tenure
            if tenure == "council" and start > A - days(900) and rng.random() < 0.3:
                cur_tenure = "ta"
            return [Period(self._prop_for(rng, cur_tenure), max(start, adult_from), None, cur_tenure)]
        moved_on = rand_date(rng, three, A - days(20))
        prev_start = min(max(adult_from, rand_date(rng, shift_years(A, -15), three - days(1))), moved_on - days(200))
        if move == "moved":
            if tenure == "council":
                prev_tenure = _weighted(rng, ((45, "ta"), (25, "council"), (30, "private")))
            else:
                prev_tenure = _weighted(rng, ((60, "private"), (40, tenure)))
            if prev_tenure == "ta":
                prev_start = max(prev_start, moved_on - days(rng.randint(200, 900)))
            return [Period(self._prop_for(rng, prev_tenure), prev_start, moved_on - days(1), prev_tenure),
                    Period(self._prop_for(rng, tenure), moved_on, None, tenure)]
        return [Period(self._prop_for(rng, tenure), prev_start, moved_on - days(1), tenure),
                Period(self.geo.elsewhere(rng), moved_on, None, "elsewhere")]

    def own_mailboxes(self, hh: Household) -> None:
        """A mailbox has one owner: an address someone else in the borough already has gets digits
        appended (john.smith@ is taken, so john.smith47@), as real people's addresses do. Namesakes
        therefore never share an email; one person's current and old addresses stay their own."""
        for p in hh.adults:
            p.email = self._mailbox(p, p.email)
            p.old_email = self._mailbox(p, p.old_email)

    def _mailbox(self, person: Person, email: str | None) -> str | None:
        if not email or self.mailboxes.setdefault(email, person.rid) == person.rid:
            return email
        # Its own random stream, so the rest of the council is the same whatever the collisions.
        rng = random.Random(f"{self.seed}:mailbox:{person.rid}:{email}")
        local, domain = email.split("@", 1)
        while True:
            digits = rng.randint(1, 99) if rng.random() < 0.6 else rng.randint(100, 9999)
            candidate = f"{local}{digits}@{domain}"
            if self.mailboxes.setdefault(candidate, person.rid) == person.rid:
                return candidate

    def other_address(self, kind: str, prop: Property, rng: random.Random) -> dict:
        """A previous or forwarding address as a resident gives it on a form: two lines and a postcode."""
        l1, l2, l3, pc = render_address(prop, "any", rng)
        return {f"{kind}_address_line_1": l1, f"{kind}_address_line_2": ", ".join(x for x in (l2, l3) if x),
                f"{kind}_postcode": pc}

    # ------------------------------------------------------------------------------ records
    def party(self, system: str, person: Person, rng: random.Random, created: date, style: Style | None = None,
              force_new: bool = False) -> tuple[str, dict]:
        key = (system, person.rid)
        ref = self.party_of.get(key)
        if ref is None or force_new or rng.random() < DUPLICATE_RECORD[system]:
            ref = self.refs.next(system, "party", rng, gap=3)
            self.party_of[key] = ref
            rec = render_person(person, style or STYLES[system], rng, created)
            dead = person.deceased_on
            rec["deceased_on"] = dead if (dead is not None and rng.random() < RECORDS_DEATH[system]) else None
            self.records[(system, ref)] = rec
        return ref, self.records[(system, ref)]

    def account_row(self, system: str, account_ref: str, person: Person, rng: random.Random, *, role: str,
                    created: date, prop: Property, liable_from: date | None, liable_to: date | None = None,
                    style: Style | None = None, force_new: bool = False, address_style: str | None = None,
                    **extra) -> str:
        ref, rec = self.party(system, person, rng, created, style, force_new)
        st = style or STYLES[system]
        l1, l2, l3, pc = render_address(prop, address_style or st.address, rng)
        dead = rec["deceased_on"]
        row = {
            "account_ref": account_ref,
            "party_ref": ref,
            "role": role,
            "title": rec["title"],
            "forename": rec["forename"],
            "surname": rec["surname"],
            "date_of_birth": rec["date_of_birth"],
            "nino": rec["nino"],
            "address_line_1": l1,
            "address_line_2": l2,
            "address_line_3": l3,
            "postcode": pc,
            "uprn": prop.uprn or "",
            "phone": rec["phone"],
            "email": rec["email"],
            "liable_from": liable_from,
            "liable_to": liable_to,
            "deceased_on": dead,
        }
        if dead is not None and (liable_to is None or liable_to > dead) and (liable_from is None or dead >= liable_from):
            row["liable_to"] = dead if system in ("council_tax", "business_rates", "housing", "hb_overpayments") else liable_to
        row.update(extra)
        self.out.account(system, row, person.rid)
        return ref

    def write_debt(self, system: str, rng: random.Random, L: Ledger, *, debt_ref: str, account_ref: str,
                   description: str, period_start: date | None, period_end: date | None,
                   stage: tuple[str, date | None]) -> None:
        self.out.debt(system, {
            "debt_ref": debt_ref,
            "account_ref": account_ref,
            "description": description,
            "period_start": period_start,
            "period_end": period_end,
            "recovery_stage": stage[0],
            "stage_date": stage[1],
        })
        if L.e:
            self.out.transactions(system, L.rows(debt_ref, self.refs.txn_counter(system, rng), self.method_maps[system]))

    def period_at(self, hh: Household, d: date) -> Period:
        for p in hh.periods:
            if p.start <= d and (p.end is None or d <= p.end):
                return p
        return hh.periods[0] if d < hh.periods[0].start else hh.periods[-1]

    # ------------------------------------------------------------------------------ council tax
    def council_tax(self, hh: Household, rng: random.Random) -> None:
        A = self.as_of
        payer = vary_payer(hh.payer, rng, hh.income)
        twelve = rng.random() < 0.15
        for pi, period in enumerate(hh.periods):
            if not period.prop.in_borough:
                continue
            if period.end is not None and period.end < self.fys[0]:
                continue
            if period.start > A:
                continue
            if hh.kind == "sharers":
                liable = list(hh.adults)
            elif hh.couple and rng.random() < 0.75:
                liable = list(hh.couple)
            else:
                liable = [hh.lead]
            liable = [p for p in liable if p.deceased_on is None or p.deceased_on >= period.start]
            if not liable:
                liable = [p for p in hh.adults if p.deceased_on is None or p.deceased_on >= period.start][:1]
            if not liable:
                continue
            deaths = [p.deceased_on for p in liable]
            all_dead = None if any(d is None for d in deaths) else max(d for d in deaths if d is not None)
            end = period.end
            if all_dead is not None and (end is None or all_dead < end) and all_dead >= period.start:
                end = all_dead
            acct = self.refs.next("council_tax", "account", rng, gap=4)
            nxt = hh.periods[pi + 1] if pi + 1 < len(hh.periods) else None
            for i, person in enumerate(liable):
                # The account keeps its property's address; what the resident told the council on
                # moving goes in its own columns. A stream of its own, so nothing else changes.
                mrng = random.Random(f"{self.seed}:moves:council_tax:{hh.hid}:{pi}:{i}")
                moved = {}
                if end is not None and nxt is not None and rng.random() < 0.3:
                    moved |= self.other_address("forwarding", nxt.prop, mrng)  # recorded on closure
                if pi > 0 and mrng.random() < PREVIOUS_ADDRESS["council_tax"]:
                    moved |= self.other_address("previous", hh.periods[pi - 1].prop, mrng)  # the move-in form
                self.account_row("council_tax", acct, person, rng, role="lead" if i == 0 else "joint",
                                 created=period.start, prop=period.prop, liable_from=period.start,
                                 liable_to=end if (end is not None and end <= A) else None, **moved)
            band = period.prop.band if period.tenure not in ("ta",) else "B"
            single = len([p for p in hh.adults if p.deceased_on is None or p.deceased_on > period.start]) == 1
            lead = liable[0]
            pensioner = lead.age_on(A) >= 66
            ctr = 0
            if hh.income == "low" and lead.on_benefits:
                ctr = 100 if pensioner and rng.random() < 0.7 else rng.choice((70, 75, 80, 85))
            for fy in self.fys:
                fy_end = date(fy.year + 1, 3, 31)
                if end is not None and end < fy:
                    continue
                start = max(fy, period.start)
                if start > A or start > fy_end:
                    continue
                annual = self.band_d[fy] * BAND_NINTHS[band] // 9
                if single:
                    annual = annual * 3 // 4
                if ctr:
                    annual = annual * (100 - ctr) // 100
                if annual <= 0:
                    continue
                bill, plan, liability = instalment_plan(annual, fy, start, 3 if twelve else 1, rng, A)
                if not plan:
                    continue
                close = None
                if end is not None and end <= fy_end:
                    rebill = min(A, end + days(rng.randint(10, 30)))
                    if rebill <= bill:
                        rebill = min(A, bill + days(1))
                    year_days = (fy_end - fy).days + 1
                    part = annual * ((end - start).days + 1) // year_days
                    close = (end, rebill, part)
                adjust = None
                if rng.random() < 0.05:
                    ad = rand_date(rng, bill + days(20), min(A, fy_end))
                    if ad > bill:
                        amt = (annual // 4) * rng.choice((-1, -1, 1)) * rng.randint(3, 10) // 10
                        adjust = (ad, amt // 100 * 100 or -500)
                L = Ledger(A)
                stop = hh.left_on if (hh.left_on and rng.random() < 0.7) else None
                stage = instalment_year(
                    L, rng, plan=plan, bill_date=bill, payer=payer, as_of=A, close=close, stop=stop,
                    dead=all_dead, estate_pays=rng.random() < 0.5, employed=lead.employed,
                    on_benefits=lead.on_benefits, attach=True, summons_cost=self.ct_summons, lo_cost=self.ct_lo,
                    adjust=adjust, gone=hh.left_on is not None,
                )
                desc = f"Council tax {fy.year}/{(fy.year + 1) % 100:02d} band {band}"
                if ctr:
                    desc += " (council tax reduction)"
                elif single:
                    desc += " (single person discount)"
                self.write_debt("council_tax", rng, L, debt_ref=f"{acct}/{fy.year % 100:02d}{(fy.year + 1) % 100:02d}",
                                account_ref=acct, description=desc, period_start=start,
                                period_end=min(fy_end, end) if end else fy_end, stage=stage)

    # ------------------------------------------------------------------------------ business rates
    def business(self, rng: random.Random, *, people: list[Person] | None, org: tuple[str, str] | None,
                 rid: str | None, home: Property | None, payer: Payer, trade: tuple) -> Property:
        A = self.as_of
        premises = self.geo.shop(rng)
        rv = rng.randrange(trade[1][0], trade[1][1] + 1, 250)
        if rv < 12000 and rng.random() < 0.6:
            rv = rng.randrange(12500, 16000, 250)  # small business rate relief leaves these bills
        since = rand_date(rng, shift_years(A, -15), A - days(60)) if rng.random() < 0.85 else rand_date(rng, self.fys[0], A - days(60))
        closed = rand_date(rng, max(since + days(120), self.fys[0]), A - days(30)) if rng.random() < 0.1 else None
        if closed is not None and closed <= since:
            closed = None
        acct = self.refs.next("business_rates", "account", rng, gap=5)
        created = since
        if people:
            for i, person in enumerate(people):
                prop = home if (home is not None and rng.random() < 0.5) else premises
                # A sole trader billed at the shop often has the bills sent home: the system records a
                # billing (correspondence) address. Its own random stream, so nothing else is redrawn.
                brng = random.Random(f"billing:{acct}:{person.rid}")
                billing = (self.other_address("billing", home, brng)
                           if prop is premises and home is not None and brng.random() < 0.6 else {})
                self.account_row("business_rates", acct, person, rng, role="lead" if i == 0 else "joint",
                                 created=created, prop=prop, liable_from=since, liable_to=closed,
                                 organisation=org[1] if org else "", **billing)
        else:
            name, trading = org
            ref = self.refs.next("business_rates", "party", rng, gap=3)
            l1, l2, l3, pc = render_address(premises, "llpg", rng)
            self.out.account("business_rates", {
                "account_ref": acct, "party_ref": ref, "role": "lead", "title": "", "forename": "",
                "surname": name.upper(), "organisation": trading, "address_line_1": l1, "address_line_2": l2,
                "address_line_3": l3, "postcode": pc, "uprn": premises.uprn, "phone": f"020{rng.choice('78')}{rng.randint(0, 9999999):07d}",
                "email": f"accounts@{trading.lower().replace(' ', '').replace('&', 'and')[:20]}.co.uk" if rng.random() < 0.7 else "",
                "liable_from": since, "liable_to": closed,
            }, rid)
        relief = rng.choice((0, 0, 0, 0, 25, 50, 75)) if rv < 51000 else 0
        for fy in self.fys:
            fy_end = date(fy.year + 1, 3, 31)
            if closed is not None and closed < fy:
                continue
            start = max(fy, since)
            if start > A or start > fy_end:
                continue
            mult = 499 if rv < 51000 else 546
            annual = rv * mult // 10
            annual = annual * (100 - relief) // 100
            if annual <= 0:
                continue
            bill, plan, liability = instalment_plan(annual, fy, start, 3 if rng.random() < 0.1 else 1, rng, A)
            close = None
            if closed is not None and closed <= fy_end:
                year_days = (fy_end - fy).days + 1
                close = (closed, min(A, max(bill + days(1), closed + days(rng.randint(10, 30)))),
                         annual * ((closed - start).days + 1) // year_days)
            L = Ledger(A)
            stage = instalment_year(L, rng, plan=plan, bill_date=bill, payer=payer, as_of=A, close=close,
                                    employed=False, on_benefits=False, attach=False,
                                    summons_cost=self.br_summons, lo_cost=self.ct_lo,
                                    gone=closed is not None)
            self.write_debt("business_rates", rng, L, debt_ref=f"{acct}/{fy.year % 100:02d}{(fy.year + 1) % 100:02d}",
                            account_ref=acct,
                            description=f"NNDR {fy.year}/{(fy.year + 1) % 100:02d} RV £{rv:,} {premises.number} {premises.street.name}",
                            period_start=start, period_end=min(fy_end, closed) if closed else fy_end, stage=stage)
        return premises

    # ------------------------------------------------------------------------------ housing
    def housing(self, hh: Household, rng: random.Random) -> None:
        A = self.as_of
        payer = vary_payer(hh.payer, rng, hh.income)
        lead = hh.lead
        for pi, period in enumerate(hh.periods):
            if period.tenure not in ("council", "ta"):
                continue
            if period.end is not None and period.end < self.rent_window + days(7):
                continue
            tenants = list(hh.couple) if (hh.couple and rng.random() < 0.7) else [lead]
            start = period.start
            tenants = [p for p in tenants if p.deceased_on is None or p.deceased_on >= start]
            if not tenants:
                continue
            end = period.end
            sole_dead = None if any(p.deceased_on is None for p in tenants) else max(p.deceased_on for p in tenants)
            if sole_dead is not None and sole_dead >= start and (end is None or sole_dead < end):
                end = min(A - days(1), sole_dead + days(28))
            if end is not None and end >= A:
                end = None
            if period.tenure == "ta":
                tenure = "temporary_accommodation"
            elif start > A - days(365):
                tenure = "introductory" if rng.random() < 0.85 else "non_secure"
            else:
                tenure = "non_secure" if rng.random() < 0.04 else "secure"
            tref = self.refs.next("housing", "account", rng, gap=3)
            for i, person in enumerate(tenants):
                mrng = random.Random(f"{self.seed}:moves:housing:{hh.hid}:{pi}:{i}")
                former = {}
                if pi > 0 and mrng.random() < PREVIOUS_ADDRESS["housing"]:
                    former = self.other_address("previous", hh.periods[pi - 1].prop, mrng)  # the housing application
                self.account_row("housing", tref, person, rng, role="lead" if i == 0 else "joint", created=start,
                                 prop=period.prop, liable_from=start, liable_to=end, tenure=tenure, **former)
            if tenure == "temporary_accommodation":
                base = rng.randrange(21000, 36000, 5)
            elif period.prop.kind == "house":
                base = rng.randrange(15500, 22500, 1)
            else:
                base = rng.randrange(11500, 17800, 1)
            weekly = weekly_rents(base, A, rng)
            benefit, pct = None, 0
            if lead.on_benefits or tenure == "temporary_accommodation" and hh.income != "comfortable":
                if lead.age_on(A) >= 66 or tenure == "temporary_accommodation":
                    benefit, pct = "hb", rng.choice((100, 100, 100, 90, 85, 75))
                else:
                    benefit = _weighted(rng, ((55, "uc"), (25, "uc_apa"), (20, "hb")))
                    pct = rng.choice((100, 100, 90, 80, 70))
            bf = 0
            if start < self.rent_window:
                x = rng.random()
                if x < 0.3:
                    bf = rng.randrange(5000, 150000, 1)
                elif x < 0.38:
                    bf = -rng.randrange(2000, 30000, 1)
            L = Ledger(A)
            stage = rent_account(L, rng, start=start, end=end, weekly=weekly, payer=payer, benefit=benefit,
                                 benefit_pct=pct, as_of=A, window_start=self.rent_window, free_weeks=self.free_weeks,
                                 garage=False, dead=sole_dead, bf=bf)
            desc = "Temporary accommodation charges" if tenure == "temporary_accommodation" else "Rent account"
            self.write_debt("housing", rng, L, debt_ref=self.refs.next("housing", "debt", rng, gap=2), account_ref=tref,
                            description=desc, period_start=start, period_end=end, stage=stage)
        # garages: tenants mostly, some private residents
        home = hh.home()
        if home.prop.in_borough and rng.random() < (0.07 if home.tenure == "council" else 0.015):
            self.garage(hh, rng, payer)

    def garage(self, hh: Household, rng: random.Random, payer: Payer) -> None:
        A = self.as_of
        lead = hh.lead
        home = hh.home()
        start = max(home.start, rand_date(rng, shift_years(A, -8), A - days(30)))
        if lead.deceased_on is not None and lead.deceased_on < start + days(60):
            return
        end = None
        if lead.deceased_on is not None and lead.deceased_on >= start:
            end = min(A - days(1), lead.deceased_on + days(28))
        g = self.geo
        estate, street, blocks = rng.choice(g.estates)
        garage_no = rng.randint(1, 60)
        gref = "G" + self.refs.next("housing", "account", rng, gap=3)[1:]
        prop = home.prop
        self.account_row("housing", gref, lead, rng, role="lead", created=start, prop=prop, liable_from=start,
                         liable_to=end, tenure="garage")
        weekly = weekly_rents(rng.randrange(1400, 2900, 5), A, rng)
        L = Ledger(A)
        stage = rent_account(L, rng, start=start, end=end, weekly=weekly, payer=payer, benefit=None, benefit_pct=0,
                             as_of=A, window_start=self.rent_window, free_weeks=False, garage=True,
                             dead=lead.deceased_on)
        self.write_debt("housing", rng, L, debt_ref=self.refs.next("housing", "debt", rng, gap=2), account_ref=gref,
                        description=f"Garage {garage_no}, {estate} Estate", period_start=start, period_end=end,
                        stage=stage)

    # ------------------------------------------------------------------------------ leasehold
    def leasehold(self, hh: Household, rng: random.Random, flat_period: Period | None, sublet: bool) -> None:
        A = self.as_of
        payer = vary_payer(hh.payer, rng, hh.income)
        if flat_period is not None:
            flat = flat_period.prop
            lease_start = flat_period.start
        else:
            flat = self.geo.block_flat(rng)
            lease_start = rand_date(rng, shift_years(A, -20), shift_years(A, -2))
        corr = hh.home().prop if (sublet or not hh.home().prop is flat) else flat
        owners = list(hh.couple) if (hh.couple and rng.random() < 0.6) else [hh.lead]
        sc_ref = self.refs.next("leasehold", "account", rng, gap=3)
        for i, person in enumerate(owners):
            self.account_row("leasehold", sc_ref, person, rng, role="lead" if i == 0 else "joint", created=lease_start,
                             prop=corr, liable_from=lease_start, account_type="leasehold_service_charge",
                             uprn=flat.uprn)
        estimate = rng.randrange(90000, 260000, 100)
        ladder = [Step("reminder", 14), Step("second_reminder", 28), Step("letter_before_action", 56, 10000, 0, "respond"),
                  Step("court_claim", 120, 35000, 11500, "interest")]
        for fy in self.fys:
            fy_end = date(fy.year + 1, 3, 31)
            if lease_start > fy_end:
                continue
            est = estimate * (100 + 4 * (fy.year - self.fys[0].year)) // 100
            q = est // 4
            dues = []
            L = Ledger(A)
            for k in range(4):
                due = add_months(fy, 3 * k)
                eff = due - days(14)
                if eff > A:
                    break
                amt = q if k < 3 else est - 3 * q
                L.add("charge", amt, eff, due)
                dues.append((due, amt))
            if not dues:
                continue
            if fy_end + days(183) <= A and rng.random() < 0.8:
                d = date(fy.year + 1, 9, 30)
                adj = rng.randrange(-25000, 30000, 1) or 1000
                L.add("adjustment", adj, d, d + days(30))
                dues.append((d + days(30), adj))
            behaviour = self._invoice_behaviour(rng, payer, est // 12, fy, monthly_ok=True)
            stage = invoice_debt(L, rng, dues=dues, behaviour=behaviour, payer=payer, as_of=A, ladder=ladder,
                                 dead=hh.lead.deceased_on, cost_kind="cost", interest_pct=8)
            self.write_debt("leasehold", rng, L, debt_ref=self.refs.next("leasehold", "debt", rng, gap=2),
                            account_ref=sc_ref, description=f"Service charge estimate {fy.year}/{(fy.year + 1) % 100:02d}",
                            period_start=fy, period_end=fy_end, stage=stage)
        if rng.random() < 0.3:
            mw_ref = "MW" + self.refs.next("leasehold", "account", rng, gap=3)[2:]
            for i, person in enumerate(owners):
                self.account_row("leasehold", mw_ref, person, rng, role="lead" if i == 0 else "joint",
                                 created=lease_start, prop=corr, liable_from=lease_start,
                                 account_type="leasehold_major_works", uprn=flat.uprn)
            amount = rng.randrange(300000, 3000000, 1)
            inv = rand_date(rng, self.window3, A - days(20))
            L = Ledger(A)
            due = inv + days(30)
            L.add("charge", amount, inv, due)
            dues = [(due, amount)]
            x = rng.random()
            if payer.style == "dd" and x < 0.5:
                behaviour = ("prompt", rng.choice(("bank_transfer", "cheque", "card")))
            elif x < 0.75:
                months = rng.choice((12, 24, 36, 60, 120))
                behaviour = ("plan", -(-amount // months), 0, "direct_debit", due)
            else:
                behaviour = self._invoice_behaviour(rng, payer, amount // 24, inv, monthly_ok=True)
            stage = invoice_debt(L, rng, dues=dues, behaviour=behaviour, payer=payer, as_of=A, ladder=ladder,
                                 dead=hh.lead.deceased_on, interest_pct=8)
            block = flat.block or flat.street.name
            self.write_debt("leasehold", rng, L, debt_ref=self.refs.next("leasehold", "debt", rng, gap=2),
                            account_ref=mw_ref,
                            description=f"Major works: {rng.choice(('roof and window replacement', 'lift renewal', 'external decorations', 'fire safety works', 'communal heating'))}, {block}",
                            period_start=inv, period_end=None, stage=stage)

    def _invoice_behaviour(self, rng: random.Random, payer: Payer, monthly: int, start: date,
                           monthly_ok: bool) -> tuple:
        style = payer.style
        if style == "dd" and monthly_ok:
            return ("plan", max(500, monthly), payer.dd_day - 1, "direct_debit", start)
        if style == "dd":
            return ("prompt", "direct_debit")
        if style in ("late", "seasonal"):
            return ("late", payer.method)
        if style == "partial":
            return ("partial", payer.partial_pct, payer.method)
        if style == "broken":
            return ("prompt", payer.method) if rng.random() < 0.5 else ("late", payer.method)
        return ("none",)

    # ------------------------------------------------------------------------------ housing benefit overpayments
    def hb_overpayments(self, hh: Household, rng: random.Random) -> None:
        A = self.as_of
        payer = vary_payer(hh.payer, rng, hh.income)
        claimant = hh.lead
        latest_start = shift_years(A, -1)
        if claimant.deceased_on is not None:
            latest_start = min(latest_start, claimant.deceased_on - days(200))
        claim_start = rand_date(rng, shift_years(A, -9), latest_start)
        claim_end = None
        if rng.random() < 0.35 or hh.left_on:
            claim_end = rand_date(rng, claim_start + days(200), A - days(30))
        if claimant.deceased_on is not None:
            claim_end = min(claim_end or claimant.deceased_on, claimant.deceased_on)
        if claim_end is not None and claim_end <= claim_start:
            claim_end = claim_start + days(200)
        period = self.period_at(hh, claim_end or A)
        prop = period.prop
        claim_ref = self.refs.next("hb_overpayments", "account", rng, gap=3)
        people = [claimant]
        if hh.couple and claimant in hh.couple:
            people.append(hh.couple[1] if hh.couple[0] is claimant else hh.couple[0])
        for i, person in enumerate(people):
            self.account_row("hb_overpayments", claim_ref, person, rng, role="lead" if i == 0 else "joint",
                             created=claim_start, prop=prop, liable_from=claim_start, liable_to=claim_end)
        ongoing = claim_end is None
        for _ in range(_weighted(rng, ((65, 1), (25, 2), (10, 3)))):
            last = min(A - days(45), claim_end or A)
            op_to = rand_date(rng, max(claim_start + days(30), shift_years(A, -5)), last)
            op_from = op_to - days(rng.randint(14, 420))
            if op_from < claim_start:
                op_from = claim_start
            weeks = max(1, ((op_to - op_from).days + 1) // 7)
            amount = weeks * rng.randrange(800, 9000, 1)
            found = min(A, op_to + days(rng.randint(14, 120)))
            L = Ledger(A)
            L.add("charge", amount, found, found + days(21))
            dues = [(found + days(21), amount)]
            if rng.random() < 0.1:
                d = found + days(rng.randint(20, 120))
                if d <= A:
                    adj = -(amount * rng.randint(10, 60) // 100) or -100
                    L.add("adjustment", adj, d)
                    dues.append((d, adj))
            reason = rng.choice(N.HB_OP_REASONS)
            if ongoing and claimant.on_benefits and rng.random() < 0.8:
                rate = rng.choice((1110, 1245, 1380, 2075))
                behaviour = ("deduct", rate * 2, 14, "benefit_deduction", found + days(rng.randint(14, 35)))
                initial = ("deduction_from_benefit", min(A, behaviour[4]))
                ladder: list[Step] = []
                remedy = None
            else:
                behaviour = self._invoice_behaviour(rng, payer, 0, found, monthly_ok=False)
                if payer.style in ("dd", "partial") or (payer.style != "none" and rng.random() < 0.5):
                    behaviour = ("plan", rng.choice((1000, 1500, 2000, 2500, 4000, 5000)), rng.randint(0, 27),
                                 rng.choice(("direct_debit", "card")), found + days(rng.randint(14, 40)))
                initial = ("invoice", found)
                ladder = [Step("reminder", 14), Step("final_notice", 35, 1, 0, "respond")]
                remedy = None
                if claimant.employed:
                    ladder.append(Step("direct_earnings_attachment", 90, 5000, 0, "remedy"))
                    remedy = ("deduct", rng.randrange(2000, 12000, 100), 30, "attachment_of_earnings")
                elif amount >= 50000:
                    ladder.append(Step("court_claim", 150, 50000, 0, "respond"))
            stage = invoice_debt(L, rng, dues=dues, behaviour=behaviour, payer=payer, as_of=A, ladder=ladder,
                                 dead=claimant.deceased_on, remedy=remedy, initial=initial)
            if stage[0] != "none" and reason == "Local authority error" and found + days(365) <= A and rng.random() < 0.5:
                bal = L.balance()
                if bal > 0:
                    L.add("write_off", -bal, found + days(rng.randint(120, 365)))
                    stage = ("none", None)
            if stage[0] != "none" and claimant.deceased_on is not None and rng.random() < 0.5:
                d = claimant.deceased_on + days(rng.randint(90, 300))
                if d <= A:
                    bal = L.balance()
                    if bal > 0:
                        L.add("write_off", -bal, d)
                        stage = ("none", None)
            self.write_debt("hb_overpayments", rng, L, debt_ref=self.refs.next("hb_overpayments", "debt", rng, gap=2),
                            account_ref=claim_ref, description=reason, period_start=op_from, period_end=op_to,
                            stage=stage)

    # ------------------------------------------------------------------------------ parking
    def parking(self, drivers: list[Person], hh: Household | None, rng: random.Random, payer: Payer,
                org: tuple[str, str, str] | None = None) -> None:
        A = self.as_of
        for person in drivers:
            vrm = (f"{rng.choice('LYBEKGH')}{rng.choice(N.VRM_LETTERS)}{rng.randint(51, 74) if rng.random() < 0.5 else rng.randint(10, 24):02d} "
                   f"{rng.choice(N.VRM_LETTERS)}{rng.choice(N.VRM_LETTERS)}{rng.choice(N.VRM_LETTERS)}")
            keeper_from = rand_date(rng, shift_years(A, -8), A - days(60))
            n_pcn = _weighted(rng, ((60, 1), (22, 2), (10, 3), (8, 4)))
            issues = sorted(rand_date(rng, max(keeper_from, A - days(730)), A) for _ in range(n_pcn))
            acct = None
            for issued in issues:
                if person is not None and person.deceased_on is not None and issued > person.deceased_on:
                    continue
                if acct is None or rng.random() < 0.35:
                    acct = self.refs.next("parking", "account", rng, gap=2)
                    if person is not None:
                        period = self.period_at(hh, issued)
                        prop = period.prop
                        if rng.random() < 0.3 and hh.periods[0] is not period and hh.periods[0].start < issued:
                            prop = hh.periods[0].prop  # DVLA still has the old address
                        self.account_row("parking", acct, person, rng, role="lead", created=issued, prop=prop,
                                         liable_from=keeper_from, force_new=True)
                    else:
                        oname, trading, rid = org
                        prem = self.geo.shop(rng)
                        l1, l2, l3, pc = render_address(prem, "plain", rng)
                        self.out.account("parking", {
                            "account_ref": acct, "party_ref": self.refs.next("parking", "party", rng), "role": "lead",
                            "title": "", "forename": "", "surname": oname, "address_line_1": l1,
                            "address_line_2": l2, "address_line_3": l3, "postcode": pc, "phone": "", "email": "",
                            "liable_from": keeper_from,
                        }, rid)
                code, text, band = rng.choice(N.PCN_CONTRAVENTIONS)
                amount = band * 100
                L = Ledger(A)
                stage = pcn(L, rng, issued=issued, amount=amount, payer=payer, as_of=A, tec_fee=700)
                self.write_debt("parking", rng, L, debt_ref=self.refs.next("parking", "debt", rng, gap=9),
                                account_ref=acct, description=f"{code} {text} ({vrm})", period_start=issued,
                                period_end=None, stage=stage)

    # ------------------------------------------------------------------------------ sundry
    def sundry_account(self, rng: random.Random, people: list[Person], category: str, created: date,
                       prop: Property, style: Style | None = None, organisation: str = "") -> str:
        acct = self.refs.next("sundry", "account", rng, gap=3)
        for i, person in enumerate(people):
            self.account_row("sundry", acct, person, rng, role="lead" if i == 0 else "joint", created=created,
                             prop=prop, liable_from=created, style=style, category=category, organisation=organisation)
        return acct

    SUNDRY_LADDER = [Step("reminder", 14), Step("final_notice", 35, 1, 0, "respond"),
                     Step("court_claim", 100, 30000, 2500, "interest")]

    def sundry_invoice(self, rng: random.Random, acct: str, payer: Payer, *, amount: int, inv: date,
                       description: str, dead: date | None, behaviour: tuple | None = None,
                       interest: int = 0) -> None:
        A = self.as_of
        L = Ledger(A)
        due = inv + days(30)
        L.add("charge", amount, inv, due)
        dues = [(due, amount)]
        if rng.random() < 0.04:
            d = inv + days(rng.randint(10, 90))
            if d <= A:
                adj = -(amount * rng.randint(10, 100) // 100) or -100
                L.add("adjustment", adj, d)
                dues.append((d, adj))
        if behaviour is None:
            behaviour = self._invoice_behaviour(rng, payer, 0, inv, monthly_ok=False)
        stage = invoice_debt(L, rng, dues=dues, behaviour=behaviour, payer=payer, as_of=A, ladder=self.SUNDRY_LADDER,
                             dead=dead, cost_kind="cost", initial=("invoice", inv), interest_pct=interest)
        if stage[0] != "none" and dead is not None:
            d = dead + days(rng.randint(60, 400))
            if d <= A and rng.random() < 0.6:
                bal = L.balance()
                if bal > 0:
                    if rng.random() < 0.5:
                        L.add("payment", -bal, d, method="bank_transfer")  # paid by the estate
                    else:
                        L.add("write_off", -bal, d)
                    stage = ("none", None)
        self.write_debt("sundry", rng, L, debt_ref=self.refs.next("sundry", "debt", rng, gap=2), account_ref=acct,
                        description=description, period_start=inv, period_end=None, stage=stage)

    def adult_social_care(self, hh: Household, client: Person, rng: random.Random) -> None:
        A = self.as_of
        payer = vary_payer(hh.payer, rng, hh.income)
        end = client.deceased_on
        start = rand_date(rng, shift_years(A, -3), min(A, end or A) - days(40))
        people = [client]
        if hh.couple and client in hh.couple and rng.random() < 0.2:
            people.append(hh.couple[1] if hh.couple[0] is client else hh.couple[0])
        elif len(hh.adults) > 1 and rng.random() < 0.2:
            people.append(next(p for p in hh.adults if p is not client))  # a relative as financial representative
        acct = self.sundry_account(rng, people, "adult_social_care", start, self.period_at(hh, start).prop, ASC_STYLE)
        residential = rng.random() < 0.2
        monthly = rng.randrange(80000, 280000, 1) if residential else rng.randrange(4000, 35000, 1)
        m = add_months(month_start(start), 1)
        behaviour = ("prompt", "direct_debit") if payer.style in ("dd", "partial") else None
        while m <= A and (end is None or m <= end + days(31)):
            inv = m + days(rng.randint(2, 8))
            if inv > A:
                break
            prev = add_months(m, -1)
            self.sundry_invoice(rng, acct, payer, amount=monthly, inv=inv,
                                description=f"{'Residential' if residential else 'Home'} care charges {prev.strftime('%B %Y')}",
                                dead=end, behaviour=behaviour)
            m = add_months(m, 1)

    def general_sundry(self, hh: Household, rng: random.Random) -> None:
        A = self.as_of
        payer = vary_payer(hh.payer, rng, hh.income)
        person = rng.choice(hh.adults) if rng.random() < 0.3 else hh.lead
        n = _weighted(rng, ((75, 1), (20, 2), (5, 3)))
        created = rand_date(rng, self.window3, A - days(20))
        if person.deceased_on is not None and person.deceased_on < created + days(30):
            return
        acct = self.sundry_account(rng, [person], "general", created, self.period_at(hh, created).prop)
        for k in range(n):
            inv = created if k == 0 else rand_date(rng, created, A)
            if person.deceased_on is not None and inv > person.deceased_on:
                break
            desc, lo, hi = rng.choice(N.SUNDRY_GENERAL)
            if hh.tenure == "council" and rng.random() < 0.4:
                desc, lo, hi = "Rechargeable repairs", 6500, 95000
            amount = rng.randint(lo, hi) if lo != hi else lo
            self.sundry_invoice(rng, acct, payer, amount=amount, inv=inv, description=desc, dead=person.deceased_on)

    def trade_waste(self, rng: random.Random, people: list[Person], org_name: str, premises: Property,
                    payer: Payer, rid: str | None = None) -> None:
        A = self.as_of
        start = rand_date(rng, shift_years(A, -4), A - days(100))
        if people:
            acct = self.sundry_account(rng, people, "trade_waste", start, premises, organisation=org_name)
        else:
            acct = self.refs.next("sundry", "account", rng, gap=3)
            l1, l2, l3, pc = render_address(premises, "plain", rng)
            self.out.account("sundry", {
                "account_ref": acct, "party_ref": self.refs.next("sundry", "party", rng, gap=3), "role": "lead",
                "category": "trade_waste", "title": "", "forename": "", "surname": org_name,
                "organisation": org_name, "address_line_1": l1, "address_line_2": l2, "address_line_3": l3,
                "postcode": pc, "phone": "", "email": "", "liable_from": start,
            }, rid)
        quarterly = rng.randrange(18000, 120000, 5)
        q = max(start, self.window3)
        q = add_months(month_start(q), 1)
        while q <= A:
            self.sundry_invoice(rng, acct, payer, amount=quarterly, inv=q,
                                description=f"Trade waste collection {q.strftime('%b')}-{add_months(q, 2).strftime('%b %Y')}",
                                dead=None, interest=8)
            q = add_months(q, 3)

    # ------------------------------------------------------------------------------ organisations
    def organisation(self, j: int, rng: random.Random) -> None:
        rid = f"O{j + 1:05d}"
        name = f"{rng.choice(N.COMPANY_WORDS)} {rng.choice(N.COMPANY_TRADES)} {rng.choice(N.COMPANY_SUFFIXES)}"
        trading = name.rsplit(" ", 1)[0].replace(" &", "").replace(" Co", "").strip() if rng.random() < 0.6 else name
        payer = make_payer(rng, _weighted(rng, ((25, "low"), (45, "modest"), (30, "comfortable"))))
        kind = rng.choice(N.BUSINESS_KINDS)
        premises = None
        if self.out.has("business_rates"):
            premises = self.business(rng, people=None, org=(name, trading), rid=rid, home=None, payer=payer,
                                     trade=(kind[0], (15000, 95000), kind[2]))
        if premises is None:
            premises = self.geo.shop(rng)
        if self.out.has("sundry") and rng.random() < 0.45:
            self.trade_waste(rng, [], name, premises, payer, rid)
        if self.out.has("parking") and rng.random() < 0.2:
            self.parking([None], None, rng, payer, org=(name, trading, rid))

    # ------------------------------------------------------------------------------ a household's services
    def services(self, hh: Household, rng: random.Random) -> None:
        out = self.out
        A = self.as_of
        if out.has("council_tax"):
            self.council_tax(hh, rng)
        if out.has("housing"):
            self.housing(hh, rng)
        if out.has("leasehold"):
            lease_period = (hh.home() if hh.home().tenure == "leasehold"
                            else next((p for p in hh.periods if p.tenure == "leasehold"), None))
            if lease_period is not None:
                self.leasehold(hh, rng, lease_period, sublet=not lease_period.prop is hh.home().prop)
            elif hh.tenure == "owner" and rng.random() < 0.015:
                self.leasehold(hh, rng, None, sublet=True)
        if out.has("hb_overpayments"):
            p_hb = {"low": 0.15, "modest": 0.025, "comfortable": 0.0}[hh.income]
            if rng.random() < p_hb:
                self.hb_overpayments(hh, rng)
        if out.has("parking") and rng.random() < 0.15:
            drivers = [p for p in hh.adults if p.age_on(A) < 85]
            if drivers:
                chosen = [drivers[0]] if (len(drivers) == 1 or rng.random() < 0.75) else rng.sample(drivers, 2)
                self.parking(chosen, hh, rng, vary_payer(hh.payer, rng, hh.income))
        if out.has("sundry"):
            elderly = [p for p in hh.adults if p.age_on(A) >= 70]
            if elderly and rng.random() < 0.12:
                self.adult_social_care(hh, rng.choice(elderly), rng)
            if rng.random() < 0.03:
                self.general_sundry(hh, rng)
        # sole traders
        if rng.random() < 0.03:
            trader = next((p for p in hh.adults if 21 <= p.age_on(A) < 70 and p.deceased_on is None), None)
            if trader is not None:
                kind = rng.choice(N.BUSINESS_KINDS)
                trading = (f"{trader.forename}'s {kind[0]}" if rng.random() < 0.4
                           else f"{rng.choice(N.STREET_FIRST)} {kind[0]}")
                partners = [trader]
                if hh.couple and trader in hh.couple and rng.random() < 0.25:
                    partners.append(hh.couple[1] if hh.couple[0] is trader else hh.couple[0])
                payer = vary_payer(hh.payer, rng, hh.income)
                premises = None
                if out.has("business_rates"):
                    home = hh.home().prop if hh.home().prop.in_borough else None
                    premises = self.business(rng, people=partners, org=("", trading), rid=None, home=home,
                                             payer=payer, trade=kind)
                if out.has("sundry") and kind[2] and rng.random() < 0.4:
                    self.trade_waste(rng, [trader], trading, premises or self.geo.shop(rng), payer)

    def run(self) -> None:
        h = 0
        while self.rid_n < self.residents:
            rng = random.Random(f"{self.seed}:hh:{h}")
            hh = self.make_household(h, rng, self.residents - self.rid_n)
            self.own_mailboxes(hh)
            self.services(hh, rng)
            h += 1
        for j in range(max(1, self.residents // 150)):
            self.organisation(j, random.Random(f"{self.seed}:org:{j}"))


# ---------------------------------------------------------------------------------------------- entry point


def generate(residents: int, seed: int, out: Path, as_of: date, bad_row_rate: float = 0.0) -> dict:
    """Write a synthetic council's extracts to `out` and return the manifest.

    One file per source in sources.toml except the DWP sources, named <system>_<feed>.<format>,
    plus manifest.json, truth.csv and bad_rows.csv. Deterministic in (residents, seed, as_of,
    bad_row_rate).
    """
    if residents < 1:
        raise ValueError("residents must be at least 1")
    if not 0.0 <= bad_row_rate < 1.0:
        raise ValueError("bad_row_rate must be in [0, 1)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    all_sources = config.sources()
    systems: list[str] = []
    for s in all_sources.values():
        if s.system in SYSTEMS and s.system not in systems:
            systems.append(s.system)
    ordered = []
    for system in systems:
        for feed in FEED_ORDER:
            name = f"{system}.{feed}"
            if name in all_sources and all_sources[name].system == system:
                ordered.append(all_sources[name])
    refs = Refs()
    output = Output(out, ordered, seed, bad_row_rate, refs.bad)
    council = _Council(residents, seed, as_of, output, refs)
    try:
        council.run()
    finally:
        output.close()
    manifest = {
        "files": [{"source": s.name, "path": f"{s.system}_{s.feed}.{s.format}"} for s in ordered],
        "residents": residents,
        "seed": seed,
        "as_of": as_of.isoformat(),
    }
    with (out / "manifest.json").open("w", encoding="utf-8", newline="\n") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    return manifest
