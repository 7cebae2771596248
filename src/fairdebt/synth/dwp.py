"""A synthetic national DWP benefit-overpayment extract at full scale (15 million debtors).

`generate_dwp(out)` writes the three Parquet feeds that the ``dwp.*`` sources in
ingest/sources.toml describe (accounts, debts, transactions), a manifest.json naming them, and a
truth.csv that says which customer records are the same real person (about 1% of debtor accounts
are a second record of someone already on file, with a typo, a nickname, a missing NINO, a new
address or a mistyped date of birth), so that matching can be scored.

How it stays fast and small:
  * debtors are made in blocks of BLOCK (5,000) debtor accounts; each block draws from its own
    numpy Generator (PCG64 seeded with SeedSequence([seed, block_index])) and every step is
    vectorised over the block's rows (no Python loop per row or per debtor);
  * blocks are turned into Arrow record batches at once and gathered into chunks of about
    ``chunk_size`` debtors; each chunk becomes row groups of the three files;
  * a writer thread writes chunk k (pyarrow releases the GIL) while the main thread makes chunk
    k+1, and at most two chunks are alive at any time, so memory is bounded whatever ``debtors``.

Because the random streams are keyed on the block, not the chunk, the output is identical for any
``chunk_size`` (it is rounded up to whole blocks) and from run to run.

The ledger follows domain/vocabulary.py: a positive amount increases what is owed. Each debt has one
OP (the overpayment, > 0), perhaps an ADJ (a recalculation, either sign), its recoveries REC (< 0:
monthly benefit deductions, DEA, direct debit on a schedule, irregular card payments), perhaps one
REV (the exact negative of one REC, with reverses_txn_id set and the same due_date) and perhaps a
WO (< 0, the remaining balance). Recoveries stop when the debt is cleared, when the debtor stops
paying (a quarter of debts), at death, or at ``as_of``; some change rate part-way (hardship
reduction or increase), so days since last payment, regularity and trend all vary.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fairdebt.ingest import config
from fairdebt.ingest.feeds import FEEDS

SYSTEM = "dwp"
SOURCES = ("dwp.accounts", "dwp.debts", "dwp.transactions")
FILES = {"dwp.accounts": "dwp_accounts.parquet", "dwp.debts": "dwp_debts.parquet", "dwp.transactions": "dwp_transactions.parquet"}

BLOCK = 5_000  # debtor accounts per random stream; chunk_size is rounded up to whole blocks
EPOCH = date(1970, 1, 1)
MONTH = 30.4375  # days

# ------------------------------------------------------------------------------------------------ knobs
# Debts per debtor account, 1..8, skewed low; mean 2.99.
DEBTS_PER_ACCOUNT_P = np.array([0.26, 0.23, 0.18, 0.12, 0.09, 0.06, 0.04, 0.02])
PARTNER_RATE = 0.10  # accounts with a jointly liable partner (a couple's joint claim)
DUPLICATE_RATE = 0.01  # debtor accounts whose debtor is a second record of someone already on file
# Age of an account's oldest debt: exponential, capped. This is the main knob on transactions per
# debt (older debts have more monthly recoveries): with these values the mean is about 8.8
# (1 OP + ~7.7 REC + a few ADJ/REV/WO), chosen to keep the 15M-debtor run well inside its budget
# (600 s, 4 GiB on 2 cores; bench/synth_dwp.py measures it).
FIRST_DEBT_AGE_MEAN_DAYS = 1_000
MAX_DEBT_AGE_DAYS = 12 * 365
PROFILE_P = np.array([0.14, 0.60, 0.26])  # never paid, paying (until cleared or now), stopped paying

# ------------------------------------------------------------------------------------------------ vocab
BENEFITS = (
    "Universal Credit",
    "Universal Credit advance",
    "Employment and Support Allowance",
    "Jobseeker's Allowance",
    "Personal Independence Payment",
    "Carer's Allowance",
    "Pension Credit",
    "Income Support",
    "Attendance Allowance",
    "State Pension",
    "Disability Living Allowance",
    "Bereavement Support Payment",
)
UC_ADVANCE = 1
_WORKING_AGE_W = np.array([42, 16, 11, 8, 7, 6, 1, 4, 0, 0, 3, 2], dtype=float)
_PENSION_AGE_W = np.array([4, 0, 0, 0, 4, 4, 45, 0, 15, 20, 5, 3], dtype=float)
BENEFIT_P = np.vstack([_WORKING_AGE_W / _WORKING_AGE_W.sum(), _PENSION_AGE_W / _PENSION_AGE_W.sum()])
# Overpayment size (pounds): lognormal median and sigma per benefit.
AMOUNT_MEDIAN = np.array([700, 450, 1200, 600, 1500, 1800, 1500, 1200, 1000, 2000, 2000, 800], dtype=float)
AMOUNT_SIGMA = np.array([1.0, 0.6, 1.1, 0.9, 1.1, 1.0, 1.0, 1.0, 0.9, 1.0, 1.0, 0.8])
MIN_PENCE, MAX_PENCE = 5_000, 1_500_000

# Recovery methods (index into METHODS): 0 none, 1 deduction from benefit, 2 DEA, 3 direct debit, 4 card.
METHODS = ("", "benefit_deduction", "attachment_of_earnings", "direct_debit", "card")
DED, DEA, DD, CARD = 1, 2, 3, 4
METHOD_P = np.array([0.0, 0.58, 0.09, 0.20, 0.13])
RATE_MEDIAN = np.array([0, 60, 120, 40, 60], dtype=float)  # pounds a month (card: a payment)
RATE_SIGMA = np.array([0, 0.35, 0.6, 0.7, 0.8])
LEAD_LO = np.array([0, 28, 60, 30, 30])  # days from the overpayment decision to the first recovery
LEAD_HI = np.array([0, 70, 180, 120, 120])
MISS_P = np.array([0, 0.005, 0.05, 0.04, 0.0])  # a scheduled month with no recovery
NOISE_LO = np.array([1, 1, 0.8, 1, 0.5])  # recovery amount: varying earnings (DEA), what a card payer can spare
NOISE_HI = np.array([1, 1, 1.25, 1, 2.0])
JITTER_MAX = np.array([0, 0, 4, 2, 0])  # days an effective date falls after the scheduled one
REV_P = np.array([0, 0.02, 0.03, 0.12, 0.05])  # a debt with one recovery reversed (bounced DD, chargeback)
REV_DELAY_LO = np.array([0, 30, 20, 3, 20])
REV_DELAY_HI = np.array([0, 90, 60, 10, 60])
CARD_GAP_LO, CARD_GAP_HI = 10, 80  # days between card payments

KINDS = ("charge", "adjustment", "payment", "reversal", "write_off")  # also the order within a day
K_OP, K_ADJ, K_REC, K_REV, K_WO = range(5)
STATUS_CODES = ("", "NEW", "DED", "DEA", "ARR", "CC")
S_CLOSED, S_NEW, S_DED, S_DEA, S_ARR, S_CC = range(6)

# ------------------------------------------------------------------------------------------------ people
_MALE = (
    "Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Henry Leo Alfie "
    "Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur Lucas Mohammed "
    "Logan Theo Harrison Benjamin Mason Sebastian Finley Adam Dylan Zachary Riley Teddy Theodore David "
    "Elijah Jaxon Toby Louie Reggie Arlo Hugo Rory Ryan Michael Christopher Matthew Andrew Richard "
    "Robert Paul Mark Steven Anthony Kevin Gary Stephen Peter John Ian Simon Lee Craig Darren Wayne "
    "Dean Jason Neil Stuart Graham Keith Brian Colin Kenneth Ronald Dennis Derek Trevor Raymond Roy "
    "Barry Terence Malcolm Gordon Alan Philip Martin Carl Scott Shaun Jamie Liam Kieran Connor Callum "
    "Declan Aaron Jordan Nathan Bradley Kyle Ahmed Ali Hassan Imran Tariq Bilal Usman Raj Sanjay Arjun "
    "Tomasz Piotr Krzysztof Marek Andrei Florin Ionut Kwame Chinedu Oluwaseun Tunde Emeka Kofi Declan "
    "Sean Patrick Owen Rhys Gareth Dafydd Iwan Alasdair Hamish Angus Fraser Euan"
).split()
_FEMALE = (
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Willow Freya Florence Emily Ella "
    "Poppy Evie Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Sophie Alice Harper Matilda Ruby "
    "Emilia Maya Millie Isabelle Jessica Chloe Lucy Hannah Holly Megan Lauren Amy Rebecca Laura "
    "Sarah Emma Gemma Claire Nicola Lisa Michelle Joanne Karen Julie Susan Tracey Donna Dawn Kelly "
    "Samantha Stacey Natalie Kirsty Leanne Hayley Jade Danielle Zoe Victoria Elizabeth Margaret "
    "Patricia Barbara Linda Carol Christine Janet Jacqueline Pauline Angela Sandra Deborah Helen "
    "Katherine Jennifer Catherine Mary Anne Joan Doreen Brenda Valerie Shirley Sheila Maureen Irene "
    "Jean Eileen Kathleen Fatima Aisha Amina Zainab Maryam Ayesha Priya Sunita Anjali Nadia Agnieszka "
    "Katarzyna Magdalena Joanna Ioana Elena Chioma Ngozi Funmilayo Abena Adwoa Siobhan Niamh Bethan "
    "Cerys Sian Rhiannon Eilidh Kirsteen Morag Shona"
).split()
_NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Richard": "Dick", "Edward": "Ted", "Michael": "Mike",
    "Christopher": "Chris", "Matthew": "Matt", "Andrew": "Andy", "Anthony": "Tony", "Stephen": "Steve",
    "Steven": "Steve", "Thomas": "Tom", "James": "Jim", "Joseph": "Joe", "Samuel": "Sam",
    "Daniel": "Dan", "Benjamin": "Ben", "Alexander": "Alex", "Kenneth": "Ken", "Ronald": "Ron",
    "Raymond": "Ray", "Terence": "Terry", "Philip": "Phil", "Gareth": "Gaz", "Nathan": "Nate",
    "Mohammed": "Mohamed", "Muhammad": "Mohammad", "Elizabeth": "Liz", "Margaret": "Maggie",
    "Katherine": "Kate", "Catherine": "Cathy", "Jennifer": "Jenny", "Rebecca": "Becky",
    "Samantha": "Sam", "Victoria": "Vicky", "Patricia": "Pat", "Deborah": "Debbie", "Christine": "Chris",
    "Jacqueline": "Jackie", "Susan": "Sue", "Nicola": "Nicky", "Natalie": "Nat", "Kathleen": "Kath",
    "Valerie": "Val", "Barbara": "Babs", "Jessica": "Jess", "Isabella": "Bella", "Charlotte": "Lottie",
    "Florence": "Flo", "Sophia": "Sophie", "Amelia": "Millie", "Danielle": "Dani", "Aisha": "Ayesha",
}
_SURNAMES = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson "
    "Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner "
    "Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott "
    "Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson "
    "Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams "
    "Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell "
    "Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens "
    "Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews "
    "Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson "
    "Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong "
    "Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh "
    "Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton "
    "Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess "
    "Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne "
    "Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss "
    "McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle "
    "Wallace George Jordan Hutchinson Rahman Miah Akhtar Iqbal Mahmood Chowdhury Nowak Kowalski "
    "Wisniewski Popescu Ionescu Okafor Adeyemi Mensah Owusu Boateng Nguyen Chen Wong MacLeod "
    "Fraser Sinclair Llewellyn Pritchard Vaughan Jenkins-Price Smith-Jones"
).split()
_STREETS = (
    "Church High Station Victoria Park Mill Queen's King's Albert Manor Green School New Grange "
    "Springfield Windsor Highfield Chestnut Oak Beech Elm Willow Cedar Meadow Orchard Brook Bridge "
    "Castle Abbey Priory Chapel Market Hill North South West East Albion Alexandra Cambridge "
    "Oxford York Richmond Stanley Warwick Clarence Gladstone Nelson Wellington Marlborough "
    "Hawthorn Rowan Holly Ash Sycamore Laburnum Heather Primrose Bluebell Fern Moor Valley Lodge "
    "Farm Bank Poplar Coronation Jubilee Carlton Salisbury Derwent Severn Trent Mersey Tyne"
).split()
_STREET_TYPES = np.array("Road Street Lane Avenue Close Drive Way Crescent Gardens Grove Terrace Court Place Walk".split())
_STREET_TYPE_P = np.array([30, 22, 10, 9, 7, 6, 4, 3, 3, 2, 2, 1, 0.5, 0.5])
_LOCALITIES = (
    "Westfield Northgate Hillside Meadowbank Riverside Broadway Fairview Kingsway Parkside Ashfield "
    "Brookside Woodlands Moorside Southgate Eastfield Newtown Oldtown Greenhill Bankside Lowfield "
    "Highfields Stonebridge Millbrook Castleton Abbeydale Churchtown Fernhill Heathfield Longford "
    "Redhill Sandbrook Thornhill Upton Weston Whitegate Oakwood Elmfield Marshside Ridgeway Summerhill"
).split()
# Town, postcode area, number of districts used. Weights roughly follow population.
_TOWNS = (
    ("London", "E", 18, 9), ("London", "N", 22, 7), ("London", "SE", 28, 9), ("London", "SW", 20, 6),
    ("London", "NW", 11, 5), ("Birmingham", "B", 40, 9), ("Manchester", "M", 40, 7), ("Leeds", "LS", 29, 6),
    ("Glasgow", "G", 60, 6), ("Liverpool", "L", 38, 5), ("Sheffield", "S", 36, 5), ("Bradford", "BD", 24, 4),
    ("Bristol", "BS", 41, 4), ("Edinburgh", "EH", 55, 4), ("Cardiff", "CF", 48, 4), ("Newcastle upon Tyne", "NE", 66, 4),
    ("Nottingham", "NG", 34, 4), ("Leicester", "LE", 19, 3), ("Coventry", "CV", 37, 3), ("Hull", "HU", 20, 3),
    ("Stoke-on-Trent", "ST", 21, 3), ("Wolverhampton", "WV", 16, 3), ("Plymouth", "PL", 35, 2), ("Southampton", "SO", 53, 2),
    ("Reading", "RG", 45, 2), ("Derby", "DE", 75, 2), ("Swansea", "SA", 73, 2), ("Belfast", "BT", 94, 3),
    ("Aberdeen", "AB", 56, 2), ("Sunderland", "SR", 9, 2), ("Middlesbrough", "TS", 29, 2), ("Blackpool", "FY", 8, 2),
    ("Preston", "PR", 26, 2), ("Bolton", "BL", 9, 2), ("Oldham", "OL", 16, 2), ("Doncaster", "DN", 41, 2),
    ("Wakefield", "WF", 17, 2), ("Huddersfield", "HD", 9, 1), ("Norwich", "NR", 35, 2), ("Ipswich", "IP", 33, 1),
    ("Luton", "LU", 7, 1), ("Portsmouth", "PO", 41, 2), ("Brighton", "BN", 45, 2), ("Exeter", "EX", 39, 1),
    ("Dundee", "DD", 11, 1), ("Wrexham", "LL", 78, 1), ("Newport", "NP", 44, 1), ("Carlisle", "CA", 28, 1),
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the inward code's letters never use C I K M O V
_EMAIL_DOMAINS = np.array(["example.com", "example.org", "example.net", "mail.example.com", "post.example.org"])  # RFC 2606: never real
_TITLES = np.array(["Mr", "Mrs", "Ms", "Miss", "Dr", "Mx"])
_TITLE_P = np.array([[0.97, 0, 0, 0, 0.015, 0.015], [0, 0.42, 0.28, 0.27, 0.015, 0.015]])  # male, female

# NINO: two prefix letters (neither D F I Q U V; second not O; not BG GB KN NK NT TN ZZ), six
# digits, suffix A-D. Each customer number maps to a distinct NINO (a bijection, so distinct people
# never share one).
_NINO_FIRST = [c for c in "ABCEGHJKLMNOPRSTWXYZ"]
_NINO_SECOND = [c for c in "ABCEGHJKLMNPRSTWXYZ"]
_NINO_PREFIXES = [a + b for a in _NINO_FIRST for b in _NINO_SECOND if a + b not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}]
_NINO_PREFIX_BYTES = np.frombuffer("".join(_NINO_PREFIXES).encode(), dtype=np.uint8).reshape(-1, 2)
_NINO_SPACE = len(_NINO_PREFIXES) * 1_000_000 * 4
_NINO_MULT, _NINO_ADD = 2_654_435_761, 48_271_593
assert math.gcd(_NINO_MULT, _NINO_SPACE) == 1


def _typos(s: str) -> tuple[str, str]:
    """Two different misspellings of a name: adjacent letters swapped, and a letter dropped or doubled."""
    mid = len(s) // 2
    candidates = []
    for i in (mid - 1, mid, mid - 2, mid + 1, 1):
        if 0 < i < len(s) - 1 and s[i] != s[i + 1] and s[i].isalpha() and s[i + 1].isalpha():
            candidates.append(s[:i] + s[i + 1] + s[i] + s[i + 2 :])
    if len(s) >= 5:
        candidates.append(s[:mid] + s[mid + 1 :])
    candidates += [s[:mid] + s[mid] + s[mid:], s + ("y" if s[-1] != "y" else "e")]
    unique = [c for c in dict.fromkeys(candidates) if c != s]
    return unique[0], unique[1]


def _email_part(s: str) -> str:
    return "".join(c for c in s.lower() if c.isalpha())


def _weights(n: int) -> np.ndarray:
    w = 1.0 / (np.arange(n) + 8.0) ** 0.9
    return w / w.sum()


_MALE = list(dict.fromkeys(_MALE))
_FEMALE = list(dict.fromkeys(_FEMALE))
_SURNAMES = list(dict.fromkeys(_SURNAMES))
_FORENAMES = _MALE + _FEMALE
_F = len(_FORENAMES)
# forename index i < F is the name; F + i is its variant (a nickname, else a typo)
FORENAMES_EXT = np.array(_FORENAMES + [_NICKNAMES.get(n, _typos(n)[0]) for n in _FORENAMES])
_S = len(_SURNAMES)
# surname index i < S is the name; S + i and 2S + i are typos of it
SURNAMES_EXT = np.array(_SURNAMES + [_typos(s)[0] for s in _SURNAMES] + [_typos(s)[1] for s in _SURNAMES])
_FORENAME_EMAIL = pa.array([_email_part(s) for s in FORENAMES_EXT])
_SURNAME_EMAIL = pa.array([_email_part(s) for s in SURNAMES_EXT])
_FORENAMES_PA = pa.array(FORENAMES_EXT)
_SURNAMES_PA = pa.array(SURNAMES_EXT)
_MALE_P = _weights(len(_MALE))
_FEMALE_P = _weights(len(_FEMALE))
_SURNAME_P = _weights(_S)
_STREET_P = _weights(len(_STREETS))
_TOWN_W = np.array([t[3] for t in _TOWNS], dtype=float)
_TOWN_P = _TOWN_W / _TOWN_W.sum()
_TOWN_NAMES = pa.array([t[0] for t in _TOWNS])
_TOWN_AREAS = pa.array([t[1] for t in _TOWNS])
_TOWN_DISTRICTS = np.array([t[2] for t in _TOWNS])
_BENEFITS_PA = pa.array(BENEFITS)
_STREETS_PA = pa.array(_STREETS)
_STREET_TYPES_PA = pa.array(_STREET_TYPES)
_LOCALITIES_PA = pa.array(_LOCALITIES)
_EMAIL_DOMAINS_PA = pa.array(_EMAIL_DOMAINS)
_TITLES_PA = pa.array(_TITLES)
_INWARD = pa.array([f"{d}{a}{b}" for d in range(10) for a in _INWARD_LETTERS for b in _INWARD_LETTERS])

# ------------------------------------------------------------------------------------------------ ids
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint16)
_LOW4 = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode(), dtype=np.uint8).reshape(10_000, 4)


def _digits(nums: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative integers, zero-padded."""
    even = width + (width & 1)
    x = np.asarray(nums, dtype=np.uint64)
    out = np.empty((len(x), even // 2), dtype=np.uint16)
    for k in range(even // 2 - 1, -1, -1):
        q = x // 100
        out[:, k] = _PAIRS[(x - q * 100).astype(np.intp)]
        x = q
    return out.view(np.uint8).reshape(len(x), even)[:, even - width :]


def _seq_ids(prefix: str, first: int, n: int, width: int) -> np.ndarray:
    """(n, len(prefix)+width) bytes of the ids prefix+str(first+i).zfill(width), i < n."""
    p = len(prefix)
    out = np.empty((n, p + width), dtype=np.uint8)
    if n == 0:
        return out
    out[:, :p] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    if width <= 4:
        out[:, p:] = _digits(np.arange(first, first + n), width)
        return out
    s0 = first % 10_000
    hi = np.arange(first // 10_000, (first + n - 1) // 10_000 + 1)
    counts = np.full(len(hi), 10_000)
    counts[0] = 10_000 - s0
    counts[-1] -= counts.sum() - n
    out[:, p : p + width - 4] = np.repeat(_digits(hi, width - 4), counts, axis=0)
    out[:, p + width - 4 :] = np.resize(np.roll(_LOW4, -s0, axis=0), (n, 4))
    return out


def _strings(mat: np.ndarray, rows: np.ndarray | None = None, valid: np.ndarray | None = None) -> pa.Array:
    """A string array from fixed-width byte rows: all of them or a selection (``rows``), null where not ``valid``."""
    width = mat.shape[1]
    n = len(mat) if rows is None else len(rows)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        rows = np.flatnonzero(valid) if rows is None else rows[valid]
    if rows is not None:
        mat = np.ascontiguousarray(mat).view(np.dtype((np.void, width))).ravel()[rows].view(np.uint8).reshape(-1, width)
    data = pa.py_buffer(np.ascontiguousarray(mat))
    if valid is None:
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), data)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(valid * np.int32(width), out=offsets[1:])
    bitmap = np.packbits(valid, bitorder="little")
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), data, pa.py_buffer(bitmap), int(n - len(mat)))


