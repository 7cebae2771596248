"""Re-identification audit rows can be added, never changed (and, on PostgreSQL, never deleted)."""

from django.db import migrations

from fairdebt.db import append_only


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [append_only("people_reidentification", "reidentification_append_only", "the re-identification audit is append-only")]
