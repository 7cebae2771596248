"""Normalisation and keyed tokens for pseudonymisation. Pure Python, no I/O.

A raw identifier becomes an HMAC-SHA256 token under a secret key held on the council's side
(the identity vault's). Equal normalised values give equal tokens, so linkage can compare them;
without the key nobody can reverse a token or test a guess. Tokens are separated by field, so
the surname SMITH and the forename SMITH give different tokens.

Besides a token per identifier, `derived_values` gives the coarser values that matching needs
when spellings differ: a canonical forename (Bob and Robert), phonetic codes, the first initial,
the year and month of birth, the day and month of birth (a year typed wrong), the postcode
sector, the house numbers at a postcode, the building number at a postcode. Only their
tokens leave the council's side.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

import jellyfish

# The identifiers a source record may carry (canonical field names of the accounts feed).
IDENTIFIER_FIELDS = (
    "title",
    "forename",
    "surname",
    "organisation",
    "date_of_birth",
    "nino",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "postcode",
    "uprn",
    "phone",
    "email",
    "previous_address_line_1",
    "previous_address_line_2",
    "previous_postcode",
    "forwarding_address_line_1",
    "forwarding_address_line_2",
    "forwarding_postcode",
    "billing_address_line_1",
    "billing_address_line_2",
    "billing_postcode",
)
# Addresses a source record may give besides its own (an account's address): the one the person
# gave as their last (a move-in form, a housing application) and a forwarding address recorded when
# an account closed. Each is matched as one more address of the party (people.PartyAddress).
OTHER_ADDRESSES = {
    "previous": ("previous_address_line_1", "previous_address_line_2", "previous_postcode"),
    "forwarding": ("forwarding_address_line_1", "forwarding_address_line_2", "forwarding_postcode"),
    # Business rates: where the bills go when not to the premises (a sole trader's home, an agent).
    "billing": ("billing_address_line_1", "billing_address_line_2", "billing_postcode"),
}

TOKEN_BYTES = 16  # 128 bits: no collisions at national scale, 22 characters as text

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_TITLES = {"MR", "MRS", "MS", "MISS", "DR", "MX", "REV", "PROF", "SIR", "LADY", "LORD", "DAME"}
_STREET_WORDS = {
    "ROAD": "RD", "STREET": "ST", "AVENUE": "AVE", "LANE": "LN", "CLOSE": "CL", "DRIVE": "DR", "COURT": "CT",
    "PLACE": "PL", "GARDENS": "GDNS", "TERRACE": "TER", "CRESCENT": "CRES", "SQUARE": "SQ", "GROVE": "GR",
    "PARADE": "PDE", "HOUSE": "HO", "ESTATE": "EST", "APARTMENT": "FLAT", "APT": "FLAT",
}
# Common English forename variants; matching needs them, the tokens hide them.
NICKNAMES = {
    "ROBERT": ["BOB", "BOBBY", "ROB", "ROBBIE", "BERT"],
    "ELIZABETH": ["LIZ", "LIZZIE", "BETH", "BETTY", "ELIZA", "LISA", "BETSY"],
    "WILLIAM": ["BILL", "BILLY", "WILL", "WILLIE", "LIAM"],
    "JAMES": ["JIM", "JIMMY", "JAMIE"],
    "MICHAEL": ["MIKE", "MICK", "MICKY"],
    "DAVID": ["DAVE", "DAVY"],
    "THOMAS": ["TOM", "TOMMY"],
    "ANTHONY": ["TONY"],
    "RICHARD": ["RICH", "RICK", "DICK"],
    "CHRISTOPHER": ["CHRIS", "KIT"],
    "CHRISTINE": ["CHRIS", "CHRISSIE", "TINA"],
    "KATHERINE": ["KATE", "KATIE", "KATHY", "KAT", "CATHERINE", "KATHRYN"],
    "MARGARET": ["MAGGIE", "MAG", "PEGGY", "MEG"],
    "SUSAN": ["SUE", "SUZY", "SUSIE"],
    "JENNIFER": ["JEN", "JENNY"],
    "REBECCA": ["BECKY", "BECCA"],
    "SAMUEL": ["SAM", "SAMMY"],
    "SAMANTHA": ["SAM", "SAMMIE"],
    "DANIEL": ["DAN", "DANNY"],
    "MATTHEW": ["MATT"],
    "JOSEPH": ["JOE", "JOEY"],
    "EDWARD": ["ED", "EDDIE", "TED", "NED"],
    "PATRICK": ["PAT", "PADDY"],
    "PATRICIA": ["PAT", "PATSY", "TRISH"],
    "ALEXANDER": ["ALEX", "SANDY", "AL"],
    "ALEXANDRA": ["ALEX", "SANDRA", "LEXI"],
    "NICHOLAS": ["NICK", "NICKY"],
    "STEPHEN": ["STEVE", "STEVEN"],
    "PETER": ["PETE"],
    "ANDREW": ["ANDY", "DREW"],
    "JONATHAN": ["JON", "JOHNNY"],
    "JOHN": ["JACK", "JOHNNY"],
    "DEBORAH": ["DEBBIE", "DEB"],
    "VICTORIA": ["VICKY", "TORI"],
    "ABIGAIL": ["ABBY", "ABBIE"],
    "OLUWASEUN": ["SEUN"],
    "MUHAMMAD": ["MOHAMMED", "MOHAMMAD", "MOHAMED", "MOHAMAD", "MUHAMMED", "MOHAMMEDALI"],
    "ALBERT": ["AL", "BERT", "BERTIE"],
    "ALFRED": ["ALF", "ALFIE"],
    "AMANDA": ["MANDY"],
    "ANNE": ["ANN", "ANNIE"],
    "BARBARA": ["BABS", "BARB"],
    "BENJAMIN": ["BEN", "BENNY", "BENJI"],
    "CHARLES": ["CHARLIE", "CHAS", "CHUCK"],
    "CHARLOTTE": ["CHARLIE", "LOTTIE"],
    "CAROLINE": ["CARRIE", "CARO"],
    "DANIELLE": ["DANI"],
    "DONALD": ["DON", "DONNIE"],
    "DOROTHY": ["DOT", "DOTTIE"],
    "DOUGLAS": ["DOUG"],
    "ELEANOR": ["ELLIE", "NELL", "NELLIE"],
    "EMILY": ["EMMY"],
    "FRANCES": ["FRAN", "FRANNIE"],
    "FRANCIS": ["FRAN", "FRANK"],
    "FREDERICK": ["FRED", "FREDDIE", "FREDDY"],
    "GERALD": ["GERRY"],
    "GREGORY": ["GREG"],
    "HENRY": ["HARRY", "HAL"],
    "JACQUELINE": ["JACKIE", "JACKY"],
    "JESSICA": ["JESS", "JESSIE"],
    "JOANNE": ["JO", "JOANNA"],
    "JOSEPHINE": ["JO", "JOSIE"],
    "JOSHUA": ["JOSH"],
    "JUDITH": ["JUDY"],
    "KENNETH": ["KEN", "KENNY"],
    "KIMBERLEY": ["KIM", "KIMBERLY"],
    "LAWRENCE": ["LARRY", "LAURIE", "LAURENCE"],
    "LEONARD": ["LEN", "LENNY"],
    "LESLIE": ["LES"],
    "MARY": ["MOLLY"],
    "MICHELLE": ["SHELLEY", "SHELLY"],
    "NATHANIEL": ["NAT", "NATE"],
    "PAMELA": ["PAM"],
    "PENELOPE": ["PENNY"],
    "PHILIP": ["PHIL", "PHILLIP"],
    "RAYMOND": ["RAY"],
    "RONALD": ["RON", "RONNIE"],
    "ROSEMARY": ["ROSIE"],
    "STEPHANIE": ["STEPH"],
    "TERENCE": ["TERRY", "TEL"],
    "THEODORE": ["THEO"],
    "TERESA": ["TESS", "TESSA", "THERESA"],
    "TIMOTHY": ["TIM", "TIMMY"],
    "VALERIE": ["VAL"],
    "VINCENT": ["VINCE", "VINNIE"],
    "WALTER": ["WALT", "WALLY"],
    "ZACHARY": ["ZACH", "ZAK"],
}
# The same first name as London's communities write it in different records: short forms
# (Olufemi: Femi; Jakub: Kuba), transliterations (Ibrahim, Ebrahim; Yaakov, Jacob) and the
# English form some use on forms (Paweł: Paul). Kept apart from the English table above because a
# council adds to it for its own residents; a name listed under two forms is read as the first.
COMMUNITY_FORENAMES = {
    # Yoruba and Igbo short forms
    "OLUFEMI": ["FEMI", "OLUWAFEMI"], "OLUWATOBI": ["TOBI"], "ADEBAYO": ["BAYO"], "BABATUNDE": ["TUNDE"],
    "OLUWAKEMI": ["KEMI"], "FUNMILAYO": ["FUNMI"], "FOLASADE": ["SADE"], "ABIMBOLA": ["BIMBO"],
    "ADEWALE": ["WALE"], "OLUWASEGUN": ["SEGUN"], "OLUWADAMILARE": ["DAMI", "DAMILARE"], "CHUKWUEMEKA": ["EMEKA"],
    "CHINONSO": ["NONSO"],
    # Somali, Bengali, Arabic and Turkish transliterations and short forms
    "ABDIRAHMAN": ["ABDURAHMAN", "ABDULRAHMAN", "ABDI"], "ABDULLAHI": ["ABDULAHI", "ABDULLAH"],
    "FADUMA": ["FADUMO", "FATUMA"], "MARYAM": ["MARYAN", "MARIAM"], "MIZANUR": ["MIZAN"],
    "RUKHSANA": ["RUKSANA"], "IBRAHIM": ["EBRAHIM", "IBRAHEEM"], "KHADIJA": ["KHADIJAH", "KHADIJE"],
    "FATIMA": ["FATIMAH", "FATEMA"], "AISHA": ["AYESHA", "AYSHA", "AYSE"], "AHMED": ["AHMAD", "AHMET"],
    "YUSUF": ["YOUSEF", "YOUSSEF", "YUSEF"], "HUSSEIN": ["HUSSAIN", "HUSAIN", "HUSEYIN", "HUSEIN"],
    "MUSTAFA": ["MUSTAPHA", "MOSTAFA"], "MEHMET": ["MEHMED", "MEMET"], "HATICE": ["HATIJE"],
    "ABDUL": ["ABDOOL"], "MUHAMMAD": ["MD", "MOHD"],
    # Polish and Romanian forms, and the English form used on forms
    "JACOB": ["JAKUB", "KUBA", "YAAKOV", "YAKOV", "JAKE"], "WOJCIECH": ["WOJTEK"], "AGNES": ["AGNIESZKA", "AGA"],
    "KATHERINE": ["KATARZYNA", "KASIA", "CATHY"], "MARGARET": ["MALGORZATA", "GOSIA", "MARGRET"],
    "ALEXANDRA": ["ALEKSANDRA", "OLA", "SASHA"], "PAUL": ["PAWEL"], "MICHAEL": ["MICHAL", "MICHEAL"],
    "LUKE": ["LUKASZ"], "CHRISTOPHER": ["KRZYSZTOF", "KRISTOPHER"], "JOHN": ["JOAO", "JUAN", "IOAN"],
    # Hebrew and Yiddish forms (Stamford Hill)
    "ISAAC": ["YITZCHOK", "YITZCHAK", "ITZIK"], "CHAIM": ["HYMAN", "HAIM"], "SAMUEL": ["SHMUEL", "SCHMUEL"],
    "MOSES": ["MOSHE", "MOISHE"], "JOSEPH": ["YOSEF", "YOSSI", "JOSEF", "JOZEF", "GIUSEPPE", "JOSE"],
    "ABRAHAM": ["AVRAHAM", "AVROHOM", "AVI"], "DAVID": ["DOVID", "DAVEY"], "REBECCA": ["RIVKA", "RIVKY", "REBEKAH"],
    "HANNAH": ["CHANA", "CHANNA", "HANNA"], "RACHEL": ["ROCHEL"], "CHAYA": ["CHAIA"],
    # Greek, Italian, Irish, and English spellings
    "NICHOLAS": ["NIKOS", "NICOLAS"], "FRANCIS": ["FRANCESCO", "FRANCISCO"], "BRIDGET": ["BRIDIE", "BRIGID"],
    "SEAN": ["SHAUN", "SHAWN"], "PATRICK": ["PADRAIG"], "SIOBHAN": ["SHIVAUN"], "VICTORIA": ["VIKKI"],
    "TRACEY": ["TRACY"], "SARAH": ["SARA"], "ANTHONY": ["ANTONY"], "TERENCE": ["TERRENCE"], "DEBORAH": ["DEBRA"],
    "MATTHEW": ["MATHEW"], "JONATHAN": ["JOHNATHAN"], "ELIZABETH": ["ELISABETH"], "CHRISTINE": ["CHRISTINA"],
    "NICOLA": ["NICHOLA", "NICKY"], "JACQUELINE": ["JACQULINE"], "ALEXANDER": ["ALEC"],
}
for _name, _variants in COMMUNITY_FORENAMES.items():
    NICKNAMES.setdefault(_name, [])
    NICKNAMES[_name].extend(v for v in _variants if v not in NICKNAMES[_name])
_CANONICAL = {variant: name for name, variants in NICKNAMES.items() for variant in variants}
# Words of an organisation's legal form, left out when organisation names are compared.
_LEGAL_FORMS = {"LTD", "LIMITED", "LLP", "PLC", "CO", "COMPANY", "INC", "THE", "AND", "CIC"}
_FEMALE_NAMES = {
    "ELIZABETH", "CHRISTINE", "KATHERINE", "MARGARET", "SUSAN", "JENNIFER", "REBECCA", "SAMANTHA", "PATRICIA",
    "ALEXANDRA", "DEBORAH", "VICTORIA", "ABIGAIL", "AMANDA", "ANNE", "BARBARA", "CHARLOTTE", "CAROLINE", "DANIELLE",
    "DOROTHY", "ELEANOR", "EMILY", "FRANCES", "JACQUELINE", "JESSICA", "JOANNE", "JOSEPHINE", "JUDITH", "KIMBERLEY",
    "MARY", "MICHELLE", "PAMELA", "PENELOPE", "ROSEMARY", "STEPHANIE", "TERESA", "VALERIE",
    "NICOLA", "AGNES", "HANNAH", "RACHEL", "SARAH", "TRACEY", "BRIDGET", "SIOBHAN", "AISHA", "FATIMA", "KHADIJA",
    "MARYAM", "FADUMA", "RUKHSANA", "HATICE", "CHAYA", "OLUWAKEMI", "FUNMILAYO", "FOLASADE", "ABIMBOLA",
}
_FEMALE_TITLES = {"MRS", "MS", "MISS", "LADY", "DAME"}
_MALE_TITLES = {"MR", "SIR", "LORD"}
# A nickname of more than one name (Chris, Sam, Pat, Alex, Jo, Fran, ...): every reading, in table order.
_READINGS: dict[str, list[str]] = {}
for _name, _variants in NICKNAMES.items():
    for _variant in _variants:
        _READINGS.setdefault(_variant, []).append(_name)


def text(value) -> str:
    """Upper case, accents removed, anything but letters and digits made a single space."""
    if value is None:
        return ""
    return _text(str(value))


@functools.lru_cache(maxsize=1 << 16)
def _text(value: str) -> str:
    # Names, streets and postcodes repeat across an extract: each distinct value is worked out once.
    if not value.isascii():
        decomposed = unicodedata.normalize("NFKD", value)
        value = "".join(c for c in decomposed if not unicodedata.combining(c))
        value = value.upper().replace("Ł", "L").replace("Ø", "O").replace("ß", "SS")
    return _NON_ALNUM.sub(" ", value.upper()).strip()


def surname(value) -> str:
    """SMITH-JONES, Smith Jones and O'Brien compare as SMITHJONES and OBRIEN."""
    return text(value).replace(" ", "")