def _take(values: pa.Array, idx: np.ndarray) -> pa.Array:
    return values.take(pa.array(np.asarray(idx, dtype=np.int32)))


def _codes(values: list[str], idx: np.ndarray) -> pa.Array:
    return _take(pa.array(values, pa.string()), idx)


def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    days = np.asarray(days, dtype=np.int32)
    return pa.array(days, pa.date32(), mask=None if valid is None else ~np.asarray(valid, dtype=bool))


def _num_str(nums: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(nums, dtype=np.int64)), pa.string())


# ------------------------------------------------------------------------------------------------ segments
def _starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups with these row counts: each row's group and its position within the group."""
    parent = np.repeat(np.arange(len(counts)), counts)
    pos = np.arange(len(parent)) - np.repeat(_starts(counts), counts)
    return parent, pos


def _seg_cumsum(values: np.ndarray, parent: np.ndarray, n_groups: int) -> np.ndarray:
    """Inclusive cumulative sum within groups; rows of a group are contiguous and in parent order."""
    total = np.cumsum(values)
    counts = np.bincount(parent, minlength=n_groups)
    before = np.concatenate(([0], total))[_starts(counts)]
    return total - np.repeat(before, counts)


def _lognormal_pence(rng, median_pounds, sigma) -> np.ndarray:
    return np.rint(100.0 * median_pounds * np.exp(sigma * rng.standard_normal(len(median_pounds)))).astype(np.int64)


