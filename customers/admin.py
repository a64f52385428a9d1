"""Admin for customers and the blacklist (SPEC 9).

Restrictions and the blacklist change only through customers.services (dashboard and
API), which also cancel subscriptions at period end and write the audit trail; here they
are read, with their history (who, when, what changed) one click away."""

from django.contrib import admin

from core.admin import (
    AuditTrailLinkMixin,
    HistoryAdmin,
    NoAddMixin,
    NoDeleteMixin,
    ReadOnlyAdminMixin,
)

from .models import BlacklistEntry, Customer

RESTRICTION_FIELDS = ["restrict_cit", "restrict_mit", "restrict_reason"]


@admin.register(Customer)
class CustomerAdmin(NoAddMixin, NoDeleteMixin, AuditTrailLinkMixin, HistoryAdmin):
    list_display = [
        "id",
        "email",
        "name",
        "merchant",
        "restrict_cit",
        "restrict_mit",
        "refused_payment_attempts",
        "created_at",
    ]
    list_filter = ["restrict_cit", "restrict_mit", "merchant", "created_at"]
    search_fields = ["=id", "email", "name"]
    search_help_text = "Customer id, email or name"
    list_select_related = ["merchant"]
    show_full_result_count = False
    fields = [
        "id",
        "merchant",
        "email",
        "name",
        *RESTRICTION_FIELDS,
        "refused_payment_attempts",
        "created_at",
        "audit_trail",
    ]
    # The email decides blacklist matches; restrictions go through the service.
    readonly_fields = [
        "id",
        "merchant",
        "email",
        *RESTRICTION_FIELDS,
        "refused_payment_attempts",
        "created_at",
        "audit_trail",
    ]
    history_list_display = RESTRICTION_FIELDS


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(ReadOnlyAdminMixin, AuditTrailLinkMixin, HistoryAdmin):
    list_display = [
        "email",
        "reason",
        "source",
        "added_by_label",
        "created_at",
        "is_active",
        "removed_at",
        "removed_by",
    ]
    list_filter = ["source", ("removed_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["email", "reason", "removal_reason", "added_by__email"]
    search_help_text = "Email, reason or who added it"
    list_select_related = ["added_by", "added_by_api_key", "removed_by"]
    readonly_fields = ["audit_trail"]
    history_list_display = ["reason", "removed_at", "removal_reason"]

    @admin.display(description="Added by")
    def added_by_label(self, obj: BlacklistEntry) -> str:
        return obj.added_by_label

    @admin.display(description="Active", boolean=True)
    def is_active(self, obj: BlacklistEntry) -> bool:
        return obj.is_active