def forename(value) -> str:
    """The first given name, without a title."""
    words = [w for w in text(value).split() if w not in _TITLES]
    return words[0] if words else ""


def canonical_forename(value) -> str:
    name = forename(value)
    return _CANONICAL.get(name, name)


def canonical_forename_of(record: dict) -> str:
    """The canonical forename of a record; a nickname of several names (Chris: Christopher or
    Christine) is read by the title's sex when there is one, else as the first name in NICKNAMES."""
    name = forename(record.get("forename"))
    readings = _READINGS.get(name)
    if not readings:
        return name
    if len(readings) > 1:
        title = text(record.get("title")).replace(" ", "")
        female = title in _FEMALE_TITLES
        if female or title in _MALE_TITLES:
            for reading in readings:
                if (reading in _FEMALE_NAMES) == female:
                    return reading
    return readings[0]


def soundex(value) -> str:
    """Soundex: the first letter and three digits for the consonants that follow (SMITH, SMYTHE: S530)."""
    return jellyfish.soundex(value) if value else ""


def date_of_birth(value) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(str(value)).isoformat()


def nino(value) -> str:
    return text(value).replace(" ", "")


def postcode(value) -> str:
    compact = text(value).replace(" ", "")
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) >= 5 else compact


def postcode_sector(value) -> str:
    """E8 1AA -> E8 1: a neighbourhood of a few thousand addresses."""
    full = postcode(value)
    return full[:-2] if " " in full else ""


