from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When

from core import money
from core.ids import new_id
from core.models import MerchantQuerySet, newest_first_index, optional_reference
from merchants.models import Merchant, RecordedBy

from .reasons import reason_message

# A failed authorization whose answer was lost: the gateway may hold the funds.
UNANSWERED = "gateway_unavailable"
# ...and, once the gateway was asked again, whatever it had authorized released.
RELEASED = "gateway_unavailable_released"

# Limits of what a payment or a reversal carries (SPEC 3, 4), defined once.
MAX_ORDER_ID_LENGTH = 255
MAX_NOTE_LENGTH = 500
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500


def new_payment_id() -> str:
    return new_id("pay")


def new_transaction_id() -> str:
    return new_id("txn")


class DisplayStatus(models.TextChoices):
    FAILED = "failed", "Failed"
    CHARGEBACK = "chargeback", "Chargeback"
    VOIDED = "voided", "Voided"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    CAPTURED = "captured", "Captured"
    AUTHORIZED = "authorized", "Authorized"


# SPEC 3: the first that applies, in this order. Computed by the database so that
# the list can filter and index it, and so it can never drift from the amounts.
DISPLAY_STATUS_EXPRESSION = Case(
    When(status="failed", then=Value(DisplayStatus.FAILED.value)),
    When(is_chargebacked=True, then=Value(DisplayStatus.CHARGEBACK.value)),
    When(is_voided=True, then=Value(DisplayStatus.VOIDED.value)),
    When(
        is_captured=True,
        amount_reversed__gte=F("amount_captured"),
        then=Value(DisplayStatus.REFUNDED.value),
    ),
    When(
        is_captured=True,
        amount_reversed__gt=0,
        then=Value(DisplayStatus.PARTIALLY_REFUNDED.value),
    ),
    When(is_captured=True, then=Value(DisplayStatus.CAPTURED.value)),
    default=Value(DisplayStatus.AUTHORIZED.value),
    output_field=models.CharField(max_length=20),
)


