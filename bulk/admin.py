"""Admin for bulk refunds: read-only; batches are made and run only through
bulk.services (the dashboard)."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

from .models import RefundBatch


@admin.register(RefundBatch)
class RefundBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "merchant", "state", "rows_ok", "rows_total", "created_by", "created_at"]
    list_filter = ["state", "merchant", "created_at"]
    search_fields = ["=id", "filename"]
    list_select_related = ["merchant", "created_by"]