def address(lines) -> str:
    """Address lines (not the town) normalised: upper case, street words abbreviated."""
    words = text(" ".join(str(line) for line in lines if line)).split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words)


def house_numbers(lines) -> str:
    """The numbers in an address, sorted: 'Flat 3, 12 Acacia Road' and '3/12 Acacia Rd' both give '3 12'."""
    return " ".join(sorted(set(re.findall(r"\d+", " ".join(str(line) for line in lines if line))), key=int))


# A number that names a flat or unit inside a building, not the building: 'Flat 3', 'Apartment 3',
# 'Unit 2', 'Room 4', and the flat of a slash form ('3/388').
_SLASH_FLAT = re.compile(r"\b(\d+[A-Za-z]?)\s*/\s*(?=\d)")
_FLAT_NUMBER = re.compile(r"\b(?:FLAT|FLT|APARTMENT|APT|UNIT|ROOM|STUDIO|MAISONETTE)\s+(\d+)[A-Z]?\b")
_NUMBER = re.compile(r"\d+")


def building_number(lines) -> str:
    """The number of the building an address is in, however its flat is written.

    'Flat 3, 388 Fountayne St', 'Flat C, 388 Fountayne St', '3/388 Fountayne St', '388C Fountayne
    St' and 'First Floor Flat, 388 Fountayne St' all give '388'. It is the largest number that
    does not name a flat or unit ('Flat 12, 3 Acacia Rd': 3); failing one, the largest number
    ('Flat 12 Nightingale House': 12, the flat of a named block, as '12 Nightingale House' gives).
    """
    joined = text(_SLASH_FLAT.sub(r"FLAT \1 ", " ".join(str(line) for line in lines if line)))
    if not joined:
        return ""
    flats = {int(n) for n in _FLAT_NUMBER.findall(joined)}
    numbers = [int(n) for n in _NUMBER.findall(joined)]
    if not numbers:
        return ""
    rest = [n for n in numbers if n not in flats]
    return str(max(rest or numbers))