def _choice(rng, p: np.ndarray, n: int) -> np.ndarray:
    """n draws of 0..len(p)-1 with probabilities p (like rng.choice(len(p), n, p=p), but faster)."""
    cum = np.cumsum(p)
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(p) - 1)


def _randint(rng, lo, hi, n: int) -> np.ndarray:
    """n integers in [lo, hi] (inclusive; bounds may be per-row arrays), one uniform draw each."""
    lo = np.asarray(lo)
    return lo + (rng.random(n) * (np.asarray(hi) - lo + 1)).astype(np.int64)


def _pick(rng, p_rows: np.ndarray) -> np.ndarray:
    """One category per row from per-row probability vectors (rows of p_rows), vectorised."""
    cum = np.cumsum(p_rows, axis=1)
    u = rng.random(len(p_rows))[:, None]
    return np.minimum((u >= cum).sum(axis=1), p_rows.shape[1] - 1)


# ------------------------------------------------------------------------------------------------ schema
class _Layout:
    """Column names and codes of the dwp.* sources, read from the source configuration."""

    def __init__(self) -> None:
        self.accounts = config.get("dwp.accounts")
        self.debts = config.get("dwp.debts")
        self.transactions = config.get("dwp.transactions")
        self.roles = [self.accounts.encode("role", "lead"), self.accounts.encode("role", "joint")]
        self.kinds = [self.transactions.encode("kind", k) for k in KINDS]
        self.methods = [self.transactions.encode("method", m) for m in METHODS]
        stage_codes = self.debts.codes.get("recovery_stage", {})
        for code in STATUS_CODES:
            if code not in stage_codes:
                raise config.SourceConfigError(f"dwp.debts: recovery_stage code {code!r} is not in sources.toml")
        self.statuses = list(STATUS_CODES)
        self.schemas = {}
        types = {"date": pa.date32(), "money": pa.int64()}
        for src in (self.accounts, self.debts, self.transactions):
            kinds = {f.name: f.type for f in FEEDS[src.feed]}
            self.schemas[src.name] = pa.schema([(col, types.get(kinds[canon], pa.string())) for canon, col in src.columns.items()])

    def batch(self, source: str, values: dict[str, pa.Array]) -> pa.RecordBatch:
        src = {"dwp.accounts": self.accounts, "dwp.debts": self.debts, "dwp.transactions": self.transactions}[source]
        missing = set(src.columns) - set(values)
        if missing:
            raise KeyError(f"{source}: no values for {sorted(missing)}")
        schema = self.schemas[source]
        return pa.RecordBatch.from_arrays([values[canon] for canon in src.columns], schema=schema)


