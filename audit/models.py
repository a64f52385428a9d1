"""The audit trail: one append-only row per money action, refused or not.

Append-only twice over: the model refuses to update or delete a row through the ORM
(instance and queryset), and on PostgreSQL a trigger (see the migrations) refuses
UPDATE and DELETE of `audit_auditentry` from any SQL at all.

Also here: the history of the roles themselves (`auth.Group` and its permissions),
registered with django-simple-history from this app because `auth` is not ours.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from simple_history import register

from core.models import MerchantQuerySet, optional_reference


class AuditLogImmutable(Exception):
    """Raised on any attempt to change or remove an audit entry."""


class AuditEntryQuerySet(MerchantQuerySet):
    def update(self, **kwargs):
        raise AuditLogImmutable("Audit entries are append-only: they cannot be updated")

    def delete(self):
        raise AuditLogImmutable("Audit entries are append-only: they cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditLogImmutable("Audit entries are append-only: they cannot be updated")

    def update_or_create(self, *args, **kwargs):
        raise AuditLogImmutable("Audit entries are append-only: they cannot be updated")

    def for_target(self, target_type: str, target_id: str):
        return self.filter(target_type=target_type, target_id=str(target_id))


class AuditEntry(models.Model):
    """Who did what to which object, when, from where, and whether it was allowed."""

    class Action(models.TextChoices):
        PAYMENT_CREATE = "payment.create", "Payment created"
        PAYMENT_CAPTURE = "payment.capture", "Payment captured"
        PAYMENT_REFUND = "payment.refund", "Payment refunded"
        PAYMENT_REFUND_EXTERNAL = "payment.refund_external", "External refund recorded"
        PAYMENT_VOID = "payment.void", "Payment voided"
        PAYMENT_CHARGEBACK = "payment.chargeback", "Chargeback recorded"
        REFUND_APPROVAL_ASK = "refund.approval_ask", "Refund held for approval"
        REFUND_APPROVE = "refund.approve", "Refund approved"
        REFUND_REJECT = "refund.reject", "Refund rejected"
        REFUND_EXPIRE = "refund.expire", "Refund approval expired"
        APPROVAL_THRESHOLD_SET = "approval_threshold.set", "Approval threshold changed"
        DISPUTE_EVIDENCE = "dispute.evidence", "Dispute evidence saved"
        DISPUTE_SUBMIT = "dispute.submit", "Dispute evidence submitted"
        DISPUTE_FILE = "dispute.file", "Dispute evidence file added"
        DISPUTE_ACCEPT = "dispute.accept", "Dispute accepted"
        DISPUTE_CLOSE = "dispute.close", "Dispute outcome recorded"
        CUSTOMER_RESTRICT = "customer.restrict", "Customer restrictions changed"
        BLACKLIST_ADD = "blacklist.add", "Email blacklisted"
        BLACKLIST_REMOVE = "blacklist.remove", "Email removed from the blacklist"
        API_KEY_CREATE = "api_key.create", "API key created"
        API_KEY_REVOKE = "api_key.revoke", "API key revoked"
        USER_ROLES_CHANGE = "user.roles_change", "User roles changed"
        USER_PRIVILEGES_CHANGE = "user.privileges_change", "User access changed"
        REFUND_BATCH_CREATE = "refund_batch.create", "Refund batch uploaded"
        REFUND_BATCH_CONFIRM = "refund_batch.confirm", "Refund batch confirmed"
        REFUND_BATCH_CANCEL = "refund_batch.cancel", "Refund batch canceled"
        WEBHOOK_ENDPOINT_CREATE = "webhook_endpoint.create", "Webhook endpoint added"
        WEBHOOK_ENDPOINT_UPDATE = "webhook_endpoint.update", "Webhook endpoint changed"
        WEBHOOK_ENDPOINT_DISABLE = "webhook_endpoint.disable", "Webhook endpoint disabled"
        WEBHOOK_ENDPOINT_ENABLE = "webhook_endpoint.enable", "Webhook endpoint enabled"
        WEBHOOK_ENDPOINT_DELETE = "webhook_endpoint.delete", "Webhook endpoint deleted"
        WEBHOOK_SECRET_ROTATE = "webhook_endpoint.rotate", "Webhook signing secret rotated"

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        REFUSED = "refused", "Refused"

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # PROTECT: a user, key or merchant that acted can be deactivated or revoked, never
    # deleted from under its audit trail (SET_NULL would have to UPDATE this table).
    actor_user = optional_reference(settings.AUTH_USER_MODEL)
    actor_api_key = optional_reference("merchants.ApiKey")
    # Kept in clear so the entry reads the same even if the user's email changes.
    actor_label = models.CharField(max_length=254)
    # Indexed by audit_merchant_recent_idx, which leads with it.
    merchant = optional_reference(
        "merchants.Merchant", related_name="audit_entries", db_index=False
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=255, blank=True)
    # The customer the action concerns (theirs is the payment refunded, the restriction
    # changed, the email blacklisted after their chargeback), so that filtering by a
    # customer finds all of it. An id, not a foreign key: the trail imports no domain
    # model. Null (not "") for no customer: what the partial index leaves out, and what
    # the column holds for entries written before it existed (the table is append-only).
    customer_id = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCEEDED)
    detail = models.TextField(blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    # The id of the request (or task) that did it, as in the logs: the way from an
    # entry to every log line of the same work.
    request_id = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="audit_merchant_recent_idx"),
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["action", "-created_at"], name="audit_action_recent_idx"),
            models.Index(
                fields=["customer_id", "-created_at"],
                name="audit_customer_recent_idx",
                condition=models.Q(customer_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        target = f" {self.target_type} {self.target_id}" if self.target_id else ""
        return f"{self.action}{target} by {self.actor_label}: {self.outcome}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogImmutable("Audit entries are append-only: they cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogImmutable("Audit entries are append-only: they cannot be deleted")


# Role definitions (a group's permissions) keep a history: who, when, what changed.
# Membership (which user holds which role) is recorded as AuditEntry rows instead, by
# audit.signals, because it changes from either side of the relation.
register(Group, app="audit", m2m_fields=["permissions"])