def phone(value) -> str:
    digits = re.sub(r"\D", "", str(value or ""))
    if digits.startswith("44") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


def email(value) -> str:
    return str(value or "").strip().lower()


def phonetic(value) -> str:
    return jellyfish.metaphone(value) if value else ""


def initials(record: dict) -> str:
    """What an officer without re-identification rights sees: 'J S', or the organisation's initial."""
    if record.get("organisation") and not record.get("surname"):
        first = text(record["organisation"])[:1]
        return first
    parts = [text(record.get("forename"))[:1], text(record.get("surname"))[:1]]
    return " ".join(p for p in parts if p)


def base_values(record: dict, place: dict | None = None) -> dict[str, str]:
    """The normalised value of each identifier, keyed by token field name (empty: not recorded).
    `place`: the record's address_values, when already worked out."""
    place = place or address_values(record)
    return {
        "tok_forename": forename(record.get("forename")),
        "tok_surname": surname(record.get("surname")),
        "tok_organisation": text(record.get("organisation")),
        "tok_dob": date_of_birth(record.get("date_of_birth")),
        "tok_nino": nino(record.get("nino")),
        "tok_address": place["tok_address"],
        "tok_postcode": place["tok_postcode"],
        "tok_uprn": place["tok_uprn"],
        "tok_phone": phone(record.get("phone")),
        "tok_email": email(record.get("email")),
    }


