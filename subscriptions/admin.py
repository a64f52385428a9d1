from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

from .models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "customer",
        "merchant",
        "amount",
        "currency",
        "interval",
        "status",
        "current_period_end",
        "cancel_at_period_end",
    ]
    list_filter = ["status", "interval", "cancel_at_period_end", "currency", "merchant"]
    search_fields = ["=id", "=customer__id", "customer__email"]
    search_help_text = "Subscription id, customer id or customer email"
    list_select_related = ["customer", "merchant"]
