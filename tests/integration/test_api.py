"""The JSON API under /api/v1: bearer tokens, status, account search; OpenAPI at /api/docs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from fairdebt.accounts.models import Account, AccountParty, Debt, LedgerEntry
from fairdebt.people.services import create_party
from fairdebt.web.models import ApiToken

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def token():
    user = get_user_model().objects.create_user("api-officer", password="not used here 123")
    return ApiToken.issue(user)[1]


@pytest.fixture
def account():
    party = create_party("housing", "P-1", forename="Ada", surname="Okafor", postcode="E8 1AA")
    acc = Account.objects.create(system="housing", account_ref="TEN-1", account_type="housing_rent", tenure="secure",
                                 balance_pence=45678, arrears_pence=30000, ongoing_pence=15678)
    AccountParty.objects.create(account=acc, party=party, role="lead")
    debt = Debt.objects.create(account=acc, system="housing", debt_ref="RENT-1", description="Rent")
    LedgerEntry.objects.create(debt=debt, kind="charge", amount_pence=45678, effective_date=dt.date(2026, 1, 5),
                               posting_date=dt.date(2026, 1, 5), source_system="housing", source_key="h1")
    return acc


def get(client, url, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(url, **headers)


def test_requests_without_a_valid_token_are_refused(client, account):
    assert get(client, "/api/v1/accounts").status_code == 401
    assert get(client, "/api/v1/accounts", "fd_wrong").status_code == 401


def test_revoked_tokens_are_refused(client, token):
    ApiToken.objects.update(revoked_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert get(client, "/api/v1/status", token).status_code == 401


def test_only_a_hash_of_the_token_is_stored(token):
    stored = ApiToken.objects.get()
    assert token not in stored.key_hash and len(stored.key_hash) == 64


def test_status(client, token, account):
    body = get(client, "/api/v1/status", token).json()
    assert body["accounts"] == 1 and body["ledger_entries"] == 1 and body["people"] == 1
    assert body["balance_pence"] == 45678


def test_account_search_and_detail(client, token, account):
    body = get(client, "/api/v1/accounts?q=okafor", token).json()
    assert body["count"] == 1
    assert body["results"][0]["account_ref"] == "TEN-1" and body["results"][0]["arrears_pence"] == 30000
    assert get(client, "/api/v1/accounts?q=nobody", token).json()["count"] == 0
    detail = get(client, f"/api/v1/accounts/{account.id}", token).json()
    # Names stay in the vault: the API shows initials (re-identification is a separate, audited step).
    assert detail["liable"] == [{"party_ref": "P-1", "role": "lead", "name": "A O"}]
    assert detail["debts"][0]["debt_ref"] == "RENT-1"
    assert get(client, "/api/v1/accounts/999999", token).status_code == 404


def test_openapi_document_and_docs_page(client):
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/status", "/api/v1/accounts", "/api/v1/accounts/{account_id}"} <= set(spec["paths"])
    assert "BearerAuth" in str(spec["components"]["securitySchemes"]) or spec["components"]["securitySchemes"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"swagger" in page.content.lower()


def test_api_token_command_prints_a_working_token(client, capsys):
    get_user_model().objects.create_user("cli-officer", password="not used here 123")
    call_command("api_token", "cli-officer")
    key = capsys.readouterr().out.strip()
    assert get(client, "/api/v1/status", key).status_code == 200