def organisation_core(value) -> str:
    """An organisation's name without its legal form: 'Lea Valley Properties', 'LEA VALLEY PROPERTIES LTD'
    and 'The Lea Valley Properties Limited' all give LEAVALLEYPROPERTIES."""
    return "".join(w for w in text(value).split() if w not in _LEGAL_FORMS)


SLIP_MIN_LENGTH = 5  # shorter names are too near one another (Mark, Mary; Joan, John) to call one letter a slip


def one_slip_keys(name: str) -> tuple[str, ...]:
    """The name and each way of leaving one letter out of it (its deletion neighbourhood): two
    names one typing slip apart (a letter wrong, missing or extra, or two letters swapped) have one
    of these in common; names further apart have none. Tokens of these keys let linkage see
    ANDEW as ANDREW without the names leaving the council. Names under SLIP_MIN_LENGTH: none."""
    if len(name) < SLIP_MIN_LENGTH:
        return ()
    return tuple(sorted({name, *(name[:i] + name[i + 1:] for i in range(len(name)))}))


def derived_values(record: dict, place: dict | None = None) -> dict[str, str]:
    """Coarser values for matching when spellings differ (owned by the linkage work; add freely).

    Phonetic codes of people's names are Soundex codes (they survive most typing slips and
    spelling variants: Micelle/Michelle, Thomson/Thompson). A forename that is only an initial
    ('J Smith') has no canonical or phonetic forename: an initial agrees with every name that
    starts with it, so it must not look like an agreeing name. A record with no forename is an
    organisation's: its phonetic surname is the metaphone code of the name without its legal form
    (Ltd, Limited, LLP, ...), whole, so that different organisations keep different codes.
    """
    place = place or address_values(record)
    dob = date_of_birth(record.get("date_of_birth"))
    given = forename(record.get("forename"))
    whole = len(given) > 1
    canonical = canonical_forename_of(record) if whole else ""
    sound = soundex(surname(record.get("surname"))) if given else phonetic(organisation_core(record.get("surname")))
    return {
        "tok_forename_canonical": canonical,
        "tok_first_initial": given[:1],
        "tok_surname_phonetic": sound,
        "tok_forename_phonetic": soundex(canonical),
        "tok_dob_year": dob[:4],
        "tok_dob_year_month": dob[:7],
        "tok_postcode_sector": place["tok_postcode_sector"],
        "tok_house_postcode": place["tok_house_postcode"],
        "tok_building_postcode": place["tok_building_postcode"],
        "tok_dob_month_day": dob[5:],
        # several keys each: their tokens travel as one space-separated value (see Tokeniser.token)
        "tok_forename_slips": one_slip_keys(given) if whole else (),
        "tok_surname_slips": one_slip_keys(surname(record.get("surname"))) if given else (),
    }


