"""Half of each page of debts and accounts free for their cached positions, not a fifth.

Every night rewrites the cached position of every debt and account (the date it holds for changes,
and arrears with it), and a large load rewrites most of them. A fifth of a page holds the new
versions of only a quarter of its rows; the rest go to other pages and into every index. Measured
on 2 cores, 100,000 debts over 31,700 accounts after a load of 1M entries: the debts' rewrite took
1.4-2.0 s at fillfactor 80 and 0.6-0.7 s at 50; each night's whole refresh 3.7-5.1 s against
2.7-2.9 s. The cost is room: these two tables take up to twice the pages (the ledger, by far the
largest table, is not changed). Existing pages keep their fill until the table is rewritten
(VACUUM FULL or CLUSTER). SQLite has no such setting.
"""

from django.db import migrations

TABLES = ["accounts_debt", "accounts_account"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_ledger_checks_without_in_lists")]
    operations = [migrations.RunPython(forwards, backwards)]
