"""Staff pages: sign in and out, find an account, look at one account.

Every page runs a fixed number of queries whatever the data (no query per row): lists prefetch
their liable people in one query, and the account page fetches debts and entries in one query each.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, Prefetch, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from fairdebt.accounts import services
from fairdebt.accounts.models import Account, AccountParty, LedgerEntry
from fairdebt.domain import vocabulary as v

from .forms import AccountSearchForm, SignInForm

ACCOUNTS_PER_PAGE = 50
RECENT_ENTRIES = 50

# Stage codes whose generated label ("Nosp") would read badly.
STAGE_LABELS = {"nosp": "Notice of seeking possession", "letter_before_action": "Letter before action"}


def home(request):
    return redirect("account_list")


# --- signing in and out ------------------------------------------------------------------------


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request):
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        form = SignInForm(request, data=request.POST)
        if form.is_valid():
            login(request, form.get_user())
            return redirect(next_url)
    elif request.user.is_authenticated:
        return redirect(next_url)
    else:
        form = SignInForm(request)
    error_list, field_errors = form.govuk_errors() if form.is_bound else ([], {})
    return render(
        request,
        "web/sign_in.html",
        {"form": form, "next": next_url, "error_list": error_list, "field_errors": field_errors},
    )


@require_POST
def sign_out(request):
    logout(request)
    messages.success(request, "You have signed out.")
    return redirect("sign_in")


# --- accounts ------------------------------------------------------------------------------------


def _liable_prefetch() -> Prefetch:
    """Each account's liable people with their party, lead first, in one query for a whole page."""
    lead_first = Case(When(role="lead", then=Value(0)), default=Value(1), output_field=IntegerField())
    return Prefetch(
        "liable",
        queryset=AccountParty.objects.select_related("party__person").order_by(lead_first, "id"),
        to_attr="liable_people",
    )


def _page_url(query: str, account_type: str, number: int) -> str:
    params = {k: val for k, val in (("q", query), ("type", account_type)) if val}
    if number > 1:
        params["page"] = number
    return reverse("account_list") + (f"?{urlencode(params)}" if params else "")


def _pagination(page, query: str, account_type: str) -> dict | None:
    """govukPagination params: first, last and the pages either side of the current one, with ellipses."""
    paginator = page.paginator
    if paginator.num_pages <= 1:
        return None
    current, last = page.number, paginator.num_pages
    shown = sorted({1, last, current - 1, current, current + 1} & set(range(1, last + 1)))
    items, previous = [], 0
    for n in shown:
        if n - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": n, "href": _page_url(query, account_type, n), "current": n == current})
        previous = n
    params: dict = {"items": items, "landmarkLabel": "Pages of accounts"}
    if page.has_previous():
        params["previous"] = {"href": _page_url(query, account_type, page.previous_page_number())}
    if page.has_next():
        params["next"] = {"href": _page_url(query, account_type, page.next_page_number())}
    return params


@login_required
def account_list(request):
    form = AccountSearchForm(request.GET)
    query, account_type = form.terms()
    accounts = services.search_accounts(query, account_type).prefetch_related(_liable_prefetch())
    page = Paginator(accounts, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    ledger_empty = not page.object_list and not Account.objects.exists()
    return render(
        request,
        "web/accounts/list.html",
        {
            "query": query,
            "account_type": account_type,
            "account_type_label": v.ACCOUNT_TYPE_LABELS.get(account_type, ""),
            "type_items": [
                {"value": value, "text": label, "selected": value == account_type}
                for value, label in form.fields["type"].choices
            ],
            "page": page,
            "accounts": list(page.object_list),
            "pagination": _pagination(page, query, account_type),
            "ledger_empty": ledger_empty,
            "searching": bool(query or account_type),
        },
    )


@login_required
def account_detail(request, account_id: int):
    account = get_object_or_404(Account.objects.prefetch_related(_liable_prefetch()), pk=account_id)
    debts = list(account.debts.order_by(F("period_start").desc(nulls_last=True), "debt_ref", "id"))
    account_entries = LedgerEntry.objects.filter(debt__account=account)
    entries = list(
        account_entries.select_related("debt").order_by("-effective_date", "-posting_date", "-id")[:RECENT_ENTRIES]
    )
    entry_count = len(entries) if len(entries) < RECENT_ENTRIES else account_entries.count()
    return render(
        request,
        "web/accounts/detail.html",
        {
            "account": account,
            "debts": debts,
            "entries": entries,
            "entry_count": entry_count,
            "stage_labels": STAGE_LABELS,
        },
    )
