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
is decided by the challenger policy, and the arm is kept on every row.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile

import ibis
import ibis.expr.types as ir
from ibis import _

from fairdebt.domain import prioritisation as rules
from fairdebt.domain import standing
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


def empty(con, name: str, columns: dict[str, str]) -> ir.Table:
    """A table with `columns` (name: Ibis type) and no rows. On DuckDB it is written in SQL: DuckDB
    imports pandas to take in Arrow data, half a second of a night at any size."""
    if con.name == "duckdb":
        nothing = con.sql("SELECT 1 AS _nothing WHERE FALSE", schema={"_nothing": "int32"})
        return nothing.select(**{c: ibis.null(t) for c, t in columns.items()})
    return table(con, name, ibis.schema(columns).to_pyarrow().empty_table())


def empty_inputs(con) -> tuple[ir.Table, ir.Table, ir.Table]:
    """held, vulnerable, contacts with no rows: for a book whose holds, vulnerability and contacts
    are not given (a benchmark; a national book's come from the app's database)."""
    return (empty(con, "held", {"debt_id": "int64"}), empty(con, "vulnerable", {"person_id": "int64"}),
            empty(con, "contacts", {"person_id": "int64", "last_contact": "date"}))


def _debit(e: ir.Table) -> ir.BooleanValue:
    """Entries that add to what is owed (domain/ledger.py): a reversal counts on the side of the entry it reverses."""
    return _isin(e.kind, _DEBIT) | ((e.kind == "adjustment") & (e.amount > 0)) | ((e.kind == "reversal") & (e.amount < 0))


def _argmax(arg: ir.Column, key: ir.Column, where=None) -> ir.Value:
    """`arg` of the row with the largest `key` (ignoring rows whose key is NULL). Ibis 12 writes
    argmax on DuckDB as FIRST(arg ORDER BY key DESC), a sort per group; DuckDB's own arg_max is
    the same without the sort (each person's lead debt among 45M: 10.6 s against 9.2 s)."""
    if arg.get_backend().name == "duckdb":
        return _duckdb_arg_max(arg, key, where=where)
    return arg.argmax(key, where=where)


@ibis.udf.agg.builtin(name="arg_max")
def _duckdb_arg_max(arg, key) -> ibis.dtype("int64"):
    """DuckDB's arg_max (only through `_argmax`)."""


def _among(column: ir.IntegerValue, values) -> ir.BooleanValue:
    """`column` is one of the whole numbers `values`, as ranges (a run of numbers is one range).
    DuckDB runs an IN list of several constants as a join: 2 s of CPU a night at 45M debts."""
    runs: list[list[int]] = []
    for v in sorted(set(values)):
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    if not runs:
        return ibis.literal(False)
    out = None
    for low, high in runs:
        one = column == low if low == high else (column >= low) & (column <= high)
        out = one if out is None else out | one
    return out


def _int64(total) -> ir.IntegerValue:
    """A sum (of pence, or a count) as int64. DuckDB sums BIGINT into HUGEINT, which Parquet stores
    as DOUBLE (money is never a float), and Ibis drops a cast to the type it already believes the
    sum has, so the sum goes through DECIMAL(18, 0) on its way back: held in 64 bits, so the cast
    back is cheap (through DECIMAL(38, 0), 128 bits, each person's lead debt cost 3 CPU s more at
    45M debts). A sum of 10^18 pence or more stops the night with an error."""
    return total.cast("decimal(18, 0)").cast("int64")


# A ledger entry's columns and their types (Ibis).
ENTRY_TYPES = {"debt_id": "int64", "kind": "string", "amount": "int64", "effective_date": "date", "due_date": "date", "method": "string"}
ENTRY_COLUMNS = tuple(ENTRY_TYPES)
_EPOCH = dt.date(1970, 1, 1)
_CHARGE_KEY = 10**12  # the latest charge, and of several on one day the largest: days * 10^12 + pence


def ledger_summary(entries: ir.Table, on: dt.date) -> ir.Table:
    """One row per debt: balance, arrears, ongoing (as domain/ledger.position), the latest charge,
    payment counts and dates, and the last three payments (for Hackney's amount and date deltas).
    Also what `advance` needs to bring it forward without the whole ledger: what is overdue, the
    credits, and the latest charge's date."""
    return _positions(_fold(entries.filter(_.effective_date <= ibis.literal(on)), on))


def _fold(e: ir.Table, on: dt.date) -> ir.Table:
    """The entries that count on `on` folded per debt (sums and dates, before positions)."""
    day = ibis.literal(on)
    debit = _debit(e)
    due = e.due_date.fill_null(e.effective_date)
    paid = e.kind == "payment"
    charge = e.kind == "charge"
    sums = e.group_by("debt_id").aggregate(
        balance=_int64(e.amount.sum()),
        overdue=_int64(e.amount.sum(where=debit & (due < day))),
        credits=_int64(-e.amount.sum(where=~debit)),
        charge_date=e.effective_date.max(where=charge),
        charge_amount=_argmax(e.amount, _days(e.effective_date, ibis.literal(_EPOCH)) * _CHARGE_KEY + e.amount, where=charge),
        first_date=e.effective_date.min(),
        last_payment_date=e.effective_date.max(where=paid),
        payments_90d=_int64(paid.sum(where=e.effective_date > day - ibis.interval(days=90))),
        payments_365d=_int64(paid.sum(where=e.effective_date > day - ibis.interval(days=365))),
        uc_first=e.effective_date.min(where=paid & (e.method == "universal_credit")),
    )
    last3 = _last3(e.filter(paid).select("debt_id", "effective_date", amount=-e.amount))
    return sums.left_join(last3, "debt_id").drop("debt_id_right")


def _last3(pays: ir.Table) -> ir.Table:
    """debt_id, p1..p3, d1..d3: the last three payments (debt_id, effective_date, amount) of each debt, newest first."""
    pays = pays.mutate(n=ibis.row_number().over(group_by=pays.debt_id, order_by=[pays.effective_date.desc(), pays.amount.desc()]))
    pays = pays.filter(pays.n < 3)
    return pays.group_by("debt_id").aggregate(
        p1=pays.amount.max(where=pays.n == 0), p2=pays.amount.max(where=pays.n == 1), p3=pays.amount.max(where=pays.n == 2),
        d1=pays.effective_date.max(where=pays.n == 0), d2=pays.effective_date.max(where=pays.n == 1), d3=pays.effective_date.max(where=pays.n == 2),
    )


def _positions(s: ir.Table) -> ir.Table:
    overdue, credits, balance = s.overdue.fill_null(0), s.credits.fill_null(0), s.balance.fill_null(0)
    arrears = ibis.greatest(0, ibis.least(overdue - credits, balance))
    # Counts are 0, not NULL, when no entry falls in the window (as when entries do but none is a payment).
    return s.mutate(balance=balance, overdue=overdue, credits=credits, arrears=arrears, ongoing=ibis.greatest(0, balance - arrears),
                    payments_90d=s.payments_90d.fill_null(0), payments_365d=s.payments_365d.fill_null(0))


def _days(later, earlier) -> ir.IntegerValue:
    """Days from `earlier` to `later`, by subtracting dates (DuckDB's DATE_DIFF costs twice as much)."""
    return (later - earlier).cast("int64")


