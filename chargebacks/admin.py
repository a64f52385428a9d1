"""Admin for chargebacks (SPEC 9): read-only and never deleted; they are recorded only
through chargebacks.services (dashboard and API)."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

from .models import Chargeback


@admin.register(Chargeback)
class ChargebackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "payment",
        "merchant",
        "blacklisted_customer",
        "applied_restrictions",
        "recorded_by",
        "created_at",
    ]
    list_filter = ["blacklisted_customer", "merchant", "created_at"]
    search_fields = ["=payment__id", "payment__order_id", "payment__customer__email"]
    search_help_text = "Payment id, order id or customer email"
    date_hierarchy = "created_at"
    list_select_related = ["payment", "merchant", "created_by", "created_by_api_key"]

    @admin.display(description="Recorded by")
    def recorded_by(self, obj: Chargeback) -> str:
        return obj.actor_label
