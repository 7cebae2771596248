"""Payment and recovery simulations that fill one debt's ledger.

Each engine walks forward in time (months for instalment years, weeks for rent and invoices),
lets the payer pay according to its profile, runs the council's recovery steps on the arrears,
lets the payer respond to them, and returns the debt's recovery stage and its date as at `as_of`.
A debt that is fully paid or written off ends at stage "none".
"""

from __future__ import annotations

import random
from datetime import date

from .ledger import Ledger, add_months, days, fy_start, month_start, next_weekday, posting
from .people import Payer

# Attachment of earnings, council tax (SI 1992/613 Sch 4), monthly net earnings bands in pence.
AOE_MONTHLY = ((30000, 0), (55000, 3), (74000, 5), (90000, 7), (142000, 12), (202000, 17))


def aoe_deduction(net_monthly: int) -> int:
    for limit, pct in AOE_MONTHLY:
        if net_monthly <= limit:
            return net_monthly * pct // 100
    return 34340 + (net_monthly - 202000) // 2


class _Payments:
    """Payments into one debt, with bounced direct debits, capped at what is owed."""

    __slots__ = ("L", "rng", "as_of", "stop", "dead", "paid", "dated", "owed", "cap")

    def __init__(self, L: Ledger, rng: random.Random, as_of: date, stop: date | None, dead: date | None,
                 cap: bool = True):
        self.L, self.rng, self.as_of, self.stop, self.dead = L, rng, as_of, stop, dead
        self.cap = cap  # never pay more than is owed (rent may be paid in advance: no cap)
        self.paid = 0
        self.dated: list[tuple[date, int]] = []
        self.owed = 0  # total raised so far (charges + costs + adjustments)

    def pay(self, amount: int, d: date, method: str, bounce: float = 0.0, force: bool = False,
            estate: bool = False) -> int:
        if d > self.as_of:
            return 0
        if self.dead is not None and d > self.dead and not estate:
            return 0
        if self.stop is not None and d > self.stop and not force:
            return 0
        rng = self.rng
        if self.cap:
            left = self.owed - self.paid
            if amount >= left:
                amount = left
                if left % 100 and method in ("card", "cash", "bank_transfer") and rng.random() < 0.3:
                    amount = left - left % 100  # clears "the balance" in round pounds, leaving pence
        if amount <= 0:
            return 0
        i = self.L.add("payment", -amount, d, method=method, post=posting(rng, d, method))
        self.paid += amount
        self.dated.append((d, amount))
        if bounce and method == "direct_debit" and rng.random() < bounce:
            rd = d + days(rng.randint(3, 6))
            if rd <= self.as_of:
                self.L.reverse(i, rd)
                self.paid -= amount
                self.dated.append((rd, -amount))
                if rng.random() < 0.75:
                    self.pay(amount, rd + days(rng.randint(4, 14)), "card", force=force)
        return amount

    def paid_by(self, d: date) -> int:
        return sum(a for x, a in self.dated if x <= d)

    def outstanding(self) -> int:
        return self.owed - self.paid


def _write_off(L: Ledger, P: _Payments, d: date) -> None:
    out = P.outstanding()
    if out > 0 and d <= P.as_of:
        L.add("write_off", -out, d)
        P.paid += out
        P.dated.append((d, out))


# ------------------------------------------------------------------------------------------------
# council tax and business rates: one financial year's instalments


