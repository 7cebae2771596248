"""Jinja2 with the GOV.UK Frontend macros (govuk-frontend-jinja) mounted under their own prefix."""

from django.templatetags.static import static
from django.urls import reverse
from jinja2 import ChainableUndefined, ChoiceLoader, Environment, PackageLoader, PrefixLoader


def environment(**options):
    # ChainableUndefined: govuk template.html calls macros without params (see STACK-NOTES gotcha 2).
    options["undefined"] = ChainableUndefined
    env = Environment(**options)
    env.loader = ChoiceLoader(
        [env.loader, PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})]
    )
    env.globals.update(static=static, url=reverse)
    return env


def govuk_context(request):
    from fairdebt.config.models import council_name

    # str() the lazy nonce: its bool() is False until rendered (STACK-NOTES gotcha 3).
    nonce = str(request.csp_nonce) if hasattr(request, "csp_nonce") else None
    return {"cspNonce": nonce, "council_name": council_name()}
