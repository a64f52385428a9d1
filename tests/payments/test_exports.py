"""The payments list as CSV (SPEC 12): the list's filters, safe cells, streamed in
constant memory."""

import csv
import inspect
import io
import tracemalloc

import pytest
from django.urls import reverse
from django.utils import timezone

from payments import exports
from payments.models import Payment, new_payment_id
from tests.dashboard.conftest import client_for
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def exported(client, query: str = "") -> list[dict]:
    response = client.get(reverse("payments:export") + query)
    assert response.status_code == 200, response.content
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="payments-')
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def listed_ids(client, query: str = "") -> list[str]:
    page = client.get(reverse("payments:list") + query).context["page"]
    return [p.id for p in page.items]


@pytest.fixture
def agent_client(client, agent):
    return client_for(client, agent)


@pytest.fixture
def shop(merchant, other_merchant):
    jane = CustomerFactory(merchant=merchant, email="jane@example.test")
    made = {
        "usd": PaymentFactory(merchant=merchant, customer=jane, amount=2500, order_id="ord-1"),
        "eur": PaymentFactory(merchant=merchant, amount=1999, currency="EUR", order_id="ord-2"),
        "jpy": PaymentFactory(merchant=merchant, amount=500, currency="JPY", order_id="x-3"),
        "auth": PaymentFactory(merchant=merchant, amount=700, capture=False, order_id="ord-4"),
        "foreign": PaymentFactory(merchant=other_merchant, amount=100),
    }
    from core.actors import SYSTEM
    from payments.services import reverse_payment

    reverse_payment(merchant=merchant, payment_id=made["usd"].id, actor=SYSTEM, amount=500)
    return made


def test_every_column_in_major_units(agent_client, shop):
    rows = {r["id"]: r for r in exported(agent_client)}

    assert set(rows) == {shop[k].id for k in ("usd", "eur", "jpy", "auth")}
    usd = rows[shop["usd"].id]
    assert list(usd) == exports.HEADER
    assert {k: v for k, v in usd.items() if k not in ("id", "created")} == {
        "customer_email": "jane@example.test",
        "amount": "25.00",
        "currency": "USD",
        "captured": "25.00",
        "refunded": "5.00",
        "disputed": "0.00",
        "status": "Partially refunded",
        "order_id": "ord-1",
    }
    assert usd["created"] == shop["usd"].created_at.isoformat()
    assert (rows[shop["jpy"].id]["amount"], rows[shop["eur"].id]["amount"]) == ("500", "19.99")
    assert (rows[shop["auth"].id]["captured"], rows[shop["auth"].id]["status"]) == (
        "0.00",
        "Authorized",
    )


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?currency=EUR",
        "?q=ord-",
        "?q=jane@",
        "?status=authorized",
        "?currency=USD&amount_min=10&amount_max=30",
        "?created_from=2000-01-01&q=x-",
    ],
)
def test_the_export_has_exactly_the_rows_the_list_shows(agent_client, shop, query):
    assert [r["id"] for r in exported(agent_client, query)] == listed_ids(agent_client, query)


def test_filters_the_list_refuses_are_refused(agent_client, shop):
    response = agent_client.get(reverse("payments:export") + "?amount_min=10")
    assert response.status_code == 400
    assert "needs a currency" in response.content.decode()
    assert agent_client.get(reverse("payments:export") + "?status=nope").status_code == 400


def test_the_list_links_the_export_with_its_filters(agent_client, shop):
    page = agent_client.get(reverse("payments:list") + "?currency=EUR&q=ord").content.decode()
    assert 'href="/payments/export.csv?q=ord&amp;currency=EUR"' in page


def test_cells_a_spreadsheet_would_run_are_quoted(agent_client, merchant):
    texts = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "ok-=", "plain"]
    for text in texts:
        PaymentFactory(merchant=merchant, order_id=text)

    got = sorted(r["order_id"] for r in exported(agent_client))

    assert got == sorted(["'=1+2", "'+SUM(A1)", "'-2+3", "'@cmd", "ok-=", "plain"])


def test_the_export_is_a_generator_read_as_it_is_sent(merchant):
    lines = exports.payment_csv_lines(merchant=merchant)
    assert inspect.isgenerator(lines)
    assert next(lines) == ",".join(exports.HEADER) + "\r\n"


def _make_payments(merchant, count: int, currency: str) -> None:
    Payment.objects.bulk_create(
        [
            Payment(
                id=new_payment_id(),
                merchant=merchant,
                amount=1000 + i,
                currency=currency,
                status=Payment.Status.SUCCEEDED,
                is_captured=True,
                amount_captured=1000 + i,
                order_id=f"order-{currency}-{i:06d}",
            )
            for i in range(count)
        ],
        batch_size=2000,
    )


def _peak_memory_of_export(merchant, **filters) -> tuple[int, int]:
    tracemalloc.start()
    try:
        rows = sum(1 for _ in exports.payment_csv_lines(merchant=merchant, **filters)) - 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, peak


def test_twenty_thousand_rows_stream_in_the_memory_of_two_thousand(merchant, monkeypatch):
    _make_payments(merchant, 2_000, "EUR")
    _make_payments(merchant, 18_000, "USD")
    # All at one instant: the order (and each chunk's start) rests on the id alone.
    Payment.objects.update(created_at=timezone.now())
    monkeypatch.setattr(exports, "CHUNK_SIZE", 500)

    small_rows, small_peak = _peak_memory_of_export(merchant, currency="EUR")
    rows, peak = _peak_memory_of_export(merchant)

    assert (small_rows, rows) == (2_000, 20_000)
    ids = [line.split(",", 1)[0] for line in exports.payment_csv_lines(merchant=merchant)][1:]
    assert len(set(ids)) == 20_000  # each row once, none skipped at a chunk's edge
    assert peak < 2 * small_peak, (peak, small_peak)
    assert peak < 4 * 1024 * 1024, peak