def instalment_year(
    L: Ledger,
    rng: random.Random,
    *,
    plan: list[tuple[date, int]],
    bill_date: date,
    payer: Payer,
    as_of: date,
    close: tuple[date, date, int] | None = None,
    stop: date | None = None,
    dead: date | None = None,
    estate_pays: bool = False,
    employed: bool = False,
    on_benefits: bool = False,
    attach: bool = True,
    summons_cost: int = 0,
    lo_cost: int = 0,
    adjust: tuple[date, int] | None = None,
    gone: bool = False,
) -> tuple[str, date | None]:
    """close = (last day liable, date of the closing bill, liability for the part year)."""
    idx = [L.add("charge", a, bill_date, d) for d, a in plan]
    P = _Payments(L, rng, as_of, stop, dead)
    dues = list(plan)
    total = sum(a for _, a in plan)
    accel: date | None = None
    final_due: date | None = None
    if close is not None:
        c, rebill, liability = close
        kept = []
        for (d, a), i in zip(plan, idx):
            if d > c:
                L.reverse(i, rebill)
                total -= a
            else:
                kept.append((d, a))
        dues = kept
        adj = liability - total
        final_due = rebill + days(14)
        if adj:
            L.add("adjustment", adj, rebill, final_due)
            total += adj
            dues.append((final_due, adj))
        accel = final_due
    if adjust is not None:
        ad, amt = adjust
        if ad <= as_of and amt:
            L.add("adjustment", amt, ad, ad)
            total += amt
            dues.append((ad, amt))
    dues.sort()
    inst_by_month: dict[date, int] = {}
    for d, a in plan:
        if close is None or d <= close[0]:
            inst_by_month[month_start(d)] = inst_by_month.get(month_start(d), 0) + a
    regular = plan[-1][1] if plan else 0
    P.owed = total
    costs = 0

    def due_through(t: date) -> int:
        if accel is not None and t >= accel:
            return total
        return sum(a for d, a in dues if d <= t)

    first_due = dues[0][0] if dues else bill_date
    last_due = dues[-1][0] if dues else bill_date
    m = month_start(first_due)
    stage, sdate = "none", None
    mode = payer.style
    k = 0
    one_offs: list[tuple[date, int, str, bool]] = []  # (date, amount or 0 for all, method, estate)
    cleared = False
    demanded = 0
    hearing: date | None = None
    remedy_at: date | None = None
    arr_amt, arr_day, arr_method = 0, 1, payer.method
    aoe_amt = aoe_deduction(rng.randrange(110000, 320000, 1000))
    aob_amt = rng.choice((1480, 1605, 1980))
    partial_amt = max(1000, (regular * payer.partial_pct // 100) // 500 * 500)
    if dead is not None and estate_pays:
        one_offs.append((dead + days(rng.randint(90, 300)), 0, "bank_transfer", True))
    while m <= as_of:
        nxt = add_months(m, 1)
        if P.outstanding() <= 0 and m > last_due and not one_offs:
            break
        inst = inst_by_month.get(m, 0)
        if mode == "broken" and k >= payer.break_after:
            mode = "none"
        if mode in ("dd", "broken"):
            if inst:
                P.pay(inst, next_weekday(m), "direct_debit", payer.bounce)
        elif mode == "late":
            if inst:
                r = rng.random()
                if r >= 0.1:
                    delay = rng.randint(5, 14) if rng.random() < 0.75 else rng.randint(15, 25)
                    amt = inst * (2 if r < 0.18 else 1)
                    if rng.random() < 0.3:
                        amt = amt // 100 * 100  # pays round pounds
                    P.pay(amt, m + days(delay), payer.method)
            elif m > last_due and rng.random() < 0.5:
                arrears = due_through(m) + costs - P.paid
                if arrears >= 1000:
                    P.pay(arrears // 100 * 100, m + days(rng.randint(5, 25)), payer.method)
        elif mode == "partial":
            P.pay(partial_amt, m + days(rng.randint(0, 20)), payer.method)
        elif mode == "seasonal":
            if m.month in payer.season:
                arrears = due_through(m + days(27)) + costs - P.paid
                if arrears > 0:
                    P.pay(arrears, m + days(rng.randint(0, 27)), payer.method)
        elif mode == "arrangement":
            P.pay(arr_amt, m + days(arr_day), arr_method, payer.bounce if arr_method == "direct_debit" else 0.0,
                  force=arr_method == "bank_transfer")
            if rng.random() < 0.04:
                mode = "none"
        elif mode == "aoe":
            P.pay(aoe_amt, m + days(24), "attachment_of_earnings", force=True)
        elif mode == "aob":
            P.pay(aob_amt, m + days(9), "attachment_of_benefits", force=True)
        if one_offs:
            rest = []
            for od, amt, meth, est in one_offs:
                if od < nxt:
                    P.pay(amt or P.outstanding(), od, meth, force=True, estate=est)
                else:
                    rest.append((od, amt, meth, est))
            one_offs = rest
        # the council's monthly recovery run
        r = m + days(16)
        if r <= as_of and r >= first_due:
            pb = P.paid_by(r)
            overdue = due_through(r) + costs - pb
            if stage == "none":
                if overdue > 500:
                    stage = "final_notice" if final_due is not None and r >= final_due else "reminder"
                    sdate, cleared, demanded = r, False, due_through(r) + costs
            elif stage in ("reminder", "second_reminder", "final_notice"):
                if not cleared and P.paid_by(sdate + days(7)) >= demanded:
                    cleared = True
                if overdue > 0:
                    if cleared and stage == "reminder":
                        stage, sdate, cleared, demanded = "second_reminder", r, False, due_through(r) + costs
                    else:
                        if not cleared and accel is None:
                            accel = sdate + days(14)
                        # summons
                        sd = r + days(rng.randint(0, 7))
                        if sd > as_of:
                            sd = as_of
                        stage, sdate = "summons", sd
                        if summons_cost:
                            L.add("cost", summons_cost, sd)
                            costs += summons_cost
                            P.owed += summons_cost
                        hearing = sd + days(rng.randint(21, 35))
                        resp = "ignore" if (gone and rng.random() < 0.7) else payer.response
                        if resp == "pay":
                            one_offs.append((sd + days(rng.randint(3, 18)), 0, rng.choice(("card", payer.method)), False))
                            mode = "none" if mode not in ("dd",) else mode
                        elif resp == "arrange":
                            mode = "arrangement"
                            arr_amt = max(1000, -(-P.outstanding() // rng.randint(3, 10)) // 100 * 100)
                            arr_day = rng.randint(0, 26)
                            arr_method = rng.choice(("direct_debit", payer.method))
            elif stage == "summons":
                if hearing is not None and r >= hearing:
                    if total + costs - P.paid_by(hearing) > 0:
                        stage, sdate = "liability_order", hearing
                        if lo_cost:
                            L.add("cost", lo_cost, hearing)
                            costs += lo_cost
                            P.owed += lo_cost
                        remedy_at = hearing + days(rng.randint(28, 70))
                    hearing = None
            elif stage == "liability_order":
                if remedy_at is not None and r >= remedy_at and mode != "arrangement" and P.outstanding() > 0:
                    if attach and employed and rng.random() < 0.7:
                        stage, mode = "attachment_of_earnings", "aoe"
                    elif attach and on_benefits and rng.random() < 0.8:
                        stage, mode = "attachment_of_benefits", "aob"
                    else:
                        stage = "enforcement_agent"
                        x = rng.random()
                        if x < 0.4:
                            one_offs.append((remedy_at + days(rng.randint(20, 120)), 0, "bank_transfer", False))
                            mode = "none"
                        elif x < 0.65:
                            mode, arr_method = "arrangement", "bank_transfer"
                            arr_amt = max(2000, -(-P.outstanding() // rng.randint(3, 8)) // 100 * 100)
                            arr_day = rng.randint(0, 26)
                        else:
                            mode = "none"
                    sdate = remedy_at
        m = nxt
        k += 1
    if stage == "summons" and hearing is not None and hearing <= as_of:
        if total + costs - P.paid_by(hearing) > 0:
            stage, sdate = "liability_order", hearing
            if lo_cost:
                L.add("cost", lo_cost, hearing)
                costs += lo_cost
                P.owed += lo_cost
    out = P.outstanding()
    if out > 0:
        if dead is not None and not estate_pays and rng.random() < 0.6:
            _write_off(L, P, dead + days(rng.randint(120, 400)))
        elif out < 1000 and last_due + days(90) <= as_of and rng.random() < 0.6:
            _write_off(L, P, last_due + days(rng.randint(90, 200)))
        elif stage == "enforcement_agent" and sdate and mode == "none" and rng.random() < (0.6 if gone else 0.2):
            _write_off(L, P, sdate + days(rng.randint(180, 420)))  # returned by the agents: untraceable or no goods
        elif stage != "none" and sdate and rng.random() < 0.04:
            _write_off(L, P, sdate + days(rng.randint(60, 500)))  # debt relief order or bankruptcy
    if P.outstanding() <= 0:
        return "none", None
    return stage, sdate


def instalment_plan(annual: int, fy: date, start: date, end_of_plan_month: int, rng: random.Random,
                    as_of: date) -> tuple[date, list[tuple[date, int]], int]:
    """(bill date, [(due, amount)], liability) for a financial-year charge.

    end_of_plan_month: 1 for ten instalments April..January, 3 for twelve April..March.
    Instalments are whole pounds except the first, as councils bill them.
    """
    fy_end = date(fy.year + 1, 3, 31)
    year_days = (fy_end - fy).days + 1
    if start <= fy:
        liability = annual
        bill = fy - days(rng.randint(14, 24))
        first_month = fy
    else:
        liability = annual * ((fy_end - start).days + 1) // year_days
        bill = start + days(rng.randint(7, 21))
        first_month = add_months(month_start(bill), 1)
    if bill > as_of:
        bill = as_of
    last_month = date(fy.year + 1, end_of_plan_month, 1)
    months = []
    mm = first_month
    while mm <= last_month:
        months.append(mm)
        mm = add_months(mm, 1)
    if not months:
        months = [bill + days(14)]
    n = len(months)
    regular = (liability // n) // 100 * 100
    first = liability - regular * (n - 1)
    plan = [(months[0], first)] + [(d, regular) for d in months[1:]]
    plan = [(d, a) for d, a in plan if a > 0]
    return bill, plan, liability


# ------------------------------------------------------------------------------------------------
# rent: weekly charges every Monday


def _monthly_hit(mon: date, day: int) -> date | None:
    """The date in the week starting mon that falls on the given day of the month."""
    for base in (mon, mon + days(6)):
        try:
            d = date(base.year, base.month, day)
        except ValueError:
            continue
        if mon <= d <= mon + days(6):
            return d
    return None


def rent_free(mon: date) -> bool:
    """Two rent-free weeks at Christmas and two at the end of March (a 48-week rent year)."""
    if mon.month == 12 and mon.day >= 19:
        return True
    if mon.month == 3 and mon.day >= 18:
        return True
    return False


def rent_account(
    L: Ledger,
    rng: random.Random,
    *,
    start: date,
    end: date | None,
    weekly: dict[date, int],
    payer: Payer,
    benefit: str | None,
    benefit_pct: int,
    as_of: date,
    window_start: date,
    free_weeks: bool,
    garage: bool,
    dead: date | None,
    bf: int = 0,
    court_fee: int = 35500,
) -> tuple[str, date | None]:
    mon = max(start, window_start)
    mon = mon + days((7 - mon.weekday()) % 7)
    stop = min(end, as_of) if end else as_of
    P = _Payments(L, rng, as_of, end, dead, cap=False)
    stage, sdate = "none", None
    since_weeks = 0
    order_bal = 0
    court_wait = rng.randint(6, 10)
    mode = payer.style
    if mode == "none":  # rent comes first: hardly anyone pays nothing at all
        mode = "late" if rng.random() < 0.6 else "broken"
    if garage and mode in ("broken", "seasonal"):
        mode = "late"
    partial_pct = 100 - (100 - payer.partial_pct) // 4  # a tenant short of money still pays most of the rent
    resume_at = -1
    freq = "monthly" if mode == "dd" and rng.random() < 0.75 else rng.choice(("weekly", "fortnightly", "monthly", "monthly"))
    method = "direct_debit" if mode in ("dd", "broken") else payer.method
    extra = 0
    apa = benefit == "uc_apa"
    uc_day = rng.randint(1, 28)
    hb_phase = rng.randint(0, 3)
    hb_first = 0 if start < window_start else 4  # a new claim takes a month or two, then is backdated
    hb_accrued = 0
    one_offs: list[tuple[date, int, str, bool]] = []
    k = 0
    if bf and mon <= stop:
        L.add("adjustment", bf, mon, mon)
        P.owed += bf
    while mon <= stop:
        wk = weekly[fy_start(mon)]
        if not (free_weeks and rent_free(mon)):
            L.add("charge", wk, mon, mon)
            P.owed += wk
            if benefit == "hb":
                hb_accrued += wk * benefit_pct // 100
        bal = P.owed - P.paid
        # recovery check each Monday, on arrears net of benefit that is paid in arrears
        if benefit == "hb":
            bal -= 4 * (wk * benefit_pct // 100)
        elif apa:
            bal -= wk * benefit_pct // 100 * 52 // 12
        since_weeks += 1
        if bal <= 0:
            if stage != "none":
                stage, sdate = "none", None
        elif stage == "none":
            if bal >= 2 * wk and bal >= 5000:
                stage, sdate, since_weeks = "reminder", mon, 0
                if payer.response != "ignore" and rng.random() < 0.4:
                    one_offs.append((mon + days(rng.randint(5, 21)), bal, payer.method, False))
        elif stage == "reminder":
            if bal >= 4 * wk and since_weeks >= 3:
                stage, sdate, since_weeks = "second_reminder", mon, 0
                if payer.response != "ignore" and rng.random() < 0.3:
                    one_offs.append((mon + days(rng.randint(5, 21)), bal, payer.method, False))
        elif garage:
            pass
        elif stage == "second_reminder":
            if bal >= 8 * wk and since_weeks >= 4:
                stage, sdate, since_weeks = "nosp", mon, 0
                if payer.response == "pay" and rng.random() < 0.5:
                    one_offs.append((mon + days(rng.randint(7, 28)), bal, payer.method, False))
                elif payer.response == "arrange":
                    mode, extra = "arrangement", rng.choice((300, 500, 750, 1000, 1500))
                    method = rng.choice(("direct_debit", payer.method))
        elif stage == "nosp":
            if bal >= 12 * wk and since_weeks >= 8:
                stage, sdate, since_weeks = "court_claim", mon, 0
                L.add("cost", court_fee, mon)
                P.owed += court_fee
                if mode != "arrangement" and rng.random() < 0.5:
                    mode, extra = "arrangement", rng.choice((500, 750, 1000, 1500))
                    method = rng.choice(("direct_debit", payer.method))
        elif stage == "court_claim":
            if since_weeks >= court_wait and bal >= 4 * wk:
                stage, sdate, since_weeks = "possession_order", mon, 0
                order_bal = bal
                if rng.random() < 0.7:
                    mode, extra = "arrangement", rng.choice((370, 500, 750, 1000))
                    method = rng.choice(("direct_debit", payer.method))
        elif stage == "possession_order":
            if bal >= order_bal + 4 * wk and since_weeks >= 12:
                stage, sdate, since_weeks = "warrant", mon, 0
        # payments during the week
        share = wk * benefit_pct // 100 if benefit else 0
        own = wk - share if (benefit == "hb" or apa) else wk
        if benefit == "hb" and hb_accrued and k >= hb_first and k % 4 == hb_phase:
            P.pay(hb_accrued, mon, "housing_benefit")
            hb_accrued = 0
        if benefit in ("uc", "uc_apa"):
            d = _monthly_hit(mon, uc_day)
            if d is not None and apa:
                ded = 3000 if bal > 0 and benefit == "uc" else 0
                P.pay(share * 52 // 12 + ded, d, "universal_credit")
            if benefit == "uc" and not apa and bal >= 8 * wk:
                apa = True  # managed payment to landlord requested at two months' arrears
        if mode == "broken" and k >= payer.break_after * 4:
            mode = "none"
            if rng.random() < 0.6:
                resume_at = k + rng.randint(4, 16)
        if mode == "none" and k == resume_at:
            mode, extra = "arrangement", rng.choice((0, 300, 500, 1000))
        if own > 0 and mode != "none":
            amount_week = own * partial_pct // 100 if mode == "partial" else own
            if mode == "arrangement":
                amount_week = own + extra
                if rng.random() < 0.004:
                    mode = "none"
            when: date | None = None
            amt = 0
            if mode == "seasonal" and mon.month in payer.season and bal > 0:
                if k % 2 == 0:
                    when, amt = mon + days(rng.randint(0, 6)), bal + amount_week
            elif freq == "weekly":
                when, amt = mon + days(rng.randint(0, 4)), amount_week
            elif freq == "fortnightly":
                if k % 2 == 0:
                    when, amt = mon + days(rng.randint(0, 4)), amount_week * 2
            else:
                day = payer.dd_day if method == "direct_debit" else min(28, payer.dd_day + rng.randint(0, 3))
                hit = _monthly_hit(mon, day)
                if hit is not None:
                    when, amt = hit, amount_week * 52 // 12
            if when is not None and amt > 0:
                if mode == "late":
                    r = rng.random()
                    if r < 0.15:
                        amt = 0
                    elif r < 0.25:
                        amt *= 2
                    when = when + days(rng.randint(3, 12))
                if mode == "dd" and bal > wk:
                    amt += bal
                elif mode == "seasonal":
                    amt = amt * partial_pct // 100  # the next direct debit also collects the arrears
                if amt:
                    P.pay(amt, next_weekday(when) if method == "direct_debit" else when, method,
                          payer.bounce if method == "direct_debit" else 0.0)
        if one_offs:
            rest = []
            for od, amt, meth, est in one_offs:
                if od <= mon + days(6):
                    P.pay(amt, od, meth)
                else:
                    rest.append((od, amt, meth, est))
            one_offs = rest
        mon += days(7)
        k += 1
    if end is not None and end < as_of:
        out = P.outstanding()
        if out > 0:
            if dead is not None and rng.random() < 0.6:
                _write_off(L, P, end + days(rng.randint(120, 400)))
            elif out < 2000 and rng.random() < 0.7:
                _write_off(L, P, end + days(rng.randint(60, 200)))
            elif rng.random() < 0.3 and dead is None:
                d = end + days(rng.randint(20, 60))
                amt = rng.choice((1000, 1500, 2000, 2500, 5000))
                while d <= as_of and P.outstanding() > 0:
                    P.pay(min(amt, P.outstanding()), d, "card", force=True)
                    d = add_months(d, 1)
    if P.outstanding() <= 0:
        return "none", None
    return stage, sdate


# ------------------------------------------------------------------------------------------------
# invoices: leasehold, sundry, housing benefit overpayments


class Step:
    __slots__ = ("stage", "after", "minimum", "cost", "action")

    def __init__(self, stage: str, after: int, minimum: int = 1, cost: int = 0, action: str = ""):
        self.stage, self.after, self.minimum, self.cost, self.action = stage, after, minimum, cost, action


def invoice_debt(
    L: Ledger,
    rng: random.Random,
    *,
    dues: list[tuple[date, int]],
    behaviour: tuple,
    payer: Payer,
    as_of: date,
    ladder: list[Step],
    stop: date | None = None,
    dead: date | None = None,
    cost_kind: str = "cost",
    remedy: tuple | None = None,
    initial: tuple[str, date] | None = None,
    interest_pct: int = 0,
) -> tuple[str, date | None]:
    """dues: [(due date, amount)] already charged into L (charges and adjustments).

    behaviour: ("prompt", method) | ("late", method) | ("partial", pct, method) | ("none",)
               | ("plan", amount, day, method, start) | ("deduct", amount, every_days, method, start)
    remedy: behaviour to switch to when a Step with action "remedy" is reached.
    """
    P = _Payments(L, rng, as_of, stop, dead)
    P.owed = base_total = sum(a for _, a in dues)
    dues = sorted(dues)
    scheduled: list[tuple[date, int, str]] = []
    kind = behaviour[0]
    if kind in ("prompt", "late", "partial"):
        meth = behaviour[-1]
        for d, a in dues:
            if a <= 0:
                continue
            if kind == "prompt":
                when = d + days(rng.randint(-10, 5))
                amt = a
            elif kind == "late":
                if rng.random() < 0.15:
                    continue
                when = d + days(rng.randint(7, 45) if rng.random() < 0.85 else rng.randint(46, 90))
                amt = a
            else:
                when = d + days(rng.randint(0, 30))
                amt = a * behaviour[1] // 100
            scheduled.append((when, amt, meth))
        scheduled.sort()
    periodic = behaviour if kind in ("plan", "deduct") else None
    next_periodic = periodic[4] if periodic else None
    stage, sdate = initial if initial else ("none", None)
    since: date | None = None
    step_i = 0
    t = dues[0][0] if dues else as_of
    start = t
    last_due = dues[-1][0] if dues else t
    di = 0
    due_sum = 0
    si = 0
    while t <= as_of:
        week_end = t + days(6)
        # payments this week
        while si < len(scheduled) and scheduled[si][0] <= week_end:
            d, amt, meth = scheduled[si]
            P.pay(amt, max(d, start), meth, payer.bounce if meth == "direct_debit" else 0.0)
            si += 1
        while periodic and next_periodic is not None and next_periodic <= week_end:
            if next_periodic >= t or next_periodic >= start:
                P.pay(periodic[1], next_periodic, periodic[3],
                      payer.bounce if periodic[3] == "direct_debit" else 0.0, force=periodic[0] == "deduct")
            if periodic[0] == "plan":
                next_periodic = add_months(next_periodic, 1)
                if rng.random() < 0.03:
                    periodic = None
            else:
                next_periodic = next_periodic + days(periodic[2])
        # recovery check (none while an arrangement or deduction is running)
        while di < len(dues) and dues[di][0] <= t:
            due_sum += dues[di][1]
            di += 1
        overdue = due_sum + (P.owed - base_total) - P.paid_by(t)
        if periodic is not None and overdue > 0:
            since = None
        elif overdue > 0:
            if since is None:
                since = t
            age = (t - since).days
            if step_i < len(ladder):
                s = ladder[step_i]
                if age >= s.after and overdue >= s.minimum:
                    stage, sdate = s.stage, t
                    step_i += 1
                    if s.cost:
                        L.add(cost_kind, s.cost, t)
                        P.owed += s.cost
                    if interest_pct and s.action == "interest":
                        interest = overdue * interest_pct * max(age, 30) // 36500
                        if interest > 0:
                            L.add("interest", interest, t)
                            P.owed += interest
                    if s.action in ("respond", "interest"):
                        if payer.response == "pay" and rng.random() < 0.6:
                            scheduled.append((t + days(rng.randint(5, 25)), P.outstanding(), payer.method))
                            scheduled.sort()
                        elif payer.response == "arrange" and not periodic:
                            amt = max(1000, -(-P.outstanding() // rng.randint(3, 12)) // 100 * 100)
                            periodic = ("plan", amt, 0, rng.choice(("direct_debit", payer.method)), t + days(rng.randint(7, 30)))
                            next_periodic = periodic[4]
                    elif s.action == "remedy" and remedy is not None:
                        periodic = remedy[:4] + (t + days(rng.randint(14, 45)),)
                        next_periodic = periodic[4]
        else:
            since = None
        if P.outstanding() <= 0 and t >= last_due and si >= len(scheduled):
            break
        t += days(7)
    if P.outstanding() <= 0:
        return "none", None
    return stage, sdate


# ------------------------------------------------------------------------------------------------
# parking penalty charge notices


def pcn(L: Ledger, rng: random.Random, *, issued: date, amount: int, payer: Payer, as_of: date,
        tec_fee: int = 900) -> tuple[str, date | None]:
    """A PCN: 50% discount within 14 days, notice to owner, charge certificate (+50%), order for recovery."""
    L.add("charge", amount, issued, issued + days(28))
    owed = amount
    paid = 0

    def pay(a: int, d: date, method: str) -> bool:
        nonlocal paid
        if d > as_of:
            return False
        L.add("payment", -a, d, method=method, post=posting(rng, d, method))
        paid += a
        return True

    x = rng.random()
    careful = payer.style in ("dd", "late", "seasonal")
    p_disc = 0.7 if careful else 0.35
    method = "card" if rng.random() < 0.85 else ("cash" if rng.random() < 0.5 else "bank_transfer")
    if x < 0.1:  # cancelled after an informal challenge or appeal
        d = issued + days(rng.randint(10, 80))
        if d <= as_of:
            L.add("adjustment", -amount, d)
            return "none", None
        return "none", None
    x = rng.random()
    if x < p_disc:
        d = issued + days(rng.randint(0, 13))
        if pay(amount // 2, d, method):
            L.add("adjustment", -(amount - amount // 2), d)
            return "none", None
        return "none", None
    if x < p_disc + 0.1:
        d = issued + days(rng.randint(15, 27))
        if pay(amount, d, method):
            return "none", None
        return "none", None
    nto = issued + days(rng.randint(28, 35))
    if nto > as_of:
        return "none", None
    if rng.random() < 0.3:
        d = nto + days(rng.randint(3, 25))
        if pay(amount, d, method):
            return "none", None
        return "notice_to_owner", nto
    cc = nto + days(rng.randint(42, 56))
    if cc > as_of:
        return "notice_to_owner", nto
    inc = amount // 2
    L.add("cost", inc, cc, cc + days(14))
    owed += inc
    if rng.random() < 0.3:
        d = cc + days(rng.randint(3, 30))
        if pay(owed, d, method):
            return "none", None
        return "charge_certificate", cc
    ofr = cc + days(rng.randint(21, 40))
    if ofr > as_of:
        return "charge_certificate", cc
    L.add("cost", tec_fee, ofr, ofr + days(21))
    owed += tec_fee
    if rng.random() < 0.25:
        d = ofr + days(rng.randint(5, 20))
        if pay(owed, d, method):
            return "none", None
        return "order_for_recovery", ofr
    war = ofr + days(rng.randint(28, 60))
    if war > as_of:
        return "order_for_recovery", ofr
    x = rng.random()
    if x < 0.4:
        d = war + days(rng.randint(20, 150))
        if pay(owed, d, "bank_transfer"):
            return "none", None
    elif x < 0.6:
        d = war + days(rng.randint(200, 400))
        if d <= as_of:
            L.add("write_off", -owed, d)
            return "none", None
    return "enforcement_agent", war


def weekly_rents(base: int, as_of: date, rng: random.Random, years: int = 4) -> dict[date, int]:
    """Weekly rent per financial year: social rent rises in April (CPI + 1%)."""
    rises = {2021: 150, 2022: 410, 2023: 700, 2024: 770, 2025: 270, 2026: 480}
    fy = fy_start(as_of)
    out = {fy: base}
    cur = base
    for i in range(1, years + 1):
        y = fy.year - i + 1
        pct = rises.get(y, 300)
        cur = cur * 10000 // (10000 + pct)
        out[date(fy.year - i, 4, 1)] = cur
    return out


__all__ = ["instalment_year", "instalment_plan", "rent_account", "invoice_debt", "Step", "pcn", "weekly_rents",
           "aoe_deduction"]
