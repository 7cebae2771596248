"""Bulk writes for ingest: reserve id blocks, look keys up through temp tables, COPY or executemany.

PostgreSQL loads use COPY (CSV written by polars, in Rust); SQLite uses executemany. Both run inside
the caller's transaction, so a file loads whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
from django.db import connection

from . import pgbinary

COPY_CHUNK_ROWS = 250_000
# A load at least this large, and at least half the table's size, rebuilds the table's secondary
# indexes after COPY instead of maintaining them row by row (PostgreSQL: "Populating a Database").
BULK_MIN_ROWS = 200_000
_LOCK_ID = 7_215_001  # advisory lock serialising id reservations on PostgreSQL


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(table: str, n: int) -> int:
    """Reserve n consecutive ids in table; returns the first. Bulk rows then carry their own ids,
    so a reversal can point at an entry loaded in the same file."""
    if n <= 0:
        return 0
    with connection.cursor() as cur:
        if is_postgres():
            cur.execute("SELECT pg_advisory_lock(%s)", [_LOCK_ID])
            try:
                cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                seq = cur.fetchone()[0]
                cur.execute(f"SELECT GREATEST(nextval(%s), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}))", [seq])
                first = cur.fetchone()[0]
                cur.execute("SELECT setval(%s, %s)", [seq, first + n - 1])
            finally:
                cur.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_ID])
        else:
            # SQLite: the IMMEDIATE transaction already holds the write lock.
            cur.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
            first = cur.fetchone()[0]
    return int(first)


class bulk_indexes:
    """On PostgreSQL, for a large load: drop the table's unique constraints and secondary indexes
    inside the load's transaction, and recreate them afterwards. The primary key goes too unless
    another table's foreign key needs it: keeping it up row by row during COPY cost the ledger's
    load 1.4 s per million rows, building it afterwards 0.4 s (2 cores).

    Recreating validates uniqueness again, so the idempotency key still holds; the table is locked
    against other writers and readers until the load commits, which suits the initial and large
    historic loads this is for. Small, everyday loads never take this path.
    """

    def __init__(self, table: str, rows: int):
        self.table, self.rows, self.saved = table, rows, []

    def _worth_it(self, cur) -> bool:
        if self.rows < BULK_MIN_ROWS:
            return False
        if is_postgres():
            size = max(_reltuples(cur, self.table), 0)
        else:
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}")  # ids only grow: a cheap size bound
            size = float(cur.fetchone()[0])
        return self.rows >= 0.5 * size

    def __enter__(self):
        with connection.cursor() as cur:
            if not self._worth_it(cur):
                return self
            if not is_postgres():
                # SQLite: secondary indexes only (an inline UNIQUE constraint cannot be dropped).
                cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL", [self.table])
                self.saved = [("index", name, sql) for name, sql in cur.fetchall()]
                for _, name, _ in self.saved:
                    cur.execute(f'DROP INDEX "{name}"')
                return self
            cur.execute(f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE")
            cur.execute("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = %s::regclass)", [self.table])
            referenced = cur.fetchone()[0]
            # The primary key first: it is rebuilt first, and the others may lean on it.
            cur.execute(
                """SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
                   WHERE c.conrelid = %s::regclass AND (c.contype = 'u' OR (c.contype = 'p' AND NOT %s))
                   ORDER BY c.contype = 'p' DESC, c.conname""",
                [self.table, referenced],
            )
            constraints = cur.fetchall()
            cur.execute(
                """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                   WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
                [self.table],
            )
            indexes = cur.fetchall()
            for name, _ in constraints:
                cur.execute(f'ALTER TABLE {self.table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                cur.execute(f"DROP INDEX {name}")
            self.saved = [("constraint", n, d) for n, d in constraints] + [("index", n, d) for n, d in indexes]
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type or not self.saved:
            return False  # on error the transaction rolls back and the drops with it
        with connection.cursor() as cur:
            if not is_postgres():
                for _, _, definition in self.saved:
                    cur.execute(definition)
                return False
            # ALTER TABLE refuses to run with deferred checks pending (other tables' keys, if any).
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # One parallel worker beside this backend: the four ledger indexes of 1M rows took 1.6 s,
            # against 2.1 s with none and 1.9 s with PostgreSQL's default two (2 cores; one
            # measurement, and this host's noise is about as large).
            cur.execute("SET LOCAL max_parallel_maintenance_workers = 1")
            for kind, name, definition in self.saved:
                if kind == "constraint":
                    cur.execute(f'ALTER TABLE {self.table} ADD CONSTRAINT "{name}" {definition}')
                else:
                    cur.execute(definition)
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
        return False


def _reltuples(cur, table: str) -> float:
    """PostgreSQL's estimate of a table's rows (-1: never analysed or vacuumed, so unknown)."""
    cur.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
    return float(cur.fetchone()[0])


def analyse_if_grown(table: str, rows: int) -> bool:
    """PostgreSQL: ANALYZE `table` now if a committed load added at least a tenth of its rows
    (autovacuum's own threshold) or it was never analysed, instead of within the minute autovacuum
    may take. The balance refresh straight after a load plans its joins by these statistics: with
    none, it guessed 200 debts and looked 100,000 up one at a time. Returns whether it analysed."""
    if not is_postgres() or rows <= 0:
        return False
    with connection.cursor() as cur:
        known = _reltuples(cur, table)
        if known >= 0 and rows < 0.1 * known:
            return False
        cur.execute(f"ANALYZE {table}")
    return True


def _encoded_chunks(df: pl.DataFrame):
    """Binary COPY chunks, encoded one ahead on a worker thread, so that encoding the next chunk
    overlaps the server storing this one (Arrow, polars and the socket write all release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    starts = list(range(0, df.height, COPY_CHUNK_ROWS))

    def encode(start):
        chunk = df.slice(start, COPY_CHUNK_ROWS)
        return chunk.height, pgbinary.encode(chunk, header=start == 0, trailer=start == starts[-1])

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(encode, starts[0])
        for following in [*starts[1:], None]:
            ready = pending.result()
            if following is not None:
                pending = pool.submit(encode, following)
            yield ready


def _sqlite_values(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns([pl.col(c).cast(pl.Utf8) for c, t in df.schema.items() if t in (pl.Date,) or isinstance(t, pl.Datetime)])


def insert(table: str, df: pl.DataFrame, progress=None, binary: bool = False) -> int:
    """Insert every row of df (its column names are the table's) and return the count.

    binary=True (PostgreSQL): the frame's types are the table's (Int64 bigint, Date date, Utf8 text).
    """
    if df.height == 0:
        return 0
    cols = ", ".join(df.columns)
    with connection.cursor() as cur:
        if is_postgres():
            raw = cur.cursor
            if binary:
                # Binary COPY: the server skips parsing text. Encoded a chunk at a time, so the
                # client encodes the next chunk while the server stores the last one.
                df = df.with_columns([pl.col(c).cast(pl.Int64) for c, t in df.schema.items() if t in (pl.Int32, pl.UInt32)])
                with raw.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT binary)") as copy:
                    for height, parts in _encoded_chunks(df):
                        for part in parts:
                            copy.write(part)
                        if progress:
                            progress(height)
                return df.height
            for start in range(0, df.height, COPY_CHUNK_ROWS):
                chunk = df.slice(start, COPY_CHUNK_ROWS)
                # non_numeric quoting keeps '' (empty text) apart from NULL (unquoted empty).
                data = chunk.write_csv(include_header=False, quote_style="non_numeric", null_value="").encode()
                with raw.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(data)
                if progress:
                    progress(chunk.height)
        else:
            # The raw sqlite3 connection with ? placeholders: Django's wrapper rewrites every row's query.
            sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['?'] * df.width)})"
            values = _sqlite_values(df)
            raw = connection.connection
            for start in range(0, values.height, COPY_CHUNK_ROWS):
                chunk = values.slice(start, COPY_CHUNK_ROWS)
                raw.executemany(sql, chunk.iter_rows())
                if progress:
                    progress(chunk.height)
    return df.height


def lookup(sql: str, keys: pl.Series, params: list, schema: dict) -> pl.DataFrame:
    """Run `sql` joined to a temp table fd_keys(k) holding `keys`; returns the rows as a frame.

    The temp table beats an IN list of a million keys on both databases.
    """
    keys = keys.drop_nulls().unique()
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS fd_keys")
        cur.execute("CREATE TEMPORARY TABLE fd_keys (k VARCHAR(200) PRIMARY KEY)")
        if keys.len():
            if is_postgres():
                with cur.cursor.copy("COPY fd_keys (k) FROM STDIN (FORMAT csv)") as copy:
                    copy.write(pl.DataFrame({"k": keys}).write_csv(include_header=False, quote_style="always").encode())
                cur.execute("ANALYZE fd_keys")  # temporary tables are never analysed on their own
            else:
                cur.executemany("INSERT INTO fd_keys (k) VALUES (%s)", [(k,) for k in keys.to_list()])
        frame = _frame(cur, sql, params, schema)
        cur.execute("DROP TABLE fd_keys")
    return frame


def pull(sql: str, params: list, schema: dict) -> pl.DataFrame:
    """Rows of a query as a frame; on PostgreSQL through COPY TO STDOUT (fast for millions of rows)."""
    with connection.cursor() as cur:
        return _frame(cur, sql, params, schema)


def _frame(cur, sql: str, params: list, schema: dict) -> pl.DataFrame:
    """On PostgreSQL through COPY TO STDOUT and polars' CSV reader: no Python object per value
    (a lookup of 100,000 debts: 0.25 s less on 2 cores)."""
    if is_postgres():
        with cur.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            data = b"".join(bytes(block) for block in copy)
        if not data:
            return pl.DataFrame(schema=schema)
        return pl.read_csv(io.BytesIO(data), has_header=False, new_columns=list(schema), schema=schema)
    cur.execute(sql, params)
    rows = cur.fetchall()
    # SQLite hands dates back as text: build those columns as text, then parse.
    frame = pl.DataFrame(rows, schema={c: (pl.Utf8 if t == pl.Date else t) for c, t in schema.items()}, orient="row")
    return frame.with_columns([pl.col(c).str.to_date("%Y-%m-%d") for c, t in schema.items() if t == pl.Date])


def today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()
