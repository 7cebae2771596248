from django.contrib import admin

from .models import CouncilProfile


class VersionedAdmin(admin.ModelAdmin):
    """Admin for a `Versioned` model: the author is whoever adds the version. With `final`, a saved
    version is never edited (decisions point at it): a change is a new version."""

    final = False

    def has_change_permission(self, request, obj=None):
        return obj is None if self.final else super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        obj.author = obj.author or request.user
        super().save_model(request, obj, form, change)


@admin.register(CouncilProfile)
class CouncilProfileAdmin(VersionedAdmin):
    list_display = ("name", "effective_from", "author", "created_at")
