"""Ingest against the real database (SQLite, and PostgreSQL in the second run of make test)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from fairdebt.accounts import positions
from fairdebt.accounts.models import Account, AccountParty, Debt, LedgerEntry
from fairdebt.domain import ledger as domain_ledger
from fairdebt.ingest import services
from fairdebt.ingest.models import QuarantinedRow, SourceFile
from fairdebt.people.models import Party, Person
from fairdebt.vault import services as vault

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

ACCOUNTS = [
    dict(account_ref="CT1", party_ref="C1", role="L", forename="Jane", surname="Smith", date_of_birth="01/02/1980",
         nino="AB123456C", address_line_1="1 High Street", postcode="e8 1aa", liable_from="01/04/2020"),
    dict(account_ref="CT1", party_ref="C2", role="J", forename="John", surname="Smith", postcode="E8 1AA"),
    dict(account_ref="CT2", party_ref="C3", role="L", forename="Bob", surname="Jones", nino="CE654321A"),
]
DEBTS = [
    dict(debt_ref="CT1-24", account_ref="CT1", description="Council tax 2024/25", period_start="01/04/2024",
         period_end="31/03/2025", recovery_stage="REM1", stage_date="15/05/2024"),
    dict(debt_ref="CT2-24", account_ref="CT2", description="Council tax 2024/25"),
]
TRANSACTIONS = [
    dict(transaction_ref="T1", debt_ref="CT1-24", kind="INST", amount="100.00", effective_date="01/03/2024", due_date="01/04/2024"),
    dict(transaction_ref="T2", debt_ref="CT1-24", kind="INST", amount="100.00", effective_date="01/03/2024", due_date="01/05/2024"),
    dict(transaction_ref="T3", debt_ref="CT1-24", kind="PAY", amount="-50.00", effective_date="10/05/2024", method="DD"),
    dict(transaction_ref="T4", debt_ref="CT1-24", kind="REV", amount="50.00", effective_date="12/05/2024", reverses_ref="T3"),
    dict(transaction_ref="T5", debt_ref="CT2-24", kind="INST", amount="1,234.56", effective_date="01/03/2024", due_date="01/12/2030"),
]


def load_council(extract, transactions=TRANSACTIONS):
    a = services.ingest_file("council_tax.accounts", extract("council_tax.accounts", ACCOUNTS))
    d = services.ingest_file("council_tax.debts", extract("council_tax.debts", DEBTS))
    t = services.ingest_file("council_tax.transactions", extract("council_tax.transactions", transactions))
    return a, d, t


def snapshot():
    return (Person.objects.count(), Party.objects.count(), Account.objects.count(), AccountParty.objects.count(),
            Debt.objects.count(), LedgerEntry.objects.count(), QuarantinedRow.objects.count(),
            sorted(LedgerEntry.objects.values_list("source_key", "amount_pence")))


def test_loads_people_accounts_joint_liability_debts_and_ledger(extract):
    a, d, t = load_council(extract)
    assert list(QuarantinedRow.objects.values_list("reason", flat=True)) == []
    assert (a.accepted, a.rejected, d.accepted, t.accepted, t.rejected) == (3, 0, 2, 5, 0)
    ct1 = Account.objects.get(account_ref="CT1")
    assert ct1.account_type == "council_tax"
    assert sorted(ct1.liable.values_list("party__party_ref", "role")) == [("C1", "lead"), ("C2", "joint")]
    jane = Party.objects.get(party_ref="C1")
    assert jane.initials == "J S"
    raw = vault.identities([("council_tax", "C1")])[("council_tax", "C1")]
    assert (raw["postcode"], raw["nino"], raw["date_of_birth"]) == ("E8 1AA", "AB123456C", "1980-02-01")
    debt = Debt.objects.get(debt_ref="CT1-24")
    assert (debt.recovery_stage, debt.period_end) == ("reminder", dt.date(2025, 3, 31))
    reversal = LedgerEntry.objects.get(source_key="T4")
    assert reversal.reverses.source_key == "T3"
    # A reversal falls due with the entry it reverses.
    assert reversal.due_date == dt.date(2024, 5, 10)
    assert LedgerEntry.objects.get(source_key="T5").amount_pence == 123456


def test_cached_positions_match_the_domain_ledger(extract):
    load_council(extract)
    on = dt.date(2024, 5, 15)
    positions.refresh(on)
    for debt in Debt.objects.all():
        entries = [
            domain_ledger.Entry(id=e.id, kind=e.kind, amount=e.amount_pence, effective_date=e.effective_date,
                                posting_date=e.posting_date, due_date=e.due_date, reverses=e.reverses_id, debt=debt.id)
            for e in debt.entries.all()
        ]
        expected = domain_ledger.position(entries, on)
        debt.refresh_from_db()
        assert (debt.balance_pence, debt.arrears_pence, debt.ongoing_pence) == (expected.balance, expected.arrears, expected.ongoing)
    ct1 = Debt.objects.get(debt_ref="CT1-24")
    # £200 charged, £50 paid then bounced: both instalments due before 15 May 2024 -> £200 arrears.
    assert (ct1.balance_pence, ct1.arrears_pence) == (20000, 20000)
    ct2 = Debt.objects.get(debt_ref="CT2-24")
    assert (ct2.arrears_pence, ct2.ongoing_pence) == (0, 123456)
    assert positions.stale(on) == []


def test_loading_the_same_files_twice_changes_nothing(extract):
    load_council(extract)
    before = snapshot()
    a, d, t = load_council(extract)
    assert (a.accepted, d.accepted, t.accepted) == (0, 0, 0)
    assert (a.duplicates, d.duplicates, t.duplicates) == (3, 2, 5)
    assert snapshot() == before


def test_overlapping_extracts_add_only_new_rows(extract):
    load_council(extract, TRANSACTIONS[:3])
    t = services.ingest_file(
        "council_tax.transactions",
        extract("council_tax.transactions", TRANSACTIONS[2:] + [dict(transaction_ref="T6", debt_ref="CT1-24", kind="PAY", amount="-10.00", effective_date="20/05/2024")], "second.csv"),
    )
    assert (t.accepted, t.duplicates) == (3, 1)
    assert LedgerEntry.objects.count() == 6


def test_bad_rows_are_quarantined_with_line_field_reason_and_raw_row(extract):
    services.ingest_file("council_tax.accounts", extract("council_tax.accounts", ACCOUNTS))
    services.ingest_file("council_tax.debts", extract("council_tax.debts", DEBTS))
    bad = [
        dict(transaction_ref="B1", debt_ref="CT1-24", kind="INST", amount="10.00", effective_date="31/02/2024"),
        dict(transaction_ref="B2", debt_ref="CT1-24", kind="INST", amount="12.3.4", effective_date="01/02/2024"),
        dict(transaction_ref="B3", debt_ref="CT1-24", kind="PAY", amount="10.00", effective_date="01/02/2024"),
        dict(transaction_ref="B4", debt_ref="NOPE", kind="PAY", amount="-10.00", effective_date="01/02/2024"),
        dict(transaction_ref="B5", debt_ref="CT1-24", kind="ZZZ", amount="-10.00", effective_date="01/02/2024"),
        dict(transaction_ref="G1", debt_ref="CT1-24", kind="PAY", amount="-5.00", effective_date="01/02/2024"),
        dict(transaction_ref="G1", debt_ref="CT1-24", kind="PAY", amount="-6.00", effective_date="01/02/2024"),
        dict(transaction_ref="G2", debt_ref="CT1-24", kind="PAY", amount="-1.00", effective_date="01/02/2024"),
        dict(transaction_ref="G2", debt_ref="CT1-24", kind="PAY", amount="-1.00", effective_date="01/02/2024"),
        dict(transaction_ref="B6", debt_ref="CT1-24", kind="REV", amount="5.00", effective_date="01/02/2024", reverses_ref="G2"),
    ]
    t = services.ingest_file("council_tax.transactions", extract("council_tax.transactions", bad))
    # G1 (first), G2 (first) load; the identical G2 repeat is a duplicate; B6 reverses G2 with the wrong amount.
    assert (t.accepted, t.duplicates, t.rejected) == (2, 1, 7)
    rows = {q.line: q for q in QuarantinedRow.objects.all()}
    assert rows[2].field == "TRANS_DATE" and "'31/02/2024' is not a date" in rows[2].reason
    assert rows[3].field == "AMOUNT" and "12.3.4" in rows[3].reason
    assert rows[4].field == "AMOUNT" and "must be a negative amount" in rows[4].reason
    assert rows[5].field == "CHARGE_REF" and "unknown debt_ref 'NOPE'" in rows[5].reason
    assert rows[6].field == "TRANS_TYPE" and "unknown kind code 'ZZZ'" in rows[6].reason
    assert rows[8].field == "TRANS_ID" and "already appears on line 7 with different values" in rows[8].reason
    assert rows[11].field == "AMOUNT" and "exact negative" in rows[11].reason
    assert rows[2].raw["TRANS_ID"] == "B1" and rows[2].raw["TRANS_DATE"] == "31/02/2024"
    assert rows[2].source_file.source == "council_tax.transactions"


def test_account_rows_check_nino_postcode_and_dates(extract):
    rows = [
        dict(account_ref="X1", party_ref="P1", surname="A", nino="QQ123456C"),
        dict(account_ref="X2", party_ref="P2", surname="B", postcode="NOT A PC"),
        dict(account_ref="X3", party_ref="P3", surname="", forename="C"),
        dict(account_ref="X4", party_ref="P4", surname="D", date_of_birth="1980-01-01"),
        dict(account_ref="X5", party_ref="P5", surname="E", nino="ab 12 34 56 c", postcode="sw1a1aa"),
    ]
    a = services.ingest_file("council_tax.accounts", extract("council_tax.accounts", rows))
    assert (a.accepted, a.rejected) == (1, 4)
    reasons = dict(QuarantinedRow.objects.values_list("line", "reason"))
    assert "not a National Insurance number" in reasons[2] and "QQ123456C" not in reasons[2]
    assert "not a UK postcode" in reasons[3]
    assert "surname is missing" in reasons[4]
    assert "not a date in the form DD/MM/YYYY" in reasons[5]
    raw = vault.identities([("council_tax", "P5")])[("council_tax", "P5")]
    assert (raw["nino"], raw["postcode"]) == ("AB123456C", "SW1A 1AA")


def test_same_nino_in_two_systems_is_one_person_until_linkage(extract):
    services.ingest_file("council_tax.accounts", extract("council_tax.accounts", ACCOUNTS))
    services.ingest_file("housing.accounts", extract("housing.accounts", [
        dict(account_ref="TEN1", party_ref="P-1", role="MAIN", tenure="SEC", forename="Jayne", surname="Smith", nino="AB123456C"),
    ]))
    assert Party.objects.get(party_ref="P-1").person_id == Party.objects.get(party_ref="C1").person_id
    assert Person.objects.count() == 3
    assert Account.objects.get(account_ref="TEN1").tenure == "secure"


def test_unreadable_files_are_refused_whole(extract, tmp_path):
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02\x03 binary")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("TRANS_ID,CHARGE_REF,TRANS_TYPE,AMOUNT,TRANS_DATE\n1,caf\xe9,PAY,-1,01/01/2024\n".encode("latin-1"))
    missing = tmp_path / "missing.csv"
    missing.write_text("TRANS_ID,CHARGE_REF\n1,2\n")
    parquet = tmp_path / "bad.parquet"
    parquet.write_bytes(b"PAR1 this is not parquet")
    for path, words in [(junk, "binary data"), (latin, "not UTF-8"), (missing, "missing required column(s) 'TRANS_TYPE'"), (parquet, "not a readable Parquet")]:
        with pytest.raises(services.UnreadableFile, match=words.replace("(", r"\(").replace(")", r"\)")):
            services.ingest_file("council_tax.transactions", path)
        with pytest.raises(CommandError) as err:
            call_command("ingest", "council_tax.transactions", str(path))
        assert err.value.returncode == 2 and "Nothing was loaded" in str(err.value)
    assert SourceFile.objects.count() == 0 and QuarantinedRow.objects.count() == 0


def test_ragged_csv_line_is_quarantined_not_the_whole_file(extract, tmp_path):
    services.ingest_file("council_tax.accounts", extract("council_tax.accounts", ACCOUNTS))
    services.ingest_file("council_tax.debts", extract("council_tax.debts", DEBTS))
    path = tmp_path / "ragged.csv"
    path.write_text(
        "TRANS_ID,CHARGE_REF,TRANS_TYPE,AMOUNT,TRANS_DATE,POSTED_DATE,DUE_DATE,REVERSES_TRANS_ID,PAY_METHOD\n"
        "R1,CT1-24,PAY,-1.00,01/01/2024,,,,\n"
        "R2,CT1-24,PAY,-1,000.00,01/01/2024,,,,\n"
    )
    t = services.ingest_file("council_tax.transactions", path)
    assert (t.accepted, t.rejected) == (1, 1)
    q = QuarantinedRow.objects.get()
    assert q.line == 3 and "header has 9" in q.reason


def test_resubmitting_a_corrected_row_loads_it(extract):
    services.ingest_file("council_tax.accounts", extract("council_tax.accounts", ACCOUNTS))
    services.ingest_file("council_tax.debts", extract("council_tax.debts", DEBTS))
    services.ingest_file("council_tax.transactions", extract("council_tax.transactions", [
        dict(transaction_ref="Q1", debt_ref="CT1-24", kind="PAY", amount="-20.00", effective_date="32/01/2024"),
    ]))
    q = QuarantinedRow.objects.get()
    with pytest.raises(services.ResubmitError, match="Still rejected"):
        services.resubmit(q.id, {"TRANS_DATE": "2024-01-31"})
    with pytest.raises(services.ResubmitError, match="not a column"):
        services.resubmit(q.id, {"NOPE": "x"})
    result = services.resubmit(q.id, {"TRANS_DATE": "31/01/2024"})
    assert result.accepted == 1
    entry = LedgerEntry.objects.get(source_key="Q1")
    assert (entry.amount_pence, entry.effective_date) == (-2000, dt.date(2024, 1, 31))
    q.refresh_from_db()
    assert q.status == "resubmitted" and "TRANS_DATE" in q.resolution
    assert Debt.objects.get(debt_ref="CT1-24").balance_pence == -2000
    with pytest.raises(services.ResubmitError, match="already"):
        services.resubmit(q.id, {})


def test_reversal_rules(extract):
    load_council(extract)
    t = services.ingest_file("council_tax.transactions", extract("council_tax.transactions", [
        dict(transaction_ref="V1", debt_ref="CT1-24", kind="REV", amount="-50.00", effective_date="13/05/2024", reverses_ref="T4"),
        dict(transaction_ref="V2", debt_ref="CT1-24", kind="REV", amount="50.00", effective_date="13/05/2024", reverses_ref="T3"),
        dict(transaction_ref="V3", debt_ref="CT1-24", kind="REV", amount="-100.00", effective_date="13/05/2024", reverses_ref="T1"),
        dict(transaction_ref="V4", debt_ref="CT1-24", kind="REV", amount="-100.00", effective_date="13/05/2024", reverses_ref="T1"),
        dict(transaction_ref="V5", debt_ref="CT1-24", kind="REV", amount="-1.00", effective_date="13/05/2024", reverses_ref="MISSING"),
    ], "rev.csv"))
    assert (t.accepted, t.rejected) == (1, 4)
    reasons = sorted(QuarantinedRow.objects.values_list("reason", flat=True))
    assert any("cannot reverse another reversal" in r for r in reasons)
    assert any("already been reversed" in r for r in reasons)
    assert any("more than once in this file" in r for r in reasons)
    assert any("not in the ledger" in r for r in reasons)


def test_jsonl_and_parquet_sources_load(extract):
    services.ingest_file("parking.accounts", extract("parking.accounts", [dict(account_ref="K1", party_ref="k-1", role="keeper", surname="Lee")]))
    services.ingest_file("parking.debts", extract("parking.debts", [dict(debt_ref="PCN1", account_ref="K1", recovery_stage="charge_certificate")]))
    t = services.ingest_file("parking.transactions", extract("parking.transactions", [
        dict(transaction_ref="p1", debt_ref="PCN1", kind="penalty", amount=7000, effective_date="2025-01-02"),
        dict(transaction_ref="p2", debt_ref="PCN1", kind="increase", amount=3500, effective_date="2025-02-20"),
    ]))
    assert t.accepted == 2
    services.ingest_file("dwp.accounts", extract("dwp.accounts", [dict(account_ref="D1", party_ref="c1", role="debtor", surname="Khan")]))
    services.ingest_file("dwp.debts", extract("dwp.debts", [dict(debt_ref="OP1", account_ref="D1", recovery_stage="DED")]))
    t = services.ingest_file("dwp.transactions", extract("dwp.transactions", [
        dict(transaction_ref="x1", debt_ref="OP1", kind="OP", amount=125000, effective_date=dt.date(2024, 6, 1)),
        dict(transaction_ref="x2", debt_ref="OP1", kind="REC", amount=-2500, effective_date=dt.date(2024, 7, 1), method="DED"),
    ]))
    assert t.accepted == 2
    assert Debt.objects.get(debt_ref="OP1").balance_pence == 122500


def test_the_database_refuses_a_changed_or_broken_entry(extract):
    load_council(extract)
    entry = LedgerEntry.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount_pence=1)
    debt = Debt.objects.first()
    base = dict(debt=debt, effective_date=dt.date(2024, 1, 1), posting_date=dt.date(2024, 1, 1), source_system="test")
    for kind, amount in [("charge", -5), ("payment", 5), ("adjustment", 0), ("bogus", 5)]:
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.create(kind=kind, amount_pence=amount, source_key=f"k-{kind}", **base)
    with pytest.raises(DatabaseError), transaction.atomic():  # a reversal must point at its original
        LedgerEntry.objects.create(kind="reversal", amount_pence=5, source_key="k-rev", **base)
    with pytest.raises(DatabaseError), transaction.atomic():  # the idempotency key is unique
        LedgerEntry.objects.create(kind="charge", amount_pence=5, source_key=entry.source_key, **(base | {"source_system": entry.source_system}))


def test_status_command_prints_one_json_object(extract, capsys):
    load_council(extract)
    call_command("status", "--json", "--on", "2024-05-15")
    import json

    figures = json.loads(capsys.readouterr().out)
    assert figures["people"] == 3 and figures["accounts"] == 2 and figures["debts"] == 2
    assert figures["ledger_entries"] == 5 and figures["quarantined_rows"] == 0
    assert figures["balance_pence"] == 20000 + 123456
    assert figures["arrears_pence"] == 20000


def _ledger_schema():
    """Every index and constraint of the ledger table, by definition (names and all)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'accounts_ledgerentry'::regclass")
            indexes = cur.fetchall()
            cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'accounts_ledgerentry'::regclass")
            return sorted(indexes), sorted(cur.fetchall())
        cur.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'accounts_ledgerentry' ORDER BY name")
        return cur.fetchall()


