"""What was loaded from where, and the rows that were kept aside."""

from django.db import models


class SourceFile(models.Model):
    STATUSES = [("loading", "Loading"), ("loaded", "Loaded"), ("resubmission", "Re-submitted row")]

    source = models.CharField(max_length=80)  # e.g. council_tax.transactions
    system = models.CharField(max_length=40)
    feed = models.CharField(max_length=20)
    path = models.CharField(max_length=1000)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=STATUSES, default="loading")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    loaded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [models.Index(fields=["sha256"])]

    def __str__(self) -> str:
        return f"{self.source} {self.path}"

    @property
    def summary(self) -> str:
        return f"{self.accepted:,} accepted / {self.duplicates:,} duplicates / {self.rejected:,} rejected"


class QuarantinedRow(models.Model):
    """A rejected row, kept with its reason so it can be corrected and re-submitted; never dropped."""

    STATUSES = [("open", "Open"), ("resubmitted", "Re-submitted and loaded"), ("dismissed", "Dismissed")]

    source_file = models.ForeignKey(SourceFile, on_delete=models.PROTECT, related_name="quarantined")
    source = models.CharField(max_length=80)
    line = models.BigIntegerField(help_text="Line in the file (CSV counts the header as line 1); row number for Parquet.")
    field = models.CharField(max_length=80, help_text="The extract's column at fault.")
    reason = models.CharField(max_length=500)
    raw = models.JSONField(help_text="The row exactly as read, column by column.")
    # sha256 of source + raw row: the same bad row loaded again is not quarantined twice.
    fingerprint = models.CharField(max_length=64, db_index=True, default="")
    status = models.CharField(max_length=20, choices=STATUSES, default="open")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolution = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "source"])]
        ordering = ["id"]
