from django.contrib import admin

from .models import Account, Debt


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("account_ref", "system", "account_type", "tenure", "balance_pence", "arrears_pence")
    list_filter = ("account_type", "system")
    search_fields = ("account_ref",)


@admin.register(Debt)
class DebtAdmin(admin.ModelAdmin):
    list_display = ("debt_ref", "system", "description", "recovery_stage", "balance_pence")
    search_fields = ("debt_ref",)
