"""Audit reads for the dashboard: always the merchant's own entries."""

from django.db.models import Q

from merchants.errors import ValidationFailed
from merchants.models import Merchant
from payments.selectors import Page

from .models import AuditEntry


def list_activity(
    *,
    merchant: Merchant,
    action: str | None = None,
    target_id: str | None = None,
    limit: int = 50,
    starting_after: int | None = None,
) -> Page:
    """The merchant's audit entries, newest first, keyset-paged by the last entry's id."""
    if action and action not in AuditEntry.Action.values:
        raise ValidationFailed("Unknown action", param="action")
    queryset = AuditEntry.objects.for_merchant(merchant).select_related(
        "actor_user", "actor_api_key"
    )
    if action:
        queryset = queryset.filter(action=action)
    if target_id:
        queryset = queryset.filter(target_id=target_id.strip())
    if starting_after:
        anchor = (
            AuditEntry.objects.for_merchant(merchant)
            .filter(pk=starting_after)
            .values("created_at", "pk")
            .first()
        )
        if anchor is None:
            raise ValidationFailed("No such entry", param="after")
        queryset = queryset.filter(created_at__lte=anchor["created_at"]).filter(
            Q(created_at__lt=anchor["created_at"]) | Q(pk__lt=anchor["pk"])
        )
    rows = list(queryset.order_by("-created_at", "-pk")[: limit + 1])
    return Page(items=rows[:limit], has_more=len(rows) > limit)
