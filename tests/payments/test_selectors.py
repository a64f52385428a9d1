"""The payments list's search and filters (SPEC 8.1), the count of its matches and its
keyset paging both ways: the selector that the dashboard and the API share."""

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import ValidationFailed
from customers.models import Customer
from payments import selectors
from payments.models import Payment
from tests.conftest import require_postgres
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def found(merchant, **filters) -> list[str]:
    return [p.id for p in selectors.list_payments(merchant=merchant, limit=100, **filters).items]


def created_on(payment, day: date, hour: int = 12) -> Payment:
    moment = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=hour)
    Payment.objects.filter(pk=payment.pk).update(created_at=moment)
    payment.refresh_from_db()
    return payment


@pytest.fixture
def ben(merchant):
    return CustomerFactory(merchant=merchant, email="Ben.Kowalski@Example.com", name="Ben Kowalski")


@pytest.fixture
def jun(merchant):
    return CustomerFactory(merchant=merchant, email="jun.weber18@example.com", name="Jun Weber")


# --- search -------------------------------------------------------------------------------


def test_an_order_id_is_found_by_its_start_in_any_case(merchant):
    wanted = PaymentFactory(merchant=merchant, order_id="ORD-10131")
    also = PaymentFactory(merchant=merchant, order_id="ord-1015")
    PaymentFactory(merchant=merchant, order_id="ORD-2010")
    PaymentFactory(merchant=merchant, order_id="XORD-101")
    assert found(merchant, search="ord-101") == [also.id, wanted.id]
    assert found(merchant, search="  ORD-10131 ") == [wanted.id]
    # A prefix, not any part (SPEC 8.1): the middle of an order id is not searched.
    assert found(merchant, search="10131") == []


def test_a_payment_id_is_found_by_its_start_in_any_case(merchant):
    payment = PaymentFactory(merchant=merchant)
    PaymentFactory(merchant=merchant)
    assert found(merchant, search=payment.id) == [payment.id]
    assert found(merchant, search=payment.id[:12].upper()) == [payment.id]
    assert found(merchant, search=payment.id[:12].lower()) == [payment.id]


def test_customers_are_found_by_email_start_or_any_part_of_the_name(merchant, ben, jun):
    bens = PaymentFactory(merchant=merchant, customer=ben)
    juns = PaymentFactory(merchant=merchant, customer=jun)
    PaymentFactory(merchant=merchant)
    assert found(merchant, search="kowal") == [bens.id]
    assert found(merchant, search="KOWALSKI") == [bens.id]
    assert found(merchant, search="ben.kow") == [bens.id]
    assert found(merchant, search="JUN.WEBER18@EXAMPLE.COM") == [juns.id]
    assert found(merchant, search="weber") == [juns.id]
    assert found(merchant, search=ben.id.lower()) == [bens.id]
    assert found(merchant, search="nobody") == []


def test_a_search_never_finds_another_merchants_payments(merchant, other_merchant, ben):
    PaymentFactory(merchant=merchant, customer=ben, order_id="ORD-1")
    foreign_customer = CustomerFactory(merchant=other_merchant, name="Ben Kowalski")
    foreign = PaymentFactory(merchant=other_merchant, customer=foreign_customer, order_id="ORD-2")
    for term in ("kowal", "ord-", foreign.id, foreign_customer.id):
        assert foreign.id not in found(merchant, search=term), term


def test_like_wildcards_in_a_search_are_plain_characters(merchant):
    percent = PaymentFactory(merchant=merchant, order_id="50%_OFF-1")
    PaymentFactory(merchant=merchant, order_id="500-OFF")
    assert found(merchant, search="50%") == [percent.id]
    assert found(merchant, search="50%_") == [percent.id]


