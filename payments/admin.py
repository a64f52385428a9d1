"""Admin for payments and their ledger (SPEC 9): searchable and filterable, read-only
(money and ledger above all), a payment's transactions inline, nothing deletable.
Money moves only through payments.services (dashboard, API, tasks), which enforce the
rules and write the audit trail."""

from django.contrib import admin

from core.admin import AuditTrailLinkMixin, ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import (
    ApprovalThreshold,
    DailyTotals,
    MonthlyTotals,
    Payment,
    RefundApproval,
    Transaction,
)

# A payment's sections on its admin page; every field of them is read-only.
AUTHORIZATION_FIELDS = [
    "amount",
    "currency",
    "status",
    "failure_reason",
    "initiator",
    "gateway_reference",
    "display_status",
]
CAPTURE_AND_REVERSAL_FIELDS = [
    "is_captured",
    "amount_captured",
    "captured_at",
    "amount_reversed",
    "amount_reversal_pending",
    "is_voided",
]
CHARGEBACK_FIELDS = ["is_chargebacked", "chargeback_recorded_at"]
DATE_FIELDS = ["created_at", "updated_at"]
PAYMENT_MONEY_FIELDS = [
    "id",
    "merchant",
    "customer",
    "subscription",
    *AUTHORIZATION_FIELDS,
    *CAPTURE_AND_REVERSAL_FIELDS,
    "amount_awaiting_approval",
    *CHARGEBACK_FIELDS,
    *DATE_FIELDS,
]


class TransactionInline(ReadOnlyTabularInline):
    model = Transaction
    fk_name = "payment"
    fields = [
        "id",
        "type",
        "amount",
        "status",
        "is_external",
        "reason",
        "note",
        "failure_reason",
        "gateway_reference",
        "created_by",
        "created_by_api_key",
        "created_at",
        "processed_at",
    ]
    ordering = ["created_at", "id"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, AuditTrailLinkMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "merchant",
        "customer_email",
        "amount_display",
        "display_status",
        "initiator",
        "order_id",
        "created_at",
    ]
    list_filter = [
        "display_status",
        "status",
        "initiator",
        "currency",
        "is_captured",
        "is_voided",
        "is_chargebacked",
        "merchant",
        "created_at",
    ]
    search_fields = ["=id", "order_id", "customer__email", "=gateway_reference"]
    search_help_text = "Payment id, order id, customer email or gateway reference"
    date_hierarchy = "created_at"
    list_select_related = ["merchant", "customer"]
    show_full_result_count = False  # millions of rows: no COUNT(*) per page
    readonly_fields = [*PAYMENT_MONEY_FIELDS, "audit_trail"]
    fieldsets = [
        (
            None,
            {"fields": ["id", "merchant", "customer", "subscription", "order_id", "metadata"]},
        ),
        ("Authorization", {"fields": AUTHORIZATION_FIELDS}),
        ("Capture and reversals", {"fields": CAPTURE_AND_REVERSAL_FIELDS}),
        ("Chargeback", {"fields": CHARGEBACK_FIELDS}),
        ("Dates", {"fields": DATE_FIELDS}),
        ("Audit", {"fields": ["audit_trail"]}),
    ]
    inlines = [TransactionInline]

    def get_readonly_fields(self, request, obj=None):
        # Even the order id and metadata: a payment is the merchant's record of a sale,
        # kept as the services wrote it (no history here would show an edit).
        return [*PAYMENT_MONEY_FIELDS, "order_id", "metadata", "audit_trail"]

    @admin.display(description="Customer", ordering="customer__email")
    def customer_email(self, obj: Payment) -> str:
        return obj.customer.email if obj.customer_id else "—"

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Payment) -> str:
        return obj.format_amount(obj.amount)


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "payment",
        "merchant",
        "type",
        "amount_display",
        "status",
        "is_external",
        "reason",
        "actor",
        "created_at",
    ]
    list_filter = ["type", "status", "is_external", "reason", "merchant", "created_at"]
    search_fields = ["=id", "=payment__id", "order_id", "=gateway_reference", "note"]
    search_help_text = "Transaction id, payment id, order id, gateway reference or note"
    date_hierarchy = "created_at"
    list_select_related = ["payment", "merchant", "created_by", "created_by_api_key"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Transaction._meta.fields]

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Transaction) -> str:
        return obj.payment.format_amount(obj.amount)

    @admin.display(description="By")
    def actor(self, obj: Transaction) -> str:
        return obj.actor_label


@admin.register(DailyTotals)
class DailyTotalsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The overview's counters, read-only: kept by payments.rollup, recomputed with
    `manage.py rebuild_daily_totals`."""

    list_display = ["day", "merchant", "currency", *DailyTotals.COUNTERS]
    list_filter = ["currency", "merchant", "day"]
    search_fields = ["=currency", "merchant__name"]
    search_help_text = "Currency (exact) or merchant"
    date_hierarchy = "day"
    list_select_related = ["merchant"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in DailyTotals._meta.fields]


@admin.register(ApprovalThreshold)
class ApprovalThresholdAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Refund approval thresholds, read-only: merchant admins set them in the dashboard
    (payments.approvals.set_threshold, audited)."""

    list_display = ["merchant", "currency", "amount_display", "created_by", "updated_at"]
    list_filter = ["currency", "merchant"]
    search_fields = ["=currency", "merchant__name"]
    search_help_text = "Currency (exact) or merchant"
    list_select_related = ["merchant", "created_by"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ApprovalThreshold._meta.fields]

    @admin.display(description="Refunds over", ordering="amount")
    def amount_display(self, obj: ApprovalThreshold) -> str:
        return obj.amount_display


@admin.register(RefundApproval)
class RefundApprovalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Four-eyes decisions on held refunds, read-only: made in the dashboard's Approvals
    queue or by the expiry sweeper (payments.approvals, audited)."""

    list_display = ["refund", "payment", "merchant", "status", "expires_at", "decided_by"]
    list_filter = ["status", "merchant", "created_at"]
    search_fields = ["=refund__id", "=payment__id", "decided_by__email", "note"]
    search_help_text = "Refund id, payment id, approver email or note"
    date_hierarchy = "created_at"
    list_select_related = ["refund", "payment", "merchant", "decided_by"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in RefundApproval._meta.fields]


@admin.register(MonthlyTotals)
class MonthlyTotalsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The dispute ratio monitor's counters, read-only: kept by payments.dispute_ratio,
    recomputed with `manage.py rebuild_monthly_totals`."""

    list_display = ["month", "merchant", *MonthlyTotals.COUNTERS]
    list_filter = ["merchant", "month"]
    search_fields = ["merchant__name"]
    search_help_text = "Merchant"
    date_hierarchy = "month"
    list_select_related = ["merchant"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in MonthlyTotals._meta.fields]
