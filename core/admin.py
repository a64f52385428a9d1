"""Building blocks shared by every app's admin: history without revert, read-only
ledgers, no deletion of what must never disappear."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from simple_history.admin import SimpleHistoryAdmin


class HistoryAdmin(SimpleHistoryAdmin):
    """Shows who changed what and when (django-simple-history), without its "revert"
    form: reverting an API key would un-revoke it, reverting a blacklist entry would
    erase its removal, bypassing the services and the audit trail."""

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("Reverting from the history is disabled.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class NoDeleteMixin:
    """Rows that are part of the money trail are never deleted from the admin (and the
    bulk "delete selected" action disappears with the permission)."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class NoAddMixin:
    """Rows created only by a service (which enforces the rules and audits the write)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdminMixin(NoAddMixin, NoDeleteMixin):
    """Nothing can be added, changed or deleted; the change page shows every field."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyTabularInline(admin.TabularInline):
    """An inline list of rows that are shown, never edited, added or removed here."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditTrailLinkMixin:
    """A read-only "Audit trail" field linking to the audit entries of this object.
    Add "audit_trail" to the admin's readonly_fields (and fields, if declared)."""

    @admin.display(description="Audit trail")
    def audit_trail(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        query = urlencode({"target_type": obj._meta.model_name, "target_id": str(obj.pk)})
        url = f"{reverse('admin:audit_auditentry_changelist')}?{query}"
        return format_html('<a href="{}">Audit entries of this {}</a>', url, obj._meta.verbose_name)
