"""Nightly prioritisation of every debt and person, in Ibis: DuckDB by default, Spark when
FAIRDEBT_BATCH_ENGINE=spark. No Django: tables in, tables out.

Inputs (Ibis tables; any backend):
  debts    debt_id, person_id, account_type, tenure, recovery_stage, stage_date
  entries  debt_id, kind, amount, effective_date, due_date, method   (the ledger, pence)
  held     debt_id                  debts a hold stops recovery on today (may be empty)
  vulnerable person_id              people with a vulnerability recorded (may be empty)
  contacts person_id, last_contact  the last day we sent the person something (may be empty)

`ledger_summary` folds the ledger into one row per debt (positions by the rule of
domain/ledger.py, payment history); `features` adds the debt's and its person's features
(domain/prioritisation.FEATURES); `decide` compiles the policy's weights and ordered rules into
column expressions, so every debt gets score, each factor's contribution, workstream, RAG and next
action with the rule that fired and the rules that also matched; `people` picks each person's
lead debt. Champion / challenger: a reproducible share of people (hash of seed and person id)
is decided by the challenger policy, and the variant is kept on every row.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile

import ibis
import ibis.expr.types as ir
from ibis import _

from fairdebt.domain import prioritisation as rules
from fairdebt.domain.vocabulary import ACCOUNT_TYPES, PRIORITY_ACCOUNT_TYPES

ENGINE_ENV = "FAIRDEBT_BATCH_ENGINE"
_DEBIT = ("charge", "cost", "interest")


def connect(engine: str | None = None, threads: int | None = None):
    """An Ibis connection for the batch engine: DuckDB (in memory) or Spark (local mode)."""
    chosen = (engine or os.environ.get(ENGINE_ENV) or "duckdb").lower()
    if chosen == "duckdb":
        con = ibis.duckdb.connect()
        if threads:
            con.raw_sql(f"SET threads = {int(threads)}")
        return con
    if chosen == "spark":
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master(os.environ.get("FAIRDEBT_SPARK_MASTER", "local[2]")).appName("fairdebt-batch")
            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC").config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.warehouse.dir", os.path.join(tempfile.gettempdir(), "fairdebt-spark-warehouse"))
            .getOrCreate()
        )
        return ibis.pyspark.connect(session)
    raise ValueError(f"unknown batch engine {chosen!r}: use 'duckdb' or 'spark' ({ENGINE_ENV})")


def table(con, name: str, data) -> ir.Table:
    """An Arrow table as an Ibis table on `con` (registered, not copied, on DuckDB)."""
    if con.name == "duckdb":
        con.con.register(name, data)  # ibis 12's create_table(obj=arrow) fails on DuckDB 2.0 (a DROP VIEW without a name)
        return con.table(name)
    # Spark: a temporary view over a DataFrame made from Arrow, so nothing is written to a warehouse.
    con._session.createDataFrame(data).createOrReplaceTempView(name)
    return con.table(name)


def ledger_summary(entries: ir.Table, on: dt.date) -> ir.Table:
    """One row per debt: balance, arrears, ongoing (as domain/ledger.position), the latest charge,
    payment counts and dates, and the last three payments (for Hackney's amount and date deltas)."""
    day = ibis.literal(on)
    e = entries.filter(_.effective_date <= day)
    debit = e.kind.isin(_DEBIT) | ((e.kind == "adjustment") & (e.amount > 0)) | ((e.kind == "reversal") & (e.amount < 0))
    due = e.due_date.fill_null(e.effective_date)
    paid = e.kind == "payment"
    sums = e.group_by("debt_id").aggregate(
        balance=e.amount.sum(),
        overdue=e.amount.sum(where=debit & (due < day)),
        credits=-e.amount.sum(where=~debit),
        charge_amount=e.amount.argmax(e.effective_date, where=e.kind == "charge"),
        first_date=e.effective_date.min(),
        last_payment_date=e.effective_date.max(where=paid),
        payments_90d=paid.sum(where=e.effective_date > day - ibis.interval(days=90)),
        payments_365d=paid.sum(where=e.effective_date > day - ibis.interval(days=365)),
        uc_first=e.effective_date.min(where=paid & (e.method == "universal_credit")),
    )
    # The last three payments of each debt (newest first).
    pays = e.filter(paid).select("debt_id", "effective_date", amount=-e.amount)
    pays = pays.mutate(n=ibis.row_number().over(group_by=pays.debt_id, order_by=[pays.effective_date.desc(), pays.amount.desc()]))
    pays = pays.filter(pays.n < 3)
    last3 = pays.group_by("debt_id").aggregate(
        p1=pays.amount.max(where=pays.n == 0), p2=pays.amount.max(where=pays.n == 1), p3=pays.amount.max(where=pays.n == 2),
        d1=pays.effective_date.max(where=pays.n == 0), d2=pays.effective_date.max(where=pays.n == 1), d3=pays.effective_date.max(where=pays.n == 2),
    )
    s = sums.left_join(last3, "debt_id").drop("debt_id_right")
    overdue, credits, balance = s.overdue.fill_null(0), s.credits.fill_null(0), s.balance.fill_null(0)
    arrears = ibis.greatest(0, ibis.least(overdue - credits, balance))
    return s.mutate(balance=balance, arrears=arrears, ongoing=ibis.greatest(0, balance - arrears)).drop("overdue", "credits")


def _days(later, earlier) -> ir.IntegerValue:
    return later.delta(earlier, unit="day").cast("int64")


def state(debts: ir.Table, summary: ir.Table) -> ir.Table:
    """One row per debt: its attributes, its ledger summary and its person's picture across services
    (services owed, arrears, priority share). At national scale this is the table ingest keeps up
    to date, so the nightly run reads it without a join."""
    t = debts.left_join(summary, "debt_id").drop("debt_id_right")
    balance, arrears = t.balance.fill_null(0), t.arrears.fill_null(0)
    t = t.mutate(balance=balance, arrears=arrears, ongoing=t.ongoing.fill_null(0))
    # Services owed: one 0/1 maximum per account type, added up (COUNT DISTINCT per person costs
    # more than all the other features together at 45M debts; BIT_OR is not on every backend).
    owes = {f"_o{n}": ibis.cases(((t.account_type == a) & (t.balance > 0), 1), else_=0).max() for n, a in enumerate(ACCOUNT_TYPES)}
    per_person = t.group_by("person_id").aggregate(
        **owes,
        person_arrears=t.arrears.sum(),
        _priority=t.arrears.sum(where=t.account_type.isin(sorted(PRIORITY_ACCOUNT_TYPES))),
    )
    per_person = per_person.mutate(
        services_owed=sum((per_person[k] for k in owes), ibis.literal(0)).cast("int64"),
        priority_share=ibis.cases((per_person.person_arrears > 0, (per_person._priority * 100 // per_person.person_arrears).cast("int64")),
                                  else_=ibis.literal(0, "int64")),
    ).drop("_priority", *owes)
    return t.left_join(per_person, "person_id").drop("person_id_right")


def features(debts: ir.Table, summary: ir.Table, held: ir.Table, vulnerable: ir.Table, contacts: ir.Table, on: dt.date) -> ir.Table:
    return features_from_state(state(debts, summary), held, vulnerable, contacts, on)


def features_from_state(t: ir.Table, held: ir.Table, vulnerable: ir.Table, contacts: ir.Table, on: dt.date) -> ir.Table:
    """Every feature of domain/prioritisation.FEATURES, per debt, for `on`. The joins are with small
    tables (today's holds, vulnerable people, last contacts)."""
    day = ibis.literal(on)
    t = t.left_join(held.select("debt_id", _held=ibis.literal(1)), "debt_id").drop("debt_id_right")
    t = t.left_join(vulnerable.select("person_id", _vulnerable=ibis.literal(1)), "person_id").drop("person_id_right")
    t = t.left_join(contacts.select("person_id", _last_contact="last_contact"), "person_id").drop("person_id_right")
    charge = t.charge_amount.fill_null(0)
    d_amount = (t.p1 - t.p2) - (t.p2 - t.p3)
    d_dates = _days(t.d1, t.d2) - _days(t.d2, t.d3)
    return t.select(
        "debt_id", "person_id", "account_type", "balance", "arrears", "ongoing", "services_owed", "person_arrears", "priority_share",
        tenure=t.tenure.fill_null(""), charge_amount=charge,
        arrears_periods=ibis.cases((charge > 0, (t.arrears // charge).cast("int64")), else_=ibis.literal(0, "int64")),
        days_since_last_payment=_days(day, t.last_payment_date.fill_null(t.first_date.fill_null(day))),
        payments_90d=t.payments_90d.fill_null(0).cast("int64"), payments_365d=t.payments_365d.fill_null(0).cast("int64"),
        last_payment=t.p1.fill_null(0),
        payment_amount_delta=d_amount.abs().fill_null(0),
        payment_date_delta=d_dates.abs().fill_null(0),
        payments_falling=ibis.cases(((t.p2.notnull()) & (t.p1 < t.p2), ibis.literal(1, "int64")), else_=ibis.literal(0, "int64")),
        uc_started_days=_days(day, t.uc_first),
        recovery_stage=t.recovery_stage.fill_null("none"),
        stage_days=_days(day, t.stage_date.fill_null(day)),
        held=t._held.fill_null(0).cast("int64"), vulnerable=t._vulnerable.fill_null(0).cast("int64"),
        arrangement_live=ibis.literal(0, "int64"), broken_arrangements=ibis.literal(0, "int64"),  # the arrangements issue fills these
        days_since_contact=_days(day, t._last_contact),
    )


def _condition(t: ir.Table, c: rules.Condition) -> ir.BooleanValue:
    col = t[c.feature]
    if c.op == "is_null":
        return col.isnull()
    if c.op == "not_null":
        return col.notnull()
    expr = {
        "==": lambda: col == c.value, "!=": lambda: col != c.value, ">": lambda: col > c.value, ">=": lambda: col >= c.value,
        "<": lambda: col < c.value, "<=": lambda: col <= c.value, "in": lambda: col.isin(list(c.value)),
        "not_in": lambda: col.notin(list(c.value)),
    }[c.op]()
    return expr.fill_null(False)  # as in Python: a comparison with nothing is not true


def _rule(t: ir.Table, r: rules.Rule, score) -> ir.BooleanValue:
    cond = ibis.literal(True)
    if r.account_types:
        cond = cond & t.account_type.isin(list(r.account_types))
    if r.min_score is not None:
        cond = cond & (score >= r.min_score)
    for c in r.when:
        cond = cond & _condition(t, c)
    return cond


def decide(f: ir.Table, policy: rules.Policy, variant: str = "champion") -> ir.Table:
    """Score, contributions (c_<feature>), segment, RAG, action, the rules that fired, overlaps.

    Each rule's condition becomes one boolean column, evaluated once; the outcomes and the overlap
    count are then cheap CASEs and sums over those flags."""
    contributions = {f"c_{name}": (f[name].fill_null(0) * (policy.scale * w)).round(2) for name, w in policy.weights.items()}
    t = f.mutate(**contributions)
    score = sum((t[c] for c in contributions), ibis.literal(0.0)).round(2) if contributions else ibis.literal(0.0)
    t = t.mutate(score=score)
    lists = {"s": policy.segments, "r": policy.rags, "a": policy.actions}
    flags = {f"_{k}{i}": _rule(t, r, t.score) for k, rule_list in lists.items() for i, r in enumerate(rule_list)}
    t = t.mutate(**flags)

    def first(key, rule_list, default):
        if not rule_list:
            return ibis.literal(default), ibis.literal("")
        hits = [(t[f"_{key}{i}"], r) for i, r in enumerate(rule_list)]
        return ibis.cases(*[(h, r.outcome) for h, r in hits], else_=default), ibis.cases(*[(h, r.name) for h, r in hits], else_="")

    segment, segment_rule = first("s", policy.segments, "none")
    rag, rag_rule = first("r", policy.rags, "green")
    action, action_rule = first("a", policy.actions, "no_action")
    # Overlaps: further action rules (not catch-alls) that also matched, besides the one that fired.
    specific = [i for i, r in enumerate(policy.actions) if not r.catch_all]
    matched = sum((t[f"_a{i}"].cast("int64") for i in specific), ibis.literal(0, "int64"))
    # 1 when the rule that fired is itself specific (it is then not an overlap of itself).
    fired_specific = (
        ibis.cases(*[(t[f"_a{i}"], 0 if r.catch_all else 1) for i, r in enumerate(policy.actions)], else_=0)
        if policy.actions else ibis.literal(0)
    )
    t = t.mutate(segment=segment, segment_rule=segment_rule, rag=rag, rag_rule=rag_rule, action=action, action_rule=action_rule,
                 variant=ibis.literal(variant), overlaps=(matched - fired_specific).cast("int64"))
    return t.drop(*flags)


def split(f: ir.Table, seed: str, percent: int) -> ir.BooleanValue:
    """The challenger's reproducible share: the same people every night for the same seed.

    A multiplicative hash of the person id and the seed's own number, so every backend computes
    the same split (no backend-specific hash function)."""
    salt = int.from_bytes(seed.encode()[:8].ljust(8, b"\0"), "big") % 1_000_003
    h = ((f.person_id * 2654435761 + salt) % 4294967296) % 100
    return h < percent


def run(debts, entries, held, vulnerable, contacts, on: dt.date, champion: rules.Policy,
        challenger: rules.Policy | None = None, seed: str = "", percent: int = 0) -> ir.Table:
    """Every debt's decision for `on` (Ibis expression; nothing runs until it is executed)."""
    f = features(debts, ledger_summary(entries, on), held, vulnerable, contacts, on)
    if challenger is None or percent <= 0:
        return _columns(decide(f, champion, "champion"), champion, challenger)
    share = split(f, seed, percent)
    a = _columns(decide(f.filter(~share), champion, "champion"), champion, challenger)
    b = _columns(decide(f.filter(share), challenger, "challenger"), champion, challenger)
    return a.union(b)


def _columns(t: ir.Table, champion, challenger) -> ir.Table:
    """The same columns whichever policy decided: every weighted feature of either policy."""
    names = sorted({*champion.weights, *((challenger.weights if challenger else {}))})
    t = t.mutate(**{f"c_{n}": ibis.literal(0.0) for n in names if f"c_{n}" not in t.columns})
    base = ["debt_id", "person_id", "account_type", "score", "segment", "segment_rule", "rag", "rag_rule", "action",
            "action_rule", "overlaps", "variant", "balance", "arrears", "arrears_periods", "days_since_last_payment", "held"]
    return t.select(*base, *[f"c_{n}" for n in names])


def people(decisions: ir.Table) -> ir.Table:
    """Each person's lead debt: among the debts with work (a workstream), the highest score, then
    arrears; a person with no work at all is led by their highest-scoring debt. One aggregation
    (arg-max over a ranking key), not a sort of every debt."""
    d = decisions
    busy = ibis.cases((d.segment == "none", 0), else_=1).cast("float64")
    # busy first, then score, then arrears (pounds, capped) as the tie-break; the debt id breaks exact ties.
    key = busy * 1e15 + (d.score + 1e6) * 1e6 + ibis.least(d.arrears // 100, 999_999).cast("float64")
    d = d.mutate(_key=key)
    pick = {name: d[name].argmax(d._key) for name in ("debt_id", "score", "segment", "rag", "action", "variant")}
    return d.group_by("person_id").aggregate(
        lead_debt_id=pick["debt_id"], score=pick["score"], segment=pick["segment"], rag=pick["rag"], action=pick["action"],
        variant=pick["variant"], debts=d.count(), person_arrears=d.arrears.sum(), total_score=d.score.sum(),
    )
