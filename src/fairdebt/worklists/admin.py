"""Admin: prioritisation policy versions (added, never edited, so every decision explains itself) and officers."""


from django import forms
from django.contrib import admin

from fairdebt.config.admin import VersionedAdmin

from fairdebt.domain.prioritisation import FEATURES

from .models import CaseAction, Officer, PrioritisationPolicyVersion


class PolicyForm(forms.ModelForm):
    class Meta:
        model = PrioritisationPolicyVersion
        fields = ["effective_from", "note", "data", "allocation", "challenger", "challenger_percent", "challenger_seed"]
        help_texts = {"data": "Weights and ordered rules as JSON (docs/prioritisation.md). Features: " + ", ".join(FEATURES)}


@admin.register(PrioritisationPolicyVersion)
class PolicyAdmin(VersionedAdmin):
    form = PolicyForm
    list_display = ("effective_from", "note", "author", "challenger", "challenger_percent", "created_at")

    final = True


@admin.register(Officer)
class OfficerAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "capacity", "away_until")
    list_filter = ("team",)


@admin.register(CaseAction)
class CaseActionAdmin(admin.ModelAdmin):
    list_display = ("recorded_at", "person", "action", "outcome", "officer")

    def has_change_permission(self, request, obj=None):
        return False


