"""The staff pages in a real browser: sign in, search, open an account; no crown, Arial, no axe violations."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases="__all__")]

SCREENSHOT = "/tmp/fairdebt-accounts.png"


def test_sign_in_search_and_open_an_account(page, live_server, sign_in, ledger, console_errors):
    page.goto(f"{live_server.url}/accounts/")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/accounts/$"))

    sign_in()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    expect(page.locator("table tbody tr")).to_have_count(11)

    page.get_by_label("Search").fill("smith")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table tbody tr")).to_have_count(1)
    row = page.locator("table tbody tr").first
    expect(row).to_contain_text("J S (joint)")  # initials: names stay in the identity vault
    expect(row).to_contain_text("Council tax")

    page.get_by_role("link", name="CTAX000001").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account CTAX000001")
    expect(page.locator("table").filter(has_text="Recovery stage")).to_contain_text("CTAX000001-1")
    expect(page.locator("table").filter(has_text="Method")).to_contain_text("-£150.00")
    assert console_errors == []

    # Filter by type, then sign out (a POST from the navigation).
    page.get_by_role("link", name="Accounts", exact=True).first.click()
    page.get_by_label("Account type").select_option("parking_pcn")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(f"{live_server.url}/accounts/")
    expect(page).to_have_url(re.compile(r"/sign-in"))


def test_no_crown_arial_and_govuk_javascript_running(page, live_server, staff, console_errors):
    page.goto(f"{live_server.url}/sign-in")
    # No GOV.UK crown or logotype anywhere: this is the council's service.
    expect(page.locator(".govuk-logo, .govuk-header__logotype, .govuk-footer__crown, svg[aria-label='GOV.UK']")).to_have_count(0)
    expect(page.locator(".govuk-header")).to_contain_text("Example Borough Council")
    expect(page.locator(".govuk-header__product-name")).to_have_text("fairdebt")
    for selector in ("h1", "main p", "label", ".govuk-header__homepage-link", ".govuk-button", ".govuk-footer"):
        font = page.locator(selector).first.evaluate("e => getComputedStyle(e).fontFamily")
        assert font.lower().startswith("arial"), f"{selector} is set in {font}"
    # The GOV.UK module loaded under the CSP and initAll ran (the password input gets its Show button).
    expect(page.locator("body")).to_have_class(re.compile(r"\bgovuk-frontend-supported\b"))
    expect(page.get_by_role("button", name="Show password")).to_be_visible()
    assert console_errors == []

    # A wrong password: the error summary says what to do, and takes the focus.
    page.get_by_label("Username").fill("alex.officer")
    page.get_by_label("Password", exact=True).fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a correct username and password.")
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: Sign in"))


def test_pages_have_no_axe_violations(page, live_server, sign_in, ledger, axe_check, console_errors):
    page.goto(f"{live_server.url}/sign-in")
    assert axe_check() == [], "sign-in page"

    sign_in()
    page.set_viewport_size({"width": 1280, "height": 900})
    assert axe_check() == [], "accounts list"
    page.screenshot(path=SCREENSHOT, full_page=True)

    page.goto(f"{live_server.url}/accounts/?q=nobody")
    assert axe_check() == [], "accounts list, no results"

    account = ledger["CTAX000001"]
    page.goto(f"{live_server.url}/accounts/{account.id}/")
    assert axe_check() == [], "account page"
    assert console_errors == []
