"""The synthetic council: layouts, determinism, ledger conventions, ground truth and bad rows.

No Django: run with `pytest -p no:django tests/unit/test_synth.py`.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from fairdebt.ingest import config
from fairdebt.synth.council import generate

AS_OF = date(2025, 6, 30)
RESIDENTS = 150
SEED = 7
BAD_RATE = 0.05

NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
NINO_BAD_PREFIXES = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}
POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[ABD-HJLNP-UW-Z]{2}$")
POUNDS = re.compile(r"^-?\d+\.\d{2}$")
DEBIT = {"charge", "cost", "interest"}
CREDIT = {"payment", "write_off"}


# ---------------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    generate(RESIDENTS, SEED, out, AS_OF)
    return out


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dirty")
    generate(RESIDENTS, SEED, out, AS_OF, bad_row_rate=BAD_RATE)
    return out


def manifest(d: Path) -> dict:
    return json.loads((d / "manifest.json").read_text(encoding="utf-8"))


def raw_rows(path: Path) -> list[tuple[int, dict]]:
    """(physical line, record) as bad_rows.csv counts lines: CSV header is line 1, JSONL starts at 1."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            return [(i + 2, row) for i, row in enumerate(reader)]
    with path.open(encoding="utf-8") as fh:
        return [(i + 1, json.loads(line)) for i, line in enumerate(fh)]


def canonical_rows(d: Path, source_name: str, skip: set[int] = frozenset()) -> list[tuple[int, dict]]:
    """Rows of one source with canonical field names and decoded codes (values left as text)."""
    src = config.get(source_name)
    entry = next(f for f in manifest(d)["files"] if f["source"] == source_name)
    inverse = {col: name for name, col in src.columns.items()}
    out = []
    for line, row in raw_rows(d / entry["path"]):
        if line in skip:
            continue
        rec = {}
        for col, value in row.items():
            name = inverse[col]
            codes = src.codes.get(name)
            if codes is not None and isinstance(value, str) and value in codes:
                value = codes[value]
            rec[name] = value
        out.append((line, rec))
    return out


def pence(value, src) -> int:
    if src.amount_unit == "pence":
        assert isinstance(value, int) and not isinstance(value, bool), value
        return value
    assert isinstance(value, str) and POUNDS.match(value), value
    sign = -1 if value.startswith("-") else 1
    whole, frac = value.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def parse_date(value: str, src) -> date:
    return datetime.strptime(value, src.date_format).date()