TRUTH_SCHEMA = pa.schema([("resident_id", pa.string()), ("system", pa.string()), ("party_ref", pa.string())])


# ------------------------------------------------------------------------------------------------ one block
class _Counters:
    def __init__(self) -> None:
        self.customers = 0
        self.debts = 0
        self.transactions = 0
        self.duplicates = 0


def _people(rng, n: int, as_of: int, female: np.ndarray | None = None, age: np.ndarray | None = None) -> dict:
    """Index-form attributes of n fresh people."""
    if female is None:
        female = rng.random(n) < 0.52
    if age is None:
        age = np.where(rng.random(n) < 0.17, rng.uniform(66, 95, n), rng.triangular(18, 33, 66, n))
    fore = np.where(female, len(_MALE) + _choice(rng, _FEMALE_P, n), _choice(rng, _MALE_P, n))
    town = _choice(rng, _TOWN_P, n)
    has_locality = rng.random(n) < 0.45
    has_email = rng.random(n) < 0.55
    sur = _choice(rng, _SURNAME_P, n)
    return {
        "female": female,
        "fore": fore,
        "sur": sur,
        "email_fore": fore.copy(),  # the names in the email address
        "email_sur": sur.copy(),
        "title": _pick(rng, _TITLE_P[female.astype(np.intp)]),
        "dob": as_of - np.rint(age * 365.25).astype(np.int64) - rng.integers(0, 365, n),
        "flat": np.where(rng.random(n) < 0.18, rng.integers(1, 60, n), 0),
        "house": np.minimum(1 + rng.geometric(1 / 40, n), 350),
        "street": _choice(rng, _STREET_P, n),
        "stype": _choice(rng, _STREET_TYPE_P, n),
        "locality": np.where(has_locality, rng.integers(0, len(_LOCALITIES), n), -1),
        "town": town,
        "district": 1 + (rng.random(n) * _TOWN_DISTRICTS[town]).astype(np.int64),
        "inward": rng.integers(0, len(_INWARD), n),
        "phone_kind": _pick(rng, np.broadcast_to([0.28, 0.62, 0.10], (n, 3))),  # none, mobile, landline
        "phone": rng.integers(0, 1_000_000_000, n),
        "email_num": np.where(has_email, np.where(rng.random(n) < 0.55, rng.integers(1, 100, n), 0), -1),
        "domain": rng.integers(0, len(_EMAIL_DOMAINS), n),
        "death": np.full(n, -1, dtype=np.int64),
        "nino_ok": rng.random(n) >= 0.004,
    }


