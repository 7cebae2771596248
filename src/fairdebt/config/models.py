"""Versioned configuration that councils differ on. Each version has an effective date and an author."""

from django.conf import settings
from django.db import models
from django.utils import timezone

DEFAULT_COUNCIL_NAME = "Example Borough Council"


class Versioned(models.Model):
    """Settings a council edits as a new version: in force from a date, with an author and a note.
    Decisions keep a pointer to the version that made them, so each can be explained later."""

    effective_from = models.DateField(default=timezone.localdate)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        abstract = True
        ordering = ["-effective_from", "-id"]

    @classmethod
    def in_force(cls, on=None):
        """The version in force on `on` (today by default): the latest effective on or before it, or None."""
        return cls.objects.filter(effective_from__lte=on or timezone.localdate()).order_by("-effective_from", "-id").first()


class CouncilProfile(Versioned):
    name = models.CharField(max_length=200, help_text="Shown in the header of every page and letter.")

    class Meta(Versioned.Meta):
        get_latest_by = ["effective_from", "id"]

    def __str__(self) -> str:
        return f"{self.name} (from {self.effective_from})"

    @classmethod
    def current(cls, on=None) -> "CouncilProfile | None":
        return cls.in_force(on)


def council_name(on=None) -> str:
    profile = CouncilProfile.current(on)
    return profile.name if profile else DEFAULT_COUNCIL_NAME
