"""Reads of disputes, always from the merchant (a foreign id is never found)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import ValidationFailed, found_or_not_found
from core.paging import Page, check_limit
from merchants.models import Merchant

from .models import Dispute, DisputeFile, queue_rank
from .services import in_utc

# The API's order: soonest deadline first. The dashboard's queue: the disputes that
# need a response first, then soonest deadline first.
DEADLINE_ORDER = ("evidence_due_by", "id")
QUEUE_ORDER = ("queue_rank", "evidence_due_by", "id")


def disputes_matching(
    *,
    merchant: Merchant,
    status: str | None = None,
    overdue: bool | None = None,
    due_before: datetime | None = None,
    payment_id: str | None = None,
) -> QuerySet[Dispute]:
    if status is not None and status not in Dispute.Status.values:
        raise ValidationFailed(
            f"Status must be one of {', '.join(Dispute.Status.values)}", param="status"
        )
    rows = Dispute.objects.for_merchant(merchant).select_related(
        "payment", "payment__customer", "created_by", "created_by_api_key"
    )
    if status:
        rows = rows.filter(status=status)
    now = timezone.now()
    if overdue is True:
        rows = rows.overdue(now=now)
    elif overdue is False:
        rows = rows.not_overdue(now=now)
    if due_before is not None:
        rows = rows.filter(evidence_due_by__lt=in_utc(due_before, param="dueBefore"))
    if payment_id is not None:
        rows = rows.filter(payment_id=payment_id)
    return rows.annotate(queue_rank=queue_rank())


def list_disputes(
    *,
    merchant: Merchant,
    limit: int = 25,
    starting_after: str | None = None,
    queue: bool = False,
    **filters,
) -> Page:
    """One page of the merchant's disputes matching `filters` (see disputes_matching),
    soonest deadline first (`queue`: needs response first), keyset-paged after the
    dispute whose id is `starting_after`."""
    check_limit(limit)
    order = QUEUE_ORDER if queue else DEADLINE_ORDER
    rows = disputes_matching(merchant=merchant, **filters)
    if starting_after:
        anchor = (
            disputes_matching(merchant=merchant).filter(pk=starting_after).values(*order).first()
        )
        if anchor is None:
            raise ValidationFailed(f"No such dispute: '{starting_after}'", param="startingAfter")
        rows = rows.filter(_after(anchor, order))
    found = list(rows.order_by(*order).prefetch_related("files")[: limit + 1])
    return Page(items=found[:limit], has_more=len(found) > limit, has_newer=bool(starting_after))


def _after(anchor: dict, order: tuple[str, ...]) -> Q:
    """Rows after `anchor` in the ascending order of the fields `order`."""
    condition = Q()
    for depth, name in enumerate(order):
        step = Q(**{f"{name}__gt": anchor[name]})
        for earlier in order[:depth]:
            step &= Q(**{earlier: anchor[earlier]})
        condition |= step
    return condition


def get_dispute_file(*, merchant: Merchant, dispute_id: str, file_id: str) -> DisputeFile:
    """The merchant's evidence file of that dispute, or NotFound (a foreign one too)."""
    files = DisputeFile.objects.for_merchant(merchant).filter(dispute_id=dispute_id)
    return found_or_not_found(files, file_id, name="evidence file")
