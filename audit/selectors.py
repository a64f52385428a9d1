"""Audit reads for the dashboard: always the merchant's own entries."""

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
    return keyset_page(
        queryset,
        anchors=AuditEntry.objects.for_merchant(merchant),
        limit=limit,
        starting_after=starting_after,
        missing="entry",
        param="after",
    )
