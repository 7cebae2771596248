"""Playwright against pytest-django's live_server, driving Debian's chromium (no CDN downloads here).

Needs: `apt-get install -y chromium fonts-liberation` and `scripts/build-assets.sh` (the compiled
GOV.UK CSS/JS the pages load, and node_modules/axe-core for the accessibility checks).
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src/fairdebt/web/static/govuk"
BUILT = [STATIC / "application.css", STATIC / "govuk-frontend.min.js"]
AXE = ROOT / "node_modules/axe-core/axe.min.js"
CHROMIUM = Path("/usr/lib/chromium/chromium")  # the real binary; /usr/bin/chromium is a shell wrapper
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session", autouse=True)
def _browser_environment():
    missing = [str(p.relative_to(ROOT)) for p in [*BUILT, AXE] if not p.exists()]
    if missing:
        pytest.fail(
            f"front-end assets are missing ({', '.join(missing)}): run scripts/build-assets.sh first "
            "(make does this before the tests)",
            pytrace=False,
        )
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-liberation", pytrace=False)
    # The Playwright sync API runs an event loop in this thread, so Django would refuse ORM calls
    # made from the test itself (STACK-NOTES gotcha 10). Only for these tests.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM)}


@pytest.fixture
def console_errors(page):
    """Errors the page logs (a CSP refusal, a failed module import); tests assert there are none."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def axe_check(page):
    """Run axe-core on the current page and return its violations as readable lines.

    Injected with page.evaluate, not add_script_tag: the app's own CSP would block the tag (gotcha 9).
    """
    source = AXE.read_text()

    def check() -> list[str]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(source)
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5])
            for v in result["violations"]
        ]

    return check


@pytest.fixture
def staff(transactional_db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("alex.officer", password=PASSWORD)


@pytest.fixture
def sign_in(page, live_server, staff):
    def do(next_path: str = "/accounts/"):
        page.goto(f"{live_server.url}{next_path}")
        page.get_by_label("Username").fill("alex.officer")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}{next_path}")

    return do


@pytest.fixture
def ledger(transactional_db):
    """A dozen accounts of different types, one joint, with debts and entries, like a small council's."""
    from fairdebt.accounts.models import Account, AccountParty, Debt, LedgerEntry
    from fairdebt.people.services import create_party

    ids = itertools.count(1_000_001)
    people = [
        ("Ms", "Jane", "Smith", "AB1 2CD"),
        ("Mr", "John", "Smith", "AB1 2CD"),
        ("Mx", "Ola", "Adeyemi", "EX1 4RT"),
        ("Mrs", "Priya", "Patel", "EX2 7QA"),
        ("Mr", "Tomasz", "Nowak", "EX3 1BB"),
        ("Ms", "Aoife", "O'Brien", "EX4 9ZZ"),
        ("Mr", "Kwame", "Mensah", "EX5 3HP"),
        ("Mrs", "Fatima", "Khan", "EX6 2LN"),
        ("Mr", "David", "Jones", "EX7 8JD"),
        ("Ms", "Chloe", "Williams", "EX8 5RS"),
        ("Mr", "Ali", "Hassan", "EX9 6TU"),
        ("Ms", "Grace", "Evans", "EX1 1AA"),
    ]
    kinds = [
        ("housing_rent", "secure", "rent"),
        ("council_tax", "", "ctax"),
        ("parking_pcn", "", "pcn"),
        ("housing_benefit_overpayment", "", "hbop"),
        ("sundry", "", "sundry"),
    ]
    parties = []
    for n, (title, forename, surname, postcode) in enumerate(people, 1):
        parties.append(
            create_party(
                "ctax", f"P{n}", title=title, forename=forename,
                surname=surname, postcode=postcode, address_line_1=f"{n} Station Road", address_line_2="Exampletown",
            )
        )
    accounts = {}
    for n, party in enumerate(parties[1:], 1):
        account_type, tenure, system = kinds[n % len(kinds)]
        arrears = (13 - n) * 18_731 + n * 7
        ref = f"{system.upper()}{n:06d}"
        account = Account.objects.create(
            system=system, account_ref=ref, account_type=account_type, tenure=tenure,
            category="general" if account_type == "sundry" else "",
            balance_pence=arrears + 45_000, arrears_pence=arrears, ongoing_pence=45_000,
            positions_as_of=dt.date(2026, 11, 20),
        )
        AccountParty.objects.create(account=account, party=party, role="lead", liable_from=dt.date(2023, 4, 1))
        if n == 1:  # the Smiths are jointly liable
            AccountParty.objects.create(account=account, party=parties[0], role="joint", liable_from=dt.date(2023, 4, 1))
        debt = Debt.objects.create(
            account=account, system=system, debt_ref=f"{ref}-1", description=f"{account.type_label} 2025/26",
            period_start=dt.date(2025, 4, 1), period_end=dt.date(2026, 3, 31),
            recovery_stage="reminder" if n % 2 else "liability_order",
            balance_pence=arrears + 45_000, arrears_pence=arrears, ongoing_pence=45_000,
        )
        for kind, amount, on, method in [
            ("charge", arrears + 60_000, dt.date(2025, 4, 1), ""),
            ("payment", -15_000, dt.date(2025, 6, 1), "direct_debit"),
        ]:
            i = next(ids)
            LedgerEntry.objects.create(
                id=i, debt=debt, kind=kind, amount_pence=amount, effective_date=on,
                posting_date=on, method=method, source_system=system, source_key=f"e{i}",
            )
        accounts[ref] = account
    return accounts
