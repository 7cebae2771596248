"""Officer pages for holds: the list, ending soon, the Breathing Space worklist and notices, a
moratorium's record, a person's holds and vulnerability, and "what we did not send and why"."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fairdebt.domain import holds as rules
from fairdebt.people.models import Person

from . import breathing_space as bs
from . import services
from .models import HeldDebt, Hold, HoldPolicyVersion, Moratorium, RegisterNotice, ReviewRequest, Suppression, Vulnerability


def _date(post, name: str, label: str, errors: dict, required: bool = True) -> dt.date | None:
    """A GOV.UK date input (name-day, name-month, name-year) or an error saying what to enter."""
    parts = [post.get(f"{name}-{p}", "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        if required:
            errors[name] = f"Enter the {label}"
        return None
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1900:
            raise ValueError
        return dt.date(year, month, day)
    except ValueError:
        errors[name] = f"The {label} must be a real date, for example 27 3 2026"
        return None


def _person(ref: str) -> Person | None:
    ref = (ref or "").strip().upper().lstrip("P")
    return Person.objects.filter(pk=int(ref)).first() if ref.isdigit() else None


@login_required
def hold_list(request):
    today = timezone.localdate()
    kind = request.GET.get("kind", "")
    ending = request.GET.get("ending") == "14"
    holds = services.ending_soon(today, 14) if ending else services.all_active(today, kind if kind in rules.HOLD_KINDS else "").order_by("-start", "-id")
    page = Paginator(holds, 50).get_page(request.GET.get("page"))
    counts = dict(services.all_active(today).values_list("kind").annotate(n=Count("id")).order_by())
    return render(request, "holds/list.html", {"page": page, "kind": kind, "ending": ending, "kinds": rules.HOLD_KINDS, "counts": counts, "today": today})


@login_required
def worklist(request):
    today = timezone.localdate()
    return render(request, "holds/worklist.html", {"tasks": services.worklist(today, horizon_days=14), "today": today})


@login_required
def notice_list(request):
    notices = RegisterNotice.objects.filter(status__in=["unmatched", "ambiguous", "conflict"])
    recent = RegisterNotice.objects.exclude(status__in=["unmatched", "ambiguous", "conflict"])[:50]
    return render(request, "holds/notices.html", {"notices": notices, "recent": recent})


@login_required
def notice_detail(request, notice_id: int):
    notice = get_object_or_404(RegisterNotice, pk=notice_id)
    error = ""
    if request.method == "POST":
        if not request.user.has_perm("holds.add_hold"):
            raise PermissionDenied("You need permission to place holds. Ask your team leader.")
        person = _person(request.POST.get("person", ""))
        if person is None:
            error = "Enter the person's reference, for example P0000123. Find it by searching the accounts."
        else:
            try:
                bs.match_by_hand(notice, person, request.user)
                return redirect("person_holds", person_id=person.pk)
            except ValueError as exc:
                error = str(exc)
    people = Person.objects.filter(pk__in=notice.candidates)
    return render(request, "holds/notice.html", {"notice": notice, "people": people, "error": error})


@login_required
def moratorium_detail(request, moratorium_id: int):
    m = get_object_or_404(Moratorium.objects.select_related("person"), pk=moratorium_id)
    policy, _ = HoldPolicyVersion.current(m.received_on)
    held = HeldDebt.objects.filter(hold__moratorium=m).select_related("debt", "debt__account").order_by("added_on", "debt__debt_ref")
    rows = [(h, policy.creditor_review_deadline(max(h.added_on, m.start_date))) for h in held]
    midway = policy.midway_review_window(m.start_date) if m.type == "standard" else None
    errors = {}
    if request.method == "POST":
        grounds = request.POST.get("grounds", "")
        if grounds not in ReviewRequest.GROUNDS:
            errors["grounds"] = "Choose the grounds for the review"
        debt_id = request.POST.get("debt", "")
        debt = next((h.debt for h, _ in rows if str(h.debt_id) == debt_id), None)
        if not errors:
            ReviewRequest.objects.create(moratorium=m, debt=debt, grounds=grounds, detail=request.POST.get("detail", "").strip(),
                                         requested_on=timezone.localdate(), requested_by=request.user)
            return redirect("moratorium_detail", moratorium_id=m.pk)
    suppressed = Suppression.objects.filter(hold__moratorium=m).select_related("debt")[:100]
    return render(request, "holds/moratorium.html", {
        "m": m, "rows": rows, "midway": midway, "report": m.other_debts_report or {}, "suppressed": suppressed,
        "reviews": m.review_requests.select_related("debt"), "grounds": ReviewRequest.GROUNDS, "errors": errors,
        "notices": m.notices.all(), "payments": services.payments_during(m), "charges": services.charges_during(m),
    })


@login_required
def person_holds(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id)
    today = timezone.localdate()
    policy, _ = HoldPolicyVersion.current(today)
    holds = Hold.objects.filter(person=person).select_related("moratorium", "vulnerability").order_by("-start", "-id")
    errors: dict[str, str] = {}
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        if not request.user.has_perm("holds.add_hold"):
            raise PermissionDenied("You need permission to place holds. Ask your team leader.")
        kind = request.POST.get("kind", "")
        start = _date(request.POST, "start", "start date", errors)
        until = _date(request.POST, "until", "end date", errors, required=False)
        chosen = request.POST.getlist("debts")
        debts = list(services.person_debts(person).filter(pk__in=chosen)) if chosen else None
        if kind not in services.MANUAL_KINDS:
            errors["kind"] = "Choose the kind of hold"
        if not errors:
            try:
                services.place_hold(person, kind, start=start, until=until, reason_code=request.POST.get("reason_code", ""),
                                    reason=request.POST.get("reason", ""), debts=debts, user=request.user)
                return redirect("person_holds", person_id=person.pk)
            except services.HoldError as exc:
                errors["reason"] = str(exc)
    see_vulnerability = request.user.has_perm("holds.view_vulnerability_details")
    return render(request, "holds/person.html", {
        "person": person, "holds": holds, "today": today, "errors": errors, "values": values,
        "kinds": {k: rules.HOLD_KINDS[k] for k in services.MANUAL_KINDS}, "pause_reasons": policy.pause_reasons,
        "insolvency_types": rules.INSOLVENCY_TYPES, "debts": services.person_debts(person).order_by("account__account_type", "debt_ref"),
        "vulnerabilities": Vulnerability.objects.filter(person=person) if see_vulnerability else None,
        "vulnerability_count": Vulnerability.objects.filter(person=person, ended_on__isnull=True).count(),
        "may_place": request.user.has_perm("holds.add_hold"),
        "may_record_vulnerability": request.user.has_perm("holds.add_vulnerability"),
        "moratoria": person.moratoria.all(),
    })


@login_required
@require_POST
def end_hold(request, person_id: int, hold_id: int):
    if not request.user.has_perm("holds.change_hold"):
        raise PermissionDenied("You need permission to end holds. Ask your team leader.")
    hold = get_object_or_404(Hold, pk=hold_id, person_id=person_id)
    try:
        services.end_hold(hold, timezone.localdate(), request.POST.get("end_reason", ""), user=request.user)
    except services.HoldError as exc:
        request.session["hold_error"] = str(exc)
    return redirect("person_holds", person_id=person_id)


@login_required
def record_vulnerability(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id)
    if not request.user.has_perm("holds.add_vulnerability"):
        raise PermissionDenied("You need permission to record vulnerability. Ask your team leader.")
    errors: dict[str, str] = {}
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        review_on = _date(request.POST, "review", "review date", errors)
        consent = request.POST.get("consent")
        if consent not in {"yes", "no"}:
            errors["consent"] = "Say whether the resident agreed to us recording this"
        if not errors:
            try:
                services.record_vulnerability(
                    person, driver=request.POST.get("driver", ""), severity=request.POST.get("severity", ""),
                    impact=request.POST.get("impact", ""), duration=request.POST.get("duration", "unknown"),
                    support_needs=request.POST.get("support_needs", ""), consent_given=consent == "yes",
                    consent_scope=request.POST.get("consent_scope", ""), review_on=review_on,
                    letters_only=request.POST.get("letters_only") == "yes", user=request.user,
                )
                return redirect("person_holds", person_id=person.pk)
            except services.HoldError as exc:
                errors["form"] = str(exc)
    return render(request, "holds/vulnerability.html", {
        "person": person, "errors": errors, "values": values, "drivers": rules.VULNERABILITY_DRIVERS,
        "severities": rules.SEVERITIES, "durations": Vulnerability.DURATIONS,
    })


@login_required
def not_sent(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id)
    page = Paginator(Suppression.objects.filter(person=person).select_related("debt", "hold"), 50).get_page(request.GET.get("page"))
    return render(request, "holds/not_sent.html", {"person": person, "page": page})


@login_required
def enter_moratorium(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id)
    if not request.user.has_perm("holds.add_hold"):
        raise PermissionDenied("You need permission to record a Breathing Space. Ask your team leader.")
    errors: dict[str, str] = {}
    values = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        reference = request.POST.get("reference", "").strip()
        kind = request.POST.get("type", "")
        registered = _date(request.POST, "registered", "date it was registered", errors)
        end = _date(request.POST, "end", "end date", errors, required=False)
        if not reference:
            errors["reference"] = "Enter the Breathing Space reference from the register's notice"
        if kind not in Moratorium.TYPES:
            errors["type"] = "Choose standard or mental health crisis"
        if not errors:
            try:
                notice = bs.enter_by_hand(
                    person, reference=reference, type=kind, registered_on=registered, end_date=end,
                    debt_refs=[r.strip() for r in request.POST.get("debt_refs", "").replace(",", "\n").splitlines() if r.strip()],
                    adviser={k: request.POST.get(f"adviser_{k}", "").strip() for k in ("name", "organisation", "fca_reference", "email", "phone")},
                    user=request.user,
                )
                return redirect("moratorium_detail", moratorium_id=notice.moratorium_id) if notice.moratorium_id else redirect("notice_detail", notice_id=notice.pk)
            except ValueError as exc:
                errors["reference"] = str(exc)
    return render(request, "holds/enter_moratorium.html", {"person": person, "errors": errors, "values": values, "types": Moratorium.TYPES})
