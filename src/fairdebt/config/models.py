"""Versioned configuration that councils differ on. Each version has an effective date and an author."""

from django.conf import settings
from django.db import models
from django.utils import timezone

DEFAULT_COUNCIL_NAME = "Example Borough Council"


class CouncilProfile(models.Model):
    name = models.CharField(max_length=200, help_text="Shown in the header of every page and letter.")
    effective_from = models.DateField(default=timezone.localdate)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-effective_from", "-id"]
        get_latest_by = ["effective_from", "id"]

    def __str__(self) -> str:
        return f"{self.name} (from {self.effective_from})"

    @classmethod
    def current(cls, on=None) -> "CouncilProfile | None":
        on = on or timezone.localdate()
        return cls.objects.filter(effective_from__lte=on).order_by("-effective_from", "-id").first()


def council_name(on=None) -> str:
    profile = CouncilProfile.current(on)
    return profile.name if profile else DEFAULT_COUNCIL_NAME
