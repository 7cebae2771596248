from django.contrib import admin

from .models import CouncilProfile


@admin.register(CouncilProfile)
class CouncilProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "effective_from", "author", "created_at")

    def save_model(self, request, obj, form, change):
        obj.author = obj.author or request.user
        super().save_model(request, obj, form, change)