def state(debts: ir.Table, summary: ir.Table) -> ir.Table:
    """One row per debt: its attributes, its ledger summary and its person's picture across services
    (services owed, arrears, priority share). The nightly decisions read it without a join; kept in
    person order, each person's debts lie together (docs/prioritisation.md, "At national scale").
    `advance` brings it forward a night without folding the whole ledger again. It also holds
    DERIVED: features that follow from the row alone, not from the day."""
    return _with_derived(_with_person(_per_debt(debts, summary)))


def _per_debt(debts: ir.Table, summary: ir.Table) -> ir.Table:
    t = debts.left_join(summary, "debt_id").drop("debt_id_right")
    return t.mutate(balance=t.balance.fill_null(0), arrears=t.arrears.fill_null(0), ongoing=t.ongoing.fill_null(0))


PERSON_COLUMNS = ("person_arrears", "services_owed", "priority_share")
# Features worked out from a state row alone (never from the day), kept in the state: a night
# reads these four columns instead of the seven they come from (the latest charge, the last three
# payments' amounts and dates) and does not work them out for 45M debts (9-14 CPU s of the book's
# night, where every column read also passes the decisions' joins).
DERIVED = ("arrears_periods", "payment_amount_delta", "payment_date_delta", "payments_falling")


def _derived(t: ir.Table) -> dict:
    """DERIVED of each row of `t` (domain/prioritisation.FEATURES): arrears in charge periods (whole
    periods of the latest charge; 0 with no charge), the change in the gaps between the last three
    payments' amounts and dates (0 with fewer than three), and whether the last payment fell."""
    charge = t.charge_amount.fill_null(0)
    d_amount = (t.p1 - t.p2) - (t.p2 - t.p3)
    d_dates = _days(t.d1, t.d2) - _days(t.d2, t.d3)
    return {"arrears_periods": ibis.cases((charge > 0, (t.arrears // charge).cast("int64")), else_=ibis.literal(0, "int64")),
            "payment_amount_delta": d_amount.abs().fill_null(0).cast("int64"),
            "payment_date_delta": d_dates.abs().fill_null(0).cast("int64"),
            "payments_falling": ibis.cases(((t.p2.notnull()) & (t.p1 < t.p2), ibis.literal(1, "int64")), else_=ibis.literal(0, "int64"))}


def _with_derived(t: ir.Table) -> ir.Table:
    return t.mutate(**_derived(t))


def _with_person(t: ir.Table) -> ir.Table:
    return t.left_join(_person_picture(t), "person_id").drop("person_id_right")


def _person_picture(t: ir.Table) -> ir.Table:
    """person_id and PERSON_COLUMNS over the debts in `t` (each person's debts, all of them): the
    picture of their sums, as a night works out the moved people's (`pictures`)."""
    return _picture(person_sums(t)).select("person_id", *PERSON_COLUMNS)


_LAST3 = ("p1", "p2", "p3", "d1", "d2", "d3")  # the last three payments' amounts and dates (_last3)
SUMMARY_COLUMNS = ("balance", "overdue", "credits", "charge_date", "charge_amount", "first_date", "last_payment_date",
                   "payments_90d", "payments_365d", "uc_first", *_LAST3)


ATTRIBUTES = ("person_id", "account_type", "tenure", "recovery_stage", "stage_date")  # a debt record's columns besides debt_id
_SUMMED = ("balance", "overdue", "credits", "payments_90d", "payments_365d")


def advance(old: ir.Table, debts: ir.Table, entries: ir.Table, since: dt.date, on: dt.date, new_entries: ir.Table,
            changed: ir.Table | None = None) -> ir.Table:
    """The whole state on `on` from `old` (the state on `since`): tonight's patch (`tonight`) and its
    people's pictures (`pictures`) read over it (`current`). Equal to `state` on `on` (a property
    test checks it)."""
    patch = tonight(debts, entries, since, on, new_entries, changed)
    rows = patched(old, patch)
    return current(old, patch, pictures(person_sums(old), rows), rows)


def tonight(debts: ir.Table, entries: ir.Table, since: dt.date, on: dt.date, new_entries: ir.Table,
            changed: ir.Table | None = None) -> ir.Table:
    """What moved each debt's row between `since` and `on`, as a patch (PATCH columns, one row per
    debt that moved): a summary of its own, not the debt's new row, so it is made without reading
    the state at all. `combine` adds patches together and `current` adds them to a state; the
    ledger summary is a sum, so folding a ledger in parts and adding the parts is folding it whole.

    `entries`: the ledger the state on `since` holds; `new_entries`: entries loaded since (any
    effective date: backdated ones too); `changed`: debts whose own record changed or is new
    (debt_id, or whole debt records). Each debt moves by what arrived (tonight's entries, and
    earlier ones dated ahead into (since, on]) and by what time alone moves among the entries it
    already counted (a debit falling due, a payment leaving the 90- or 365-day window)."""
    s, o = ibis.literal(since), ibis.literal(on)
    arriving = new_entries.filter(new_entries.effective_date <= o).select(*ENTRY_COLUMNS).union(
        entries.filter((entries.effective_date > s) & (entries.effective_date <= o)).select(*ENTRY_COLUMNS))
    # Three parts of one patch, each debt in any of them: what arrived (a whole summary), what time
    # moved (sums only) and tonight's records (no summary). Joined as they are, not added with
    # `combine`: two of the three carry no dates and no last payments to merge (compiling the
    # merges cost Ibis 0.6 s a night, whatever the size).
    folded = _fold(arriving, on)
    moves = _time_moves(entries, s, o).rename(_m_debt_id="debt_id").view()
    j = folded.outer_join(moves, folded.debt_id == moves._m_debt_id)
    # A sum that nothing moved is 0, not NULL, once a debt is in the patch (as `combine` adds them).
    moved = {"balance": j.balance.fill_null(0), "overdue": j.overdue.fill_null(0) + j.fell_due.fill_null(0),
             "credits": j.credits.fill_null(0), "payments_90d": j.payments_90d.fill_null(0) - j.left_90.fill_null(0),
             "payments_365d": j.payments_365d.fill_null(0) - j.left_365.fill_null(0)}
    summary = j.select(debt_id=ibis.coalesce(j.debt_id, j._m_debt_id),
                       **{c: (moved[c] if c in _SUMMED else j[c]).cast(folded[c].type()) for c in SUMMARY_COLUMNS})
    if changed is None:
        return _as_patch(summary)
    records = changed if set(ATTRIBUTES) <= set(changed.columns) else debts.semi_join(changed.select("debt_id"), "debt_id")
    records = records.select("debt_id", *ATTRIBUTES).rename(**{f"_r_{c}": c for c in ("debt_id", *ATTRIBUTES)}).view()
    summary = summary.view()
    j = summary.outer_join(records, summary.debt_id == records._r_debt_id)
    carried = j._r_debt_id.notnull()
    return j.select(debt_id=ibis.coalesce(j.debt_id, j._r_debt_id), record=ibis.cases((carried, 1), else_=0).cast("int8"),
                    **{c: j[f"_r_{c}"] for c in ATTRIBUTES},
                    **{c: j[c].fill_null(0) if c in _SUMMED else j[c] for c in SUMMARY_COLUMNS}).select(*PATCH)


PATCH = ("debt_id", "record", *ATTRIBUTES, *SUMMARY_COLUMNS)  # record: 1 when the patch carries the debt's record


def _as_patch(t: ir.Table) -> ir.Table:
    """A summary (debt_id and SUMMARY_COLUMNS) as PATCH rows that carry no record."""
    attributes = {"person_id": ibis.null("int64"), "account_type": ibis.null("string"), "tenure": ibis.null("string"),
                  "recovery_stage": ibis.null("string"), "stage_date": ibis.null("date")}
    return t.mutate(record=ibis.literal(0, "int8"), **attributes).select(*PATCH)


def _pay_key(date, amount) -> ir.IntegerValue:
    """A payment (date, amount) as one number in `_last3`'s order (newest, then largest); -1 for none."""
    return ibis.cases((date.notnull(), _days(date, ibis.literal(_EPOCH)) * _CHARGE_KEY + amount + _CHARGE_KEY // 2), else_=-1)


def _summed(j: ir.Table) -> tuple[ir.Table, dict]:
    """The summary of a debt's entries in two parts, from each part's: `j` has the earlier part's
    columns by name and the later's as _b_<name> (either may be all NULL: no entries). Returns `j`
    with working columns added, and an expression per SUMMARY_COLUMNS over it.

    The last three payments are the top three of both parts' three: the k-th largest of two lists
    sorted largest first is the largest, over i + j = k, of min(a_i, b_j), with a_0 = b_0 above
    everything. The payments' keys are worked out once, as columns (as expressions repeated in
    every pick they cost seconds at a million debts)."""
    j = j.mutate(**{f"_k{side}{i}": _pay_key(j[f"{pre}d{i}"], j[f"{pre}p{i}"]) for side, pre in (("a", ""), ("b", "_b_")) for i in (1, 2, 3)})
    ka, kb = [j[f"_ka{i}"] for i in (1, 2, 3)], [j[f"_kb{i}"] for i in (1, 2, 3)]
    j = j.mutate(_t1=ibis.greatest(ka[0], kb[0]), _t2=ibis.greatest(ibis.least(ka[0], kb[0]), ka[1], kb[1]),
                 _t3=ibis.greatest(ka[2], kb[2], ibis.least(ka[0], kb[1]), ibis.least(ka[1], kb[0])))

    def a(c):
        return j[c]

    def b(c):
        return j[f"_b_{c}"]

    newer_charge = b("charge_date").notnull() & (a("charge_date").isnull() | (b("charge_date") > a("charge_date")) | (
        (b("charge_date") == a("charge_date")) & (b("charge_amount") > a("charge_amount"))))
    out = {c: a(c).fill_null(0) + b(c).fill_null(0) for c in _SUMMED}
    out.update(charge_date=ibis.cases((newer_charge, b("charge_date")), else_=a("charge_date")),
               charge_amount=ibis.cases((newer_charge, b("charge_amount")), else_=a("charge_amount")),
               first_date=ibis.least(a("first_date"), b("first_date")), last_payment_date=ibis.greatest(a("last_payment_date"), b("last_payment_date")),
               uc_first=ibis.least(a("uc_first"), b("uc_first")))
    for n in (1, 2, 3):
        # Equal keys are equal payments, so whichever part holds it gives the same date and amount.
        for x in ("d", "p"):
            picks = [(j[f"_t{n}"] == j[f"_k{side}{i}"], j[f"{pre}{x}{i}"]) for side, pre in (("a", ""), ("b", "_b_")) for i in (1, 2, 3)]
            out[f"{x}{n}"] = ibis.cases(*picks, else_=ibis.null(j[f"{x}1"].type()))
    return j, out


def _joined(a: ir.Table, b: ir.Table, how: str = "outer") -> ir.Table:
    """a FULL (or `how`) JOIN b on debt_id: a's columns by name, b's as _b_<name>."""
    a, other = a.view(), b.view().rename(**{f"_b_{c}": c for c in b.columns})
    return a.join(other, a.debt_id == other._b_debt_id, how=how)


def combine(earlier: ir.Table, later: ir.Table) -> ir.Table:
    """Two patches (PATCH) as one: what moved in both, the later record where it carries one."""
    j, summary = _summed(_joined(earlier, later))
    return j.select(**_record(j), record=ibis.greatest(j.record.fill_null(0), j._b_record.fill_null(0)).cast("int8"),
                    **{c: summary[c].cast(earlier[c].type()) for c in SUMMARY_COLUMNS}).select(*PATCH)


def _record(j: ir.Table) -> dict:
    """debt_id and ATTRIBUTES of a joined pair (`_joined`): the later record where it carries one."""
    newer = j._b_record == 1
    return {"debt_id": j.debt_id.fill_null(j._b_debt_id), **{c: ibis.cases((newer, j[f"_b_{c}"]), else_=j[c]) for c in ATTRIBUTES}}


BASE_COLUMNS = ("base_person_id", "base_account_type", "base_balance", "base_arrears")  # a patched row's debt as it was in base
# What each person's picture is worked out from, kept per person so that a night works it out from
# the debts that moved alone: sums, which moved debts change by differences. A count of owing debts
# per service, not a 0/1 (a debt paid off leaves the service owed when another debt of it still is).
PERSON_SUMS = ("debts", "person_arrears", "priority_arrears", *(f"owing_{a}" for a in ACCOUNT_TYPES))


def _sums(t: ir.Table) -> ir.Table:
    """person_id and PERSON_SUMS over debt rows (person_id, account_type, balance, arrears, _sign):
    each row counted _sign times (1, or -1 to take a debt away). Services owed are counted per
    account type and added up later (`_picture`): COUNT DISTINCT per person costs more than all the
    other features together at 45M debts, and BIT_OR is not on every backend. No sum is NULL (a
    person with no priority debt has priority arrears 0, and so a priority share of 0%)."""
    zero = ibis.literal(0, "int64")

    def total(value, where=None):
        return _int64((value if where is None else ibis.cases((where, value), else_=zero)).sum())

    priority = _isin(t.account_type, sorted(PRIORITY_ACCOUNT_TYPES))
    return t.group_by("person_id").aggregate(
        debts=total(t._sign), person_arrears=total(t._sign * t.arrears), priority_arrears=total(t._sign * t.arrears, priority),
        **{f"owing_{a}": total(t._sign, (t.account_type == a) & (t.balance > 0)) for a in ACCOUNT_TYPES},
    )


def person_sums(state: ir.Table) -> ir.Table:
    """person_id and PERSON_SUMS over every debt of a state (a book keeps these with its base)."""
    return _sums(state.select("person_id", "account_type", "balance", "arrears", _sign=ibis.literal(1, "int64")))


def pictures(sums: ir.Table, now: ir.Table) -> ir.Table:
    """person_id, PERSON_COLUMNS and PERSON_SUMS of every person a patched debt belongs to now or
    belonged to in base, from `sums` (person_sums of the base) and `now` (`patched`: the patched
    debts as they are now, and as they were in base): each such person's sums in base, less their
    debts as they were, plus their debts as they are. Only the patched debts are read, not base."""
    new = now.select("person_id", "account_type", "balance", "arrears", _sign=ibis.literal(1, "int64"))
    old = now.filter(now.base_person_id.notnull()).select(person_id=now.base_person_id, account_type=now.base_account_type,
                                                          balance=now.base_balance, arrears=now.base_arrears, _sign=ibis.literal(-1, "int64"))
    moved = _sums(new.union(old))
    kept = sums.rename(**{f"_s_{c}": c for c in sums.columns})
    j = moved.left_join(kept, moved.person_id == kept._s_person_id)
    t = j.select("person_id", **{c: (j[c] + j[f"_s_{c}"].fill_null(0)).cast("int64") for c in PERSON_SUMS})
    return _picture(t).select("person_id", *dict.fromkeys((*PERSON_COLUMNS, *PERSON_SUMS)))


def _picture(t: ir.Table) -> ir.Table:
    """`t` (person_id and PERSON_SUMS) with the picture worked out from the sums: services owed (the
    account types with a debt owing) and the priority debts' share of the arrears, in percent."""
    owed = sum((ibis.cases((t[f"owing_{a}"] > 0, 1), else_=0) for a in ACCOUNT_TYPES), ibis.literal(0)).cast("int64")
    share = ibis.cases((t.person_arrears > 0, (t.priority_arrears * 100 // t.person_arrears).cast("int64")), else_=ibis.literal(0, "int64"))
    return t.mutate(services_owed=owed, priority_share=share)


def patched(base: ir.Table, patch: ir.Table) -> ir.Table:
    """The rows of the debts `patch` moved, as they are now (base's columns; the person's picture
    empty, as `pictures` works out each of these people's anew and `current` puts it in place),
    with what each debt was in base (BASE_COLUMNS; NULL for a debt new since base): the debts it
    carries from base with the patch added, and the new debts it carries a record for. A book
    writes these once a night (`current` reads them, and `pictures` works out the people's
    pictures from them).

    One RIGHT JOIN: the patch is the build side, and base's rows it does not hold are dropped as the
    scan meets them (a semi join and then an outer join cost the national book about a second more)."""
    j, summary = _summed(_joined(base, patch, how="right"))
    t = j.select(**_record(j), **{c: summary[c].cast(base[c].type()) for c in SUMMARY_COLUMNS},
                 # Left empty (not read from base): each patched debt's person has a new picture.
                 **{c: ibis.null(base[c].type()) for c in PERSON_COLUMNS},
                 **{f"base_{c}": j[c] for c in ("person_id", "account_type", "balance", "arrears")})
    t = t.filter(t.person_id.notnull())
    # Positions worked out again, as `_positions` and `_per_debt` do: a debt with no entry counted
    # has 0 owed and no sums.
    counted = t.first_date.notnull()
    arrears = ibis.greatest(0, ibis.least(t.overdue - t.credits, t.balance))
    t = t.mutate(arrears=ibis.cases((counted, arrears), else_=0).cast(base.arrears.type()),
                 ongoing=ibis.cases((counted, ibis.greatest(0, t.balance - arrears)), else_=0).cast(base.ongoing.type()),
                 **{c: ibis.cases((counted, t[c]), else_=ibis.null(base[c].type())) for c in ("overdue", "credits", "payments_90d", "payments_365d")})
    if set(DERIVED) <= set(base.columns):  # a base written before DERIVED were kept has none to carry
        t = t.mutate(**{c: v.cast(base[c].type()) for c, v in _derived(t).items()})
    return t.select(*base.columns, *BASE_COLUMNS)


def current(base: ir.Table, patch: ir.Table | None, people: ir.Table | None, now: ir.Table | None = None) -> ir.Table:
    """The state as a book keeps it: a base state, the patch of every night since (`combine`), and
    the pictures of the people those nights moved (`pictures`). `now`: the patched rows (`patched`)
    when they are already written.

    The base's rows the patch does not touch pass through as they are (in base's order: person
    order), and the patched ones are worked out (`patched`). Each row then takes its person's new
    picture where there is one. The night's decisions read the patched rows from a file of their
    own: worked out inside the decisions (a second read of every column of the base, beside the
    first), they cost the national book's decisions about 6 s more on a quick host than the 4.5 s
    of writing them."""
    if patch is None:
        return base
    rows = now if now is not None else patched(base, patch)
    newer = people.select("person_id", *PERSON_COLUMNS).rename(**{f"_p_{c}": c for c in ("person_id", *PERSON_COLUMNS)})

    def pictured(j: ir.Table) -> ir.Table:
        # A picture's columns are never NULL (sums and counts), so a missing one means no new picture.
        return j.select(*[ibis.coalesce(j[f"_p_{c}"], j[c]).cast(base[c].type()).name(c) if c in PERSON_COLUMNS else j[c]
                          for c in base.columns])

    j = base.left_join(newer, base.person_id == newer._p_person_id)
    # A patched debt's person, in base and now, has a new picture (`pictures`), so only those people's
    # debts are looked for among the patched rows: the rest (most of the base) meet the anti join with
    # a NULL key, which is not hashed (about 2 CPU s of the national night's decisions). Finding them
    # by a list of each person's replaced debts, brought by the same join, was no faster.
    # Told by a picture's column, not its key: the key is then not carried out of the join (a
    # LEFT JOIN's every column costs about 0.45 CPU s at 45M rows).
    j = j.mutate(_maybe=ibis.cases((j[f"_p_{PERSON_COLUMNS[0]}"].notnull(), j.debt_id), else_=ibis.null("int64")))
    ids = rows.select(_patched="debt_id")
    unpatched = j.anti_join(ids, j._maybe == ids._patched)
    return pictured(unpatched).union(pictured(rows.left_join(newer, rows.person_id == newer._p_person_id)))


def newest(earlier: ir.Table | None, later: ir.Table, key: str = "person_id") -> ir.Table:
    """Rows of `later`, and those of `earlier` for keys `later` does not have."""
    if earlier is None:
        return later
    return earlier.anti_join(later, key).union(later.select(**{c: later[c].cast(earlier[c].type()) for c in earlier.columns}))


def _time_moves(entries: ir.Table, s, o) -> ir.Table:
    """debt_id, fell_due, left_90, left_365: what time alone moves between `s` and `o` among the
    entries counted on `s` (effective on or before it): debits falling due, and payments leaving
    the 90- and 365-day windows.

    Four slices, each filtered by plain comparisons on one stored date, so the Parquet reader skips
    row groups by their statistics: a ledger kept in date order is read only where the dates fall.
    (One filter with the due date's COALESCE and ORs read all 394M entries of the national book:
    8.5 s, against under 1 s.) An entry with no due date is due on its effective date, so it falls
    due in (s, o] only when it is dated `s` itself (and o is later)."""
    e = entries
    zero = ibis.literal(0, "int64")
    debit = _debit(e)

    def leaving(days):
        # Counted on `s` (dated on or before it; a night spanning months can take a window's edge past it).
        edge = ibis.interval(days=days)
        return e.filter((e.effective_date > s - edge) & (e.effective_date <= o - edge) & (e.effective_date <= s) & (e.kind == "payment"))

    falls_dated = e.filter(e.due_date.notnull() & (e.due_date >= s) & (e.due_date < o) & (e.effective_date <= s) & debit)
    falls_undated = e.filter(e.due_date.isnull() & (e.effective_date == s) & (e.effective_date < o) & debit)
    left90, left365 = leaving(90), leaving(365)
    rows = (falls_dated.union(falls_undated).select("debt_id", fell=_.amount, l90=zero, l365=zero)
            .union(left90.select("debt_id", fell=zero, l90=ibis.literal(1, "int64"), l365=zero))
            .union(left365.select("debt_id", fell=zero, l90=zero, l365=ibis.literal(1, "int64"))))
    return rows.group_by("debt_id").aggregate(fell_due=_int64(rows.fell.sum()), left_90=_int64(rows.l90.sum()),
                                              left_365=_int64(rows.l365.sum()))


def features(debts: ir.Table, summary: ir.Table, held: ir.Table, vulnerable: ir.Table, contacts: ir.Table, on: dt.date) -> ir.Table:
    return features_from_state(state(debts, summary), held, vulnerable, contacts, on)


def features_from_state(t: ir.Table, held: ir.Table, vulnerable: ir.Table, contacts: ir.Table, on: dt.date,
                        growth: bool = False) -> ir.Table:
    """Every feature of domain/prioritisation.FEATURES, per debt, for `on`. The joins are with small
    tables (today's holds, vulnerable people, last contacts). `growth`: also `grows_<day count>`
    for each of domain/standing.DAY_FEATURES (see `stands`)."""
    day = ibis.literal(on)
    if not set(DERIVED) <= set(t.columns):
        t = _with_derived(t)  # a state written before they were kept
    t = t.left_join(held.select("debt_id", _held=ibis.literal(1)), "debt_id").drop("debt_id_right")
    t = t.left_join(vulnerable.select("person_id", _vulnerable=ibis.literal(1)), "person_id").drop("person_id_right")
    t = t.left_join(contacts.select("person_id", _last_contact="last_contact"), "person_id").drop("person_id_right")
    return t.select(
        "debt_id", "person_id", "account_type", "balance", "arrears", "ongoing", "services_owed", "person_arrears", "priority_share",
        *DERIVED, tenure=t.tenure.fill_null(""), charge_amount=t.charge_amount.fill_null(0),
        days_since_last_payment=_days(day, t.last_payment_date.fill_null(t.first_date.fill_null(day))),
        payments_90d=t.payments_90d.fill_null(0).cast("int64"), payments_365d=t.payments_365d.fill_null(0).cast("int64"),
        last_payment=t.p1.fill_null(0),
        uc_started_days=_days(day, t.uc_first),
        recovery_stage=t.recovery_stage.fill_null("none"),
        stage_days=_days(day, t.stage_date.fill_null(day)),
        held=t._held.fill_null(0).cast("int64"), vulnerable=t._vulnerable.fill_null(0).cast("int64"),
        arrangement_live=ibis.literal(0, "int64"), broken_arrangements=ibis.literal(0, "int64"),  # the arrangements issue fills these
        days_since_contact=_days(day, t._last_contact),
        **({} if not growth else {
            # Which day counts count from a date this debt has (domain/standing): the others stay put.
            "grows_days_since_last_payment": t.last_payment_date.notnull() | t.first_date.notnull(),
            "grows_uc_started_days": t.uc_first.notnull(), "grows_stage_days": t.stage_date.notnull(),
            "grows_days_since_contact": t._last_contact.notnull()}),
    )


def _condition(t: ir.Table, c: rules.Condition) -> ir.BooleanValue:
    """A condition as a column expression. A comparison with a missing value is NULL, which a CASE
    and an AND treat as not true, as the domain does (a comparison with nothing is not true): no
    COALESCE per condition, which at 45M debts costs more than the comparison."""
    return _compare(t[c.feature], c)


def _compare(col: ir.Value, c: rules.Condition) -> ir.BooleanValue:
    """`c` applied to `col` (a feature's column, or an expression of it)."""
    if c.op == "is_null":
        return col.isnull()
    if c.op == "not_null":
        return col.notnull()
    return {
        "==": lambda: col == c.value, "!=": lambda: col != c.value, ">": lambda: col > c.value, ">=": lambda: col >= c.value,
        "<": lambda: col < c.value, "<=": lambda: col <= c.value, "in": lambda: _isin(col, c.value),
        "not_in": lambda: ~_isin(col, c.value),
    }[c.op]()


def _isin(col: ir.Value, values) -> ir.BooleanValue:
    """`col` is one of `values` (NULL when `col` is NULL, as IN is). Text as equalities joined by OR:
    DuckDB works an equality out once per distinct value of a column read with a dictionary (a
    recovery stage: one of a few), and an IN list once per row (a list of ten stages cost 1.5 CPU s
    more at 45M debts)."""
    values = list(values)
    if not col.type().is_string() or not values:
        return col.isin(values)
    out = col == values[0]
    for v in values[1:]:
        out = out | (col == v)
    return out


def _on_service(c: rules.Condition, account_types: frozenset[str]) -> bool | None:
    """A condition on the service, decided for the whole book when it can be: True (every debt
    passes), False (none does), None (it depends on the debt)."""
    if c.feature != "account_type" or c.op not in ("==", "!=", "in", "not_in"):
        return None
    outcomes = {c.holds({"account_type": a}) for a in account_types}
    return outcomes.pop() if len(outcomes) == 1 else None


def _rule(t: ir.Table, r: rules.Rule, score, account_types: frozenset[str] | None = None) -> ir.BooleanValue | None:
    """A rule's condition as a column expression (NULL counts as not true); None when it cannot
    match any debt in the book.

    `account_types` (the services present) lets a rule for services the book does not hold vanish,
    and a service test that every debt passes be left out: a national book of one service runs
    only the rules that can fire on it."""
    parts = []
    if r.account_types:
        if account_types is not None and not account_types & set(r.account_types):
            return None
        if account_types is None or not account_types <= set(r.account_types):
            parts.append(_isin(t.account_type, r.account_types))
    if r.min_score is not None:
        parts.append(score >= r.min_score)
    for c in r.when:
        known = _on_service(c, account_types) if account_types is not None else None
        if known is False:
            return None
        if known is None:
            parts.append(_condition(t, c))
    if not parts:
        return ibis.literal(True)
    cond = parts[0]
    for p in parts[1:]:
        cond = cond & p
    return cond


RULE_LISTS = (("segment", "segments", "none"), ("rag", "rags", "green"), ("action", "actions", "no_action"))


ARMS = ("champion", "challenger")  # `arm` 0 and 1 on every result


def decide(f: ir.Table, policy: rules.Policy, arm: int = 0, account_types=None) -> ir.Table:
    """Score, contributions (c_<feature>), and for segment, RAG and action
    the number of the rule that fired (its place in the policy's list; -1: none matched, the
    default applies), the number of other specific action rules that also matched (overlaps), and
    the arm (0 champion, 1 challenger). `labelled` turns these into what officers read.

    Numbers, not names: at 45M debts every text or floating column written costs seconds, and the
    policy version that decided (kept with the results) names them exactly. Each action rule's
    condition is evaluated once and shared by the first-match CASE and the overlap count."""
    types = frozenset(account_types) if account_types is not None else None
    # domain/prioritisation.score: the same doubles multiplied and added in the same order (no
    # rounding, which also cost more than the rest of the score: ROUND and FLOOR are slow at 45M).
    contributions = {
        f"c_{name}": f[name].fill_null(0).cast("float64") * ibis.literal(rules.factor(policy, name), "float64") for name in policy.weights
    }
    t = f.mutate(**contributions)
    score = ibis.literal(0.0, "float64")
    for c in contributions:
        score = score + t[c]
    # Kept as 32-bit floats, for explanations (two places shown); the score, which orders the work,
    # is the exact sum. Half the bytes of 45M x every weighted feature.
    t = t.mutate(score=score).mutate(**{c: t[c].cast("float32") for c in contributions})
    specific = {}
    for i, r in enumerate(policy.actions):
        cond = None if r.catch_all else _rule(t, r, t.score, types)
        if cond is not None:
            specific[i] = cond.fill_null(False)  # counted for overlaps: NULL must count as 0
    t = t.mutate(**{f"_a{i}": cond for i, cond in specific.items()})

    def first(rule_list, flagged=False):
        """The number of the first rule that matches; `flagged`: the actions, whose specific rules'
        conditions are already columns."""
        hits = []
        for i, r in enumerate(rule_list):
            cond = t[f"_a{i}"] if flagged and i in specific else _rule(t, r, t.score, types)
            if cond is not None:
                hits.append((cond, i))
        return (ibis.cases(*hits, else_=-1) if hits else ibis.literal(-1)).cast("int16")

    matched = sum((t[f"_a{i}"].cast("int16") for i in specific), ibis.literal(0, "int16"))
    t = t.mutate(segment_no=first(policy.segments), rag_no=first(policy.rags), action_no=first(policy.actions, flagged=True),
                 _matched=matched)
    # The rule that fired is not an overlap of itself when it is one of the specific rules.
    fired_specific = ibis.cases((_among(t.action_no, specific), 1), else_=0) if specific else ibis.literal(0)
    t = t.mutate(overlaps=(t._matched - fired_specific).cast("int16"), arm=ibis.literal(arm, "int8"))
    return t.drop("_matched", *[f"_a{i}" for i in specific])


_NEVER = 10**9  # a rule that time alone never changes


def stands(f: ir.Table, policy: rules.Policy, score: ir.FloatingValue, account_types=None) -> ir.IntegerValue:
    """domain/standing.stands_for over every debt: the days (0 to standing.HORIZON) for which its
    decision stands if nothing but the day counts moves. `f`: features with `growth`; `score`: the
    score column `decide` works out. Never more days than the domain's bound (tested): the same
    conditions, and for a score line a wider rounding allowance and a day less."""
    types = frozenset(account_types) if account_types is not None else None
    # The score's drift and size, worked out once for every score line (None: no weighted day count).
    terms = _growth_terms(policy, lambda n: f[n], lambda n: _grows(f, n)) if _weighs_days(policy) else None
    bounds = [b for r in (*policy.segments, *policy.rags, *policy.actions) if (b := _rule_stands(f, r, terms, score, types)) is not None]
    horizon = ibis.literal(standing.HORIZON, "int32")
    return (ibis.least(horizon, *bounds) if bounds else horizon).cast("int16")


def _rule_stands(f: ir.Table, r: rules.Rule, terms, score, types) -> ir.IntegerValue | None:
    """Days for which rule `r`'s answer stands; None: time alone never changes it on any debt. A
    rule whose fixed conditions fail (a day count that does not grow is fixed) never matches."""
    if r.account_types and types is not None and not types & set(r.account_types):
        return None
    fixed, bounds = [], []
    if r.account_types and (types is None or not types <= set(r.account_types)):
        fixed.append(_isin(f.account_type, r.account_types))
    for c in r.when:
        known = _on_service(c, types) if types is not None else None
        if known is False:
            return None
        if known is True:
            continue
        if c.feature in standing.DAY_FEATURES and c.op not in ("is_null", "not_null"):
            grows = f[f"grows_{c.feature}"]
            fixed.append(grows | _condition(f, c))
            bounds.append(ibis.cases((grows, _condition_stands(f[c.feature], c)), else_=_NEVER))
        else:
            fixed.append(_condition(f, c))
    if r.min_score is not None and terms is not None:
        bounds.append(_score_stands(terms, score, r.min_score))
    if not bounds:
        return None
    bound = bounds[0] if len(bounds) == 1 else ibis.least(*bounds)
    if not fixed:
        return bound
    alive = fixed[0]
    for part in fixed[1:]:
        alive = alive & part
    return ibis.cases((alive, bound), else_=_NEVER)


def _condition_stands(col: ir.IntegerValue, c: rules.Condition) -> ir.IntegerValue:
    """standing._condition_stands as a column: the count can change the answer only on reaching a
    value x + e (e = 0, 1), so each is a candidate, x + e - col - 1 days on, where the answer there
    (a constant) differs from today's."""
    targets = c.value if isinstance(c.value, tuple) else (c.value,)
    today = _compare(col, c)
    out = []
    for y in sorted({x + e for x in targets for e in (0, 1)}):
        differs = today if not c.holds({c.feature: y}) else ~today
        out.append(ibis.cases(((col <= y - 1) & differs, y - 1 - col), else_=_NEVER))
    return out[0] if len(out) == 1 else ibis.least(*out)


_UNIT = 2.0**-53


def _weighs_days(policy: rules.Policy) -> bool:
    return any(n in standing.DAY_FEATURES and rules.factor(policy, n) != 0 for n in policy.weights)


def _grows(t: ir.Table, name: str) -> ir.FloatingValue:
    """1.0 where the feature is a day count that grows on this row, else 0.0."""
    return t[f"grows_{name}"].cast("float64") if name in standing.DAY_FEATURES else ibis.literal(0.0)


def _growth_terms(policy: rules.Policy, value, grows):
    """For the policy's nonzero weights: the score's drift a day, the weight that moves at all,
    `size` (each term's largest value over standing.HORIZON days, the base of the rounding
    allowance) and how many terms. `value(name)`, `grows(name)`: the columns to use."""
    weighted = [(n, rules.factor(policy, n)) for n in policy.weights if rules.factor(policy, n) != 0]
    drift = sum((grows(n) * fac for n, fac in weighted), ibis.literal(0.0))
    moving = sum((grows(n) * abs(fac) for n, fac in weighted), ibis.literal(0.0))
    size = sum((abs(fac) * (value(n).fill_null(0).abs().cast("float64") + grows(n) * standing.HORIZON) for n, fac in weighted),
               ibis.literal(0.0))
    return drift, moving, size, len(weighted)


def _score_stands(terms, score, line: float) -> ir.IntegerValue:
    """standing._score_stands in doubles: the rounding allowance twice the domain's, plus the
    rounding of the allowance's own arithmetic, and a day less, so never past the domain's bound."""
    drift, moving, size, n = terms
    err = size * (4 * (n + 2) * _UNIT) + 4 * _UNIT * abs(line)
    above = score - err - line  # today on or above the line: stands while this stays >= 0
    below = line - score - err  # today below it: stands while this stays > 0
    cap = standing.HORIZON + 2.0
    return ibis.cases(
        (moving == 0, _NEVER),
        (score >= line, ibis.cases((above < 0, 0), (drift >= 0, _NEVER),
                                   else_=ibis.greatest(ibis.least(above / -drift, cap).floor() - 1, 0))),
        else_=ibis.cases((below <= 0, 0), (drift <= 0, _NEVER), else_=ibis.greatest(ibis.least(below / drift, cap).ceil() - 2, 0)),
    ).cast("int64")


def _arms(t: ir.Table, champion: rules.Policy, challenger: rules.Policy | None):
    """(policy, condition restricted to that policy's arm) for each policy that decided rows of t."""
    if challenger is None:
        return [(champion, lambda cond: cond)]
    return [(champion, lambda cond: cond & (t.arm == 0)), (challenger, lambda cond: cond & (t.arm == 1))]


def labelled(t: ir.Table, champion: rules.Policy, challenger: rules.Policy | None = None) -> ir.Table:
    """Decisions (or people) as officers read them, named by the policy that decided each: segment,
    segment_rule, rag, rag_rule, action, action_rule and variant."""
    names = {}
    for key, attr, default in RULE_LISTS:
        no = t[f"{key}_no"]
        outcome, rule = [], []
        for policy, in_arm in _arms(t, champion, challenger):
            for i, r in enumerate(getattr(policy, attr)):
                hit = in_arm(no == i)
                outcome.append((hit, r.outcome))
                rule.append((hit, r.name))
        names[key] = ibis.cases(*outcome, else_=default) if outcome else ibis.literal(default)
        names[f"{key}_rule"] = ibis.cases(*rule, else_="") if rule else ibis.literal("")
    names["variant"] = ibis.cases((t.arm == 1, ARMS[1]), else_=ARMS[0])
    return t.mutate(**names)


def busy(t: ir.Table, champion: rules.Policy, challenger: rules.Policy | None = None) -> ir.BooleanValue:
    """Has the debt work (a workstream other than none)? From the segment rule's number."""
    hits = []
    for policy, in_arm in _arms(t, champion, challenger):
        working = [i for i, r in enumerate(policy.segments) if r.outcome != "none"]
        if working:
            hits.append(in_arm(_among(t.segment_no, working)))
    if not hits:
        return ibis.literal(False)
    out = hits[0]
    for h in hits[1:]:
        out = out | h
    return out


def split(f: ir.Table, seed: str, percent: int) -> ir.BooleanValue:
    """The challenger's reproducible share: the same people every night for the same seed.

    A multiplicative hash of the person id and the seed's own number, so every backend computes
    the same split (no backend-specific hash function)."""
    salt = int.from_bytes(seed.encode()[:8].ljust(8, b"\0"), "big") % 1_000_003
    h = ((f.person_id * 2654435761 + salt) % 4294967296) % 100
    return h < percent


def nightly(state: ir.Table, held: ir.Table, vulnerable: ir.Table, contacts: ir.Table, on: dt.date, champion: rules.Policy,
            challenger: rules.Policy | None = None, seed: str = "", percent: int = 0, account_types=None,
            standing_days: bool = False) -> ir.Table:
    """Every debt's decision for `on` from the per-debt state (`state`): the RESULT columns (rule
    numbers; see `labelled`). `account_types`: the services in the book, when the caller knows them
    (else they are looked up: one column's distinct values). `standing_days`: the STANDING columns
    instead, each decision with the days it stands (`decisions_on` reads them on a later day)."""
    if account_types is None:
        account_types = state.select("account_type").distinct().to_pyarrow().column(0).to_pylist()
    f = features_from_state(state, held, vulnerable, contacts, on, growth=standing_days)

    def finish(t: ir.Table, policy: rules.Policy) -> ir.Table:
        if standing_days:
            return standing_row(t, policy, on, account_types, champion, challenger)
        return results(t, champion, challenger)

    if challenger is None or percent <= 0:
        return finish(decide(f, champion, 0, account_types), champion)
    share = split(f, seed, percent)
    a = finish(decide(f.filter(~share), champion, 0, account_types), champion)
    b = finish(decide(f.filter(share), challenger, 1, account_types), challenger)
    return a.union(b)


STANDING = ["debt_id", "person_id", "decided_on", "stands", "segment_no", "rag_no", "action_no", "overlaps", "arm", "arrears"]


def _weighted(champion: rules.Policy, challenger: rules.Policy | None) -> list[str]:
    return sorted({*champion.weights, *((challenger.weights if challenger else {}))})


def standing_row(t: ir.Table, policy: rules.Policy, on: dt.date, account_types, champion: rules.Policy,
                 challenger: rules.Policy | None = None) -> ir.Table:
    """A decision as kept to be read on later days (decision 0007): STANDING, the value of every
    feature either policy weighs (`w_<feature>`) and, for the day counts among them, whether each
    grows (`grows_<feature>`). No score: `decisions_on` works it out for the day it is read."""
    names = _weighted(champion, challenger)
    t = t.mutate(decided_on=ibis.literal(on), stands=stands(t, policy, t.score, account_types),
                 **{f"w_{n}": t[n] for n in names})
    return t.select(*STANDING, *[f"w_{n}" for n in names], *[f"grows_{n}" for n in names if n in standing.DAY_FEATURES])


def decisions_on(kept: ir.Table, day: dt.date, champion: rules.Policy, challenger: rules.Policy | None = None) -> ir.Table:
    """Kept decisions (`standing_row`) as they read on `day`: the RESULT columns and contributions,
    with each growing day count moved on by the days since the decision. The score is the same
    doubles multiplied and added in the same order as `decide`, so it equals a full run's exactly
    for every decision still standing on `day` (tested)."""
    t, _ = _read_on(kept, day, champion, challenger)
    return t.select(*RESULT, *[f"c_{n}" for n in _weighted(champion, challenger)])


def _read_on(kept: ir.Table, day: dt.date, champion: rules.Policy, challenger: rules.Policy | None):
    """`kept` with `score` and the contributions for `day`, and each weighted feature's value that day."""
    names = _weighted(champion, challenger)
    elapsed = (ibis.literal(day) - kept.decided_on).cast("int64")
    value = {n: kept[f"w_{n}"] + ibis.cases((kept[f"grows_{n}"], elapsed), else_=0) if n in standing.DAY_FEATURES else kept[f"w_{n}"]
             for n in names}

    def scored(policy: rules.Policy):
        parts = {n: value[n].fill_null(0).cast("float64") * ibis.literal(rules.factor(policy, n), "float64") for n in policy.weights}
        total = ibis.literal(0.0, "float64")
        for n in policy.weights:
            total = total + parts[n]
        return total, parts

    score, parts = scored(champion)
    zero = ibis.literal(0.0, "float64")
    contributions = {n: parts.get(n, zero) for n in names}
    if challenger is not None:
        other, other_parts = scored(challenger)
        score = ibis.cases((kept.arm == 1, other), else_=score)
        contributions = {n: ibis.cases((kept.arm == 1, other_parts.get(n, zero)), else_=contributions[n]) for n in names}
    return kept.mutate(score=score, **{f"c_{n}": c.cast("float32") for n, c in contributions.items()}), value


def people_standing(kept: ir.Table, day: dt.date, champion: rules.Policy, challenger: rules.Policy | None = None) -> ir.Table:
    """Each person's lead on `day` from their kept decisions (`people`), with `lead_stands`: the days
    for which no other of their debts can overtake the lead while none of them is decided again
    (decision 0007). Work (a workstream) comes first and changes only with a decision; among debts
    alike in that, a debt whose score grows faster than the lead's may reach it, and a bound is
    worked out from the gap and the two drifts, less a margin for the lead key's millionths and the
    doubles' rounding. Two debts with the same weighted features, growth and arm score the same on
    every day, so their order stays the arrears' and ids'."""
    names = _weighted(champion, challenger)
    d, value = _read_on(kept, day, champion, challenger)

    def per_arm(policy: rules.Policy):
        drift, _, size, _ = _growth_terms(policy, value.get, lambda n: _grows(kept, n))
        return drift, size

    drift, size = per_arm(champion)
    if challenger is not None:
        other_drift, other_size = per_arm(challenger)
        drift = ibis.cases((kept.arm == 1, other_drift), else_=drift)
        size = ibis.cases((kept.arm == 1, other_size), else_=size)
    d = d.mutate(_drift=drift, _err=size * (4 * (len(names) + 2) * _UNIT), _reach=size, _sig=_signature(kept, names),
                 _busy=busy(d, champion, challenger))
    persons = people(d, champion, challenger)
    lead = d.select(lead_debt_id="debt_id", _l_busy="_busy", _l_score="score", _l_drift="_drift", _l_err="_err", _l_sig="_sig")
    j = d.join(persons.select("person_id", "lead_debt_id").join(lead, "lead_debt_id"), "person_id")
    gap = j._l_score - j.score
    margin = 1e-5 + 4 * (j._l_err + j._err)
    never = ibis.literal(_NEVER, "int64")
    bound = ibis.cases(
        (j.debt_id == j.lead_debt_id, never),
        (j._l_busy & ~j._busy, never),  # work leads, and stays work while both stand
        (j._sig == j._l_sig, never),
        (j._reach >= 1e9, 0),  # near the lead key's limits: no promise
        (gap <= margin, 0),
        (j._drift <= j._l_drift, never),
        else_=ibis.greatest(ibis.least((gap - margin) / (j._drift - j._l_drift), standing.HORIZON + 2.0).floor() - 1, 0).cast("int64"),
    )
    bounds = j.group_by("person_id").aggregate(_stands=bound.min())
    return persons.join(bounds, "person_id").select(
        "person_id", "lead_debt_id", "debts", "person_arrears", decided_on=ibis.literal(day),
        lead_stands=ibis.least(bounds._stands, standing.HORIZON).cast("int16"))


def _signature(kept: ir.Table, names: list[str]) -> ir.StringValue:
    """The weighted features, their growth and the arm as one text: equal texts, equal scores."""
    parts = [kept.arm.cast("string")]
    for n in names:
        parts.append(kept[f"w_{n}"].cast("string").fill_null("-"))
        if n in standing.DAY_FEATURES:
            parts.append(kept[f"grows_{n}"].cast("string"))
    return ibis.literal("|").join(parts)


RESULT = ["debt_id", "person_id", "score", "segment_no", "rag_no", "action_no", "overlaps", "arm", "arrears"]


def results(t: ir.Table, champion, challenger=None) -> ir.Table:
    """The columns kept for every debt, whichever policy decided: RESULT and a contribution for every
    weighted feature of either policy (0 where the deciding policy does not weigh it)."""
    names = sorted({*champion.weights, *((challenger.weights if challenger else {}))})
    t = t.mutate(**{f"c_{n}": ibis.literal(0.0).cast("float32") for n in names if f"c_{n}" not in t.columns})
    return t.select(*RESULT, *[f"c_{n}" for n in names])


def run(debts, entries, held, vulnerable, contacts, on: dt.date, champion: rules.Policy,
        challenger: rules.Policy | None = None, seed: str = "", percent: int = 0) -> ir.Table:
    """Every debt's decision for `on` from the ledger, labelled (a council's nightly run: the ledger is
    small enough to fold each night). Ibis expression; nothing runs until it is executed."""
    types = debts.select("account_type").distinct().to_pyarrow().column(0).to_pylist()
    s = state(debts, ledger_summary(entries, on))
    return labelled(nightly(s, held, vulnerable, contacts, on, champion, challenger, seed, percent, types), champion, challenger)


def people(decisions: ir.Table, champion: rules.Policy, challenger: rules.Policy | None = None) -> ir.Table:
    """Each person: their lead debt, how many debts, and their arrears. The lead is, among the debts
    with work (a workstream), the highest score, then the most arrears, then the lowest debt id (a
    person with no work at all is led by their highest-scoring debt), so the same decisions give
    the same lead every night on every engine. One aggregation with one arg-max over a ranking key
    (not a sort of every debt); the lead's own decision is its row in `decisions` (see `leads`). On
    a state kept in person order, each person's debts arrive together, which halves the cost."""
    d = decisions
    d = d.mutate(_key=_lead_key(busy(d, champion, challenger), d.score, d.arrears, d.debt_id))
    return d.group_by("person_id").aggregate(lead_debt_id=_argmax(d.debt_id, d._key), debts=d.count(),
                                             person_arrears=_int64(d.arrears.sum()))


_WORD = 2**64 - 1  # the ranking key's high word is multiplied by this: more than any low word


def _lead_key(busy: ir.BooleanValue, score: ir.FloatingValue, arrears: ir.IntegerValue, debt_id: ir.IntegerValue) -> ir.Value:
    """domain/prioritisation.lead_rank as one number: two words of at most 63 bits, the high one
    (busy, score) times 2^64 - 1 plus the low one (arrears, debt id). Written with an unsigned
    literal, the product is a 128-bit integer on DuckDB (HUGEINT) and a DECIMAL(38, 0) on Spark,
    while Ibis takes it for int64 (it is only compared inside the arg-max, never kept). A key of
    doubles (before) left ties to whichever thread saw a debt first: about 80 of 15M people's
    leads changed from one run to the next."""
    low, high = rules.LEAD_SCORE_RANGE
    ids = 10**rules.LEAD_ID_DIGITS
    top = ibis.cases((busy, 4 * 10**18), else_=0) + ((ibis.greatest(ibis.least(score, high), low) - low) * 1e6).floor().cast("int64")
    bottom = ibis.least(ibis.greatest(arrears, 0), rules.LEAD_ARREARS_CAP) * ids + (ids - 1 - debt_id % ids)
    return top * ibis.literal(_WORD, "uint64") + bottom


def leads(persons: ir.Table, decisions: ir.Table) -> ir.Table:
    """People with their lead debt's decision (score, rule numbers, arm): `labelled` names them."""
    lead = decisions.select(lead_debt_id="debt_id", score="score", segment_no="segment_no", rag_no="rag_no",
                            action_no="action_no", arm="arm")
    return persons.join(lead, "lead_debt_id")
