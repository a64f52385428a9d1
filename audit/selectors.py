"""Audit reads for the dashboard: always the merchant's own entries."""

from django.db.models import Q

from core.errors import ValidationFailed
from core.paging import Page, keyset_page

from .models import AuditEntry


def list_activity(
    *,
    merchant,
    action: str | None = None,
    target_id: str | None = None,
    limit: int = 50,
    starting_after: int | None = None,
) -> Page:
    """The merchant's audit entries, newest first, keyset-paged by the last entry's id.
    `target_id` finds the entries about that object, and for a customer's id also
    everything done to that customer (their payments, refunds, restrictions and
    blacklisting)."""
    if action and action not in AuditEntry.Action.values:
        raise ValidationFailed("Unknown action", param="action")
    queryset = AuditEntry.objects.for_merchant(merchant).select_related(
        "actor_user", "actor_api_key"
    )
    if action:
        queryset = queryset.filter(action=action)
    if target_id:
        target_id = target_id.strip()
        queryset = queryset.filter(Q(target_id=target_id) | Q(customer_id=target_id))
    return keyset_page(
        queryset,
        anchors=AuditEntry.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
        missing="entry",
        param="after",
    )
