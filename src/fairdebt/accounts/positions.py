"""Balances, arrears and ongoing liability computed in SQL, by the same rule as domain/ledger.py.

Credits clear the overdue part first: arrears = max(0, min(overdue debits - credits, balance));
ongoing = max(0, balance - arrears). A reversal counts on the side of the entry it reverses
(a negative amount reverses a debit, a positive one reverses a credit).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

# Which side an entry counts on, in one comparison. The ledger's CHECKs make every debit kind
# positive and every credit kind negative; an adjustment's sign is its side; a reversal has the
# opposite sign to what it reverses and counts on that entry's side. So an entry is on the debit
# side exactly when it is positive and not a reversal, or negative and a reversal. (The lists of
# kinds cost the refresh of 1M entries 0.2-0.3 s more on PostgreSQL; 2 cores.)
_DEBIT_SIDE = "((amount_pence > 0) <> (kind = 'reversal'))"
# A scope holding at least this share of all accounts is refreshed as everything: one pass over the
# ledger costs less than joining every entry to the scope (1M entries: 1.5 s against 2.5 s), and
# the rows whose positions did not change are not written either way.
WHOLE_BOOK_SHARE = 0.5
WHOLE_BOOK_MIN_ACCOUNTS = 1_000  # smaller scopes are never worth counting the accounts for


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if connection.vendor == "postgresql" else f"MAX({a}, {b})"


def debt_positions_sql(where: str = "") -> str:
    """SELECT debt_id, account_id, balance, arrears, ongoing for entries effective on or before %(on)s."""
    per_debt = f"""
        SELECT debt_id,
               SUM(amount_pence) AS balance,
               SUM(CASE WHEN {_DEBIT_SIDE} AND COALESCE(due_date, effective_date) < %(on)s
                        THEN amount_pence ELSE 0 END) AS overdue,
               -SUM(CASE WHEN NOT {_DEBIT_SIDE} THEN amount_pence ELSE 0 END) AS credits
        FROM accounts_ledgerentry
        WHERE effective_date <= %(on)s {where}
        GROUP BY debt_id
    """
    # Capped at the balance, exactly as domain/ledger.position does.
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    arrears = _greatest("0", f"{least}(overdue - credits, balance)")
    return f"""
        SELECT debt_id, d.account_id, balance, {arrears} AS arrears,
               {_greatest("0", f"balance - {arrears}")} AS ongoing
        FROM ({per_debt}) per_debt JOIN accounts_debt d ON d.id = per_debt.debt_id
    """


def totals(on: dt.date) -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COALESCE(SUM(balance),0), COALESCE(SUM(arrears),0), COALESCE(SUM(ongoing),0) "
            f"FROM ({debt_positions_sql()}) p",
            {"on": on},
        )
        balance, arrears, ongoing = cur.fetchone()
    return {"balance_pence": int(balance), "arrears_pence": int(arrears), "ongoing_pence": int(ongoing)}


def refresh(on: dt.date, account_ids: list[int] | None = None) -> dict[str, int]:
    """Refresh the cached positions on Debt and Account (all, or only the given accounts).

    Returns how many debts and accounts were written (those whose cached position changed)."""
    params = {"on": on}
    if account_ids is not None and not account_ids:
        return {"debts": 0, "accounts": 0}
    with transaction.atomic(), connection.cursor() as cur:
        if account_ids is not None:
            account_ids = sorted({int(i) for i in account_ids})
            if len(account_ids) >= WHOLE_BOOK_MIN_ACCOUNTS:
                cur.execute("SELECT COUNT(*) FROM accounts_account")
                if len(account_ids) >= WHOLE_BOOK_SHARE * cur.fetchone()[0]:
                    account_ids = None
        if connection.vendor == "postgresql":
            # One row per debt is grouped in memory: at the default 4 MB the grouping of 100,000
            # debts spilled to disk in 21 batches (3.4 s; 2.0 s in memory).
            cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("DROP TABLE IF EXISTS fd_positions")
        cur.execute(
            "CREATE TEMPORARY TABLE fd_positions (debt_id BIGINT PRIMARY KEY, account_id BIGINT,"
            " balance BIGINT, arrears BIGINT, ongoing BIGINT)"
        )
        if account_ids is None:
            cur.execute(f"INSERT INTO fd_positions {debt_positions_sql()}", params)
            debt_scope = account_scope = ""
        else:
            cur.execute("DROP TABLE IF EXISTS fd_scope")
            cur.execute("CREATE TEMPORARY TABLE fd_scope (account_id BIGINT PRIMARY KEY)")
            _fill_scope(cur, account_ids)
            cur.execute(
                f"INSERT INTO fd_positions {debt_positions_sql('AND debt_id IN (SELECT id FROM accounts_debt WHERE account_id IN (SELECT account_id FROM fd_scope))')}",
                params,
            )
            debt_scope = " WHERE account_id IN (SELECT account_id FROM fd_scope)"
            account_scope = " WHERE id IN (SELECT account_id FROM fd_scope)"
        if connection.vendor == "postgresql":
            # Temporary tables are never analysed on their own: counted, the planner need not guess
            # their size (with the scope analysed too, the positions of 100,000 debts: 3.5 s -> 2.2 s).
            cur.execute("ANALYZE fd_positions")
        debts = _write(cur, "accounts_debt", "fd_positions", "debt_id", debt_scope, params)
        cur.execute("DROP TABLE IF EXISTS fd_account_positions")
        cur.execute(
            "CREATE TEMPORARY TABLE fd_account_positions AS SELECT account_id, SUM(balance) AS balance,"
            " SUM(arrears) AS arrears, SUM(ongoing) AS ongoing FROM fd_positions GROUP BY account_id"
        )
        if connection.vendor == "postgresql":
            cur.execute("ANALYZE fd_account_positions")
        accounts = _write(cur, "accounts_account", "fd_account_positions", "account_id", account_scope, params)
        cur.execute("DROP TABLE fd_account_positions")
        cur.execute("DROP TABLE fd_positions")
    return {"debts": debts, "accounts": accounts}


def _fill_scope(cur, ids: list[int]) -> None:
    if connection.vendor == "postgresql":
        with cur.cursor.copy("COPY fd_scope (account_id) FROM STDIN") as copy:
            copy.write("".join(f"{i}\n" for i in ids))
        cur.execute("ANALYZE fd_scope")
    else:
        cur.executemany("INSERT INTO fd_scope VALUES (%s)", [(i,) for i in ids])


def _write(cur, table: str, positions: str, key: str, scope: str, params: dict) -> int:
    """Copy computed positions onto `table`; rows in scope with no entries up to the date hold nothing.

    Only rows whose cached position differs are written: a row rewritten unchanged still costs a new
    row version and an entry in each of the table's indexes (about 20 us a row on PostgreSQL here).
    """
    cur.execute(
        f"UPDATE {table} SET balance_pence = 0, arrears_pence = 0, ongoing_pence = 0, positions_as_of = %(on)s"
        f" WHERE id NOT IN (SELECT {key} FROM {positions}){scope.replace(' WHERE', ' AND')}"
        " AND (balance_pence <> 0 OR arrears_pence <> 0 OR ongoing_pence <> 0"
        " OR positions_as_of IS DISTINCT FROM %(on)s)",
        params,
    )
    emptied = cur.rowcount
    cur.execute(
        f"UPDATE {table} SET balance_pence = p.balance, arrears_pence = p.arrears, ongoing_pence = p.ongoing,"
        f" positions_as_of = %(on)s FROM {positions} p WHERE p.{key} = {table}.id"
        f" AND ({table}.balance_pence <> p.balance OR {table}.arrears_pence <> p.arrears"
        f" OR {table}.ongoing_pence <> p.ongoing OR {table}.positions_as_of IS DISTINCT FROM %(on)s)",
        params,
    )
    return emptied + cur.rowcount


def stale(on: dt.date) -> list[str]:
    """Cached positions that disagree with the ledger: the check behind `fairdebt check_ledger`."""
    problems = []
    with connection.cursor() as cur:
        cur.execute(
            f"""SELECT d.debt_ref, d.balance_pence, COALESCE(p.balance,0), d.arrears_pence, COALESCE(p.arrears,0)
                FROM accounts_debt d LEFT JOIN ({debt_positions_sql()}) p ON p.debt_id = d.id
                WHERE d.positions_as_of = %(on)s
                  AND (d.balance_pence <> COALESCE(p.balance,0) OR d.arrears_pence <> COALESCE(p.arrears,0))""",
            {"on": on},
        )
        for ref, cached_b, real_b, cached_a, real_a in cur.fetchall():
            problems.append(f"debt {ref}: cached balance {cached_b} arrears {cached_a}, ledger says {real_b} / {real_a}")
    return problems
