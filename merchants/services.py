"""Merchant writes: API keys."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from audit.trail import audit_trail
from core.actors import Actor
from core.errors import ValidationFailed, found_or_not_found
from core.ids import random_token

from .models import ApiKey, Merchant, User, hash_api_key

KEY_RANDOM_LENGTH = 32
LAST_USED_EVERY = timedelta(minutes=1)


def create_api_key(
    *,
    merchant: Merchant,
    name: str = "",
    mode: str = ApiKey.Mode.TEST,
    created_by: User | None = None,
    raw_key: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and answer it with its secret, which is never stored or shown
    again: only its SHA-256 and a short prefix are kept. `raw_key` lets the demo use a
    known key; it must still look like one (sk_test_/sk_live_ and 24+ characters)."""
    with audit_trail(
        AuditEntry.Action.API_KEY_CREATE,
        actor=Actor(user=created_by),
        merchant=merchant,
        target=("apikey", None),
        arguments={"name": name, "mode": mode},
    ) as trail:
        if mode not in ApiKey.Mode.values:
            raise ValidationFailed("Mode must be test or live", param="mode")
        if raw_key is None:
            raw_key = f"sk_{mode}_{random_token(KEY_RANDOM_LENGTH)}"
        elif not raw_key.startswith(f"sk_{mode}_") or len(raw_key) < 24:
            raise ValidationFailed(
                f"A {mode} key starts with sk_{mode}_ and has at least 24 characters", param="key"
            )
        with transaction.atomic():
            key = ApiKey.objects.create(
                merchant=merchant,
                name=name,
                mode=mode,
                prefix=raw_key[: ApiKey.PREFIX_LENGTH],
                key_hash=hash_api_key(raw_key),
                created_by=created_by,
            )
            trail.succeeded(key)
    return key, raw_key


def revoke_api_key(*, merchant: Merchant, key_id: str, revoked_by: User | None = None) -> ApiKey:
    """Revoke a key of the merchant: every later request with it answers 401. Revoking
    a revoked key changes nothing; a foreign or missing key is NotFound."""
    with (
        audit_trail(
            AuditEntry.Action.API_KEY_REVOKE,
            actor=Actor(user=revoked_by),
            merchant=merchant,
            target=("apikey", key_id),
        ) as trail,
        transaction.atomic(),
    ):
        queryset = ApiKey.objects.for_merchant(merchant).select_for_update()
        key = found_or_not_found(queryset, key_id, name="API key")
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.revoked_by = revoked_by
            key.save(update_fields=["revoked_at", "revoked_by"])
        trail.succeeded(key)
    return key


def authenticate_api_key(raw_key: str) -> ApiKey | None:
    """The active key with this secret, or None (missing, unknown or revoked)."""
    if not raw_key or not raw_key.startswith(("sk_test_", "sk_live_")):
        return None
    key = (
        ApiKey.objects.select_related("merchant")
        .filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    # Recorded at most once a minute, so a busy key does not write on every request.
    if key is not None and (key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