def test_a_large_load_rebuilds_the_ledgers_keys_exactly(extract, monkeypatch):
    """A load as large as the table takes the bulk path (keys dropped, COPY, keys rebuilt): the
    table ends with the same indexes and constraints, and they still refuse what they refused."""
    from fairdebt.ingest import loader

    before = _ledger_schema()
    monkeypatch.setattr(loader, "BULK_MIN_ROWS", 1)
    dropped = []
    original_enter = loader.bulk_indexes.__enter__

    def enter(self):
        out = original_enter(self)
        dropped.extend(name for _, name, _ in self.saved)
        return out

    monkeypatch.setattr(loader.bulk_indexes, "__enter__", enter)
    _, _, t = load_council(extract)
    assert t.accepted == 5
    assert dropped, "the bulk path was not taken"
    if connection.vendor == "postgresql":
        assert "accounts_ledgerentry_pkey" in dropped  # nothing references the ledger's key
    assert _ledger_schema() == before
    entry = LedgerEntry.objects.get(source_key="T1")
    with pytest.raises(DatabaseError), transaction.atomic():  # the idempotency key is unique again
        LedgerEntry.objects.create(debt=entry.debt, kind="charge", amount_pence=5, effective_date=entry.effective_date,
                                   posting_date=entry.posting_date, source_system=entry.source_system, source_key="T1")
    with pytest.raises(DatabaseError), transaction.atomic():  # and so is the primary key
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO accounts_ledgerentry (id, debt_id, kind, amount_pence, effective_date, posting_date, method, source_system, source_key)"
                " VALUES (%s, %s, 'charge', 5, %s, %s, '', 'other', 'fresh-key')",
                [entry.id, entry.debt_id, entry.effective_date, entry.posting_date],
            )
    # A second load of the same file, also on the bulk path, adds nothing.
    again = services.ingest_file("council_tax.transactions", extract("council_tax.transactions", TRANSACTIONS))
    assert (again.accepted, again.duplicates) == (0, 5)


def test_a_load_that_grows_a_table_by_a_tenth_has_it_analysed(extract):
    """PostgreSQL plans the balance refresh after a load by the tables' statistics: a table never
    analysed, or grown by a tenth or more, is analysed as soon as the load commits."""
    from fairdebt.ingest import loader

    if connection.vendor != "postgresql":
        assert loader.analyse_if_grown("accounts_debt", 100) is False  # SQLite: nothing to do
        return

    def counted():
        with connection.cursor() as cur:
            cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'accounts_debt'::regclass")
            return cur.fetchone()[0]

    load_council(extract)
    assert counted() == 2  # analysed after the debts extract loaded (emptied between tests: never analysed)
    debts = [dict(debt_ref=f"X{i}", account_ref="CT2", description="Council tax") for i in range(18)]
    services.ingest_file("council_tax.debts", extract("council_tax.debts", debts, "more.csv"))
    assert counted() == 20
    assert loader.analyse_if_grown("accounts_debt", 1) is False  # a twentieth: left to autovacuum
    assert loader.analyse_if_grown("accounts_debt", 2) is True
