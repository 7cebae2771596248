"""Suppression records (what the guard refused) can be added, never changed (and, on PostgreSQL, never deleted)."""

from django.db import migrations

from fairdebt.db import append_only


class Migration(migrations.Migration):
    dependencies = [("holds", "0001_initial")]
    operations = [append_only("holds_suppression", "suppression_append_only", "suppression records are append-only")]
