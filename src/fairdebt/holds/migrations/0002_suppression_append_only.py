"""Suppression records (what the guard refused) can be added, never changed (and, on PostgreSQL, never deleted)."""

from django.db import migrations

TABLE = "holds_suppression"
MESSAGE = "suppression records are append-only"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"""CREATE OR REPLACE FUNCTION fairdebt_suppression_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER suppression_append_only BEFORE UPDATE OR DELETE ON {TABLE}
            FOR EACH ROW EXECUTE FUNCTION fairdebt_suppression_append_only();"""
        )
    else:
        schema_editor.execute(
            f"CREATE TRIGGER suppression_append_only BEFORE UPDATE ON {TABLE} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS suppression_append_only ON {TABLE}")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS suppression_append_only")


class Migration(migrations.Migration):
    dependencies = [("holds", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