def bad_lines(d: Path) -> dict[str, dict[int, tuple[str, str]]]:
    out: dict[str, dict[int, tuple[str, str]]] = defaultdict(dict)
    with (d / "bad_rows.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["source"]][int(row["line"])] = (row["field"], row["problem"])
    return out


def sources_by_system(d: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for f in manifest(d)["files"]:
        src = config.get(f["source"])
        out[src.system][src.feed] = f["source"]
    return out


# ---------------------------------------------------------------------------------------------- layout


def test_deterministic_and_seed_sensitive(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(RESIDENTS, SEED, a, AS_OF, bad_row_rate=BAD_RATE)
    generate(RESIDENTS, SEED, b, AS_OF, bad_row_rate=BAD_RATE)
    generate(RESIDENTS, SEED + 1, c, AS_OF, bad_row_rate=BAD_RATE)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    differing = [n for n in names if n != "manifest.json" and (a / n).read_bytes() != (c / n).read_bytes()]
    assert len(differing) >= 10


def test_manifest_lists_every_non_dwp_source_in_load_order(clean: Path) -> None:
    m = manifest(clean)
    assert m["residents"] == RESIDENTS and m["seed"] == SEED and m["as_of"] == AS_OF.isoformat()
    expected = {name for name, s in config.sources().items() if s.system != "dwp"}
    listed = [f["source"] for f in m["files"]]
    assert set(listed) == expected and len(listed) == len(expected)
    order = {"accounts": 0, "debts": 1, "transactions": 2}
    position = {name: i for i, name in enumerate(listed)}
    for system, feeds in sources_by_system(clean).items():
        ranks = sorted(feeds, key=lambda feed: position[feeds[feed]])
        assert ranks == sorted(feeds, key=order.__getitem__), system
    for f in m["files"]:
        src = config.get(f["source"])
        assert f["path"] == f"{src.system}_{src.feed}.{src.format}"
        assert (clean / f["path"]).exists()
    assert {p.name for p in clean.iterdir()} == {f["path"] for f in m["files"]} | {
        "manifest.json", "truth.csv", "bad_rows.csv"}


def test_every_file_has_exactly_the_mapped_columns(clean: Path) -> None:
    for f in manifest(clean)["files"]:
        src = config.get(f["source"])
        expected = list(src.columns.values())
        path = clean / f["path"]
        if src.format == "csv":
            with path.open(newline="", encoding="utf-8") as fh:
                assert next(csv.reader(fh)) == expected, f["source"]
            raw = path.read_bytes()
            assert b"\r\n" not in raw
        rows = raw_rows(path)
        assert rows, f"{f['source']} is empty"
        for _, row in rows:
            assert list(row) == expected, f["source"]
            assert all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in row.values()), row


# ---------------------------------------------------------------------------------------------- ledger


def test_amounts_parse_exactly_and_follow_the_sign_convention(clean: Path) -> None:
    seen = Counter()
    for system, feeds in sources_by_system(clean).items():
        src = config.get(feeds["transactions"])
        for _, row in canonical_rows(clean, feeds["transactions"]):
            amount = pence(row["amount"], src)
            kind = row["kind"]
            seen[kind] += 1
            if kind in DEBIT:
                assert amount > 0, (system, row)
            elif kind in CREDIT:
                assert amount < 0, (system, row)
            else:
                assert amount != 0, (system, row)
            if kind != "payment":
                assert row["method"] == "", (system, row)
            else:
                assert row["method"], (system, row)
    for kind in ("charge", "payment", "reversal", "adjustment", "cost", "write_off"):
        assert seen[kind] > 0, kind


def test_reversals_negate_the_entry_they_reverse(clean: Path) -> None:
    total = 0
    for system, feeds in sources_by_system(clean).items():
        src = config.get(feeds["transactions"])
        rows = [r for _, r in canonical_rows(clean, feeds["transactions"])]
        by_ref = {r["transaction_ref"]: r for r in rows}
        reversed_refs = Counter()
        for r in rows:
            if r["kind"] != "reversal":
                assert r["reverses_ref"] == ""
                continue
            total += 1
            original = by_ref[r["reverses_ref"]]
            assert original["kind"] != "reversal"
            assert original["debt_ref"] == r["debt_ref"]
            assert pence(r["amount"], src) == -pence(original["amount"], src)
            assert r["due_date"] == original["due_date"]
            assert parse_date(r["effective_date"], src) >= parse_date(original["effective_date"], src)
            reversed_refs[r["reverses_ref"]] += 1
        assert all(n == 1 for n in reversed_refs.values()), system
    assert total > 0


def test_references_dates_and_stages_are_consistent(clean: Path) -> None:
    for system, feeds in sources_by_system(clean).items():
        acc_src, debt_src, txn_src = (config.get(feeds[f]) for f in ("accounts", "debts", "transactions"))
        accounts = [r for _, r in canonical_rows(clean, feeds["accounts"])]
        keys = [(r["account_ref"], r["party_ref"]) for r in accounts]
        assert len(keys) == len(set(keys)), system
        account_refs = {r["account_ref"] for r in accounts}
        for r in accounts:
            assert r["surname"] and r["account_ref"] and r["party_ref"]
            if r.get("liable_from") and r.get("liable_to"):
                assert parse_date(r["liable_from"], acc_src) <= parse_date(r["liable_to"], acc_src), r
            if r.get("nino"):
                assert NINO.match(r["nino"]) and r["nino"][:2] not in NINO_BAD_PREFIXES, r["nino"]
            if r.get("postcode"):
                assert POSTCODE.match(r["postcode"]), r["postcode"]
        debts = [r for _, r in canonical_rows(clean, feeds["debts"])]
        debt_refs = [r["debt_ref"] for r in debts]
        assert len(debt_refs) == len(set(debt_refs)), system
        assert {r["account_ref"] for r in debts} <= account_refs, system
        txns = [r for _, r in canonical_rows(clean, feeds["transactions"])]
        refs = [r["transaction_ref"] for r in txns]
        assert len(refs) == len(set(refs)), system
        assert {r["debt_ref"] for r in txns} <= set(debt_refs), system
        balance: dict[str, int] = defaultdict(int)
        for r in txns:
            balance[r["debt_ref"]] += pence(r["amount"], txn_src)
            assert parse_date(r["effective_date"], txn_src) <= AS_OF
            assert parse_date(r["posting_date"], txn_src) <= AS_OF
            parse_date(r["due_date"], txn_src)
        for r in debts:
            assert r["recovery_stage"] in ("none",) + tuple(debt_src.codes["recovery_stage"].values())
            if r["recovery_stage"] == "none":
                assert r["stage_date"] == "", r
            else:
                assert parse_date(r["stage_date"], debt_src) <= AS_OF
                assert balance[r["debt_ref"]] > 0, (system, r)


def test_realistic_shape(clean: Path) -> None:
    """Council tax for most households, ten monthly instalments, weekly rent on Mondays, PCN bands."""
    feeds = sources_by_system(clean)
    ct = config.get(feeds["council_tax"]["transactions"])
    dues = Counter()
    for _, r in canonical_rows(clean, feeds["council_tax"]["transactions"]):
        if r["kind"] == "charge":
            dues[parse_date(r["due_date"], ct).day] += 1
    assert dues[1] / sum(dues.values()) > 0.8
    hs = config.get(feeds["housing"]["transactions"])
    mondays = [parse_date(r["due_date"], hs).weekday() == 0
               for _, r in canonical_rows(clean, feeds["housing"]["transactions"]) if r["kind"] == "charge"]
    assert mondays and all(mondays)
    pcn = [r["amount"] for _, r in canonical_rows(clean, feeds["parking"]["transactions"]) if r["kind"] == "charge"]
    assert pcn and set(pcn) <= {8000, 13000}
    methods = Counter(r["method"] for _, r in canonical_rows(clean, feeds["housing"]["transactions"])
                      if r["kind"] == "payment")
    assert methods["direct_debit"] and methods["housing_benefit"] + methods["universal_credit"]
    stages = Counter(r["recovery_stage"] for _, r in canonical_rows(clean, feeds["council_tax"]["debts"]))
    assert stages["none"] > len(stages) and sum(v for k, v in stages.items() if k != "none") > 0


# ---------------------------------------------------------------------------------------------- people


def people(d: Path) -> dict[str, list[tuple[str, dict]]]:
    truth = {}
    with (d / "truth.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["resident_id", "system", "party_ref"]
        for rid, system, party_ref in reader:
            assert (system, party_ref) not in truth
            truth[(system, party_ref)] = rid
    out: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for system, feeds in sources_by_system(d).items():
        for _, r in canonical_rows(d, feeds["accounts"]):
            out[truth[(system, r["party_ref"])]].append((system, r))
    return out


def fold(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").lower()


def test_truth_covers_every_party_in_every_accounts_file(clean: Path, dirty: Path) -> None:
    for d in (clean, dirty):
        by_resident = people(d)  # raises KeyError if a party_ref is missing from truth
        residents = [rid for rid in by_resident if rid.startswith("R")]
        assert all(1 <= int(rid[1:]) <= RESIDENTS for rid in residents)
        assert len(residents) > RESIDENTS * 0.6


def test_the_same_person_differs_across_systems(clean: Path) -> None:
    by_resident = people(clean)
    in_three = [rid for rid, recs in by_resident.items() if len({s for s, _ in recs}) >= 3]
    assert in_three

    def varies(recs: list[tuple[str, dict]]) -> bool:
        names = {(fold(r.get("forename", "")), fold(r["surname"])) for _, r in recs}
        places = {(fold(r.get("address_line_1", "")), r.get("postcode")) for _, r in recs}
        return len(names) > 1 or len(places) > 1

    assert any(varies(by_resident[rid]) for rid in in_three)
    # different id schemes per system
    refs = {s: r["party_ref"] for recs in by_resident.values() for s, r in recs}
    assert refs["council_tax"].startswith("C") and refs["housing"].startswith("P-")
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-", refs["parking"])
    surnames = sum(1 for recs in by_resident.values() if len({fold(r["surname"]) for _, r in recs}) > 1)
    assert surnames >= 2


def test_joint_accounts(clean: Path) -> None:
    for system in ("council_tax", "housing"):
        feeds = sources_by_system(clean)[system]
        roles: dict[str, list[str]] = defaultdict(list)
        for _, r in canonical_rows(clean, feeds["accounts"]):
            roles[r["account_ref"]].append(r["role"])
        joint = [refs for refs in roles.values() if sorted(refs)[:2] == ["joint", "lead"]]
        assert joint, system
        assert all(refs.count("lead") == 1 for refs in roles.values()), system


# ---------------------------------------------------------------------------------------------- bad rows


def test_no_bad_rows_by_default(clean: Path) -> None:
    assert (clean / "bad_rows.csv").read_text(encoding="utf-8") == "source,line,field,problem\n"


def find_problems(d: Path) -> dict[str, dict[int, str]]:
    """An independent check of each row, the way an ingester would see it."""
    found: dict[str, dict[int, str]] = defaultdict(dict)
    for system, feeds in sources_by_system(d).items():
        debt_refs = {r["debt_ref"] for _, r in canonical_rows(d, feeds["debts"])}
        for feed in ("accounts", "transactions"):
            name = feeds[feed]
            src = config.get(name)
            date_fields = [f for f in ("date_of_birth", "liable_from", "liable_to", "deceased_on", "effective_date",
                                       "posting_date", "due_date") if f in src.columns]
            seen_refs: set[str] = set()
            for line, r in canonical_rows(d, name):
                problems = []
                for f in date_fields:
                    if r[f]:
                        try:
                            parse_date(r[f], src)
                        except ValueError:
                            problems.append(f)
                if feed == "accounts":
                    if not r["surname"] or not r["account_ref"]:
                        problems.append("missing")
                    if r.get("nino") and not NINO.match(r["nino"]):
                        problems.append("nino")
                    if r.get("postcode") and not POSTCODE.match(r["postcode"]):
                        problems.append("postcode")
                else:
                    try:
                        amount = pence(r["amount"], src)
                        if r["kind"] in CREDIT and amount > 0:
                            problems.append("sign")
                    except (AssertionError, ValueError):
                        problems.append("amount")
                    if r["debt_ref"] not in debt_refs:
                        problems.append("debt_ref")
                    if r["transaction_ref"] in seen_refs:
                        problems.append("duplicate")
                    seen_refs.add(r["transaction_ref"])
                if problems:
                    found[name][line] = ",".join(problems)
    return found


def test_bad_rows_lists_exactly_the_rows_made_bad(dirty: Path) -> None:
    listed = bad_lines(dirty)
    found = find_problems(dirty)
    for name in set(listed) | set(found):
        assert set(listed.get(name, {})) == set(found.get(name, {})), name
    problems = Counter(p for rows in listed.values() for _, p in rows.values())
    assert set(problems) <= {"unparseable_date", "impossible_date", "malformed_amount", "payment_positive",
                             "bad_nino", "bad_postcode", "unknown_debt_ref", "duplicate_transaction_ref",
                             "missing_required"}
    assert len(problems) >= 6, problems
    # roughly the rate asked for, on account and transaction rows only
    for name, rows in listed.items():
        assert config.get(name).feed in ("accounts", "transactions")
    total_txn = sum(len(raw_rows(dirty / f["path"])) for f in manifest(dirty)["files"]
                    if config.get(f["source"]).feed == "transactions")
    n_txn = sum(len(v) for k, v in listed.items() if config.get(k).feed == "transactions")
    assert 0.5 * BAD_RATE < n_txn / total_txn < 2 * BAD_RATE


def test_good_rows_do_not_depend_on_the_bad_row_rate(clean: Path, dirty: Path) -> None:
    listed = bad_lines(dirty)
    for f in manifest(clean)["files"]:
        good = [r for _, r in raw_rows(clean / f["path"])]
        kept = [r for line, r in raw_rows(dirty / f["path"]) if line not in listed.get(f["source"], {})]
        assert good == kept, f["source"]


def test_a_mailbox_has_one_owner(clean: Path) -> None:
    """Namesakes never share an email address (john.smith@ is taken, so john.smith47@), as in life;
    one resident may still give two (a current and an old one)."""
    owners: dict[str, set[str]] = defaultdict(set)
    for rid, recs in people(clean).items():
        if not rid.startswith("R"):
            continue  # organisations' shared accounts@ mailboxes are not residents'
        for _, r in recs:
            if r.get("email"):
                owners[r["email"].strip().lower()].add(rid)
    assert len(owners) > RESIDENTS * 0.2
    shared = {email: rids for email, rids in owners.items() if len(rids) > 1}
    assert shared == {}


def test_moves_leave_previous_and_forwarding_addresses(clean: Path) -> None:
    """A council tax account opened after a move within the borough often records the previous
    address, and a closed one the forwarding address, in their own columns; the account's own
    address stays its property's."""
    rows = [r for _, r in canonical_rows(clean, "council_tax.accounts")]
    previous = [r for r in rows if r.get("previous_postcode")]
    forwarding = [r for r in rows if r.get("forwarding_postcode")]
    assert previous and forwarding
    for r in previous + forwarding:
        assert POSTCODE.match(r.get("previous_postcode") or r["forwarding_postcode"])
    assert all(r.get("liable_to") for r in forwarding)  # only a closed account has one
    assert all((r["previous_postcode"], r["previous_address_line_1"]) != (r["postcode"], r["address_line_1"]) for r in previous)


def test_a_sole_traders_rates_bills_often_go_home(clean: Path) -> None:
    """A business-rates account at the premises often records a billing address (the trader's
    home, which council tax holds too); an organisation's account never does here."""
    rows = [r for _, r in canonical_rows(clean, "business_rates.accounts")]
    billed = [r for r in rows if r.get("billing_postcode")]
    assert billed and all(r.get("forename") for r in billed)
    assert all(POSTCODE.match(r["billing_postcode"]) for r in billed)
    assert all((r["billing_postcode"], r["billing_address_line_1"]) != (r["postcode"], r["address_line_1"]) for r in billed)
    homes = {r["postcode"] for _, r in canonical_rows(clean, "council_tax.accounts")}
    assert sum(r["billing_postcode"] in homes for r in billed) > len(billed) / 2


def test_namesakes_get_mailboxes_of_their_own() -> None:
    from types import SimpleNamespace

    from fairdebt.synth.council import _Council

    council = object.__new__(_Council)  # only the mailbox register is needed
    council.seed, council.mailboxes = 1, {}
    people_ = [SimpleNamespace(rid=f"R{i}", email="shlomo.gross@gmail.com", old_email=None) for i in range(5)]
    people_[0].old_email = "s.gross@hotmail.com"
    people_[1].old_email = "s.gross@hotmail.com"
    council.own_mailboxes(SimpleNamespace(adults=people_))
    emails = [p.email for p in people_]
    assert emails[0] == "shlomo.gross@gmail.com" and len(set(emails)) == 5
    assert all(re.fullmatch(r"shlomo\.gross\d{1,4}@gmail\.com", e) for e in emails[1:])
    assert people_[0].old_email == "s.gross@hotmail.com" and people_[1].old_email != "s.gross@hotmail.com"
    again = object.__new__(_Council)
    again.seed, again.mailboxes = 1, {}
    copies = [SimpleNamespace(rid=f"R{i}", email="shlomo.gross@gmail.com", old_email=None) for i in range(5)]
    again.own_mailboxes(SimpleNamespace(adults=copies))
    assert [p.email for p in copies] == emails  # deterministic
