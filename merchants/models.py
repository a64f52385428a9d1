import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.actors import actor_label
from core.ids import new_id
from core.models import MerchantQuerySet, optional_reference


class Merchant(models.Model):
    """A tenant: every payment, customer, key and dashboard member belongs to one."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).strip(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A dashboard user. Signs in with an email address; belongs to one merchant or is
    platform staff (merchant is null)."""

    username = None
    email = models.EmailField("email address", unique=True)
    merchant = optional_reference(Merchant, related_name="members")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def role_names(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())


def new_api_key_id() -> str:
    return new_id("key")


def hash_api_key(raw_key: str) -> str:
    # API keys carry ~143 bits of randomness, so a fast hash is as safe as a slow
    # one here and keeps every authenticated request at one indexed lookup.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    """A merchant's secret key. Only its hash and a short prefix are stored."""

    class Mode(models.TextChoices):
        TEST = "test", "Test"
        LIVE = "live", "Live"

    PREFIX_LENGTH = 12

    id = models.CharField(primary_key=True, max_length=40, default=new_api_key_id)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.TEST)
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()
    objects = MerchantQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        permissions = [("manage_api_keys", "Can create and revoke the merchant's API keys")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.merchant})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def audit_summary(self) -> tuple[str, dict]:
        state = "active" if self.is_active else "revoked"
        return (
            f"{self.mode} key {self.prefix}… '{self.name}': {state}",
            {"keyId": self.id, "prefix": self.prefix, "mode": self.mode, "name": self.name},
        )


class RecordedBy(models.Model):
    """Who made a row: a dashboard user or an API key (neither: the system)."""

    created_by = optional_reference(settings.AUTH_USER_MODEL)
    created_by_api_key = optional_reference("merchants.ApiKey")

    class Meta:
        abstract = True

    @property
    def actor_label(self) -> str:
        return actor_label(
            user=self.created_by if self.created_by_id else None,
            api_key=self.created_by_api_key if self.created_by_api_key_id else None,
        )


class IdempotencyRecordQuerySet(models.QuerySet):
    RETENTION = timedelta(hours=24)

    def purge_expired(self, *, now=None) -> int:
        """Forget the records older than RETENTION (SPEC 7: at least 24 hours)."""
        cutoff = (now or timezone.now()) - self.RETENTION
        deleted, _ = self.filter(created_at__lt=cutoff).delete()
        return deleted


class IdempotencyRecord(models.Model):
    """The first answer to an API POST sent with an `Idempotency-Key` (SPEC 7), so that
    a retry gets the same answer instead of doing the work twice. Written in its own
    committed transaction before the work starts (`in_progress`), so a concurrent retry
    sees it; completed with the answer's status and body once the work is done."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # The request's fingerprint: a retry must repeat all three.
    request_method = models.CharField(max_length=10)
    request_path = models.TextField()
    request_body_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = IdempotencyRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "key"], name="idempotency_one_record_per_merchant_key"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.request_method} {self.request_path})"
