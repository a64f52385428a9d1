"""Admin for bulk refunds: read-only; batches are made and run only through
bulk.services (the dashboard)."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin

from .models import BatchRow, RefundBatch


@admin.register(RefundBatch)
class RefundBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "merchant", "state", "rows_ok", "rows_total", "created_by", "created_at"]
    list_filter = ["state", "merchant", "created_at"]
    search_fields = ["=id", "filename"]
    list_select_related = ["merchant", "created_by"]


@admin.register(BatchRow)
class BatchRowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """One row of a batch and what became of it (the refund it made, or why not)."""

    list_display = ["batch", "number", "payment_id", "amount", "outcome", "refund", "processed_at"]
    list_filter = ["outcome", "batch__merchant"]
    search_fields = ["=batch__id", "=payment_id", "=refund__id"]
    list_select_related = ["batch", "refund"]
