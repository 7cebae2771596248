"""The nightly prioritisation over the council's own database, allocation, and prompted actions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import pyarrow as pa
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from fairdebt.batch import prioritise as batch
from fairdebt.domain import allocation as alloc
from fairdebt.domain import prioritisation as rules
from fairdebt.people.models import Party

from .models import Allocation, CaseAction, DebtPriority, Officer, PersonPriority, PrioritisationPolicyVersion

# Effects that mean recovery may not proceed on a debt today.
_STOPPING = {"stop_recovery", "stop_contact", "pause_enforcement"}


def _arrow(sql: str, params: list, schema: pa.Schema) -> pa.Table:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    return pa.Table.from_arrays([pa.array(list(col), type=field.type) for col, field in zip(columns, schema)], schema=schema)


def _date(value):
    return value if value is None or isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def inputs(on: dt.date) -> dict[str, pa.Table]:
    """The batch inputs from the database: debts (with their lead person), ledger, holds, contacts."""
    debts = _arrow(
        """SELECT d.id, COALESCE(MIN(CASE WHEN ap.role = 'lead' THEN p.person_id END), MIN(p.person_id)), a.account_type, a.tenure,
                  d.recovery_stage, d.stage_date
           FROM accounts_debt d JOIN accounts_account a ON a.id = d.account_id
           JOIN accounts_accountparty ap ON ap.account_id = a.id JOIN people_party p ON p.id = ap.party_id
           GROUP BY d.id, a.account_type, a.tenure, d.recovery_stage, d.stage_date""",
        [], batch_schema("debts"),
    )
    if connection.vendor == "sqlite":  # SQLite hands dates back as text
        debts = debts.set_column(5, "stage_date", pa.array([_date(x) for x in debts.column(5).to_pylist()], pa.date32()))
    entries = _arrow(
        "SELECT debt_id, kind, amount_pence, effective_date, due_date, method FROM accounts_ledgerentry WHERE effective_date <= %s",
        [on], batch_schema("entries"),
    )
    held = sorted(held_debts(on))
    from fairdebt.holds.services import vulnerable_people
    from fairdebt.outbox.models import OutboxMessage

    vulnerable = sorted(vulnerable_people(on))
    contacts = list(
        OutboxMessage.objects.filter(status="sent", recipient="resident", person__isnull=False).values("person_id").annotate(last=Max("sent_at"))
    )
    return {
        "debts": debts, "entries": entries,
        "held": pa.table({"debt_id": pa.array(held, pa.int64())}),
        "vulnerable": pa.table({"person_id": pa.array(vulnerable, pa.int64())}),
        "contacts": pa.table({"person_id": pa.array([c["person_id"] for c in contacts], pa.int64()),
                              "last_contact": pa.array([timezone.localtime(c["last"]).date() for c in contacts], pa.date32())}),
    }


def batch_schema(name: str) -> pa.Schema:
    if name == "debts":
        return pa.schema([("debt_id", pa.int64()), ("person_id", pa.int64()), ("account_type", pa.string()), ("tenure", pa.string()),
                          ("recovery_stage", pa.string()), ("stage_date", pa.date32())])
    return pa.schema([("debt_id", pa.int64()), ("kind", pa.string()), ("amount", pa.int64()), ("effective_date", pa.date32()),
                      ("due_date", pa.date32()), ("method", pa.string())])


def held_debts(on: dt.date) -> set[int]:
    """Debts on which a hold stops recovery today (the guard decides each action; this is the feature).

    Three queries whatever the number of holds; which debts a hold covers is the domain's rule
    (`Hold.covers`), as the guard applies it."""
    from types import SimpleNamespace

    from fairdebt.accounts.models import Debt
    from fairdebt.holds.models import HeldDebt, Hold

    holds = [h for h in Hold.objects.active(on) if _STOPPING & set(h.effects)]
    listed: dict[int, set[int]] = defaultdict(set)
    for hold_id, debt_id in HeldDebt.objects.filter(hold__in=[h for h in holds if h.scope_debts]).values_list("hold_id", "debt_id"):
        listed[hold_id].add(debt_id)
    owed: dict[int, list] = defaultdict(list)
    people = {h.person_id for h in holds if not h.scope_debts}
    if people:
        rows = Debt.objects.filter(account__liable__party__person_id__in=people).values_list(
            "id", "account__account_type", "account__liable__party__person_id").distinct()
        for debt_id, account_type, person_id in rows:
            owed[person_id].append(SimpleNamespace(id=debt_id, account_type=account_type))
    held: set[int] = set()
    for hold in holds:
        rule = hold.rule(frozenset(listed[hold.pk]))
        candidates = [SimpleNamespace(id=d, account_type="") for d in listed[hold.pk]] if hold.scope_debts else owed[hold.person_id]
        held |= {d.id for d in candidates if rule.covers(d)}
    return held


@dataclass
class Run:
    debts: int
    people: int
    changed_debts: int
    changed_people: int
    challenger_people: int
    seconds: float


def prioritise(on: dt.date | None = None) -> Run:
    """Decide every debt and person for `on` and keep the decisions that changed."""
    import time

    on = on or timezone.localdate()
    started = time.perf_counter()
    version = PrioritisationPolicyVersion.current(on)
    champion = version.policy
    challenger = version.challenger.policy if version.challenger_id and version.challenger_percent else None
    data = inputs(on)
    con = batch.connect("duckdb")
    tables = {name: batch.table(con, name, value) for name, value in data.items()}
    decisions = batch.run(tables["debts"], tables["entries"], tables["held"], tables["vulnerable"], tables["contacts"], on,
                          champion, challenger, seed=version.challenger_seed, percent=version.challenger_percent)
    decided = decisions.to_pyarrow()  # run once; each person's lead debt is picked from these rows
    debt_rows = decided.to_pylist()
    table = batch.table(con, "decided", decided)
    persons = batch.leads(batch.people(table, champion, challenger), table)
    people_rows = batch.labelled(persons, champion, challenger).to_pyarrow().to_pylist()
    areas = dict(Party.objects.exclude(area="").values_list("person_id", "area").order_by("person_id", "id"))
    kinds = {"champion": champion, "challenger": challenger or champion}
    changed_debts = _keep_debts(debt_rows, version, on)
    changed_people = _keep_people(people_rows, kinds, areas, version, on)
    return Run(len(debt_rows), len(people_rows), changed_debts, changed_people,
               sum(1 for p in people_rows if p["variant"] == "challenger"), round(time.perf_counter() - started, 2))


def _contributions(row: dict) -> dict:
    # Stored for explanations: two places, as shown (the batch keeps them as 32-bit floats).
    return {k[2:]: round(v, 2) for k, v in row.items() if k.startswith("c_") and v}


def _keep(model, key: str, decided: dict[int, dict], version, on: dt.date) -> int:
    """Write only what changed: new rows, rows whose decision differs, and remove rows no longer decided."""
    existing = {getattr(row, key): row for row in model.objects.all()}
    fields = sorted({f for values in decided.values() for f in values})
    new, changed = [], []
    for pk, values in decided.items():
        old = existing.pop(pk, None)
        if old is None:
            new.append(model(**{key: pk}, policy_version=version, decided_on=on, **values))
        elif any(getattr(old, f) != v for f, v in values.items()) or old.policy_version_id != version.pk:
            for f, v in values.items():
                setattr(old, f, v)
            old.policy_version, old.decided_on = version, on
            changed.append(old)
    with transaction.atomic():
        model.objects.bulk_create(new, batch_size=2000)
        model.objects.bulk_update(changed, [*fields, "policy_version", "decided_on"], batch_size=2000)
        if existing:
            model.objects.filter(**{f"{key}__in": list(existing)}).delete()
    return len(new) + len(changed)


def _keep_debts(rows: list[dict], version, on: dt.date) -> int:
    return _keep(DebtPriority, "debt_id", {r["debt_id"]: dict(
        person_id=r["person_id"], score=r["score"], contributions=_contributions(r), segment=r["segment"], segment_rule=r["segment_rule"],
        rag=r["rag"], rag_rule=r["rag_rule"], action=r["action"], action_rule=r["action_rule"], overlaps=r["overlaps"], variant=r["variant"],
    ) for r in rows}, version, on)


def _keep_people(rows: list[dict], policies: dict, areas: dict, version, on: dt.date) -> int:
    return _keep(PersonPriority, "person_id", {r["person_id"]: dict(
        lead_debt_id=r["lead_debt_id"], score=r["score"], segment=r["segment"], rag=r["rag"], action=r["action"],
        action_kind=policies[r["variant"]].kind_of(r["action"]), variant=r["variant"], debts=r["debts"],
        arrears_pence=r["person_arrears"], area=areas.get(r["person_id"], ""),
    ) for r in rows}, version, on)


def explain(debt_priority: DebtPriority) -> list[str]:
    """Why this debt got its score, workstream, RAG and action, from the version that decided it."""
    policy = debt_priority.policy_version.policy
    if debt_priority.variant == "challenger" and debt_priority.policy_version.challenger_id:
        policy = debt_priority.policy_version.challenger.policy
    decision = rules.Decision(debt_priority.score, dict(debt_priority.contributions), debt_priority.segment, debt_priority.segment_rule,
                              debt_priority.rag, debt_priority.rag_rule, debt_priority.action, debt_priority.action_rule,
                              tuple(["another rule"] * debt_priority.overlaps))
    lines = decision.why(policy)
    if debt_priority.overlaps:
        lines[-1] = f"{debt_priority.overlaps} more action rule(s) also matched: check the policy's order"
    if debt_priority.variant == "challenger":
        lines.append("Decided by the challenger policy (a trial share of cases).")
    return lines


# -- allocation -------------------------------------------------------------------------------


def allocate(on: dt.date | None = None) -> dict[str, int]:
    """Give every case with work to an officer: keep suitable current holders, move the rest."""
    on = on or timezone.localdate()
    version = PrioritisationPolicyVersion.current(on)
    needs_for = (version.allocation or {}).get("needs", {"vulnerable": "vulnerability"})
    officers = {o.pk: o for o in Officer.objects.select_related("user")}
    current = {a.person_id: a for a in Allocation.objects.filter(ended_on__isnull=True)}
    from fairdebt.holds.services import vulnerable_people

    vulnerable = vulnerable_people(on)
    last = dict(Allocation.objects.filter(ended_on__isnull=False).order_by("person_id", "ended_on").values_list("person_id", "officer_id"))
    cases, keep = [], defaultdict(int)
    counts = {"kept": 0, "allocated": 0, "unallocated": 0, "released": 0}
    work = PersonPriority.objects.exclude(segment="none")
    with_work = set()
    for p in work:
        with_work.add(p.person_id)
        needs = set()
        if p.person_id in vulnerable and needs_for.get("vulnerable"):
            needs.add(needs_for["vulnerable"])
        if needs_for.get(p.action_kind):
            needs.add(needs_for[p.action_kind])
        holder = current.get(p.person_id)
        officer = officers.get(holder.officer_id) if holder else None
        if officer and not officer.away(on) and p.segment in officer.workstreams and needs <= set(officer.skills):
            keep[officer.pk] += 1
            counts["kept"] += 1
            continue
        cases.append(alloc.Case(p.person_id, p.segment, p.score, frozenset(needs), "", holder.officer_id if holder else last.get(p.person_id)))
    staff = [alloc.Officer(o.pk, frozenset(o.workstreams), o.capacity, frozenset(o.skills), frozenset(o.languages), keep[o.pk], o.away(on))
             for o in officers.values()]
    result = alloc.allocate(cases, staff)
    with transaction.atomic():
        # Cases with no work left, or moved, end their current allocation.
        for person_id, a in current.items():
            if person_id not in with_work:
                a.ended_on = on
                a.save(update_fields=["ended_on"])
                counts["released"] += 1
        for a in result.allocations:
            holder = current.get(a.person_id)
            if holder and holder.ended_on is None:
                holder.ended_on = on
                holder.save(update_fields=["ended_on"])
            if a.officer_id is None:
                counts["unallocated"] += 1
                continue
            Allocation.objects.create(person_id=a.person_id, officer_id=a.officer_id, allocated_on=on, reason=a.reason)
            counts["allocated"] += 1
    return counts


def held_by_someone():
    """A filter for PersonPriority rows whose person has a current allocation."""
    from django.db.models import Exists, OuterRef

    return Exists(Allocation.objects.filter(person_id=OuterRef("person_id"), ended_on__isnull=True))


def unallocated(on: dt.date | None = None):
    return PersonPriority.objects.exclude(segment="none").filter(~held_by_someone())


# -- prompted actions -------------------------------------------------------------------------


def prompted(officer: Officer, on: dt.date | None = None):
    """The officer's list for today: their cases whose next action is for a person to do, not yet done."""
    on = on or timezone.localdate()
    people = PersonPriority.objects.filter(
        person__allocations__officer=officer, person__allocations__ended_on__isnull=True
    ).exclude(action_kind="none").select_related("lead_debt", "lead_debt__account")
    done = set(CaseAction.objects.filter(officer=officer.user, recorded_at__date__gte=on - dt.timedelta(days=0))
               .values_list("person_id", "action"))
    return [p for p in people.order_by("-score") if (p.person_id, p.action) not in done]


