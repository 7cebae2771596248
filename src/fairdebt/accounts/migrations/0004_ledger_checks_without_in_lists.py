"""The ledger's CHECK constraints on kinds as OR chains instead of IN lists: SQLite evaluated the
IN lists about eight times slower (1M rows into the table alone: 19 s, against 9 s with OR
chains and 7.6 s with no CHECK at all).

SQLite rebuilds the table to change a constraint, and the rebuild drops the append-only trigger
(migration 0002), so it is created again afterwards, on the way up and on the way down.
"""

import importlib

from django.db import migrations, models

_APPEND_ONLY = importlib.import_module("fairdebt.accounts.migrations.0002_ledger_append_only")


def _append_only_again(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":  # PostgreSQL alters in place: its trigger stays
        schema_editor.execute(_APPEND_ONLY.SQLITE_REVERSE)
        schema_editor.execute(_APPEND_ONLY.SQLITE)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_positions_fillfactor'),
        ('ingest', '0002_quarantine_fingerprint'),
    ]

    operations = [
        # Undone last when migrating back: the table is rebuilt again on the way down.
        migrations.RunPython(migrations.RunPython.noop, _append_only_again),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_kind_known',
        ),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_debits_positive',
        ),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='ledger_credits_negative',
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind', 'adjustment'), ('kind', 'charge'), ('kind', 'cost'), ('kind', 'interest'), ('kind', 'payment'), ('kind', 'reversal'), ('kind', 'write_off'), _connector='OR'), name='ledger_kind_known'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'charge'), ('kind', 'cost'), ('kind', 'interest'), _connector='OR', _negated=True), ('amount_pence__gt', 0), _connector='OR'), name='ledger_debits_positive'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'payment'), ('kind', 'write_off'), _connector='OR', _negated=True), ('amount_pence__lt', 0), _connector='OR'), name='ledger_credits_negative'),
        ),
        migrations.RunPython(_append_only_again, migrations.RunPython.noop),
    ]
