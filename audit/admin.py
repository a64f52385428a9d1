"""The audit trail in the admin: searchable, filterable, and read-only for everyone,
superusers included (no add, no change, no delete; the database refuses too).

Also the roles (`auth.Group`) with their history: who changed a role's permissions,
when, and what changed."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group
from django.db.models import Count

from core.admin import HistoryAdmin, ReadOnlyAdminMixin

from .models import AuditEntry
from .sentences import describe


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "action",
        "outcome",
        "actor_label",
        "merchant",
        "target_type",
        "target_id",
        "what_happened",
        "source_ip",
    ]
    list_filter = ["outcome", "action", "target_type", "merchant", "created_at"]
    search_fields = ["=target_id", "=customer_id", "actor_label", "detail", "=source_ip"]
    search_help_text = "Target or customer id (exact), actor, detail text or source IP (exact)"
    date_hierarchy = "created_at"
    list_select_related = ["merchant"]
    show_full_result_count = False
    fields = [
        "created_at",
        "action",
        "outcome",
        "actor_label",
        "actor_user",
        "actor_api_key",
        "merchant",
        "target_type",
        "target_id",
        "customer_id",
        "what_happened",
        "detail",
        "source_ip",
        "metadata",
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def lookup_allowed(self, lookup, value, request=None):
        # The "Audit trail" links of other admin pages filter by target.
        if lookup in ("target_type", "target_id"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="What happened")
    def what_happened(self, obj: AuditEntry) -> str:
        return describe(obj).text


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(HistoryAdmin, DjangoGroupAdmin):
    list_display = ["name", "permission_count"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_permission_count=Count("permissions"))

    @admin.display(description="Permissions", ordering="_permission_count")
    def permission_count(self, obj) -> int:
        return obj._permission_count
