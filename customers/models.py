from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from merchants.ids import new_id
from merchants.models import Merchant

# `email__lower=...` compiles to LOWER(email) = ..., which the unique index below serves.
models.CharField.register_lookup(Lower)


def new_customer_id() -> str:
    return new_id("cus")


def normalize_email(email: str) -> str:
    """Emails are trimmed, and compared case-insensitively."""
    return (email or "").strip().lower()


class CustomerQuerySet(models.QuerySet):
    def for_merchant(self, merchant: Merchant):
        return self.filter(merchant=merchant)


class Customer(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_customer_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="customers")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    restrict_cit = models.BooleanField(default=False)
    restrict_mit = models.BooleanField(default=False)
    restrict_reason = models.CharField(max_length=500, blank=True)
    refused_payment_attempts = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(
        excluded_fields=["refused_payment_attempts", "name", "created_at"],
    )
    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "-created_at", "-id"], name="customer_recent_idx"),
            # Blacklisting an email finds its customers at every merchant.
            models.Index(Lower("email"), name="customer_email_lower_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                "merchant", Lower("email"), name="customer_one_per_email_per_merchant"
            ),
        ]
        permissions = [("change_restrictions", "Can change a customer's payment restrictions")]

    def __str__(self) -> str:
        return f"{self.email} ({self.id})"

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip()
        super().save(*args, **kwargs)

    @property
    def is_restricted(self) -> bool:
        return self.restrict_cit or self.restrict_mit


class BlacklistEntryQuerySet(models.QuerySet):
    def active(self):
        return self.filter(removed_at__isnull=True)

    def for_email(self, email: str):
        return self.filter(email=normalize_email(email))


class BlacklistEntry(models.Model):
    """A platform-wide blocked email. Removal is recorded, never erased."""

    class Source(models.TextChoices):
        CHARGEBACK = "chargeback", "Chargeback"
        PERSON = "person", "Added by a person"

    email = models.CharField(max_length=254, help_text="Stored trimmed and lower-cased")
    reason = models.CharField(max_length=500)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.PERSON)
    chargeback = models.ForeignKey(
        "chargebacks.Chargeback",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="blacklist_entries",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    added_by_api_key = models.ForeignKey(
        "merchants.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removal_reason = models.CharField(max_length=500, blank=True)

    history = HistoricalRecords()
    objects = BlacklistEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "blacklist entry"
        verbose_name_plural = "blacklist entries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(removed_at__isnull=True),
                name="blacklist_one_active_entry_per_email",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


def new_subscription_id() -> str:
    return new_id("sub")


class SubscriptionQuerySet(models.QuerySet):
    def for_merchant(self, merchant: Merchant):
        return self.filter(merchant=merchant)

    def active(self):
        return self.filter(status=Subscription.Status.ACTIVE)


class Subscription(models.Model):
    """A recurring charge, renewed as an MIT payment by a periodic task."""

    class Interval(models.TextChoices):
        DAY = "day", "Daily"
        WEEK = "week", "Weekly"
        MONTH = "month", "Monthly"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELED = "canceled", "Canceled"

    id = models.CharField(
        primary_key=True, max_length=40, default=new_subscription_id, editable=False
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="subscriptions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=5, choices=Interval.choices)
    current_period_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # The day of the month monthly periods end on (clamped to shorter months), so that
    # a subscription ending on the 31st comes back to the 31st after February.
    billing_anchor_day = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # Set while the current period's payment is being taken (the period was already
    # advanced); a renewal run that died mid-charge leaves it, and a later run retries.
    charge_pending_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["current_period_end"],
                condition=models.Q(status="active"),
                name="subscription_due_idx",
            ),
            models.Index(
                fields=["charge_pending_since"],
                condition=models.Q(charge_pending_since__isnull=False),
                name="subscription_pending_idx",
            ),
            models.Index(fields=["merchant", "-created_at", "-id"], name="subscription_recent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="subscription_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.id