# The token fields that describe an address (a party may be recorded at several: PartyAddress).
ADDRESS_TOKEN_FIELDS = (
    "tok_address", "tok_postcode", "tok_uprn", "tok_house_postcode", "tok_postcode_sector", "tok_building_postcode",
)
ADDRESS_FIELDS = ("address_line_1", "address_line_2", "address_line_3", "postcode", "uprn")


def address_values(record: dict) -> dict[str, str]:
    """The normalised values of ADDRESS_TOKEN_FIELDS for one record (as base_values and derived_values give them)."""
    lines = [record.get("address_line_1"), record.get("address_line_2"), record.get("address_line_3")]
    code = postcode(record.get("postcode"))
    numbers = house_numbers(lines)
    building = building_number(lines)
    return {
        "tok_address": address(lines),
        "tok_postcode": code,
        "tok_uprn": text(record.get("uprn")).replace(" ", ""),
        "tok_house_postcode": f"{numbers}|{code}" if numbers and code else "",
        "tok_postcode_sector": postcode_sector(record.get("postcode")),
        "tok_building_postcode": f"{building}|{code}" if building and code else "",
    }


# A pseudonymised extract carries each other address as these columns (tok_previous_postcode, ...):
# the same tokens as an account's own address gives (tok_postcode, ...), so they compare.
OTHER_ADDRESS_TOKEN_FIELDS = {
    kind: {field: f"tok_{kind}_{field[4:]}" for field in ADDRESS_TOKEN_FIELDS if field != "tok_uprn"}
    for kind in OTHER_ADDRESSES
}