def test_an_order_id_start_meaning_too_many_payments_is_refused_not_cut(merchant, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_ORDERS_PER_SEARCH", 3)
    for i in range(4):
        PaymentFactory(merchant=merchant, order_id=f"ORD-1{i}")
    with pytest.raises(ValidationFailed) as refused:
        found(merchant, search="ORD-1")
    assert refused.value.message == (
        "More than 3 payments have an order id starting with “ORD-1”: type more of it"
    )
    assert refused.value.param == "search"
    assert len(found(merchant, search="ord-12")) == 1


def test_an_order_id_typed_whole_is_found_among_too_many_that_start_so(merchant, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_ORDERS_PER_SEARCH", 3)
    whole = PaymentFactory(merchant=merchant, order_id="ORD-1")
    for i in range(4):
        PaymentFactory(merchant=merchant, order_id=f"ORD-1{i}")
    starts = [PaymentFactory(merchant=merchant, order_id=f"ORD-2{i}") for i in range(3)]

    assert found(merchant, search=" ord-1 ") == [whole.id]
    assert sorted(found(merchant, search="ORD-2")) == sorted(p.id for p in starts)


def test_a_search_meaning_too_many_customers_is_refused_not_cut(merchant, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_CUSTOMERS_PER_SEARCH", 2)
    for i in range(3):
        CustomerFactory(merchant=merchant, name=f"Ann Smith{i}")
    with pytest.raises(ValidationFailed, match="More than 2 customers match “smith”") as refused:
        found(merchant, search="smith")
    assert refused.value.param == "search"
    assert found(merchant, search="smith1") == []


# --- filters ------------------------------------------------------------------------------


def test_each_filter_and_their_combination(merchant, ben):
    day = date(2026, 3, 10)
    usd_small = created_on(PaymentFactory(merchant=merchant, amount=500, customer=ben), day)
    usd_big = created_on(PaymentFactory(merchant=merchant, amount=12000), day, hour=13)
    eur = created_on(PaymentFactory(merchant=merchant, amount=900, currency="EUR"), day, hour=14)
    authorized = created_on(
        PaymentFactory(merchant=merchant, amount=700, capture=False), day - timedelta(days=1)
    )
    later = created_on(PaymentFactory(merchant=merchant, amount=600), day + timedelta(days=2))

    assert found(merchant, display_status="authorized") == [authorized.id]
    assert found(merchant, currency="EUR") == [eur.id]
    assert found(merchant, created_from=day, created_to=day) == [eur.id, usd_big.id, usd_small.id]
    assert found(merchant, created_from=day + timedelta(days=1)) == [later.id]
    assert found(merchant, created_to=day - timedelta(days=1)) == [authorized.id]
    assert found(merchant, currency="USD", amount_min=600, amount_max=12000) == [
        later.id,
        usd_big.id,
        authorized.id,
    ]
    assert found(merchant, currency="USD", amount_max=500) == [usd_small.id]
    # Every filter at once, and the search, narrow each other down.
    assert found(
        merchant,
        search="kowal",
        display_status="captured",
        currency="USD",
        amount_min=500,
        amount_max=500,
        created_from=day,
        created_to=day,
    ) == [usd_small.id]
    assert found(merchant, search="kowal", currency="EUR") == []


def test_the_last_day_of_a_date_range_is_included_to_its_end(merchant):
    day = date(2026, 5, 1)
    last_second = PaymentFactory(merchant=merchant)
    moment = timezone.make_aware(datetime(2026, 5, 1, 23, 59, 59))
    Payment.objects.filter(pk=last_second.pk).update(created_at=moment)
    next_day = created_on(PaymentFactory(merchant=merchant), day + timedelta(days=1), hour=0)
    assert found(merchant, created_to=day) == [last_second.id]
    assert found(merchant, created_from=day + timedelta(days=1)) == [next_day.id]
    assert found(merchant, created_to=date.max, created_from=date.min) == [
        next_day.id,
        last_second.id,
    ]


@pytest.mark.parametrize(
    ("filters", "param", "message"),
    [
        ({"amount_min": 100}, "currency", "An amount range needs a currency"),
        ({"currency": "USD", "amount_min": 500, "amount_max": 100}, "amountMin", "smallest"),
        ({"currency": "XYZ"}, "currency", "Unsupported currency"),
        ({"display_status": "nope"}, "displayStatus", "Display status must be one of"),
        (
            {"created_from": date(2026, 2, 1), "created_to": date(2026, 1, 1)},
            "createdFrom",
            "comes after",
        ),
    ],
)
def test_filters_that_mean_nothing_are_refused(merchant, filters, param, message):
    with pytest.raises(ValidationFailed, match=message) as refused:
        found(merchant, **filters)
    assert refused.value.param == param


# --- the count of matches -----------------------------------------------------------------


def test_the_page_counts_every_match_exactly_up_to_the_cap(merchant):
    for i in range(5):
        PaymentFactory(merchant=merchant, order_id=f"ORD-{i}")
    PaymentFactory(merchant=merchant, order_id="OTHER")
    page = selectors.list_payments(merchant=merchant, search="ord", limit=2, count_up_to=10)
    assert len(page.items) == 2
    assert (page.matches.value, str(page.matches), page.matches.is_capped) == (5, "5", False)
    # Past the first page, the count is still of every match.
    older = selectors.list_payments(
        merchant=merchant, search="ord", limit=2, count_up_to=10, starting_after=page.next_cursor
    )
    assert older.matches.value == 5

    capped = selectors.list_payments(merchant=merchant, limit=2, count_up_to=3)
    assert (capped.matches.value, str(capped.matches), capped.matches.is_capped) == (4, "3+", True)
    assert str(selectors.list_payments(merchant=merchant, count_up_to=10_000).matches) == "6"
    assert (
        selectors.list_payments(merchant=merchant, search="none", count_up_to=10).matches.value == 0
    )


def test_the_count_reads_10000_plus_past_the_cap():
    from core.paging import MATCH_COUNT_CAP, MatchCount

    assert str(MatchCount(value=MATCH_COUNT_CAP, cap=MATCH_COUNT_CAP)) == "10,000"
    assert str(MatchCount(value=MATCH_COUNT_CAP + 1, cap=MATCH_COUNT_CAP)) == "10,000+"


def test_the_page_its_count_and_its_cursor_are_one_statement(merchant, django_assert_num_queries):
    payments = [PaymentFactory(merchant=merchant) for _ in range(4)]
    with django_assert_num_queries(1):
        page = selectors.list_payments(
            merchant=merchant, limit=2, count_up_to=100, starting_after=payments[3].id
        )
    assert [p.id for p in page.items] == [payments[2].id, payments[1].id]
    assert page.matches.value == 4


# --- keyset paging both ways --------------------------------------------------------------


def test_older_then_newer_walks_the_same_pages_back(merchant):
    created = [PaymentFactory(merchant=merchant) for _ in range(7)]
    newest_first = [p.id for p in reversed(created)]
    page_size = 3

    first = selectors.list_payments(merchant=merchant, limit=page_size)
    second = selectors.list_payments(
        merchant=merchant, limit=page_size, starting_after=first.next_cursor
    )
    third = selectors.list_payments(
        merchant=merchant, limit=page_size, starting_after=second.next_cursor
    )
    assert [p.id for p in first.items + second.items + third.items] == newest_first
    assert (first.has_newer, first.has_more) == (False, True)
    assert (third.has_newer, third.has_more) == (True, False)

    back = selectors.list_payments(
        merchant=merchant, limit=page_size, ending_before=third.previous_cursor
    )
    assert [p.id for p in back.items] == [p.id for p in second.items]
    assert (back.has_newer, back.has_more) == (True, True)
    top = selectors.list_payments(
        merchant=merchant, limit=page_size, ending_before=back.previous_cursor
    )
    assert [p.id for p in top.items] == [p.id for p in first.items]
    assert (top.has_newer, top.has_more) == (False, True)


def test_newer_from_the_top_rows_shows_the_newest_page_whole(merchant):
    created = [PaymentFactory(merchant=merchant) for _ in range(5)]
    # A hand-made cursor one row below the top: one row is newer, a page holds three.
    page = selectors.list_payments(merchant=merchant, limit=3, ending_before=created[3].id)
    assert [p.id for p in page.items] == [created[4].id, created[3].id, created[2].id]
    assert not page.has_newer and page.has_more


def test_paging_keeps_the_filters_in_both_directions(merchant):
    captured = []
    for i in range(6):
        captured.append(PaymentFactory(merchant=merchant, order_id=f"ORD-{i}"))
        PaymentFactory(merchant=merchant, order_id=f"X-{i}")
    first = selectors.list_payments(merchant=merchant, search="ord-", limit=4)
    second = selectors.list_payments(
        merchant=merchant, search="ord-", limit=4, starting_after=first.next_cursor
    )
    assert [p.id for p in second.items] == [captured[1].id, captured[0].id]
    back = selectors.list_payments(
        merchant=merchant, search="ord-", limit=4, ending_before=second.previous_cursor
    )
    assert [p.id for p in back.items] == [p.id for p in first.items]


def test_a_customers_payments_page_newest_first_both_ways_with_their_count(merchant, ben, jun):
    """A search's page picks its keys first, then reads their rows (`narrow`): the
    order, the count and the cursors are those of any other page."""
    bens = []
    for _ in range(7):
        bens.append(PaymentFactory(merchant=merchant, customer=ben))
        PaymentFactory(merchant=merchant, customer=jun)
    newest_first = [p.id for p in reversed(bens)]
    pages = [selectors.list_payments(merchant=merchant, search="kowal", limit=3, count_up_to=100)]
    while pages[-1].has_more:
        pages.append(
            selectors.list_payments(
                merchant=merchant,
                search="kowal",
                limit=3,
                count_up_to=100,
                starting_after=pages[-1].next_cursor,
            )
        )
    assert [[p.id for p in page.items] for page in pages] == [
        newest_first[0:3],
        newest_first[3:6],
        newest_first[6:7],
    ]
    assert {page.matches.value for page in pages} == {7}
    back = selectors.list_payments(
        merchant=merchant, search="kowal", limit=3, ending_before=pages[-1].previous_cursor
    )
    assert [p.id for p in back.items] == newest_first[3:6]
    assert all(p.customer.name == "Ben Kowalski" for p in back.items)


@pytest.mark.parametrize(
    ("direction", "param"), [("starting_after", "startingAfter"), ("ending_before", "endingBefore")]
)
def test_a_cursor_of_no_payment_of_the_merchant_is_refused(
    merchant, other_merchant, direction, param
):
    PaymentFactory(merchant=merchant)
    foreign = PaymentFactory(merchant=other_merchant)
    for cursor in ("pay_doesnotexist", foreign.id):
        with pytest.raises(ValidationFailed, match="No such payment") as refused:
            selectors.list_payments(merchant=merchant, **{direction: cursor})
        assert refused.value.param == param


def test_after_and_before_together_are_refused(merchant):
    payment = PaymentFactory(merchant=merchant)
    with pytest.raises(ValidationFailed, match="not both"):
        selectors.list_payments(
            merchant=merchant, starting_after=payment.id, ending_before=payment.id
        )


# --- the indexes serve the queries Django writes (PostgreSQL) -----------------------------


def test_each_search_and_filter_is_served_by_its_index(merchant, ben):
    """The SQL Django writes for each filter can use the index made for it (an
    expression index is only used when the query's expression is the same). Some
    thousands of analyzed rows make the planner choose by selectivity, as at scale."""
    require_postgres()
    start = timezone.now() - timedelta(days=400)
    Payment.objects.bulk_create(
        Payment(
            merchant=merchant,
            customer=ben if i % 500 == 0 else None,
            order_id=f"ORD-{i}",
            amount=100 + i,
            currency="JPY" if i % 100 == 0 else "USD",
            status="succeeded",
            created_at=start + timedelta(hours=i),
        )
        for i in range(6000)
    )
    Customer.objects.bulk_create(
        Customer(merchant=merchant, email=f"shopper{i}@example.com", name=f"Shopper Number{i}")
        for i in range(6000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_payment")
        cursor.execute("ANALYZE customers_customer")
    cases = [
        ({"search": "ord-4711"}, "payment_order_prefix_idx"),
        ({"search": "pay_abc"}, "payment_id_prefix_idx"),
        ({"search": "kowal"}, "customer_id"),
        ({"display_status": "refunded"}, "payment_status_recent_idx"),
        ({"currency": "JPY"}, "payment_currency_recent_idx"),
        ({"created_from": date.today() - timedelta(days=3)}, "payment_recent_idx"),
    ]
    for filters, index in cases:
        rows = selectors.payments_matching(merchant=merchant, **filters)
        plan = rows.order_by("-created_at", "-id")[:26].explain()
        assert index in plan, (filters, plan)
        assert "Seq Scan" not in plan, (filters, plan)
    # A search meaning customers picks its page's keys and counts its matches from the
    # covering index alone (the page then reads 26 rows: keyset_page's `narrow`).
    rows = selectors.payments_matching(merchant=merchant, search="kowal")
    for keys in (rows.order_by("-created_at", "-id").values("pk")[:26], rows.values("pk")[:10_001]):
        plan = keys.explain()
        assert "Index Only Scan using payment_customer_recent_idx" in plan, plan
    # Counting an amount range reads that range, not every payment in the currency.
    rows = selectors.payments_matching(
        merchant=merchant, currency="USD", amount_min=700, amount_max=720
    )
    plan = rows.order_by().values("pk")[:10_001].explain()
    assert "payment_amount_idx" in plan, plan

    # Each part of a customer search on its own: on a table this small, the planner
    # prefers one scan of the merchant's customers to combining them, and a table scan
    # to the trigram index (whose fixed cost only pays off at scale), so that one is
    # checked with table scans turned off.
    customers = Customer.objects.for_merchant(merchant)
    for rows, index in [
        (customers.filter(email__lower__startswith="ben.kow"), "customer_email_prefix_idx"),
        (customers.filter(id__lower__startswith="cus_ab"), "customer_id_prefix_idx"),
    ]:
        plan = rows.order_by()[:1001].explain()
        assert index in plan, plan
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = Customer.objects.filter(name__icontains="kowal").order_by()[:1001].explain()
    assert "customer_name_trgm_idx" in plan, plan
