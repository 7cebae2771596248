from django.contrib import admin

from .models import QuarantinedRow, SourceFile


@admin.register(SourceFile)
class SourceFileAdmin(admin.ModelAdmin):
    list_display = ("source", "path", "status", "accepted", "duplicates", "rejected", "finished_at")
    list_filter = ("source", "status")


@admin.register(QuarantinedRow)
class QuarantinedRowAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "line", "field", "reason", "status")
    list_filter = ("status", "source")