class Payment(models.Model):
    """An authorization that may be captured, then reversed (refunded or voided).

    The amount columns are counters kept by payments.services under a row lock;
    the check constraints below make over-reversal impossible even for a bug.
    """

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Initiator(models.TextChoices):
        CIT = "CIT", "Customer-initiated"
        MIT = "MIT", "Merchant-initiated"

    id = models.CharField(primary_key=True, max_length=40, default=new_payment_id, editable=False)
    # Each reference below without an index of its own is indexed by one of Meta.indexes
    # that leads with it: merchant by payment_recent_idx, customer by
    # payment_customer_recent_idx (an index less for every payment written).
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    customer = optional_reference("customers.Customer", related_name="payments", db_index=False)
    subscription = optional_reference("subscriptions.Subscription", related_name="payments")
    order_id = models.CharField(max_length=MAX_ORDER_ID_LENGTH, blank=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices)
    failure_reason = models.CharField(max_length=255, blank=True)
    initiator = models.CharField(max_length=3, choices=Initiator.choices, default=Initiator.CIT)
    gateway_reference = models.CharField(max_length=255, blank=True)
    # The gateway that holds the payment (sandbox, stripe), and the card it charged as
    # the gateway reports it (brand, last 4, expiry, country; never the number).
    processor = models.CharField(max_length=20, blank=True)
    payment_method = models.JSONField(null=True, blank=True)
    # The key the authorization was sent with: an authorization whose answer was lost is
    # asked again with it (payments.delivery.resolve_unanswered_authorizations).
    authorization_key = models.CharField(max_length=255, blank=True)
    capture_requested = models.BooleanField(default=True)
    resolution_attempts = models.PositiveSmallIntegerField(default=0)

    is_captured = models.BooleanField(default=False)
    # A capture recorded but not yet confirmed by the gateway: nothing can be refunded
    # until it is (and a declined capture is undone).
    capture_pending = models.BooleanField(default=False)
    amount_captured = models.BigIntegerField(default=0)
    captured_at = models.DateTimeField(null=True, blank=True)
    amount_reversed = models.BigIntegerField(default=0)
    amount_reversal_pending = models.BigIntegerField(default=0)
    # Refunds asked in the dashboard above the merchant's threshold, waiting for a second
    # merchant admin (SPEC 13): not reversed yet, but no longer refundable either.
    # db_default: rows inserted by raw SQL (bench/fill.py) need no change.
    amount_awaiting_approval = models.BigIntegerField(default=0, db_default=0)
    is_voided = models.BooleanField(default=False)
    is_chargebacked = models.BooleanField(default=False)
    chargeback_recorded_at = models.DateTimeField(null=True, blank=True)
    # The sum of its disputes not won (SPEC 10), kept by chargebacks.services.
    amount_disputed = models.BigIntegerField(default=0)
    display_status = models.GeneratedField(
        expression=DISPLAY_STATUS_EXPRESSION,
        output_field=models.CharField(max_length=20, choices=DisplayStatus.choices),
        db_persist=True,
    )

    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("reverse_payment", "Can refund or void a payment"),
            ("capture_payment", "Can capture an authorized payment"),
            ("approve_refund", "Can approve or reject a refund held for approval"),
        ]
        indexes = [
            # The dashboard list: per merchant, newest first, keyset-paged.
            newest_first_index("merchant", name="payment_recent_idx"),
            newest_first_index("merchant", "display_status", name="payment_status_recent_idx"),
            models.Index(fields=["merchant", "order_id"], name="payment_order_idx"),
            # A customer's payments, newest first (the customer page, and a search that
            # means customers): it carries merchant_id, so that a search's count and
            # the keys of its page are read from the index alone (migration 0015).
            models.Index(
                fields=["customer", "-created_at", "-id"],
                include=["merchant"],
                name="payment_customer_recent_idx",
            ),
            # The gateway's webhooks find a payment by its reference (gateway_events).
            models.Index(
                fields=["gateway_reference"],
                condition=~Q(gateway_reference=""),
                name="payment_gateway_ref_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_captured__gte=0, amount_captured__lte=F("amount")),
                name="payment_captured_within_authorized",
            ),
            models.CheckConstraint(
                condition=Q(is_captured=True) | Q(amount_captured=0),
                name="payment_uncaptured_has_no_captured_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount_reversed__gte=0)
                & (
                    Q(amount_reversed__lte=F("amount_captured"))
                    | Q(is_captured=False, is_voided=True, amount_reversed=F("amount"))
                ),
                name="payment_reversed_within_captured",
            ),
            models.CheckConstraint(
                condition=Q(amount_reversal_pending__gte=0)
                & Q(amount_reversal_pending__lte=F("amount_reversed")),
                name="payment_pending_within_reversed",
            ),
            models.CheckConstraint(
                condition=Q(status="succeeded") | Q(is_captured=False, amount_reversed=0),
                name="payment_failed_is_never_moved",
            ),
            # What waits for approval and what was reversed never exceed what was captured.
            models.CheckConstraint(
                condition=Q(amount_awaiting_approval=0)
                | Q(
                    amount_awaiting_approval__gt=0,
                    amount_awaiting_approval__lte=F("amount_captured") - F("amount_reversed"),
                ),
                name="payment_awaiting_approval_within_refundable",
            ),
            models.CheckConstraint(
                condition=Q(amount_disputed__gte=0, amount_disputed__lte=F("amount_captured")),
                name="payment_disputed_within_captured",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    # --- derived facts (SPEC 3) ---------------------------------------------------

    @property
    def is_reversed(self) -> bool:
        return self.amount_reversed > 0

    @property
    def is_fully_reversed(self) -> bool:
        if self.is_voided:
            return True
        return self.is_captured and self.amount_reversed >= self.amount_captured

    @property
    def amount_reversible(self) -> int:
        """What a reversal may still take: the whole authorization for a void, the
        captured amount less every non-failed reversal for a refund."""
        if self.status != self.Status.SUCCEEDED or self.is_voided:
            return 0
        if not self.is_captured:
            return self.amount
        return self.amount_captured - self.amount_reversed - self.amount_awaiting_approval

    def count_reversal(self, amount: int, *, external: bool) -> None:
        """A refund or void going ahead (at once, or once approved): counted as reversed,
        and as pending until the gateway answers unless it was done there already. The
        caller saves the row it holds locked."""
        self.amount_reversed += amount
        if not external:
            self.amount_reversal_pending += amount

    def reversal_refusal(self) -> str | None:
        """Why this payment cannot be refunded or voided now, or None when it can
        (SPEC 4 rule 1). The one home of the rule: the service refuses with it, the
        dashboard disables its button with it, the audit trail quotes it."""
        if self.status != self.Status.SUCCEEDED:
            return "the payment failed"
        if self.is_voided:
            return "it is already voided"
        if self.is_fully_reversed:
            return "it is already fully refunded"
        if self.is_captured and self.amount_reversible <= 0:
            return "the rest of it is a refund waiting for approval"
        if self.capture_pending:
            return "its capture is still pending at the gateway"
        return None

    @property
    def chargeback_outstanding(self) -> bool:
        """Charged back, with money still out through it (its dispute is open, lost or
        accepted): a refund would return that money a second time, so the dashboard
        warns and asks to confirm (SPEC 4 rule 7) and a bulk refund leaves it out. Once
        the dispute is won the disputed money came back (SPEC 10: `amount_disputed` is
        the sum of the disputes not won) and a refund returns money once."""
        return self.is_chargebacked and self.amount_disputed > 0

    def capture_refusal(self) -> str | None:
        """Why this payment cannot be captured now, or None (SPEC 3: once only, not on a
        voided or failed payment)."""
        if self.status != self.Status.SUCCEEDED:
            return "the authorization failed"
        if self.is_voided:
            return "it was voided"
        if self.is_captured:
            return "it is already captured"
        return None

    def chargeback_refusal(self) -> str | None:
        """Why no chargeback can be recorded on this payment, or None (SPEC 6): the bank
        can only take back money that moved."""
        if self.status != self.Status.SUCCEEDED:
            return "its authorization failed, no money moved"
        if self.is_voided:
            return "it was voided, no money moved"
        if not self.is_captured:
            return "it was never captured, no money moved"
        return None

    def format_amount(self, minor: int) -> str:
        return money.format_minor(minor, self.currency)

    @property
    def status_reason(self) -> dict | None:
        """Why the authorization failed: a stable code and a sentence (SPEC 3)."""
        if self.status != self.Status.FAILED:
            return None
        code = self.failure_reason.split(":", 1)[0].strip() or "declined"
        return {"code": code, "message": reason_message(self.failure_reason)}

    @property
    def amount_display(self) -> str:
        return self.format_amount(self.amount)

    @property
    def currency_needs_showing(self) -> bool:
        """A list shows the code beside "$5.00" ($ is not only the dollar of the US),
        never twice beside "KWD 1.500"."""
        return money.has_symbol(self.currency)

    @property
    def display_status_label(self) -> str:
        # A GeneratedField gets no get_FOO_display().
        return DisplayStatus(self.display_status).label

    def audit_summary(self) -> tuple[str, dict]:
        fmt = self.format_amount
        return (
            f"payment {self.id}: {self.status}, authorized {fmt(self.amount)}, "
            f"captured {fmt(self.amount_captured)}, reversed {fmt(self.amount_reversed)}",
            {
                "paymentId": self.id,
                "customerId": self.customer_id,
                "amount": self.amount,
                "currency": self.currency,
                "status": self.status,
                "initiator": self.initiator,
                "amountCaptured": self.amount_captured,
                "capturePending": self.capture_pending,
                "amountReversed": self.amount_reversed,
                "amountAwaitingApproval": self.amount_awaiting_approval,
                "isChargebacked": self.is_chargebacked,
                "amountDisputed": self.amount_disputed,
            },
        )


class Transaction(RecordedBy):
    """One entry of a payment's ledger: authorization, capture, refund, void, chargeback,
    chargeback reversal."""

    class Type(models.TextChoices):
        AUTHORIZATION = "authorization", "Authorization"
        CAPTURE = "capture", "Capture"
        REFUND = "refund", "Refund"
        VOID = "void", "Void"
        CHARGEBACK = "chargeback", "Chargeback"
        # A dispute won: the network gave the disputed amount back (SPEC 10).
        CHARGEBACK_REVERSAL = "chargeback_reversal", "Chargeback reversal"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        # A dashboard refund above the approval threshold (SPEC 13): not sent until a
        # second merchant admin approves it; canceled when rejected or expired.
        REQUIRES_APPROVAL = "requires_approval", "Waiting for approval"
        CANCELED = "canceled", "Canceled"

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by customer"
        DUPLICATE = "duplicate", "Duplicate"
        FRAUDULENT = "fraudulent", "Fraudulent"
        OTHER = "other", "Other"

    REVERSAL_TYPES = (Type.REFUND, Type.VOID)

    id = models.CharField(
        primary_key=True, max_length=40, default=new_transaction_id, editable=False
    )
    # Indexed by txn_merchant_type_idx and txn_payment_idx, which lead with them.
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    type = models.CharField(max_length=20, choices=Type.choices)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices)
    is_external = models.BooleanField(default=False)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    note = models.CharField(max_length=MAX_NOTE_LENGTH, blank=True)
    order_id = models.CharField(max_length=MAX_ORDER_ID_LENGTH, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    gateway_reference = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Delivery bookkeeping for reversals sent to the gateway by a task.
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    send_lease_until = models.DateTimeField(null=True, blank=True)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["payment", "created_at"], name="txn_payment_idx"),
            models.Index(fields=["merchant", "type", "-created_at"], name="txn_merchant_type_idx"),
            # The gateway's webhooks find a refund by its reference (gateway_events).
            models.Index(
                fields=["gateway_reference"],
                condition=~Q(gateway_reference=""),
                name="txn_gateway_ref_idx",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(status="pending"),
                name="txn_pending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="txn_amount_positive"),
            models.CheckConstraint(
                condition=Q(is_external=False) | Q(type__in=["refund", "void"]),
                name="txn_only_reversals_are_external",
            ),
        ]

    @classmethod
    def details_refusal(cls, *, reason: str, note: str) -> tuple[str, str] | None:
        """Why a refund's or void's reason and note are refused, as (field, sentence),
        or None (SPEC 4): a known reason, a note of at most MAX_NOTE_LENGTH characters,
        and a note when the reason is `other`. The one home of the rule: the service
        and the bulk refunds' dry run both ask it."""
        if reason not in cls.Reason.values:
            return "reason", "Reason must be one of " + ", ".join(cls.Reason.values)
        if len(note) > MAX_NOTE_LENGTH:
            return "note", f"Note has at most {MAX_NOTE_LENGTH} characters"
        if reason == cls.Reason.OTHER and not note:
            return "note", "A note is required when the reason is 'other'"
        return None

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    @property
    def is_reversal(self) -> bool:
        return self.type in self.REVERSAL_TYPES

    @property
    def failure_message(self) -> str:
        return reason_message(self.failure_reason) if self.failure_reason else ""

    @property
    def gateway_idempotency_key(self) -> str:
        # Derived from our own id: a re-sent or duplicated task asks the gateway for
        # the same operation, never a second one.
        return f"backoffice-{self.id}"

    def audit_summary(self) -> tuple[str, dict]:
        payment = self.payment
        external = " (external, recorded only)" if self.is_external else ""
        return (
            f"{self.type} of {payment.format_amount(self.amount)} on {payment.id}"
            f"{external}: {self.status}",
            {
                "paymentId": payment.id,
                "customerId": payment.customer_id,
                "transactionId": self.id,
                "type": self.type,
                "amount": self.amount,
                "currency": payment.currency,
                "status": self.status,
                "isExternal": self.is_external,
                "reason": self.reason,
                "amountCaptured": payment.amount_captured,
                "amountReversed": payment.amount_reversed,
            },
        )


class DailyTotals(models.Model):
    """The overview's numbers for one merchant, day and currency, kept by the services in
    the transaction of the change they count (payments.rollup), so the overview reads a
    few rows instead of scanning payments.

    The day is the payment's creation day (in the current time zone, UTC): its later
    capture, refunds and chargeback count on the day it was made, so a day's bar and the
    payments list filtered to that day show the same payments. Amounts are minor units
    of `currency`. `payments` counts authorizations attempted (a refused payment creates
    nothing); `captured_amount`, `refunds` and `refunded_amount` count what was asked and
    not declined (pending included, as the payment's own amounts do).
    """

    # Indexed by the unique constraint of Meta, which leads with it.
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    day = models.DateField()
    currency = models.CharField(max_length=3)
    payments = models.BigIntegerField(default=0)
    succeeded = models.BigIntegerField(default=0)
    captured_amount = models.BigIntegerField(default=0)
    refunds = models.BigIntegerField(default=0)
    refunded_amount = models.BigIntegerField(default=0)
    chargebacks = models.BigIntegerField(default=0)
    chargeback_amount = models.BigIntegerField(default=0)

    COUNTERS = (
        "payments",
        "succeeded",
        "captured_amount",
        "refunds",
        "refunded_amount",
        "chargebacks",
        "chargeback_amount",
    )

    objects = MerchantQuerySet.as_manager()

    class Meta:
        verbose_name = "daily totals"
        verbose_name_plural = "daily totals"
        ordering = ["merchant", "-day", "currency"]
        constraints = [
            # Also the index of the overview's one query (merchant, day range).
            models.UniqueConstraint(
                fields=["merchant", "day", "currency"], name="daily_totals_one_row_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.day} {self.currency}"


class ApprovalThreshold(RecordedBy):
    """Per merchant and currency: a refund asked in the dashboard for strictly more than
    `amount` (minor units) waits for a second merchant admin's approval (SPEC 13)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["merchant", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency"], name="approval_threshold_one_per_currency"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="approval_threshold_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.currency} > {self.amount}"

    @property
    def amount_display(self) -> str:
        return money.format_minor(self.amount, self.currency)

    def audit_summary(self) -> tuple[str, dict]:
        return (
            f"refunds over {self.amount_display} need a second admin's approval",
            {"currency": self.currency, "amount": self.amount},
        )


class RefundApproval(models.Model):
    """The four-eyes decision on one refund held for approval (SPEC 13): who decided,
    when, and how. The refund itself is the Transaction (status requires_approval,
    then pending or canceled); its creator is the one who asked."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    refund = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="approval", primary_key=True
    )
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_by = optional_reference(settings.AUTH_USER_MODEL)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=MAX_NOTE_LENGTH, blank=True)

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The queue (per merchant, oldest first) and the expiry sweep.
            models.Index(
                fields=["merchant", "created_at"],
                condition=Q(status="waiting"),
                name="approval_waiting_idx",
            ),
            models.Index(
                fields=["expires_at"], condition=Q(status="waiting"), name="approval_expiry_idx"
            ),
        ]

    # Who may approve or reject a held refund (merchants.roles gives it to merchant admins).
    DECIDE_PERMISSION = "payments.approve_refund"

    def __str__(self) -> str:
        return f"approval of {self.refund_id}: {self.status}"

    def waiting_refusal(self, now: datetime) -> str | None:
        """Why this refund can no longer be approved or rejected, or None while it waits
        (SPEC 13). The one home of the rule: the services refuse with it (409), the
        dialogs show it instead of a form."""
        if self.status != self.Status.WAITING:
            by = f" by {self.decided_by.email}" if self.decided_by_id else ""
            return f"This refund is no longer waiting for approval: it was {self.status}{by}"
        if self.expires_at <= now:
            return "This refund is no longer waiting for approval: it expired unanswered"
        return None

    def decider_refusal(self, user) -> str | None:
        """Why `user` may not decide on this refund (four eyes: a merchant admin other
        than the one who asked), or None."""
        if user is None or not user.has_perm(self.DECIDE_PERMISSION):
            return "Only a merchant admin can approve or reject a held refund"
        if self.refund.created_by_id == user.pk:
            return "You asked for this refund: another merchant admin must approve or reject it"
        return None

    def audit_summary(self) -> tuple[str, dict]:
        refund, payment = self.refund, self.payment
        return (
            f"refund {refund.id} of {payment.format_amount(refund.amount)} on {payment.id}: "
            f"{self.status}",
            {
                "paymentId": payment.id,
                "customerId": payment.customer_id,
                "transactionId": refund.id,
                "amount": refund.amount,
                "currency": payment.currency,
                "status": refund.status,
                "approval": self.status,
                "askedBy": refund.actor_label,
                "note": self.note,
            },
        )


class MonthlyTotals(models.Model):
    """One merchant's calendar month (UTC) as the dispute ratio monitor counts it (SPEC
    10): payments captured that month and disputes opened that month. Kept by the
    services in the transaction of the change they count (payments.dispute_ratio), so
    the ratio reads a few rows whatever the number of payments.

    `month` is the month's first day. A capture counts in the month it was captured; a
    capture the gateway declines is taken back from that month. A dispute counts in the
    month it was opened, whatever becomes of it."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    month = models.DateField()
    captured_payments = models.BigIntegerField(default=0)
    disputes_opened = models.BigIntegerField(default=0)

    COUNTERS = ("captured_payments", "disputes_opened")

    objects = MerchantQuerySet.as_manager()

    class Meta:
        verbose_name = "monthly totals"
        verbose_name_plural = "monthly totals"
        ordering = ["merchant", "-month"]
        constraints = [
            # Also the index of the monitor's one query (merchant, month range).
            models.UniqueConstraint(fields=["merchant", "month"], name="monthly_totals_one_row"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.month:%Y-%m}"