def record(user, person_priority: PersonPriority, outcome: str, notes: str = "") -> CaseAction:
    from .models import OUTCOMES

    choices = OUTCOMES.get(person_priority.action_kind, {})
    if outcome not in choices:
        raise ValueError(f"Choose an outcome: {', '.join(choices.values())}.")
    return CaseAction.objects.create(
        person_id=person_priority.person_id, debt=person_priority.lead_debt, action=person_priority.action, kind=person_priority.action_kind,
        outcome=outcome, notes=notes.strip(), officer=user, prompted_on=person_priority.decided_on,
    )


def trial_results() -> list[dict]:
    """Champion / challenger for management information: per arm, the people decided, their arrears,
    what officers did and how it turned out (outcomes recorded since the trial's decisions)."""
    from django.db.models import Count, Sum

    arms = {r["variant"]: dict(r, outcomes={}) for r in PersonPriority.objects.values("variant").annotate(
        people=Count("person_id"), arrears=Sum("arrears_pence"), with_work=Count("person_id", filter=~Q(segment="none")))}
    for r in CaseAction.objects.filter(person__priority__isnull=False).values("person__priority__variant", "outcome").annotate(n=Count("id")):
        arm = arms.get(r["person__priority__variant"])
        if arm is not None:
            arm["outcomes"][r["outcome"]] = r["n"]
    return [arms[k] for k in sorted(arms)]