def record_addresses(record: dict) -> list[tuple[str, dict]]:
    """(kind, address record) for each address one source record gives: its own ("account"), and
    a previous or forwarding address when it has one (as address_line_1, _2 and postcode)."""
    out = [("account", {f: record.get(f) for f in ADDRESS_FIELDS})]
    for kind, (line_1, line_2, code) in OTHER_ADDRESSES.items():
        if record.get(line_1) or record.get(code):
            out.append((kind, {"address_line_1": record.get(line_1), "address_line_2": record.get(line_2),
                               "postcode": record.get(code)}))
    return out


def address_key(tokens) -> str:
    """One address's identity among a party's addresses: a digest of its tokens (keyed already,
    so the digest reveals nothing the tokens do not). Empty when every token is missing."""
    tokens = [t or "" for t in tokens]
    if not any(tokens):
        return ""
    return hashlib.blake2b("\x1f".join(tokens).encode(), digest_size=16).hexdigest()


def token_fields() -> tuple[str, ...]:
    sample = {}
    return tuple([*base_values(sample), *derived_values(sample)])


@functools.lru_cache(maxsize=1 << 18)
def _token(key: bytes, field: str, value: str) -> str:
    # Surnames, postcodes, years of birth repeat: each distinct value is keyed once per load.
    digest = hmac.new(key, f"{field}\x1f{value}".encode(), hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Tokeniser:
    """Keyed tokens under one key version. The key never leaves the council's side."""

    key: bytes
    key_id: str

    def __post_init__(self):
        if len(self.key) < 32:
            raise ValueError("a token key must be at least 32 bytes")

    def token(self, field: str, value: str | tuple[str, ...]) -> str | None:
        """The token of a value; of several values (a tuple), their tokens sorted and joined by spaces."""
        if not value:
            return None
        if isinstance(value, tuple):
            return " ".join(sorted({_token(self.key, field, v) for v in value}))
        return _token(self.key, field, value)

    def tokenise_address(self, record: dict) -> dict[str, str | None]:
        """The address token fields only (ADDRESS_TOKEN_FIELDS) of one record."""
        return {field: self.token(field, value) for field, value in address_values(record).items()}

    def tokenise_extract(self, record: dict) -> dict[str, str | None]:
        """What a pseudonymised extract carries for one row: `tokenise`, plus the tokens of its
        previous and forwarding addresses (OTHER_ADDRESS_TOKEN_FIELDS)."""
        tokens = self.tokenise(record)
        given = dict(record_addresses(record))
        for kind, columns in OTHER_ADDRESS_TOKEN_FIELDS.items():
            values = self.tokenise_address(given[kind]) if kind in given else {}
            tokens.update({column: values.get(field) for field, column in columns.items()})
        return tokens

    def tokenise(self, record: dict) -> dict[str, str | None]:
        """Every token field for one source record, plus its display initials and the key id."""
        place = address_values(record)
        values = base_values(record, place) | derived_values(record, place)
        tokens: dict[str, str | None] = {field: self.token(field, value) for field, value in values.items()}
        tokens["initials"] = initials(record)
        tokens["token_key_id"] = self.key_id
        return tokens
