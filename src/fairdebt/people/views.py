"""The single view of one person, re-identification, the lookup from case systems, and the audit."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import linking, picture, services
from .models import Person, Reidentification


def _priority(person) -> dict:
    """Tonight's decision for the person and their lead debt, with why; and their action history."""
    from fairdebt.worklists import services as worklists
    from fairdebt.worklists.models import CaseAction, DebtPriority, PersonPriority

    lead = PersonPriority.objects.filter(person=person).select_related("lead_debt").first()
    debt = DebtPriority.objects.filter(debt_id=lead.lead_debt_id).select_related("policy_version", "policy_version__challenger").first() if lead else None
    holder = person.allocations.filter(ended_on__isnull=True).select_related("officer__user").first()
    return {
        "priority": lead, "priority_why": worklists.explain(debt) if debt else [], "holder": holder,
        "history": list(CaseAction.objects.filter(person=person).select_related("officer")[:20]),
    }


@login_required
def person_detail(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id)
    view = picture.gather(person, timezone.localdate())
    details = services.details_if_reidentified(request.user, request.session, person)
    return render(
        request,
        "people/person.html",
        {
            "view": view,
            "details": details,
            "may_reidentify": services.may_reidentify(request.user),
            "reason_error": request.session.pop("reidentify_error", None),
            "evidence": list(linking.evidence_for(person).order_by("-match_weight")[:50]),
            **_priority(person),
        },
    )


@login_required
@require_POST
def reidentify(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id)
    try:
        services.reidentify(request.user, person, request.POST.get("reason", ""), session=request.session)
    except ValueError as exc:
        request.session["reidentify_error"] = str(exc)
    except PermissionDenied as exc:
        return render(request, "people/forbidden.html", {"message": str(exc)}, status=403)
    return redirect("person_detail", person_id=person.pk)


@login_required
def lookup(request):
    result = picture.lookup(request.GET.get("system", ""), request.GET.get("ref", ""))
    if len(result.people) == 1:
        return redirect("person_detail", person_id=result.people[0].pk)
    status = 200 if result.people else 404
    return render(
        request,
        "people/lookup.html",
        {"result": result, "system": request.GET.get("system", ""), "ref": request.GET.get("ref", "")},
        status=status,
    )


@login_required
@permission_required("people.view_reidentification_audit", raise_exception=True)
def reidentification_audit(request):
    rows = Reidentification.objects.select_related("user", "person")
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(request, "people/audit.html", {"page": page})


@login_required
def lookup_tools(request):
    """Make a bookmarklet for a case system: the officer gives its system name and the selector of the reference."""
    from fairdebt.ingest import config

    from . import lookup_tools as tools

    systems = config.systems()
    system = request.GET.get("system", "")
    selector = request.GET.get("selector", "").strip()
    errors = {}
    link = None
    if "system" in request.GET:
        if system not in systems:
            errors["system"] = "Choose the case system the bookmarklet is for."
        if not selector:
            errors["selector"] = "Enter the CSS selector of the element that shows the reference, for example #tenancy-ref."
        elif len(selector) > tools.MAX_SELECTOR:
            errors["selector"] = f"The selector must be {tools.MAX_SELECTOR} characters or fewer."
        if not errors:
            base = request.build_absolute_uri("/").rstrip("/")
            link = tools.bookmarklet(base, system, selector)
    return render(request, "people/lookup_tools.html",
                  {"systems": systems, "system": system, "selector": selector, "errors": errors, "link": link})
