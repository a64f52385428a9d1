"""Events API (SPEC 11): the events the merchant's endpoints are sent, newest first."""

from ninja import Query, Router

from core.api import api_merchant, errors

from . import schemas, selectors

router = Router(tags=["events"])


@router.get("/events", response={200: schemas.EventListOut, **errors(400)}, summary="List events")
def list_events(request, filters: Query[schemas.EventListQuery]):
    """Newest first, one page at a time: `{"data": [...], "hasMore", "nextCursor"}`.
    For the next page pass `nextCursor` as `startingAfter`; `type` keeps one type."""
    return selectors.list_events(merchant=api_merchant(request), **filters.model_dump())


@router.get(
    "/events/{event_id}",
    response={200: schemas.EventOut, **errors(404)},
    summary="Retrieve an event",
)
def get_event(request, event_id: str):
    return selectors.get_event(merchant=api_merchant(request), event_id=event_id)
