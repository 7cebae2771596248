"""The staff pages through Django's test client: sign in, find accounts, look at one account.

Backend-neutral: the same tests run on SQLite and PostgreSQL (tests/conftest.py chooses), so they
create their own rows with the ORM and never rely on ids, ordering of equal keys or SQL dialect.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re

import pytest
from django.contrib.auth import get_user_model

from fairdebt.accounts.models import Account, AccountParty, Debt, LedgerEntry
from fairdebt.people.services import create_party
from fairdebt.people.models import Party, Person

PASSWORD = "correct horse battery staple"
BAD_CREDENTIALS = (
    "Enter a correct username and password. "
    "Ask your system administrator to reset your password if you have forgotten it."
)
AS_OF = dt.date(2026, 11, 20)

_entry_ids = itertools.count(1)
# Parties are recorded as ingest does: tokens here, identifiers in the vault database.
pytestmark = pytest.mark.django_db(databases="__all__")


# --- building data with the ORM ------------------------------------------------------------------


def make_party(surname, *, forename="Sam", system="ctax", postcode="", nino="", organisation=""):
    n = Party.objects.count() + 1
    return create_party(
        system, f"{system}-P{n}", forename=forename, surname=surname, organisation=organisation,
        postcode=postcode, nino=nino, address_line_1=f"{n} High Street",
    )


def make_account(ref, *, account_type="council_tax", system="ctax", parties=(), arrears=0, balance=None, **kw):
    account = Account.objects.create(
        system=system,
        account_ref=ref,
        account_type=account_type,
        balance_pence=arrears if balance is None else balance,
        arrears_pence=arrears,
        ongoing_pence=(arrears if balance is None else balance) - arrears,
        positions_as_of=AS_OF,
        **kw,
    )
    for i, party in enumerate(parties):
        AccountParty.objects.create(
            account=account, party=party, role="lead" if i == 0 else "joint", liable_from=dt.date(2024, 4, 1)
        )
    return account


def make_debt(account, ref, **kw):
    return Debt.objects.create(account=account, system=account.system, debt_ref=ref, **kw)


def post(debt, kind, amount, on, method=""):
    n = next(_entry_ids)
    return LedgerEntry.objects.create(
        id=1_000_000 + n,
        debt=debt,
        kind=kind,
        amount_pence=amount,
        effective_date=on,
        posting_date=on,
        method=method,
        source_system=debt.system,
        source_key=f"test-{n}",
    )


def text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, whitespace collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def rows(response, table_caption=None) -> list[str]:
    """The text of each body row of the first table (or the one with that caption)."""
    body = response.content.decode()
    tables = re.findall(r"<table\b.*?</table>", body, flags=re.S)
    if table_caption:
        tables = [t for t in tables if table_caption in t]
    assert tables, f"no table{' captioned ' + table_caption if table_caption else ''} on the page"
    tbody = re.search(r"<tbody\b.*?</tbody>", tables[0], flags=re.S).group(0)
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", tr)).split())
        for tr in re.findall(r"<tr\b.*?</tr>", tbody, flags=re.S)
    ]


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("alex.officer", password=PASSWORD)


@pytest.fixture
def signed_in(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def ledger(db):
    """Three accounts: a joint council-tax account, a rent account and a parking account."""
    smith = make_party("Smith", forename="Jane", postcode="AB1 2CD", nino="AB123456C")
    smith2 = make_party("Smith", forename="John", postcode="AB1 2CD")
    jones = make_party("Jones", forename="Ola", system="rent", postcode="ZZ9 9ZZ")
    ctax = make_account("CT0001", parties=[smith, smith2], arrears=123456, balance=150000)
    rent = make_account(
        "RENT-77", account_type="housing_rent", tenure="secure", system="rent", parties=[jones], arrears=1230
    )
    pcn = make_account("PCN-5", account_type="parking_pcn", system="pcn", parties=[make_party("Khan")], arrears=0)

    year = make_debt(
        ctax,
        "CT0001-2025",
        description="Council tax 2025/26",
        period_start=dt.date(2025, 4, 1),
        period_end=dt.date(2026, 3, 31),
        recovery_stage="liability_order",
        balance_pence=150000,
        arrears_pence=123456,
    )
    post(year, "charge", 180000, dt.date(2025, 4, 1))
    post(year, "payment", -1230, dt.date(2025, 5, 1), method="direct_debit")
    post(year, "cost", 8500, dt.date(2025, 9, 1))
    make_debt(rent, "RENT-77", description="Rent account", recovery_stage="nosp", arrears_pence=1230)
    return {"ctax": ctax, "rent": rent, "pcn": pcn, "year": year}


# --- signing in and out ----------------------------------------------------------------------------


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("path", ["/accounts/", "/accounts/1/", "/accounts/?q=Smith"])
def test_anonymous_users_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in?next=")


@pytest.mark.django_db(databases="__all__")
def test_home_redirects_to_accounts(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/"


@pytest.mark.django_db(databases="__all__")
def test_sign_in_page_is_a_govuk_page_for_the_council_without_a_crown(client):
    response = client.get("/sign-in")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="govuk-header"' in page
    assert "Example Borough Council" in page and "fairdebt" in page
    assert "govuk-logo" not in page and "crown" not in page.lower()
    assert 'href="/static/govuk/application.css"' in page
    # The CSP nonce is on both inline scripts (the js-enabled one and the module that runs initAll).
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert page.count(f'nonce="{nonce}"') == 2
    assert 'import { initAll } from "/static/govuk/govuk-frontend.min.js"' in page
    assert 'href="#main-content"' in page  # skip link
    assert "Sign out" not in page  # no navigation before signing in


@pytest.mark.django_db(databases="__all__")
def test_sign_in_with_the_form_then_out(client, staff):
    response = client.post("/sign-in", {"username": "alex.officer", "password": PASSWORD, "next": "/accounts/?q=x"})
    assert response.status_code == 302 and response["Location"] == "/accounts/?q=x"

    page = client.get("/accounts/").content.decode()
    assert "Sign out" in page and 'action="/sign-out"' in page

    assert client.get("/sign-out").status_code == 405  # signing out changes state: POST only
    response = client.post("/sign-out", follow=True)
    assert response.redirect_chain[-1][0] == "/sign-in"
    assert "You have signed out." in text(response)
    assert client.get("/accounts/").status_code == 302


@pytest.mark.django_db(databases="__all__")
def test_sign_in_does_not_redirect_off_site(client, staff):
    response = client.post(
        "/sign-in", {"username": "alex.officer", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/accounts/"


@pytest.mark.django_db(databases="__all__")
def test_bad_credentials_show_the_error_summary(client, staff):
    response = client.post("/sign-in", {"username": "alex.officer", "password": "not the password"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "govuk-error-summary" in page
    assert "<title>Error: Sign in" in page
    assert "There is a problem" in text(response)
    assert BAD_CREDENTIALS in text(response)
    assert '<a href="#username">' in page
    assert "not the password" not in page  # the password is never echoed back
    assert 'value="alex.officer"' in page


@pytest.mark.django_db(databases="__all__")
def test_blank_fields_say_what_to_enter(client):
    response = client.post("/sign-in", {"username": "", "password": ""})
    assert "Enter your username" in text(response) and "Enter your password" in text(response)
    assert '<a href="#password">' in response.content.decode()


@pytest.mark.django_db(databases="__all__")
def test_inactive_users_cannot_sign_in(client, staff):
    staff.is_active = False
    staff.save()
    response = client.post("/sign-in", {"username": "alex.officer", "password": PASSWORD})
    assert BAD_CREDENTIALS in text(response)


# --- the accounts list -------------------------------------------------------------------------------


def test_list_shows_accounts_highest_arrears_first_with_money_to_the_penny(signed_in, ledger):
    response = signed_in.get("/accounts/")
    assert response.status_code == 200
    body = rows(response)
    assert [r.split()[0] for r in body] == ["CT0001", "RENT-77", "PCN-5"]
    ctax = body[0]
    assert "Council tax" in ctax
    # Names stay in the identity vault: the list shows initials, lead first, joint marked.
    assert "Smith" not in ctax and "J S J S (joint)" in ctax
    assert "£1,500.00 £1,234.56 £265.44" in ctax  # balance, arrears, ongoing
    assert "20 Nov 2026" in ctax
    assert "Rent (secure tenancy)" in body[1] and "£12.30" in body[1]
    assert "£0.00" in body[2]
    assert "3 accounts, highest arrears first." in text(response)
    # The money columns are right-aligned numeric cells.
    assert response.content.decode().count("govuk-table__cell--numeric") == 9
    assert f'href="/accounts/{ledger["ctax"].id}/"' in response.content.decode()


@pytest.mark.parametrize(
    "query, expected",
    [
        ("CT0001", ["CT0001"]),  # account reference
        ("ct0001", ["CT0001"]),  # any case
        ("CT0001-2025", ["CT0001"]),  # debt reference
        ("smith", ["CT0001"]),  # surname: two liable Smiths, one row
        ("Jones", ["RENT-77"]),
        ("zz9 9zz", ["RENT-77"]),  # postcode
        ("AB 12 34 56 C", ["CT0001"]),  # National Insurance number, spaced
    ],
)
def test_search(signed_in, ledger, query, expected):
    response = signed_in.get("/accounts/", {"q": query})
    assert [r.split()[0] for r in rows(response)] == expected
    assert f'value="{query}"' in response.content.decode()  # the box keeps what was typed


def test_filter_by_type(signed_in, ledger):
    response = signed_in.get("/accounts/", {"type": "housing_rent"})
    assert [r.split()[0] for r in rows(response)] == ["RENT-77"]
    assert '<option value="housing_rent" selected>' in response.content.decode()

    both = signed_in.get("/accounts/", {"q": "Smith", "type": "parking_pcn"})
    assert "No parking penalty charge accounts match 'Smith'." in text(both)

    # An unknown type (an old bookmark, a hand-edited URL) shows everything rather than failing.
    assert len(rows(signed_in.get("/accounts/", {"type": "nonsense"}))) == 3


def test_no_match_says_what_to_try(signed_in, ledger):
    response = signed_in.get("/accounts/", {"q": "Nobody"})
    assert response.status_code == 200
    assert "No accounts match 'Nobody'. Check the reference or try a surname or postcode." in text(response)
    assert "<table" not in response.content.decode()


def test_search_text_is_escaped(signed_in, ledger):
    response = signed_in.get("/accounts/", {"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in response.content.decode()
    assert "&lt;script&gt;alert(1)" in response.content.decode()


def test_empty_ledger_says_how_to_load_it(signed_in):
    response = signed_in.get("/accounts/")
    assert response.status_code == 200
    assert "No accounts loaded yet. Load extracts with fairdebt ingest SOURCE FILE" in text(response)
    assert "<code>fairdebt ingest SOURCE FILE</code>" in response.content.decode()


def test_list_is_paginated_50_a_page_in_a_bounded_number_of_queries(signed_in, django_assert_max_num_queries):
    for i in range(120):
        party = make_party(f"Surname{i}", postcode="PG1 1AA")
        make_account(f"A{i:04d}", parties=[party, make_party(f"Joint{i}")], arrears=100_000 - i)

    with django_assert_max_num_queries(10):  # session, user, council name, count, page, liable people
        first = signed_in.get("/accounts/")
    assert len(rows(first)) == 50
    assert rows(first)[0].startswith("A0000") and rows(first)[-1].startswith("A0049")
    page = first.content.decode()
    assert "govuk-pagination" in page and 'href="/accounts/?page=2"' in page and 'rel="next"' in page
    assert "Showing 1 to 50." in text(first)

    last = signed_in.get("/accounts/", {"page": 3})
    assert len(rows(last)) == 20 and rows(last)[-1].startswith("A0119")
    assert 'rel="prev"' in last.content.decode() and 'rel="next"' not in last.content.decode()

    # Searching keeps the search terms in the page links.
    searched = signed_in.get("/accounts/", {"q": "PG1 1AA", "type": "council_tax"})
    assert "120 accounts matching" in text(searched)
    assert 'href="/accounts/?q=PG1+1AA&amp;type=council_tax&amp;page=2"' in searched.content.decode()

    # A page number past the end shows the last page rather than an error.
    assert len(rows(signed_in.get("/accounts/", {"page": 99}))) == 20


# --- one account ---------------------------------------------------------------------------------------


def test_account_page_shows_summary_people_debts_and_entries(signed_in, ledger):
    response = signed_in.get(f"/accounts/{ledger['ctax'].id}/")
    assert response.status_code == 200
    page = text(response)
    assert "Account CT0001" in page
    assert "Type Council tax" in page and "System ctax" in page and "Reference CT0001" in page
    assert "Balance £1,500.00" in page and "Arrears £1,234.56" in page and "Ongoing £265.44" in page
    assert "Positions at 20 November 2026" in page

    people = rows(response, "Liable people")
    assert people[0].startswith("J S Lead 1 Apr 2024") and people[1].startswith("J S Joint")
    assert "Smith" not in page and "High Street" not in page  # no name or address before re-identification

    debts = rows(response, "Debts on this account")
    assert debts == ["CT0001-2025 Council tax 2025/26 1 Apr 2025 to 31 Mar 2026 Liability order £1,500.00 £1,234.56"]

    entries = rows(response, "Ledger entries")
    assert entries == [
        "1 Sep 2025 CT0001-2025 Cost £85.00",
        "1 May 2025 CT0001-2025 Payment Direct debit -£12.30",
        "1 Apr 2025 CT0001-2025 Charge £1,800.00",
    ]
    assert "3 entries, newest first." in page


def test_account_page_labels_and_empty_sections(signed_in, ledger):
    rent = text(signed_in.get(f"/accounts/{ledger['rent'].id}/"))
    assert "Notice of seeking possession" in rent
    assert "No ledger entries are recorded on this account." in rent
    pcn = text(signed_in.get(f"/accounts/{ledger['pcn'].id}/"))
    assert "No debts are recorded on this account." in pcn


def test_account_page_shows_the_50_most_recent_entries_in_bounded_queries(
    signed_in, ledger, django_assert_max_num_queries
):
    account = ledger["ctax"]
    debts = [make_debt(account, f"CT0001-{year}") for year in range(2010, 2020)]
    start = dt.date(2020, 1, 1)
    for i in range(80):
        post(debts[i % 10], "charge", 1000 + i, start + dt.timedelta(days=i))

    with django_assert_max_num_queries(10):  # session, user, council name, account, people, debts, entries, count
        response = signed_in.get(f"/accounts/{account.id}/")
    entries = rows(response, "Ledger entries")
    assert len(entries) == 50
    assert entries[0].startswith("1 Sep 2025")  # the newest: the ledger fixture's cost
    assert "The 50 most recent of 83 entries, newest first." in text(response)
    assert len(rows(response, "Debts on this account")) == 11


def test_unknown_account_is_404(signed_in, ledger):
    assert signed_in.get("/accounts/999999999/").status_code == 404
