"""The database itself refuses to change a posted ledger entry (SQL outside the ORM included).

A later migration that alters the ledger table on SQLite must re-create the trigger (as 0004 does):
SQLite rebuilds a table to alter it, and the rebuild drops its triggers.

UPDATE is refused on SQLite and PostgreSQL; DELETE too on PostgreSQL (test clean-up there uses
TRUNCATE, which row triggers do not see). Corrections are new entries: reversals and adjustments.
"""

from django.db import migrations

PG = """
CREATE OR REPLACE FUNCTION fairdebt_ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'ledger entries are append-only: post a reversal or an adjustment instead';
END $$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON accounts_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION fairdebt_ledger_append_only();
-- Source keys compare byte by byte: faster index maintenance on bulk loads, and the same order
-- as SQLite and polars, so ingest can pull the existing keys of a key range.
ALTER TABLE accounts_ledgerentry ALTER COLUMN source_system TYPE varchar(40) COLLATE "C",
                                 ALTER COLUMN source_key TYPE varchar(120) COLLATE "C";
"""
PG_REVERSE = "DROP TRIGGER IF EXISTS ledger_append_only ON accounts_ledgerentry; DROP FUNCTION IF EXISTS fairdebt_ledger_append_only();"
SQLITE = """
CREATE TRIGGER ledger_append_only BEFORE UPDATE ON accounts_ledgerentry
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only: post a reversal or an adjustment instead'); END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS ledger_append_only;"


def forwards(apps, schema_editor):
    sql = PG if schema_editor.connection.vendor == "postgresql" else SQLITE
    schema_editor.execute(sql)


def backwards(apps, schema_editor):
    sql = PG_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE
    schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
