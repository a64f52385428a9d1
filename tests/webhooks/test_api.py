"""GET /api/v1/events and /api/v1/events/{id} (SPEC 11): the merchant's events only."""

from core.actors import SYSTEM
from payments import services as payment_services
from tests.api.conftest import error_of
from tests.factories import PaymentFactory


def test_events_are_listed_newest_first_with_a_cursor_and_a_type_filter(api, merchant):
    payment = PaymentFactory(merchant=merchant, amount=4000)
    PaymentFactory(merchant=merchant, amount=666)
    payment_services.reverse_payment(
        merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=100
    )

    first = api.get("/events", {"limit": 2}).json()
    assert [e["type"] for e in first["data"]] == ["refund.created", "payment.failed"]
    assert first["hasMore"] is True
    rest = api.get("/events", {"limit": 2, "startingAfter": first["nextCursor"]}).json()
    assert [e["type"] for e in rest["data"]] == ["payment.created"]
    assert rest["hasMore"] is False and rest["nextCursor"] is None
    assert rest["data"][0]["data"]["id"] == payment.id
    only = api.get("/events", {"type": "refund.created"}).json()["data"]
    assert [e["data"]["id"] for e in only] == [payment.id]
    one = api.get(f"/events/{only[0]['id']}").json()
    assert one == only[0]
    assert set(one) == {"id", "type", "data", "createdAt"}


def test_another_merchants_event_is_not_found(api, other_api, merchant):
    PaymentFactory(merchant=merchant)
    event_id = api.get("/events").json()["data"][0]["id"]

    answer = other_api.get(f"/events/{event_id}")

    assert answer.status_code == 404
    assert error_of(answer)["type"] == "not_found"
    assert other_api.get("/events").json()["data"] == []


def test_an_unknown_type_filter_is_a_validation_error(api):
    answer = api.get("/events", {"type": "payment.exploded"})
    assert answer.status_code == 400
    assert error_of(answer)["type"] == "validation_error"
