"""Admin for chargebacks (SPEC 9): read-only and never deleted; they are recorded only
through chargebacks.services (dashboard and API)."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import Chargeback, Dispute, DisputeFile


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


class DisputeFileInline(ReadOnlyTabularInline):
    model = DisputeFile


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Disputes move only through chargebacks.services (each transition audited)."""

    list_display = [
        "id",
        "payment",
        "merchant",
        "amount",
        "currency",
        "status",
        "reason_category",
        "evidence_due_by",
        "created_at",
    ]
    list_filter = ["status", "reason_category", "network", "merchant", "created_at"]
    search_fields = ["=id", "=payment__id", "=gateway_reference", "payment__customer__email"]
    search_help_text = "Dispute id, payment id, gateway reference or customer email"
    date_hierarchy = "created_at"
    list_select_related = ["payment", "merchant"]
    inlines = [DisputeFileInline]


@admin.register(DisputeFile)
class DisputeFileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "dispute", "merchant", "content_type", "size", "created_at"]
    list_filter = ["content_type", "merchant", "created_at"]
    search_fields = ["=id", "=dispute__id", "name"]
    list_select_related = ["dispute", "merchant"]
