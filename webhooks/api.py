"""Events API (SPEC 11): the events the merchant's endpoints are sent, newest first."""

from ninja import Query

from core.api import ApiRouter, api_merchant

from . import schemas, selectors

router = ApiRouter(tags=["events"])


@router.list_page("/events", schemas.EventListOut, summary="List events")
def list_events(request, filters: Query[schemas.EventListQuery]):
    """Newest first, one page at a time: `{"data": [...], "hasMore", "nextCursor"}`.
    For the next page pass `nextCursor` as `startingAfter`; `type` keeps one type."""
    return selectors.list_events(merchant=api_merchant(request), **filters.model_dump())


@router.retrieve("/events/{event_id}", schemas.EventOut, summary="Retrieve an event")
def get_event(request, event_id: str):
    return selectors.get_event(merchant=api_merchant(request), event_id=event_id)
