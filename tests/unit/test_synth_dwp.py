"""The synthetic DWP extract: layout, ledger rules, people and determinism, on 30,000 debtors."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fairdebt.ingest import config
from fairdebt.ingest.feeds import FEEDS
from fairdebt.synth.dwp import generate_dwp

DEBTORS = 30_000
AS_OF = date(2026, 10, 31)
FILES = {"dwp.accounts": "dwp_accounts.parquet", "dwp.debts": "dwp_debts.parquet", "dwp.transactions": "dwp_transactions.parquet"}

NINO = re.compile(r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$")
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$")
PHONE = re.compile(r"^0(7[1-57-9]|1[0-9])[0-9]{8}$")
EMAIL = re.compile(r"^[a-z]+\.[a-z]+[0-9]{0,2}@[a-z.]+$")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dwp")
    calls = []
    result = generate_dwp(
        out, debtors=DEBTORS, seed=7, as_of=AS_OF, chunk_size=10_000, progress=lambda done, total: calls.append((done, total))
    )
    return out, result, calls


@pytest.fixture(scope="module")
def tables(run):
    out = run[0]
    return {source: pl.read_parquet(out / name) for source, name in FILES.items()}


def _tables(out: Path) -> dict[str, pa.Table]:
    return {source: pq.read_table(out / name) for source, name in FILES.items()}


def test_files_and_manifest(run):
    out, result, calls = run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"] == [{"source": s, "path": p} for s, p in FILES.items()]
    assert (manifest["debtors"], manifest["seed"], manifest["as_of"]) == (DEBTORS, 7, "2026-10-31")
    for source, name in FILES.items():
        assert pq.ParquetFile(out / name).metadata.num_rows == manifest["rows"][source]
    assert result["debts"] == manifest["rows"]["dwp.debts"]
    assert result["transactions"] == manifest["rows"]["dwp.transactions"]
    assert calls and calls[-1] == (DEBTORS, DEBTORS)


def test_same_seed_same_output_and_chunking_changes_nothing(run, tmp_path):
    out, result, _ = run
    again = generate_dwp(tmp_path / "again", debtors=DEBTORS, seed=7, as_of=AS_OF, chunk_size=10_000)
    one_chunk = generate_dwp(tmp_path / "one", debtors=DEBTORS, seed=7, as_of=AS_OF, chunk_size=DEBTORS)
    first = _tables(out)
    for other_run, other in ((again, tmp_path / "again"), (one_chunk, tmp_path / "one")):
        for key in ("accounts", "debts", "transactions", "customers", "duplicates"):
            assert other_run[key] == result[key]
        tables = _tables(other)
        for source in FILES:
            assert tables[source].equals(first[source]), source
        assert (other / "truth.csv").read_bytes() == (out / "truth.csv").read_bytes()
    # row groups follow the chunks
    assert pq.ParquetFile(out / FILES["dwp.debts"]).metadata.num_row_groups == 3
    assert pq.ParquetFile(tmp_path / "one" / FILES["dwp.debts"]).metadata.num_row_groups == 1


def test_a_part_block_and_any_chunk_size(tmp_path):
    small = generate_dwp(tmp_path / "a", debtors=7_321, seed=3, as_of=AS_OF, chunk_size=1)  # rounded up to one block
    large = generate_dwp(tmp_path / "b", debtors=7_321, seed=3, as_of=AS_OF, chunk_size=1_000_000)
    assert [small[k] for k in ("accounts", "debts", "transactions")] == [large[k] for k in ("accounts", "debts", "transactions")]
    a, b = _tables(tmp_path / "a"), _tables(tmp_path / "b")
    assert all(a[s].equals(b[s]) for s in FILES)
    assert pc_count_debtors(a["dwp.accounts"]) == 7_321


def pc_count_debtors(accounts: pa.Table) -> int:
    return pl.from_arrow(accounts).filter(pl.col("role") == "debtor").height


def test_another_seed_differs(run, tmp_path):
    other = generate_dwp(tmp_path / "s8", debtors=5_000, seed=8, as_of=AS_OF)
    mine = pq.read_table(run[0] / FILES["dwp.debts"]).slice(0, 50).column("benefit")
    assert not pq.read_table(tmp_path / "s8" / FILES["dwp.debts"]).slice(0, 50).column("benefit").equals(mine)
    assert other["debtors"] == 5_000


def test_schemas_follow_the_source_layouts(run):
    out = run[0]
    for source, name in FILES.items():
        src = config.get(source)
        schema = pq.read_schema(out / name)
        assert schema.names == list(src.columns.values())
        kinds = {f.name: f.type for f in FEEDS[src.feed]}
        for canonical, column in src.columns.items():
            kind = kinds[canonical]
            expected = {"date": pa.date32(), "money": pa.int64()}.get(kind, pa.string())
            assert schema.field(column).type == expected, (source, column)


def test_codes_are_the_sources_codes(tables):
    accounts = config.get("dwp.accounts")
    debts = config.get("dwp.debts")
    txns = config.get("dwp.transactions")
    assert set(tables["dwp.accounts"]["role"].unique()) == {"debtor", "partner"} <= set(accounts.codes["role"])
    assert set(tables["dwp.transactions"]["txn_type"].unique()) == {"OP", "REC", "REV", "ADJ", "WO"} <= set(txns.codes["kind"])
    assert set(tables["dwp.transactions"]["method"].unique()) == {"", "DED", "DEA", "DD", "CARD"} <= set(txns.codes["method"])
    statuses = set(tables["dwp.debts"]["recovery_status"].unique())
    assert statuses <= set(debts.codes["recovery_stage"])
    assert {"NEW", "DED", "DEA", "ARR", "CC", ""} <= statuses


def test_sizes(run, tables):
    result = run[1]
    accounts, debts, txns = tables["dwp.accounts"], tables["dwp.debts"], tables["dwp.transactions"]
    assert accounts.filter(pl.col("role") == "debtor").height == DEBTORS
    assert accounts["debtor_account_id"].n_unique() == DEBTORS
    assert 2.85 <= debts.height / DEBTORS <= 3.15
    per_account = debts.group_by("debtor_account_id").len()["len"]
    assert per_account.min() == 1 and per_account.max() == 8
    assert 7 <= txns.height / debts.height <= 11
    assert 0.07 <= (accounts.height - DEBTORS) / DEBTORS <= 0.13  # partners
    assert result["accounts"] == accounts.height == result["customers"]


def test_keys_and_references(tables):
    accounts, debts, txns = tables["dwp.accounts"], tables["dwp.debts"], tables["dwp.transactions"]
    assert accounts["customer_id"].n_unique() == accounts.height
    assert debts["debt_id"].n_unique() == debts.height
    assert txns["txn_id"].n_unique() == txns.height
    assert debts.join(accounts, on="debtor_account_id", how="anti").height == 0
    assert accounts.join(debts, on="debtor_account_id", how="anti").height == 0
    assert txns.join(debts, on="debt_id", how="anti").height == 0
    assert debts.join(txns.filter(pl.col("txn_type") == "OP"), on="debt_id", how="anti").height == 0
    assert txns.filter(pl.col("txn_type") == "OP")["debt_id"].n_unique() == txns.filter(pl.col("txn_type") == "OP").height


def test_sign_convention(tables):
    txns = tables["dwp.transactions"]
    by_type = txns.group_by("txn_type").agg(pl.col("amount_pence").min().alias("lo"), pl.col("amount_pence").max().alias("hi"))
    bounds = {row["txn_type"]: (row["lo"], row["hi"]) for row in by_type.iter_rows(named=True)}
    assert bounds["OP"][0] >= 5_000 and bounds["OP"][1] <= 1_500_000  # £50 to £15,000
    assert bounds["REC"][1] < 0
    assert bounds["WO"][1] < 0
    assert bounds["REV"][0] > 0  # reversals here reverse recoveries
    assert txns.filter((pl.col("txn_type") == "ADJ") & (pl.col("amount_pence") == 0)).height == 0
    balances = txns.group_by("debt_id").agg(pl.col("amount_pence").sum())
    assert balances["amount_pence"].min() >= 0  # nothing is over-recovered


def test_reversals_negate_their_originals(tables):
    txns = tables["dwp.transactions"]
    revs = txns.filter(pl.col("txn_type") == "REV")
    assert revs.height > 0
    assert txns.filter((pl.col("txn_type") != "REV") & pl.col("reverses_txn_id").is_not_null()).height == 0
    joined = revs.join(txns, left_on="reverses_txn_id", right_on="txn_id", suffix="_orig")
    assert joined.height == revs.height
    assert (joined["amount_pence"] == -joined["amount_pence_orig"]).all()
    assert (joined["due_date"] == joined["due_date_orig"]).all()
    assert (joined["debt_id"] == joined["debt_id_orig"]).all()
    assert (joined["txn_type_orig"] == "REC").all()
    assert (joined["effective_date"] >= joined["effective_date_orig"]).all()
    assert revs["reverses_txn_id"].n_unique() == revs.height


def test_dates(tables):
    debts, txns = tables["dwp.debts"], tables["dwp.transactions"]
    assert txns["effective_date"].max() <= AS_OF
    assert txns["posting_date"].max() <= AS_OF
    assert (txns["posting_date"] >= txns["effective_date"]).all()
    first = txns.group_by("debt_id").agg(pl.col("effective_date").min().alias("first"), pl.col("txn_type").first().alias("type"))
    assert (first["type"] == "OP").all()  # the overpayment comes first, and txn ids run in date order
    op = txns.filter(pl.col("txn_type") == "OP").join(debts, on="debt_id")
    assert (op["overpaid_from"] <= op["overpaid_to"]).all()
    assert (op["overpaid_to"] <= op["effective_date"]).all()
    assert (op["effective_date"] <= op["status_date"]).all()
    accounts = tables["dwp.accounts"]
    opened = op.group_by("debtor_account_id").agg(pl.col("effective_date").min().alias("first_op"))
    check = accounts.join(opened, on="debtor_account_id")
    assert (check["account_opened"] == check["first_op"]).all()


def test_recovery_patterns_are_varied(tables):
    """Per-debt features (days since last payment, regularity, trend) have something to find."""
    txns = tables["dwp.transactions"].filter(pl.col("txn_type") == "REC")
    per = txns.group_by("debt_id", "method").agg(
        pl.len().alias("n"),
        pl.col("effective_date").max().alias("last"),
        pl.col("effective_date").sort().diff().dt.total_days().std().alias("gap_sd"),
        pl.col("amount_pence").n_unique().alias("amounts"),
    )
    since = (pl.lit(AS_OF) - pl.col("last")).dt.total_days()
    recent = per.filter(since <= 35).height / per.height
    stale = per.filter(since > 180).height / per.height
    assert 0.2 < recent < 0.8 and 0.1 < stale < 0.7
    assert per.filter(pl.col("n") >= 12).height / per.height > 0.15
    long = per.filter(pl.col("n") >= 6)
    sd = long.group_by("method").agg(pl.col("gap_sd").median())
    sd = dict(zip(sd["method"], sd["gap_sd"]))
    assert sd["CARD"] > 3 * sd["DED"]
    assert long.filter((pl.col("method") == "DED") & (pl.col("amounts") >= 3)).height > 0  # rate changes


def test_people(tables):
    accounts = tables["dwp.accounts"]
    ninos = accounts["nino"].drop_nulls()
    assert 0.98 * accounts.height < ninos.len() < accounts.height
    assert all(NINO.match(n) for n in ninos.to_list())
    assert all(POSTCODE.match(p) for p in accounts["postcode"].to_list())
    phones = accounts["phone"].drop_nulls().to_list()
    assert 0.6 < len(phones) / accounts.height < 0.8 and all(PHONE.match(p) for p in phones)
    emails = accounts["email"].drop_nulls().to_list()
    assert 0.45 < len(emails) / accounts.height < 0.65 and all(EMAIL.match(e) for e in emails)
    assert accounts["surname"].null_count() == 0 and accounts["forename"].null_count() == 0
    assert accounts["address_line_1"].null_count() == 0 and accounts["address_line_2"].null_count() == 0
    ages = accounts.select((pl.lit(AS_OF) - pl.col("date_of_birth")).dt.total_days() / 365.25).to_series()
    assert ages.min() >= 17.9 and ages.max() < 101
    assert 0 < accounts["date_of_death"].drop_nulls().len() < 0.02 * accounts.height


def test_truth(run, tables):
    out = run[0]
    accounts = tables["dwp.accounts"]
    with (out / "truth.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["resident_id", "system", "party_ref"]
    assert {r["system"] for r in rows} == {"dwp"}
    assert sorted(r["party_ref"] for r in rows) == sorted(accounts["customer_id"].to_list())
    truth = pl.DataFrame(rows)
    per_resident = truth.group_by("resident_id").len()
    duplicated = per_resident.filter(pl.col("len") > 1)
    assert 0.006 * DEBTORS < duplicated.height < 0.014 * DEBTORS
    assert duplicated["len"].max() <= 3
    # a distinct NINO for each distinct person; a second record never carries someone else's
    people = accounts.join(truth, left_on="customer_id", right_on="party_ref")
    nino_owners = people.drop_nulls("nino").group_by("nino").agg(pl.col("resident_id").n_unique())
    assert nino_owners["resident_id"].max() == 1
    # every second record differs from the first in some detail
    fields = ["forename", "surname", "date_of_birth", "nino", "address_line_1", "postcode"]
    dup_people = people.filter(pl.col("resident_id").is_in(duplicated["resident_id"].implode()))
    variants = dup_people.group_by("resident_id").agg([pl.col(f).n_unique().alias(f) for f in fields])
    differs = pl.any_horizontal([pl.col(f) > 1 for f in fields])
    assert variants.filter(differs).height == variants.height
    # the second record is on another debtor account
    assert dup_people.group_by("resident_id").agg(pl.col("debtor_account_id").n_unique())["debtor_account_id"].min() >= 2


def test_synth_command_writes_a_manifest_at_both_scales(tmp_path):
    import json

    from django.core.management import call_command

    call_command("synth", residents=30, seed=5, out=str(tmp_path / "council"))
    call_command("synth", scale="dwp", residents=50, seed=5, out=str(tmp_path / "dwp"))
    council = json.loads((tmp_path / "council" / "manifest.json").read_text())
    dwp = json.loads((tmp_path / "dwp" / "manifest.json").read_text())
    assert {f["source"].split(".")[0] for f in council["files"]} >= {"council_tax", "housing", "parking", "sundry"}
    assert [f["source"] for f in dwp["files"]] == ["dwp.accounts", "dwp.debts", "dwp.transactions"]
    assert (tmp_path / "council" / "truth.csv").exists() and (tmp_path / "dwp" / "truth.csv").exists()
