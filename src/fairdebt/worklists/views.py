"""Worklists: queues per workstream, my list for today, home visits by area, the team's load."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fairdebt.domain.vocabulary import ACCOUNT_TYPE_LABELS

from . import services
from .models import KINDS, OUTCOMES, RAGS, SEGMENTS, Allocation, Officer, PersonPriority

SORTS = {"score": "-score", "arrears": "-arrears_pence"}


@login_required
def queue(request, segment: str = "recover"):
    if segment not in SEGMENTS or segment == "none":
        segment = "recover"
    rows = PersonPriority.objects.filter(segment=segment).select_related("lead_debt", "lead_debt__account")
    rag, action, holder = request.GET.get("rag", ""), request.GET.get("action", ""), request.GET.get("officer", "")
    if rag in RAGS:
        rows = rows.filter(rag=rag)
    if action:
        rows = rows.filter(action=action)
    if holder == "none":
        rows = rows.filter(~services.held_by_someone())
    elif holder == "me":
        rows = rows.filter(person__allocations__ended_on__isnull=True, person__allocations__officer__user=request.user)
    sort = request.GET.get("sort", "score")
    page = Paginator(rows.order_by(SORTS.get(sort, "-score"), "person_id"), 50).get_page(request.GET.get("page"))
    holders = dict(Allocation.objects.filter(ended_on__isnull=True, person_id__in=[p.person_id for p in page.object_list])
                   .values_list("person_id", "officer__user__username"))
    counts = dict(PersonPriority.objects.values_list("segment").annotate(n=Count("person_id")))
    actions = sorted(PersonPriority.objects.filter(segment=segment).values_list("action", flat=True).distinct())
    return render(request, "worklists/queue.html", {
        "segment": segment, "segments": {k: v for k, v in SEGMENTS.items() if k != "none"}, "counts": counts, "page": page,
        "holders": holders, "rag": rag, "action": action, "holder": holder, "sort": sort, "actions": actions, "rags": RAGS,
        "labels": ACCOUNT_TYPE_LABELS,
    })


@login_required
def today(request):
    officer = Officer.objects.filter(user=request.user).first()
    rows = services.prompted(officer) if officer else []
    return render(request, "worklists/today.html", {"officer": officer, "rows": rows, "outcomes": OUTCOMES, "kinds": KINDS,
                                                    "error": request.session.pop("outcome_error", "")})


@login_required
@require_POST
def record(request, person_id: int):
    priority = get_object_or_404(PersonPriority, pk=person_id)
    try:
        services.record(request.user, priority, request.POST.get("outcome", ""), request.POST.get("notes", ""))
    except ValueError as exc:
        request.session["outcome_error"] = str(exc)
    return redirect(request.POST.get("next") or "worklist_today")


@login_required
def visits(request):
    rows = PersonPriority.objects.filter(action_kind="home_visit").select_related("lead_debt", "lead_debt__account").order_by("area", "-score")
    mine = request.GET.get("mine") == "1"
    if mine:
        rows = rows.filter(person__allocations__ended_on__isnull=True, person__allocations__officer__user=request.user)
    areas: dict[str, list] = defaultdict(list)
    for p in rows:
        areas[p.area or "Area not known"].append(p)
    return render(request, "worklists/visits.html", {"areas": dict(areas), "outcomes": OUTCOMES["home_visit"], "mine": mine})


@login_required
def team(request):
    on = timezone.localdate()
    if request.method == "POST":
        if not request.user.has_perm("worklists.change_officer"):
            raise PermissionDenied("Only a team leader can mark officers away. Ask your team leader.")
        officer = get_object_or_404(Officer, pk=request.POST.get("officer"))
        try:
            officer.away_until = dt.date.fromisoformat(request.POST.get("away_until", "")) if request.POST.get("away_until") else None
        except ValueError:
            request.session["team_error"] = "Enter the last day away as a date, for example 2026-12-24."
            return redirect("worklist_team")
        officer.save(update_fields=["away_until"])
        counts = services.allocate(on)
        request.session["team_message"] = f"Cases reallocated: {counts['allocated']} moved, {counts['kept']} kept, {counts['unallocated']} waiting."
        return redirect("worklist_team")
    load = {o["officer"]: o for o in Allocation.objects.filter(ended_on__isnull=True).values("officer").annotate(
        n=Count("id"), red=Count("id", filter=Q(person__priority__rag="red")),
        prevent=Count("id", filter=Q(person__priority__segment="prevent")), resolve=Count("id", filter=Q(person__priority__segment="resolve")),
        recover=Count("id", filter=Q(person__priority__segment="recover")))}
    officers = list(Officer.objects.select_related("user").order_by("team", "user__username"))
    waiting = services.unallocated(on).count()
    return render(request, "worklists/team.html", {"officers": officers, "load": load, "waiting": waiting, "on": on,
                                                   "trial": services.trial_results(), "version": services.PrioritisationPolicyVersion.current(on),
                                                   "message": request.session.pop("team_message", ""), "error": request.session.pop("team_error", ""),
                                                   "may_change": request.user.has_perm("worklists.change_officer")})
