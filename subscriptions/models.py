from django.db import models

from core import money
from core.ids import new_id
from core.models import MerchantQuerySet, newest_first_index
from customers.models import Customer
from merchants.models import Merchant


def new_subscription_id() -> str:
    return new_id("sub")


class SubscriptionQuerySet(MerchantQuerySet):
    def active(self):
        return self.filter(status=Subscription.Status.ACTIVE)


class Subscription(models.Model):
    """A recurring charge, renewed as an MIT payment by a periodic task.

    Moved here from the customers app: the table keeps its name (see the migrations)."""

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
        db_table = "customers_subscription"
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
            newest_first_index("merchant", name="subscription_recent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="subscription_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def amount_display(self) -> str:
        return money.format_minor(self.amount, self.currency)
