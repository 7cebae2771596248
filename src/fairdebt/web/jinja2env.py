"""Jinja2 with the GOV.UK Frontend macros (govuk-frontend-jinja) mounted under their own prefix."""

from __future__ import annotations

import datetime as dt

from django.templatetags.static import static
from django.urls import reverse
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader, PrefixLoader
from jinja2.runtime import Undefined

from fairdebt.domain.money import format_pounds


def pounds(pence) -> str:
    """Integer pence for people: 123456 -> "£1,234.56", -1230 -> "-£12.30". Never via float."""
    if pence is None or isinstance(pence, Undefined):
        return ""
    return format_pounds(pence)  # refuses floats and Decimals: money is whole pence


def govuk_date(value, short: bool = False) -> str:
    """A date the GOV.UK way: "1 April 2026" (short: "1 Apr 2026"). Blank for None."""
    if value is None or isinstance(value, Undefined) or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"{value.day} {value:%b %Y}" if short else f"{value.day} {value:%B %Y}"


def govuk_datetime(value) -> str:
    """A moment the GOV.UK way, in the council's time zone: "23 November 2026 at 6:05pm"."""
    if value is None or isinstance(value, Undefined):
        return ""
    from django.utils import timezone

    local = timezone.localtime(value)
    hour = local.hour % 12 or 12
    return f"{govuk_date(local)} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def humanise(code) -> str:
    """A vocabulary code for people: "direct_debit" -> "Direct debit"."""
    if code is None or isinstance(code, Undefined):
        return ""
    text = str(code).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def environment(**options):
    # ChainableUndefined: govuk template.html calls macros without params (see STACK-NOTES gotcha 2).
    options["undefined"] = ChainableUndefined
    env = Environment(**options)
    env.loader = ChoiceLoader(
        [env.loader, PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})]
    )
    env.globals.update(static=static, url=reverse)
    env.filters.update(pounds=pounds, govuk_date=govuk_date, govuk_datetime=govuk_datetime, humanise=humanise)
    return env


def govuk_context(request):
    from fairdebt.config.models import council_name

    # str() the lazy nonce: its bool() is False until rendered (STACK-NOTES gotcha 3).
    nonce = str(request.csp_nonce) if hasattr(request, "csp_nonce") else None
    return {"cspNonce": nonce, "council_name": council_name()}
