"""Admin: the hold policy is versioned (add a new version; old ones stay, so past decisions explain themselves)."""

import json

from django import forms
from django.contrib import admin

from fairdebt.config.admin import VersionedAdmin

from fairdebt.domain.holds import HoldPolicy

from .models import Hold, HoldPolicyVersion, Moratorium, RegisterNotice, Suppression


class HoldPolicyForm(forms.ModelForm):
    class Meta:
        model = HoldPolicyVersion
        fields = ["effective_from", "note", "data"]
        help_texts = {"data": "Only the settings that differ from the defaults, as JSON. The defaults are: "
                      + json.dumps(HoldPolicy().to_dict(), separators=(", ", ": "))}


@admin.register(HoldPolicyVersion)
class HoldPolicyVersionAdmin(VersionedAdmin):
    form = HoldPolicyForm
    list_display = ("effective_from", "author", "note", "created_at")

    final = True


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Suppression)
class SuppressionAdmin(ReadOnly):
    list_display = ("decided_on", "person", "debt", "action_kind", "purpose", "sender", "rule")
    list_filter = ("rule", "action_kind")


@admin.register(Hold)
class HoldAdmin(ReadOnly):
    list_display = ("person", "kind", "start", "until", "source")
    list_filter = ("kind", "source")


@admin.register(Moratorium)
class MoratoriumAdmin(ReadOnly):
    list_display = ("reference", "type", "person", "start_date", "expected_end", "ended_on")


@admin.register(RegisterNotice)
class RegisterNoticeAdmin(ReadOnly):
    list_display = ("notice_id", "event", "moratorium_ref", "status", "received_at")
    list_filter = ("status", "event")