_ADDRESS = ("flat", "house", "street", "stype", "locality", "town", "district", "inward")
_CONTACT = ("phone_kind", "phone", "email_num", "domain")


def _take_people(p: dict, idx: np.ndarray) -> dict:
    return {k: v[idx] for k, v in p.items()}


def _block(seed: int, block: int, first_account: int, n: int, as_of: int, counters: _Counters, layout: _Layout):
    """Make one block of n debtor accounts. Returns (accounts, debts, transactions, truth) batches."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, block])))

    # ---------------------------------------------------------------- accounts and people
    has_partner = rng.random(n) < PARTNER_RATE
    leads = _people(rng, n, as_of)
    lead_age = (as_of - leads["dob"]) / 365.25
    # A duplicate debtor is a second record of an earlier, non-duplicate debtor in the block.
    dup = rng.random(n) < DUPLICATE_RATE
    dup[0] = False
    originals = np.flatnonzero(~dup)
    earlier = np.searchsorted(originals, np.arange(n))  # originals before each account
    root = np.arange(n)
    dup_idx = np.flatnonzero(dup)
    root[dup_idx] = originals[(rng.random(len(dup_idx)) * earlier[dup_idx]).astype(np.intp)]
    lead_age[dup_idx] = lead_age[root[dup_idx]]
    fresh = _take_people(leads, dup_idx)  # new details a duplicate may carry
    for k, v in leads.items():
        v[dup_idx] = v[root[dup_idx]]
    d = len(dup_idx)
    nino_missing = rng.random(d) < 0.5
    sur_typo = rng.random(d) < 0.35
    fore_variant = rng.random(d) < 0.25
    moved = rng.random(d) < 0.3
    dob_error = rng.random(d) < 0.08
    nino_missing |= ~(sur_typo | fore_variant | moved | dob_error)
    leads["nino_ok"][dup_idx] &= ~nino_missing
    leads["sur"][dup_idx] += np.where(sur_typo, _S * rng.integers(1, 3, d), 0)
    leads["fore"][dup_idx] += np.where(fore_variant, _F, 0)
    for k in _ADDRESS:
        leads[k][dup_idx] = np.where(moved, fresh[k], leads[k][dup_idx])
    contact_changed = rng.random(d) < 0.4  # a new phone and email (made from the names as now recorded)
    for k in _CONTACT:
        leads[k][dup_idx] = np.where(contact_changed, fresh[k], leads[k][dup_idx])
    leads["email_fore"][dup_idx] = np.where(contact_changed, leads["fore"][dup_idx], leads["email_fore"][dup_idx])
    leads["email_sur"][dup_idx] = np.where(contact_changed, leads["sur"][dup_idx], leads["email_sur"][dup_idx])
    dob = leads["dob"][dup_idx].astype("datetime64[D]")
    month_start = dob.astype("datetime64[M]")
    day = (dob - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    month = (month_start - dob.astype("datetime64[Y]").astype("datetime64[M]")).astype(np.int64) + 1
    swapped = (dob.astype("datetime64[Y]").astype("datetime64[M]") + (day - 1)).astype("datetime64[D]") + (month - 1)
    swappable = (day <= 12) & (day != month)
    wrong = np.where(swappable, swapped.astype(np.int64), leads["dob"][dup_idx] + 1)
    leads["dob"][dup_idx] = np.where(dob_error, wrong, leads["dob"][dup_idx])

    # Deaths (the lead only): more likely over pension age.
    dies = rng.random(n) < np.where(lead_age >= 66, 0.03, 0.003)
    death = np.where(dies, as_of - rng.integers(1, 1_500, n), -1)
    death[dup_idx] = death[root[dup_idx]]
    leads["death"] = death

    # Partners: mostly the other sex, similar age, often the same surname, same address.
    pidx = np.flatnonzero(has_partner)
    p = len(pidx)
    partner_female = np.where(rng.random(p) < 0.9, ~leads["female"][pidx], leads["female"][pidx])
    partners = _people(rng, p, as_of, female=partner_female, age=np.clip(lead_age[pidx] + rng.normal(0, 4, p), 18, 99))
    partners["sur"] = np.where(rng.random(p) < 0.6, leads["sur"][pidx] % _S, partners["sur"])
    partners["email_sur"] = partners["sur"].copy()
    for k in _ADDRESS:
        partners[k] = leads[k][pidx]

    # Output order: each account's debtor, then its partner. Customer numbers follow that order.
    person_acct = np.concatenate([np.arange(n), pidx])
    person_role = np.concatenate([np.zeros(n, np.int8), np.ones(p, np.int8)])
    order = np.argsort(person_acct * 2 + person_role, kind="stable")
    people = {k: np.concatenate([leads[k], partners[k]])[order] for k in leads}
    person_acct = person_acct[order]
    person_role = person_role[order]
    npeople = n + p
    position = np.empty(npeople, dtype=np.int64)
    position[order] = np.arange(npeople)
    lead_pos = position[:n]  # output row of each account's debtor
    root_pos = lead_pos[root]  # output row of the real person's first record
    person_root = np.arange(npeople)
    person_root[lead_pos[dup_idx]] = root_pos[dup_idx]
    customer_first = counters.customers + 1
    counters.customers += npeople
    counters.duplicates += d

    # ---------------------------------------------------------------- debts
    k = 1 + _choice(rng, DEBTS_PER_ACCOUNT_P, n)
    acct, seq = _expand(k)
    m = len(acct)
    first_age = np.minimum(rng.exponential(FIRST_DEBT_AGE_MEAN_DAYS, n), MAX_DEBT_AGE_DAYS)
    age = np.where(seq == 0, first_age[acct], first_age[acct] * rng.random(m))
    age = np.rint(age).astype(np.int64)
    age = age[np.argsort(acct * (MAX_DEBT_AGE_DAYS + 1) + (MAX_DEBT_AGE_DAYS - age), kind="stable")]  # oldest debt first
    d0 = as_of - age  # the overpayment decision: the OP entry's date
    opened = d0[_starts(k)]
    pension = ((d0 - leads["dob"][acct]) / 365.25) >= 66
    benefit = _pick(rng, BENEFIT_P[pension.astype(np.intp)])
    advance = benefit == UC_ADVANCE
    amount = np.clip(_lognormal_pence(rng, AMOUNT_MEDIAN[benefit], AMOUNT_SIGMA[benefit]), MIN_PENCE, MAX_PENCE)
    amount = np.where(advance, np.minimum(amount, 300_000), amount)
    op_to = np.where(advance, d0, d0 - np.minimum(14 + rng.geometric(1 / 45, m), 400))
    op_from = np.where(advance, d0, op_to - np.minimum(7 + rng.geometric(1 / 180, m), 2_000))

    has_adj = (~advance) & (rng.random(m) < 0.06)
    adj = np.where(rng.random(m) < 0.7, -(amount * rng.uniform(0.05, 0.4, m)), amount * rng.uniform(0.05, 0.3, m))
    adj = np.rint(adj).astype(np.int64)
    adj_date = d0 + _randint(rng, 14, 120, m)
    has_adj &= (adj_date <= as_of) & (adj != 0)
    owed = amount + np.where(has_adj, adj, 0)

    # recovery plan
    end = np.where(death[acct] >= 0, np.minimum(death[acct], as_of), as_of)
    profile = _choice(rng, PROFILE_P, m)  # 0 never paid, 1 paying, 2 stopped
    method = np.where(advance, DED, _choice(rng, METHOD_P, m))
    method = np.where(profile == 0, 0, method)
    rs = d0 + _randint(rng, np.where(advance, 30, LEAD_LO[method]), np.where(advance, 40, LEAD_HI[method]), m)
    card = method == CARD
    gap = np.where(card, (CARD_GAP_LO + CARD_GAP_HI) / 2, MONTH)
    n_time = np.where((rs <= end) & (method > 0), np.floor((end - rs) / gap).astype(np.int64) + 1, 0)
    n_stop = np.where(n_time >= 2, 1 + (rng.random(m) * (n_time - 1)).astype(np.int64), n_time)
    n_max = np.where(profile == 2, n_stop, n_time)
    rate = np.maximum(_lognormal_pence(rng, np.maximum(RATE_MEDIAN[method], 1), RATE_SIGMA[method]), 500)
    rate = np.where(advance, np.maximum(owed // _randint(rng, 12, 24, m), 500), rate)
    changes = rng.random(m) < 0.2  # rate changes part-way: hardship reduction or increase
    factor = np.where(changes, np.where(rng.random(m) < 0.6, 0.5, 1.5), 1.0)
    change_at = np.where(changes, (rng.random(m) * np.maximum(n_max, 1)).astype(np.int64), np.iinfo(np.int64).max)
    least = np.maximum(np.floor(rate * np.minimum(factor, 1.0) * NOISE_LO[method]), 1)
    n_exp = np.minimum(n_max, np.ceil(owed / least).astype(np.int64))

    # recovery rows (expanded, then cut where missed or the debt is cleared)
    rdebt, ri = _expand(n_exp)
    r = len(rdebt)
    rmethod = method[rdebt]
    u = rng.random(r)
    noise = NOISE_LO[rmethod] + u * (NOISE_HI[rmethod] - NOISE_LO[rmethod])
    inst = rate[rdebt] * np.where(ri >= change_at[rdebt], factor[rdebt], 1.0) * noise
    inst = np.maximum(np.rint(inst).astype(np.int64), 1)
    sched = rs[rdebt] + np.rint(ri * MONTH).astype(np.int64)
    # card payments come at irregular gaps, squeezed to fit before the end if need be
    cgap = np.where((ri == 0) | (rmethod != CARD), 0, _randint(rng, CARD_GAP_LO, CARD_GAP_HI, r))
    ccum = _seg_cumsum(cgap, rdebt, m)
    clast = np.zeros(m, dtype=np.int64)
    nz = n_exp > 0
    clast[nz] = ccum[_starts(n_exp)[nz] + n_exp[nz] - 1]
    span = np.maximum(end - rs, 0)
    scale = np.where(clast > span, span / np.maximum(clast, 1), 1.0)
    sched = np.where(rmethod == CARD, rs[rdebt] + np.floor(ccum * scale[rdebt]).astype(np.int64), sched)
    jitter = (rng.random(r) * (JITTER_MAX[rmethod] + 1)).astype(np.int64)
    eff = np.minimum(sched + jitter, end[rdebt])
    keep = rng.random(r) >= MISS_P[rmethod]
    rdebt, inst, sched, eff, rmethod = rdebt[keep], inst[keep], sched[keep], eff[keep], rmethod[keep]
    paid = _seg_cumsum(inst, rdebt, m)
    before = paid - inst
    keep = before < owed[rdebt]
    rdebt, sched, eff, rmethod = rdebt[keep], sched[keep], eff[keep], rmethod[keep]
    rec_amount = -np.minimum(inst[keep], owed[rdebt] - before[keep])  # negative: reduces what is owed
    n_rec = np.bincount(rdebt, minlength=m)
    rec_start = _starts(n_rec)
    recovered = -np.bincount(rdebt, weights=rec_amount, minlength=m).astype(np.int64)
    last_rec = np.where(n_rec > 0, eff[np.maximum(rec_start + n_rec - 1, 0)] if len(eff) else 0, -1)

    # one reversal on some debts
    has_rev = (n_rec > 0) & (rng.random(m) < REV_P[method])
    rev_debt = np.flatnonzero(has_rev)
    rev_of = rec_start[rev_debt] + (rng.random(len(rev_debt)) * n_rec[rev_debt]).astype(np.int64)  # a REC row
    rev_method = method[rev_debt]
    delay = _randint(rng, REV_DELAY_LO[rev_method], REV_DELAY_HI[rev_method], len(rev_debt))
    rev_eff = np.minimum(eff[rev_of] + delay, end[rev_debt])
    rev_eff = np.maximum(rev_eff, eff[rev_of])
    reversed_back = np.zeros(m, dtype=np.int64)
    reversed_back[rev_debt] = -rec_amount[rev_of]
    balance = owed - recovered + reversed_back
    last_activity = np.maximum.reduce([d0, np.where(has_adj, adj_date, d0), last_rec])
    last_activity[rev_debt] = np.maximum(last_activity[rev_debt], rev_eff)

    # write-offs: some long-stalled balances, and most debts of the deceased
    dead = death[acct] >= 0
    wo_date = np.where(dead, np.maximum(death[acct], last_activity) + _randint(rng, 30, 200, m), last_activity + _randint(rng, 90, 1_100, m))
    wo_p = np.where(dead, 0.8, np.array([0.3, 0.02, 0.35])[profile])
    has_wo = (balance > 0) & (wo_date <= as_of) & (rng.random(m) < wo_p)

    # recovery status as the source system records it
    status = np.full(m, S_NEW, dtype=np.int8)
    status_date = d0.copy()
    status = np.where(n_rec > 0, np.select([method == DED, method == DEA], [S_DED, S_DEA], S_ARR), status)
    status_date = np.where(n_rec > 0, rs, status_date)
    court = (balance > 0) & (profile != 1) & (as_of - last_activity > 365) & (rng.random(m) < 0.2)
    court_date = np.minimum(last_activity + _randint(rng, 120, 400, m), as_of)
    status = np.where(court, S_CC, status)
    status_date = np.where(court, court_date, status_date)
    closed = has_wo | (balance == 0)
    status = np.where(closed, S_CLOSED, status)
    status_date = np.where(has_wo, wo_date, np.where(balance == 0, last_activity, status_date))

    # ---------------------------------------------------------------- ledger rows
    adj_debt = np.flatnonzero(has_adj)
    wo_debt = np.flatnonzero(has_wo)
    n_rows = m + len(adj_debt) + len(rdebt) + len(rev_debt) + len(wo_debt)
    t_debt = np.concatenate([np.arange(m), adj_debt, rdebt, rev_debt, wo_debt])
    t_kind = np.repeat(np.array([K_OP, K_ADJ, K_REC, K_REV, K_WO], dtype=np.int8), [m, len(adj_debt), len(rdebt), len(rev_debt), len(wo_debt)])
    t_amount = np.concatenate([amount, adj[adj_debt], rec_amount, -rec_amount[rev_of], -balance[wo_debt]])
    t_eff = np.concatenate([d0, adj_date[adj_debt], eff, rev_eff, wo_date[wo_debt]])
    t_due = np.concatenate([d0 + 28, adj_date[adj_debt], sched, sched[rev_of], wo_date[wo_debt]])
    t_method = np.concatenate([np.zeros(m + len(adj_debt)), rmethod, rmethod[rev_of], np.zeros(len(wo_debt))]).astype(np.int8)
    rec_row0 = m + len(adj_debt)
    t_rev = np.full(n_rows, -1, dtype=np.int64)
    t_rev[rec_row0 + len(rdebt) : rec_row0 + len(rdebt) + len(rev_debt)] = rec_row0 + rev_of
    u = rng.random(n_rows)  # posting lag: same day mostly, up to 5 days
    lag = np.where(t_method == DED, u >= 0.5, (u >= 0.55).astype(np.int64) + (u >= 0.8) + (u >= 0.9) + 2 * (u >= 0.96))
    t_post = np.minimum(t_eff + lag, as_of)
    torder = np.argsort((t_debt << 24) | ((t_eff - (as_of - (1 << 20))) << 3) | t_kind, kind="stable")
    tpos = np.empty(n_rows, dtype=np.int64)
    tpos[torder] = np.arange(n_rows)
    t_rev = t_rev[torder]
    t_rev = np.where(t_rev >= 0, tpos[np.maximum(t_rev, 0)], -1)
    t_debt, t_kind, t_amount, t_eff, t_due, t_method, t_post = (a[torder] for a in (t_debt, t_kind, t_amount, t_eff, t_due, t_method, t_post))

    # ---------------------------------------------------------------- to Arrow
    acct_ids = _seq_ids("DA", first_account + 1, n, 9)
    cust_ids = _seq_ids("C", customer_first, npeople, 10)
    debt_ids = _seq_ids("OP", counters.debts + 1, m, 10)
    txn_ids = _seq_ids("TX", counters.transactions + 1, n_rows, 12)
    counters.debts += m
    counters.transactions += n_rows

    person_columns = _person_columns(people, person_acct, person_role, person_root, cust_ids, acct_ids, customer_first, opened, layout)
    accounts = layout.batch("dwp.accounts", person_columns)
    debts = layout.batch(
        "dwp.debts",
        {
            "debt_ref": _strings(debt_ids),
            "account_ref": _strings(acct_ids, acct),
            "description": _take(_BENEFITS_PA, benefit),
            "period_start": _dates(op_from),
            "period_end": _dates(op_to),
            "recovery_stage": _codes(layout.statuses, status),
            "stage_date": _dates(status_date),
        },
    )
    txns = layout.batch(
        "dwp.transactions",
        {
            "transaction_ref": _strings(txn_ids),
            "debt_ref": _strings(debt_ids, t_debt),
            "kind": _codes(layout.kinds, t_kind),
            "amount": pa.array(t_amount.astype(np.int64)),
            "effective_date": _dates(t_eff),
            "posting_date": _dates(t_post),
            "due_date": _dates(t_due),
            "reverses_ref": _strings(txn_ids, t_rev, valid=t_rev >= 0),
            "method": _codes(layout.methods, t_method),
        },
    )
    resident = cust_ids[person_root].copy()
    resident[:, 0] = ord("R")
    truth = pa.RecordBatch.from_arrays(
        [_strings(resident), pa.repeat(pa.scalar(SYSTEM), npeople), _strings(cust_ids)], schema=TRUTH_SCHEMA
    )
    return accounts, debts, txns, truth


def _person_columns(people, person_acct, person_role, person_root, cust_ids, acct_ids, customer_first, opened, layout) -> dict:
    n = len(person_acct)
    fore, sur = people["fore"], people["sur"]
    nino_num = customer_first + person_root  # the real person's first customer number
    v = (nino_num * _NINO_MULT + _NINO_ADD) % _NINO_SPACE
    nino = np.empty((n, 9), dtype=np.uint8)
    nino[:, :2] = _NINO_PREFIX_BYTES[v // 4_000_000]
    nino[:, 2:8] = _digits((v // 4) % 1_000_000, 6)
    nino[:, 8] = np.frombuffer(b"ABCD", dtype=np.uint8)[v % 4]

    phone = np.empty((n, 11), dtype=np.uint8)
    phone[:, 0] = ord("0")
    phone[:, 1] = np.where(people["phone_kind"] == 2, ord("1"), ord("7"))
    phone[:, 2:] = _digits(people["phone"], 9)
    mobile_range = np.frombuffer(b"12345789", dtype=np.uint8)  # 07 then 1-5 or 7-9 (070 and 076 are not mobiles)
    phone[:, 2] = np.where(people["phone_kind"] == 2, phone[:, 2], mobile_range[people["phone"] % 8])

    street = _take(_STREETS_PA, people["street"])
    stype = _take(_STREET_TYPES_PA, people["stype"])
    base = pc.binary_join_element_wise(_num_str(people["house"]), street, stype, " ")
    has_flat = people["flat"] > 0
    flat = pc.binary_join_element_wise("Flat", _num_str(people["flat"]), " ")
    line1 = pc.if_else(has_flat, pc.binary_join_element_wise(flat, base, ", "), base)
    town = _take(_TOWN_NAMES, people["town"])
    has_loc = people["locality"] >= 0
    locality = _take(_LOCALITIES_PA, np.maximum(people["locality"], 0))
    line2 = pc.if_else(has_loc, locality, town)
    line3 = pc.if_else(has_loc, town, pa.scalar(None, pa.string()))
    outward = pc.binary_join_element_wise(_take(_TOWN_AREAS, people["town"]), _num_str(people["district"]), "")
    postcode = pc.binary_join_element_wise(outward, _take(_INWARD, people["inward"]), " ")

    has_email = people["email_num"] >= 0
    email_num = pc.if_else(people["email_num"] > 0, _num_str(people["email_num"]), "")
    fore_part = _take(_FORENAME_EMAIL, people["email_fore"])
    sur_part = _take(_SURNAME_EMAIL, people["email_sur"])
    email = pc.binary_join_element_wise(fore_part, ".", sur_part, email_num, "@", _take(_EMAIL_DOMAINS_PA, people["domain"]), "")
    email = pc.if_else(has_email, email, pa.scalar(None, pa.string()))
    death = people["death"]
    return {
        "account_ref": _strings(acct_ids, person_acct),
        "party_ref": _strings(cust_ids),
        "role": _codes(layout.roles, person_role),
        "title": _take(_TITLES_PA, people["title"]),
        "forename": _take(_FORENAMES_PA, fore),
        "surname": _take(_SURNAMES_PA, sur),
        "date_of_birth": _dates(people["dob"]),
        "nino": _strings(nino, valid=people["nino_ok"]),
        "address_line_1": line1,
        "address_line_2": line2,
        "address_line_3": line3,
        "postcode": postcode,
        "phone": _strings(phone, valid=people["phone_kind"] > 0),
        "email": email,
        "liable_from": _dates(opened[person_acct]),
        "deceased_on": _dates(np.maximum(death, 0), valid=death >= 0),
    }


# ------------------------------------------------------------------------------------------------ driver
# Canonical fields whose columns Parquet dictionary encoding helps (codes, common names, dates);
# unique references are left plain.
_DICTIONARY_FIELDS = frozenset(
    "role title forename surname address_line_2 address_line_3 date_of_birth liable_from deceased_on description "
    "period_start period_end recovery_stage stage_date kind method effective_date posting_date due_date".split()
)


class _Writer(threading.Thread):
    """Writes chunks handed to it, in order, while the caller makes the next one."""

    def __init__(self, out: Path, layout: _Layout):
        super().__init__(name="dwp-writer", daemon=True)
        self.queue: queue.Queue = queue.Queue()
        self.slots = threading.Semaphore(2)  # chunks alive at once: one being written, one being made
        self.error: BaseException | None = None
        self.writers = {}
        for src in (layout.accounts, layout.debts, layout.transactions):
            dictionary = [col for canon, col in src.columns.items() if canon in _DICTIONARY_FIELDS]
            self.writers[src.name] = pq.ParquetWriter(out / FILES[src.name], layout.schemas[src.name], compression="zstd", use_dictionary=dictionary)
        self.truth = pacsv.CSVWriter(out / "truth.csv", TRUTH_SCHEMA, write_options=pacsv.WriteOptions(quoting_style="none"))

    def run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                break
            try:
                if self.error is None:
                    for source, table in zip(SOURCES, item[:3]):
                        self.writers[source].write_table(table)
                    self.truth.write_table(item[3])
            except BaseException as exc:  # handed to the caller
                self.error = exc
            finally:
                del item
                self.slots.release()

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        self.truth.close()


def generate_dwp(
    out: Path,
    debtors: int = 15_000_000,
    seed: int = 1,
    as_of: date = date(2026, 10, 31),
    chunk_size: int = 500_000,
    progress=None,
) -> dict:
    """Write a synthetic DWP extract of ``debtors`` debtor accounts to the folder ``out``.

    Files: dwp_accounts.parquet, dwp_debts.parquet, dwp_transactions.parquet (the dwp.* source
    layouts), manifest.json and truth.csv (resident_id,system,party_ref). Identical output for the
    same seed, debtors and as_of, whatever chunk_size (rounded up to whole blocks of 5,000).
    ``progress(done, total)`` is called with debtor counts after each chunk is made.
    Returns the row counts and the seconds taken.
    """
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if debtors < 1:
        raise ValueError("debtors must be at least 1")
    layout = _Layout()
    as_of_days = (as_of - EPOCH).days
    blocks_per_chunk = max(1, -(-int(chunk_size) // BLOCK))
    n_blocks = -(-debtors // BLOCK)
    counters = _Counters()
    rows = dict.fromkeys(SOURCES, 0)
    writer = _Writer(out, layout)
    writer.start()
    try:
        for chunk_first in range(0, n_blocks, blocks_per_chunk):
            writer.slots.acquire()
            if writer.error is not None:
                break
            batches: tuple[list, list, list, list] = ([], [], [], [])
            for b in range(chunk_first, min(chunk_first + blocks_per_chunk, n_blocks)):
                first = b * BLOCK
                made = _block(seed, b, first, min(BLOCK, debtors - first), as_of_days, counters, layout)
                for acc, batch in zip(batches, made):
                    acc.append(batch)
            tables = [pa.Table.from_batches(bs) for bs in batches]
            for source, table in zip(SOURCES, tables):
                rows[source] += table.num_rows
            writer.queue.put(tables)
            del tables, batches, made
            if progress is not None:
                progress(min(debtors, (chunk_first + blocks_per_chunk) * BLOCK), debtors)
    finally:
        writer.queue.put(None)
        writer.join()
        writer.close()
    if writer.error is not None:
        raise writer.error

    manifest = {
        "files": [{"source": s, "path": FILES[s]} for s in SOURCES],
        "debtors": debtors,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "rows": {s: rows[s] for s in SOURCES},
        "duplicates": counters.duplicates,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return {
        "debtors": debtors,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "accounts": rows["dwp.accounts"],
        "customers": counters.customers,
        "duplicates": counters.duplicates,
        "debts": rows["dwp.debts"],
        "transactions": rows["dwp.transactions"],
        "seconds": round(time.perf_counter() - started, 3),
        "out": str(out),
    }
