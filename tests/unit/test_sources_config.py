"""A council's own extract layouts ($FAIRDEBT_HOME/sources.toml): added or replacing the shipped
ones without a code change, and refused with a message naming the source and the fix."""

from __future__ import annotations

import pytest

from fairdebt.ingest import config

MY_PAYMENTS = """
[sources."my_rents.transactions"]
system = "my_rents"
feed = "transactions"
format = "csv"
date_format = "%d.%m.%Y"
amount_unit = "pence"
[sources."my_rents.transactions".columns]
transaction_ref = "Ref"
debt_ref = "Rent account"
kind = "Type"
amount = "Pence"
effective_date = "Date"
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRDEBT_HOME", str(tmp_path))
    return tmp_path


def test_a_councils_own_layout_is_added_beside_the_shipped_ones(home):
    (home / "sources.toml").write_text(MY_PAYMENTS)
    mine = config.get("my_rents.transactions")
    assert (mine.system, mine.feed, mine.date_format, mine.amount_unit) == ("my_rents", "transactions", "%d.%m.%Y", "pence")
    assert mine.required_columns()[:2] == ["Ref", "Rent account"]
    assert "council_tax.transactions" in config.sources()  # the shipped layouts stay
    assert "my_rents" in config.systems()


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace('feed = "transactions"', 'feed = "payments"'), "feed must be one of accounts, debts, transactions, not 'payments'"),
    (lambda t: t.replace('format = "csv"', 'format = "xlsx"'), "format must be one of csv, jsonl, parquet"),
    (lambda t: t.replace('amount_unit = "pence"', 'amount_unit = "shillings"'), "amount_unit must be pounds or pence"),
    (lambda t: t.replace('system = "my_rents"\n', ""), "source 'my_rents.transactions' has no 'system'"),
    (lambda t: t.replace('kind = "Type"', 'kind = "Type"\nflavour = "Taste"'), "maps unknown fields: flavour"),
    (lambda t: t.replace('amount = "Pence"\n', ""), "does not map required fields: amount"),
    (lambda t: t.replace("[sources.", "[sources", 1), "is not valid TOML"),
])
def test_a_broken_layout_is_refused_with_what_is_wrong(home, change, message):
    (home / "sources.toml").write_text(change(MY_PAYMENTS))
    with pytest.raises(config.SourceConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.get("my_rents.transactions")


def test_an_accounts_layout_needs_to_say_which_service(home):
    (home / "sources.toml").write_text("""
[sources."my_rents.accounts"]
system = "my_rents"
feed = "accounts"
[sources."my_rents.accounts".columns]
account_ref = "Account"
party_ref = "Tenant"
surname = "Surname"
""")
    with pytest.raises(config.SourceConfigError, match="needs account_type or an account_type column"):
        config.get("my_rents.accounts")


def test_an_unknown_source_lists_the_known_ones(home):
    with pytest.raises(config.SourceConfigError, match="unknown source 'nope.transactions'. Known sources: business_rates"):
        config.get("nope.transactions")
