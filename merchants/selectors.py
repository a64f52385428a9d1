"""Merchant reads for the dashboard: always the merchant's own keys."""

from django.db.models import F

from .models import ApiKey, Merchant


def list_api_keys(*, merchant: Merchant) -> list[ApiKey]:
    """The merchant's API keys, active ones first, newest first (a merchant has a
    handful: no paging)."""
    return list(
        ApiKey.objects.for_merchant(merchant)
        .select_related("created_by", "revoked_by")
        .order_by(F("revoked_at").desc(nulls_first=True), "-created_at")
    )


def get_api_key(*, merchant: Merchant, key_id: str) -> ApiKey | None:
    """The merchant's key with this id, or None (a foreign key is as missing as any)."""
    return ApiKey.objects.for_merchant(merchant).filter(id=key_id).first()
