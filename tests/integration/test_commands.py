"""The commands an officer or an operator types, run as they run them (call_command), on the real
database: what they print, what they change, and what they say when something is wrong."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command

from fairdebt.accounts.models import Debt, LedgerEntry
from fairdebt.ingest.models import QuarantinedRow
from fairdebt.worklists.models import DebtPriority

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

BAD = [
    dict(transaction_ref="Q1", debt_ref="CT1-25", kind="PAY", amount="-20.00", effective_date="32/01/2026"),
    dict(transaction_ref="Q2", debt_ref="NOPE", kind="PAY", amount="-5.00", effective_date="02/01/2026"),
    dict(transaction_ref="Q3", debt_ref="CT1-25", kind="PAY", amount="-7.00", effective_date="03/01/2026"),
]


def _run(capsys, *args, **options) -> str:
    call_command(*args, **options)
    return capsys.readouterr().out


def _load_bad_rows(extract, capsys) -> str:
    return _run(capsys, "ingest", "council_tax.transactions", str(extract("council_tax.transactions", BAD, "payments.csv")))


def test_ingest_says_what_it_loaded_and_where_the_rejected_rows_are(resident, extract, capsys):
    out = _load_bad_rows(extract, capsys)
    file_id = QuarantinedRow.objects.first().source_file_id
    assert "council_tax.transactions: 1 accepted / 0 duplicates / 2 rejected" in out
    assert f"2 rejected rows are in quarantine: see `fairdebt quarantine --file {file_id}`" in out
    assert "council_tax.transactions" in _run(capsys, "ingest", "--list")


def test_ingest_refuses_what_it_cannot_load_with_what_to_do(resident, extract, tmp_path):
    with pytest.raises(CommandError, match="Give a source and a file"):
        call_command("ingest", "council_tax.transactions")
    with pytest.raises(CommandError, match="council_tax.nothing") as unknown:
        call_command("ingest", "council_tax.nothing", str(extract("council_tax.transactions", BAD)))
    assert unknown.value.returncode == 2
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02\xff\xfe binary")
    with pytest.raises(CommandError, match="Nothing was loaded") as unreadable:
        call_command("ingest", "council_tax.transactions", str(junk))
    assert unreadable.value.returncode == 2
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(CommandError, match="is not a manifest.json with a 'files' list") as manifest:
        call_command("ingest", manifest=str(tmp_path / "manifest.json"))
    assert manifest.value.returncode == 2
    assert not LedgerEntry.objects.filter(source_key__startswith="Q").exists()


def test_quarantine_lists_rejected_rows_and_a_corrected_one_loads(resident, extract, capsys):
    _load_bad_rows(extract, capsys)
    out = _run(capsys, "quarantine")
    assert "line 2" in out and "TRANS_DATE" in out and "'32/01/2026' is not a date" in out
    assert "unknown debt_ref 'NOPE'" in out
    assert "2 row(s). Correct one with: fairdebt quarantine resubmit ID --set COLUMN=VALUE" in out
    listed = json.loads(_run(capsys, "quarantine", "--json"))
    assert [(r["line"], r["field"], r["status"]) for r in listed] == [(2, "TRANS_DATE", "open"), (3, "CHARGE_REF", "open")]
    assert listed[0]["raw"]["TRANS_ID"] == "Q1" and listed[0]["file"].endswith("payments.csv")
    assert "No rows in quarantine." in _run(capsys, "quarantine", "--source", "housing.transactions")
    assert "1 more" in _run(capsys, "quarantine", "--limit", "1")

    date_row, ref_row = listed[0]["id"], listed[1]["id"]
    with pytest.raises(CommandError, match="Still rejected"):
        call_command("quarantine", "resubmit", str(date_row), "--set", "TRANS_DATE=2026-01-31")
    with pytest.raises(CommandError, match="write it as COLUMN=VALUE"):
        call_command("quarantine", "resubmit", str(date_row), "--set", "TRANS_DATE")
    with pytest.raises(CommandError, match="Say which row"):
        call_command("quarantine", "resubmit")
    assert f"Row {date_row}: loaded." in _run(capsys, "quarantine", "resubmit", str(date_row), "--set", "TRANS_DATE=31/01/2026")
    entry = LedgerEntry.objects.get(source_key="Q1")
    assert (entry.amount_pence, entry.effective_date) == (-2000, dt.date(2026, 1, 31))

    with pytest.raises(CommandError, match="Say which row and why"):
        call_command("quarantine", "dismiss", str(ref_row))
    assert f"Row {ref_row} dismissed." in _run(capsys, "quarantine", "dismiss", str(ref_row), "--reason", "not ours: a test payment")
    with pytest.raises(CommandError, match=f"No open quarantined row {ref_row}"):
        call_command("quarantine", "dismiss", str(ref_row), "--reason", "again")
    assert "No rows in quarantine." in _run(capsys, "quarantine")
    everything = json.loads(_run(capsys, "quarantine", "--all", "--json"))
    assert sorted(r["status"] for r in everything) == ["dismissed", "resubmitted"]


def test_nightly_refreshes_balances_sends_prioritises_and_allocates(resident, capsys, today):
    cached = Debt.objects.get(debt_ref="CT1-25")
    Debt.objects.filter(id=cached.id).update(balance_pence=1)  # a cache gone wrong is put right
    out = _run(capsys, "nightly", on=today)
    assert f"refreshed as at {today}" in out and "(1 debts and 0 accounts changed)" in out  # the account's own cache was right
    assert Debt.objects.get(id=cached.id).balance_pence == 120000
    assert "Outbox: 0 sent, 0 stopped by a hold since queueing, 0 failed." in out
    assert f"Prioritised {Debt.objects.count():,} debts" in out
    assert DebtPriority.objects.filter(decided_on=today).count() == Debt.objects.count()
    assert "Allocation:" in out
    # The next day every cached position's date moves, so every debt is written again.
    tomorrow = today + dt.timedelta(days=1)
    assert f"({Debt.objects.count()} debts and" in _run(capsys, "nightly", on=tomorrow)


def test_check_ledger_names_each_problem_and_what_to_do(resident, capsys, today):
    assert f"cached positions as at {today} match the entries" in _run(capsys, "check_ledger", "--on", today.isoformat())
    debt = Debt.objects.get(debt_ref="CT1-25")
    Debt.objects.filter(id=debt.id).update(balance_pence=5)
    with pytest.raises(CommandError) as stale:
        call_command("check_ledger", "--on", today.isoformat())
    assert "debt CT1-25: cached balance 5" in str(stale.value) and "run `fairdebt nightly`" in str(stale.value)
    assert "not written by `fairdebt ingest`" not in str(stale.value)
    _run(capsys, "nightly", on=today)
    # Rows the loader would never write: an entry on no debt, and a reversal that does not negate its original.
    original = LedgerEntry.objects.get(source_key="T2")
    LedgerEntry.objects.create(debt_id=10**9, kind="charge", amount_pence=100, effective_date=today, posting_date=today,
                               source_system="council_tax", source_key="ORPHAN")
    LedgerEntry.objects.create(debt=original.debt, kind="reversal", amount_pence=-1, effective_date=today, posting_date=today,
                               reverses=original, source_system="council_tax", source_key="HALF-REVERSAL")
    with pytest.raises(CommandError) as broken:
        call_command("check_ledger", "--on", today.isoformat())
    text = str(broken.value)
    assert "1 ledger entries point at no debt" in text and "1 reversals do not exactly negate an entry on the same debt" in text
    assert "not written by `fairdebt ingest`" in text
