"""The single view of one person, lookup from case systems, re-identification and its audit."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from fairdebt.accounts import positions
from fairdebt.ingest import services as ingest
from fairdebt.people.models import Party, Reidentification
from fairdebt.web.models import ApiToken

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
PASSWORD = "a long password for tests"


@pytest.fixture
def council(extract):
    load = lambda name, rows: ingest.ingest_file(name, extract(name, rows))  # noqa: E731
    load("council_tax.accounts", [
        dict(account_ref="CT1", party_ref="C1", role="L", forename="Jane", surname="Smith", nino="AB123456C", address_line_1="1 High Street", postcode="E8 1AA"),
        dict(account_ref="CT1", party_ref="C2", role="J", forename="John", surname="Smith", postcode="E8 1AA"),
    ])
    load("council_tax.debts", [dict(debt_ref="CT1-25", account_ref="CT1", description="Council tax 2025/26", period_start="01/04/2025",
                                    period_end="31/03/2026", recovery_stage="LO", stage_date="01/09/2025")])
    load("council_tax.transactions", [
        dict(transaction_ref="T1", debt_ref="CT1-25", kind="INST", amount="1200.00", effective_date="01/04/2025", due_date="01/04/2025"),
        dict(transaction_ref="T2", debt_ref="CT1-25", kind="PAY", amount="-80.00", effective_date="10/05/2025", method="DD"),
    ])
    load("housing.accounts", [dict(account_ref="TEN1", party_ref="P-1", role="MAIN", tenure="SEC", forename="Jayne", surname="Smith", nino="AB123456C")])
    load("housing.debts", [dict(debt_ref="RENT1", account_ref="TEN1", description="Rent account")])
    load("housing.transactions", [
        dict(transaction_ref="H1", debt_ref="RENT1", kind="DEB", amount="120.00", effective_date="2025-06-02"),
        dict(transaction_ref="H2", debt_ref="RENT1", kind="DEB", amount="120.00", effective_date="2025-06-09"),
    ])
    positions.refresh(__import__("datetime").date(2026, 1, 1))
    return Party.objects.get(party_ref="C1").person


def sign_in(client, *perms):
    user = User.objects.create_user(f"u{User.objects.count()}", password=PASSWORD)
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    client.login(username=user.username, password=PASSWORD)
    return user


def test_single_view_shows_every_service_with_the_debt_picture_and_no_names(client, council):
    sign_in(client)
    page = client.get(f"/people/{council.pk}/").content.decode()
    assert "Owes £1,360 across 2 services." in page
    # Rent first (the home is at risk), then council tax, with stages and payments in officer words.
    rent = page.index("<li>Rent account: £240, 2 weeks in arrears.</li>")
    ctax = page.index("<li>Council tax 2025/26: £1,120, liability order granted on 1 September 2025, last paid £80 on 10 May 2025.</li>")
    assert rent < ctax
    assert page.count("govuk-tag--red") == 2  # both debts are priority debts
    assert "Smith" not in page and "High Street" not in page and "AB123456C" not in page
    assert "Ask your team leader for permission" in page  # no re-identify form without the permission


def test_reidentify_needs_a_reason_then_shows_details_and_is_audited(client, council):
    officer = sign_in(client, "reidentify")
    page = client.get(f"/people/{council.pk}/").content.decode()
    assert "See name and address" in page
    response = client.post(f"/people/{council.pk}/reidentify", {"reason": "too short"}, follow=True)
    assert "Say why you need to see" in response.content.decode() and Reidentification.objects.count() == 0
    response = client.post(f"/people/{council.pk}/reidentify", {"reason": "Resident phoned about rent arrears"}, follow=True)
    page = response.content.decode()
    assert "Jane Smith" in page and "1 High Street" in page and "AB123456C" in page
    audit = Reidentification.objects.get()
    assert (audit.user, audit.person, audit.reason) == (officer, council, "Resident phoned about rent arrears")


def test_reidentify_without_permission_is_refused(client, council):
    sign_in(client)
    response = client.post(f"/people/{council.pk}/reidentify", {"reason": "Resident phoned about rent arrears"})
    assert response.status_code == 403 and Reidentification.objects.count() == 0


def test_audit_page_needs_its_permission(client, council):
    sign_in(client, "reidentify")
    client.post(f"/people/{council.pk}/reidentify", {"reason": "Resident phoned about rent arrears"})
    assert client.get("/audit/reidentifications").status_code == 403
    sign_in(client, "view_reidentification_audit")
    page = client.get("/audit/reidentifications").content.decode()
    assert "Resident phoned about rent arrears" in page and council.reference in page


@pytest.mark.parametrize("system, ref", [("housing", "TEN1"), ("housing", "rent1"), ("housing", "P-1"), ("council_tax", "C1")])
def test_lookup_from_a_case_system_opens_the_person(client, council, system, ref):
    sign_in(client)
    response = client.get("/lookup", {"system": system, "ref": ref})
    assert response.status_code == 302 and response["Location"] == f"/people/{council.pk}/"


def test_lookup_says_when_a_reference_is_shared_unknown_or_the_system_unknown(client, council):
    sign_in(client)
    shared = client.get("/lookup", {"system": "council_tax", "ref": "CT1"})
    assert shared.status_code == 200 and "More than one person has this reference" in shared.content.decode()
    unknown = client.get("/lookup", {"system": "housing", "ref": "NOPE"})
    assert unknown.status_code == 404 and "No housing account, debt or person has the reference ‘NOPE’" in unknown.content.decode()
    bad_system = client.get("/lookup", {"system": "crm", "ref": "X"})
    assert bad_system.status_code == 404 and "does not know a case system called ‘crm’" in bad_system.content.decode()


def test_lookup_needs_sign_in(client, council):
    response = client.get("/lookup", {"system": "housing", "ref": "TEN1"})
    assert response.status_code == 302 and "/sign-in" in response["Location"]


def test_summary_api(client, council):
    user = User.objects.create_user("api", password=PASSWORD)
    key = ApiToken.issue(user)[1]
    body = client.get(f"/api/v1/people/{council.pk}/summary", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert body["person"] == council.reference and body["services"] == 2
    assert body["balance_pence"] == 120000 - 8000 + 24000
    assert {d["debt_ref"] for d in body["debts"]} == {"CT1-25", "RENT1"}
    assert "Smith" not in str(body)
    assert client.get("/api/v1/people/999999/summary", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 404


def test_lookup_tools_page_makes_a_bookmarklet_for_a_system(client):
    sign_in(client)
    page = client.get("/lookup/tools", {"system": "housing", "selector": "#tenancy-ref"}).content.decode()
    import re
    from urllib.parse import unquote

    href = re.search(r'id="bookmarklet" href="([^"]+)"', page).group(1)
    source = unquote(href.removeprefix("javascript:"))
    assert '"housing"' in source and '"#tenancy-ref"' in source and '"http://testserver"' in source
    bad = client.get("/lookup/tools", {"system": "nope", "selector": ""}).content.decode()
    assert "Choose the case system" in bad and "Enter the CSS selector" in bad and 'id="bookmarklet"' not in bad
