"""End to end: a synthetic council's extracts, with bad rows on purpose, through ingest."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.db.models import Sum

from fairdebt.accounts import positions
from fairdebt.accounts.models import Account, Debt, LedgerEntry
from fairdebt.ingest.models import QuarantinedRow
from fairdebt.people.models import Party

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
AS_OF = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def council(tmp_path_factory):
    from fairdebt.synth.council import generate

    out = tmp_path_factory.mktemp("council")
    generate(300, 7, out, AS_OF, bad_row_rate=0.02)
    return out


def test_quarantine_holds_exactly_the_rows_made_bad(council):
    call_command("ingest", manifest=str(council / "manifest.json"))
    with open(council / "bad_rows.csv") as fh:
        expected = {(r["source"], int(r["line"])) for r in csv.DictReader(fh)}
    assert expected, "the synthetic council should contain bad rows at this rate"
    found = set(QuarantinedRow.objects.values_list("source", "line"))
    assert found == expected
    # Every good row loaded: nothing is lost between the files and the ledger.
    manifest = json.loads((council / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["source"].endswith(".transactions"):
            path = council / entry["path"]
            lines = sum(1 for _ in path.open()) - (1 if path.suffix == ".csv" else 0)
            bad = sum(1 for s, _ in expected if s == entry["source"])
            system = entry["source"].split(".")[0]
            assert LedgerEntry.objects.filter(source_system=system).count() == lines - bad, entry["source"]


def test_reloading_the_whole_council_changes_nothing(council):
    call_command("ingest", manifest=str(council / "manifest.json"))
    before = (Party.objects.count(), Account.objects.count(), Debt.objects.count(), LedgerEntry.objects.count(),
              QuarantinedRow.objects.count(), LedgerEntry.objects.aggregate(s=Sum("amount_pence"))["s"])
    call_command("ingest", manifest=str(council / "manifest.json"))
    after = (Party.objects.count(), Account.objects.count(), Debt.objects.count(), LedgerEntry.objects.count(),
             QuarantinedRow.objects.count(), LedgerEntry.objects.aggregate(s=Sum("amount_pence"))["s"])
    assert after == before


def test_cached_balances_add_up_to_the_ledger(council):
    call_command("ingest", manifest=str(council / "manifest.json"))
    positions.refresh(AS_OF)
    assert positions.stale(AS_OF) == []
    ledger_total = LedgerEntry.objects.filter(effective_date__lte=AS_OF).aggregate(s=Sum("amount_pence"))["s"]
    assert Account.objects.aggregate(s=Sum("balance_pence"))["s"] == ledger_total
    assert Debt.objects.aggregate(s=Sum("balance_pence"))["s"] == ledger_total
    # Realistic: some arrears, some ongoing liability, some joint accounts.
    assert Account.objects.filter(arrears_pence__gt=0).exists()
    assert Account.objects.filter(ongoing_pence__gt=0).exists()
    assert Account.objects.filter(liable__role="joint").exists()
    call_command("check_ledger", "--on", AS_OF.isoformat())
