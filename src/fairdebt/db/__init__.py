"""Database helpers shared by migrations."""

from __future__ import annotations

from django.db import migrations


def append_only(table: str, trigger: str, message: str) -> migrations.RunPython:
    """A trigger refusing UPDATE (and DELETE on PostgreSQL) on `table`: rows can be added, never changed."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"""CREATE OR REPLACE FUNCTION fairdebt_{trigger}() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION '{message}'; END $$ LANGUAGE plpgsql;
                CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION fairdebt_{trigger}();"""
            )
        else:
            schema_editor.execute(f"CREATE TRIGGER {trigger} BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END;")

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")

    return migrations.RunPython(forwards, backwards)
