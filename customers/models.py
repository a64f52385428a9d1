import contextlib
import re
import unicodedata

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from core.actors import actor_label
from core.ids import new_id
from core.models import MerchantQuerySet, newest_first_index, optional_reference
from merchants.models import Merchant

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 500

# `email__lower=...` compiles to LOWER(email) = ..., which the unique index below serves.
models.CharField.register_lookup(Lower)


_QUOTED_PAIR = re.compile(r"\\(.)")


def new_customer_id() -> str:
    return new_id("cus")


def normalize_email(email: str) -> str:
    """The one form in which emails are compared (SPEC 5), so that a blacklisted address
    cannot pay again under another spelling of itself: trimmed, Unicode-normalised
    (NFC), a quoted local part unquoted ("jane"@x -> jane@x), the domain in its IDNA
    ASCII form (x@bücher.de -> x@xn--bcher-kva.de), all lower-case. Plus-addressing
    stays distinct (jane+shop@ is another mailbox for all we know)."""
    email = unicodedata.normalize("NFC", (email or "").strip())
    local, at, domain = email.rpartition("@")
    if not at:
        return email.lower()
    if len(local) >= 2 and local[0] == local[-1] == '"':
        local = _QUOTED_PAIR.sub(r"\1", local[1:-1])
    # A name that is not a valid international one is compared as written.
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}".lower()


def email_spellings(email: str) -> set[str]:
    """The lower-case forms under which customers with this email may be stored (as
    typed, or canonical; with the domain in Unicode or in IDNA ASCII)."""
    canonical = normalize_email(email)
    local, _, domain = canonical.rpartition("@")
    spellings = {(email or "").strip().lower(), canonical}
    with contextlib.suppress(UnicodeError):
        spellings.add(f"{local}@{domain.encode('ascii').decode('idna')}")
    return spellings


class Customer(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_customer_id, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="customers")
    email = models.EmailField(max_length=MAX_EMAIL_LENGTH)
    name = models.CharField(max_length=MAX_NAME_LENGTH, blank=True)
    restrict_cit = models.BooleanField(default=False)
    restrict_mit = models.BooleanField(default=False)
    restrict_reason = models.CharField(max_length=MAX_REASON_LENGTH, blank=True)
    refused_payment_attempts = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(
        excluded_fields=["refused_payment_attempts", "name", "created_at"],
    )
    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            newest_first_index("merchant", name="customer_recent_idx"),
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

    def audit_summary(self) -> tuple[str, dict]:
        return (
            f"customer {self.id}: restrictCit={self.restrict_cit}, "
            f"restrictMit={self.restrict_mit}, reason '{self.restrict_reason}'",
            {
                "customerId": self.id,
                "email": self.email,
                "restrictCit": self.restrict_cit,
                "restrictMit": self.restrict_mit,
                "restrictReason": self.restrict_reason,
            },
        )


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

    email = models.CharField(
        max_length=MAX_EMAIL_LENGTH, help_text="Stored trimmed and lower-cased"
    )
    reason = models.CharField(max_length=MAX_REASON_LENGTH)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.PERSON)
    chargeback = optional_reference("chargebacks.Chargeback", related_name="blacklist_entries")
    added_by = optional_reference(settings.AUTH_USER_MODEL)
    added_by_api_key = optional_reference("merchants.ApiKey")
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = optional_reference(settings.AUTH_USER_MODEL)
    removal_reason = models.CharField(max_length=MAX_REASON_LENGTH, blank=True)

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

    @property
    def added_by_label(self) -> str:
        return actor_label(
            user=self.added_by if self.added_by_id else None,
            api_key=self.added_by_api_key if self.added_by_api_key_id else None,
        )

    def audit_summary(self) -> tuple[str, dict]:
        removed = f", removed: {self.removal_reason}" if self.removed_at else ""
        return (
            f"{self.email} ({self.source}): {self.reason}{removed}",
            {"entryId": self.pk, "email": self.email, "source": self.source, "reason": self.reason},
        )
