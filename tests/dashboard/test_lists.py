"""The dashboard's lists (payments, customers, blacklist) as SPEC 8.1 asks: search and
filters that combine, the number of matches, an empty result that says what was
searched and how to widen it, Newer and Older paging, an invalid query string that
shows its error and no rows, and at most five SQL statements a page."""

import re
from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from customers.models import Customer
from customers.services import add_to_blacklist
from payments.models import Payment
from tests.dashboard.conftest import HTMX
from tests.factories import CustomerFactory, PaymentFactory

PAYMENTS = reverse("payments:list")
CUSTOMERS = reverse("customers:list")
BLACKLIST = reverse("customers:blacklist")


def payment_ids(html: str) -> list[str]:
    return re.findall(r'href="/payments/(pay_[^/"]+)/"', html)


def customer_ids(html: str) -> list[str]:
    return re.findall(r'href="/customers/(cus_[^/"]+)/"', html)


def page_of(client, url, params=None, **kwargs) -> str:
    response = client.get(url, params or {}, **kwargs)
    assert response.status_code == 200
    return response.content.decode()


def alert_of(html: str) -> str:
    return re.search(r'role="alert"><p>(.*?)</p>', html, re.S).group(1)


# --- search, filters, the count and the empty state ---------------------------------------


def test_payments_are_found_by_order_id_start_and_name_part(agent_client, merchant):
    ben = CustomerFactory(
        merchant=merchant, email="ben.kowalski11@example.com", name="Ben Kowalski"
    )
    ordered = PaymentFactory(merchant=merchant, order_id="ORD-10131")
    bens = PaymentFactory(merchant=merchant, customer=ben, order_id="ORD-20000")
    PaymentFactory(merchant=merchant, order_id="ORD-30000")

    html = page_of(agent_client, PAYMENTS, {"q": "ord-101"})
    assert payment_ids(html) == [ordered.id]
    assert "<strong>1</strong> payment matches" in html

    html = page_of(agent_client, PAYMENTS, {"q": "kowal"})
    assert payment_ids(html) == [bens.id]


def test_filters_combine_and_the_count_says_how_many_match(agent_client, merchant):
    for amount in (500, 1500, 2500):
        PaymentFactory(merchant=merchant, amount=amount)
    PaymentFactory(merchant=merchant, amount=1500, currency="EUR")
    PaymentFactory(merchant=merchant, amount=1500, capture=False)

    assert "<strong>5</strong> payments<" in page_of(agent_client, PAYMENTS)
    html = page_of(
        agent_client,
        PAYMENTS,
        {"status": "captured", "currency": "USD", "amount_min": "10", "amount_max": "25.00"},
    )
    assert len(payment_ids(html)) == 2
    assert "<strong>2</strong> payments match" in html
    chips = re.findall(r'class="chip" href="([^"]+)".*?filter </span>([^<]+)<', html)
    assert [label.strip() for _, label in chips] == [
        "Status: Captured",
        "Currency: USD",
        "Amount from: $10.00",
        "Amount to: $25.00",
    ]
    # Each chip drops its own filter and keeps the others.
    assert chips[0][0] == "/payments/?currency=USD&amp;amount_min=10&amp;amount_max=25.00"


def test_a_date_range_keeps_the_days_it_names(agent_client, merchant):
    inside = PaymentFactory(merchant=merchant)
    outside = PaymentFactory(merchant=merchant)
    Payment.objects.filter(pk=inside.pk).update(
        created_at=timezone.make_aware(datetime(2026, 3, 5, 23, 30))
    )
    Payment.objects.filter(pk=outside.pk).update(
        created_at=timezone.make_aware(datetime(2026, 3, 6, 0, 30))
    )
    html = page_of(
        agent_client, PAYMENTS, {"created_from": "2026-03-01", "created_to": "2026-03-05"}
    )
    assert payment_ids(html) == [inside.id]
    assert "Created from: Mar 1, 2026" in html and "Created to: Mar 5, 2026" in html


def test_an_empty_result_says_what_was_searched_and_how_to_widen_it(agent_client, merchant):
    PaymentFactory(merchant=merchant, order_id="ORD-1")
    html = page_of(agent_client, PAYMENTS, {"q": "ord-999", "status": "refunded"})
    assert payment_ids(html) == []
    assert "<strong>0</strong> payments match" in html
    assert "No payments match search “ord-999”, status Refunded." in html
    assert "A search finds the start of a payment id, an order id" in html
    assert 'href="/payments/?status=refunded"' in html  # drops the search
    assert 'href="/payments/?q=ord-999"' in html  # drops the status
    assert '<a href="/payments/">show all payments</a>' in html


def test_customers_are_found_by_name_part_email_start_and_id(agent_client, merchant):
    ben = CustomerFactory(merchant=merchant, email="Ben.Kowalski@Example.com", name="Ben Kowalski")
    CustomerFactory(merchant=merchant, email="ann@example.com", name="Ann Lee")
    for term in ("kowal", "BEN.K", ben.id[:10].lower()):
        html = page_of(agent_client, CUSTOMERS, {"q": term})
        assert customer_ids(html) == [ben.id], term
        assert "<strong>1</strong> customer matches" in html
    html = page_of(agent_client, CUSTOMERS, {"q": "zed"})
    assert "No customers match search “zed”." in html


def test_customers_are_filtered_by_the_day_they_were_created(agent_client, merchant):
    old = CustomerFactory(merchant=merchant)
    CustomerFactory(merchant=merchant)
    Customer.objects.filter(pk=old.pk).update(
        created_at=timezone.make_aware(datetime(2025, 1, 2, 10, 0))
    )
    html = page_of(agent_client, CUSTOMERS, {"created_to": "2025-01-31"})
    assert customer_ids(html) == [old.id]


# --- an invalid query string: its error, and no rows (15d) --------------------------------


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"status": "nope"}, "Status: Select a valid choice. nope is not one of"),
        ({"q": "x" * 256}, "Search: Ensure this value has at most 255 characters"),
        ({"q": "ord\x00-1"}, "Search: Null characters are not allowed."),
        ({"amount_min": "5"}, "Currency: An amount range needs a currency"),
        ({"currency": "USD", "amount_min": "5,00"}, "Amount from: Enter the amount as digits"),
        ({"currency": "JPY", "amount_max": "5.5"}, "Amount to: JPY has no decimal places"),
        ({"created_from": "2026-13-01"}, "Created from: Enter a valid date."),
        ({"after": "pay_a", "before": "pay_b"}, "Give after or before, not both."),
    ],
)
def test_an_invalid_payments_query_shows_its_error_and_no_rows(
    agent_client, payment, params, error
):
    html = page_of(agent_client, PAYMENTS, params)
    assert error in alert_of(html)
    assert payment_ids(html) == []
    assert "No payments are shown until the filters ask for something valid." in html
    assert 'class="pager"' not in html


def test_a_refused_filter_shows_the_refusal_and_no_rows(agent_client, payment):
    html = page_of(
        agent_client, PAYMENTS, {"created_from": "2026-02-01", "created_to": "2026-01-01"}
    )
    assert "comes after the created-to day" in alert_of(html)
    assert payment_ids(html) == []


def test_an_order_id_start_too_short_to_mean_an_order_asks_to_type_more(
    agent_client, merchant, monkeypatch
):
    monkeypatch.setattr("payments.selectors.MAX_ORDERS_PER_SEARCH", 2)
    for i in range(3):
        PaymentFactory(merchant=merchant, order_id=f"ORD-7{i}")
    html = page_of(agent_client, PAYMENTS, {"q": "ORD-7"})
    assert "More than 2 payments have an order id starting with “ORD-7”: type more of it" in (
        alert_of(html)
    )
    assert payment_ids(html) == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"q": "x" * 255}, "Search: Ensure this value has at most 254 characters"),
        ({"q": "jane\x00"}, "Search: Null characters are not allowed."),
        ({"created_to": "yesterday"}, "Created to: Enter a valid date."),
    ],
)
def test_an_invalid_customers_query_shows_its_error_and_no_rows(
    agent_client, customer, params, error
):
    html = page_of(agent_client, CUSTOMERS, params)
    assert error in alert_of(html)
    assert customer_ids(html) == []


def test_an_invalid_blacklist_query_shows_its_error_and_no_rows(platform_client):
    add_to_blacklist(email="fraud@example.test", reason="r", actor=SYSTEM)
    for params in ({"state": "nope"}, {"after": "abc"}, {"q": "\x00"}):
        html = page_of(platform_client, BLACKLIST, params)
        assert "alert-error" in html, params
        assert "fraud@example.test" not in html, params


def test_the_htmx_partial_carries_the_error_too(agent_client, payment):
    html = page_of(agent_client, PAYMENTS, {"status": "nope"}, headers=HTMX)
    assert html.lstrip().startswith('<section id="payment-results"')
    assert "nope is not one of the available choices" in html
    assert payment_ids(html) == []


# --- Newer and Older ----------------------------------------------------------------------


def pager_links(html: str) -> dict[str, str]:
    """Pager label -> its hx-get URL, checking each link also works without JavaScript
    (its href, with the list's #fragment) and brings the table back (data-pager)."""
    links = {}
    nav = re.search(r'<nav class="pager".*?</nav>', html, re.S)
    for href, get, label in re.findall(
        r'href="([^"]+)" hx-get="([^"]+)" hx-target="#[\w-]+" hx-swap="outerHTML" '
        r'hx-push-url="true" data-pager[^>]*>([^<]+)</a>',
        nav.group(0) if nav else "",
    ):
        assert href.startswith(get) and href[len(get) :].startswith("#")
        links[label.strip()] = get.replace("&amp;", "&")
    return links


@pytest.mark.parametrize("url", [PAYMENTS, CUSTOMERS])
def test_newer_and_older_walk_a_list_both_ways(agent_client, merchant, url):
    for _ in range(30):
        PaymentFactory(merchant=merchant, customer=CustomerFactory(merchant=merchant))
    ids = payment_ids if url == PAYMENTS else customer_ids

    first = page_of(agent_client, url)
    assert list(pager_links(first)) == ["Older →"]
    second = page_of(agent_client, pager_links(first)["Older →"])
    assert len(ids(second)) == 5 and not set(ids(second)) & set(ids(first))
    assert list(pager_links(second)) == ["⇤ Newest", "← Newer"]
    back = page_of(agent_client, pager_links(second)["← Newer"])
    assert ids(back) == ids(first)
    assert list(pager_links(back)) == ["Older →"]


def test_paging_keeps_the_search_and_filters(agent_client, merchant):
    for i in range(27):
        PaymentFactory(merchant=merchant, order_id=f"ORD-{i}", currency="EUR")
    first = page_of(agent_client, PAYMENTS, {"q": "ord", "currency": "EUR"})
    older = pager_links(first)["Older →"]
    assert older.startswith("/payments/?q=ord&currency=EUR&after=pay_")
    newer = pager_links(page_of(agent_client, older))["← Newer"]
    assert newer.startswith("/payments/?q=ord&currency=EUR&before=pay_")


def test_the_blacklist_pages_both_ways(platform_client):
    for i in range(27):
        add_to_blacklist(email=f"fraud{i}@example.test", reason="r", actor=SYSTEM)
    first = page_of(platform_client, BLACKLIST)
    assert "<strong>27</strong> blacklisted emails" in first
    second = page_of(platform_client, pager_links(first)["Older →"])
    assert second.count("fraud") == first.count("fraud") * 2 // 25  # two rows
    back = page_of(platform_client, pager_links(second)["← Newer"])
    assert re.findall(r"fraud\d+@", back) == re.findall(r"fraud\d+@", first)


# --- at most five statements a page -------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "kowal"},
        {"q": "ord", "status": "captured", "currency": "USD", "amount_min": "1"},
        {"created_from": "2020-01-01", "created_to": "2099-12-31"},
        "older",
        "newer",
    ],
)
def test_the_payments_list_is_five_statements_at_most(
    agent_client, merchant, params, django_assert_max_num_queries
):
    ben = CustomerFactory(merchant=merchant, name="Ben Kowalski")
    payments = [
        PaymentFactory(merchant=merchant, customer=ben if i % 2 else None, order_id=f"ORD-{i}")
        for i in range(30)
    ]
    if params == "older":
        params = {"after": payments[10].id}
    elif params == "newer":
        params = {"before": payments[5].id}
    # session, the user read with its merchant, permissions and roles, [the customers a
    # search means, how many order ids start with it], the page with its count and cursor.
    with django_assert_max_num_queries(5 if "q" in params else 4):
        html = page_of(agent_client, PAYMENTS, params)
    assert payment_ids(html)


@pytest.mark.parametrize("params", [{}, {"q": "customer"}, {"created_from": "2020-01-01"}, "older"])
def test_the_customers_list_is_four_statements_at_most(
    agent_client, merchant, params, django_assert_max_num_queries
):
    customers = [CustomerFactory(merchant=merchant) for _ in range(30)]
    add_to_blacklist(email=customers[0].email, reason="r", actor=SYSTEM)
    if params == "older":
        params = {"after": customers[10].id}
    # session, the user as a member, the page with its count, its blacklisted emails.
    with django_assert_max_num_queries(4):
        html = page_of(agent_client, CUSTOMERS, params)
    assert customer_ids(html)


@pytest.mark.parametrize("params", [{}, {"q": "fraud"}, {"state": "removed"}])
def test_the_blacklist_is_four_statements_at_most(
    platform_client, params, django_assert_max_num_queries
):
    from customers.services import remove_from_blacklist

    for i in range(30):
        entry = add_to_blacklist(email=f"fraud{i}@example.test", reason="r", actor=SYSTEM)
        if i % 3 == 0:
            remove_from_blacklist(entry_id=entry.pk, actor=SYSTEM, reason="appeal")
    with django_assert_max_num_queries(4):
        html = page_of(platform_client, BLACKLIST, params)
    assert "fraud" in html


# --- the customer page --------------------------------------------------------------------


def test_a_customer_is_a_customer_since_its_first_payment(agent_client, merchant, customer):
    payment = PaymentFactory(merchant=merchant, customer=customer)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.make_aware(datetime(2025, 6, 1, 9, 0))
    )
    html = page_of(agent_client, reverse("customers:detail", args=[customer.id]))
    assert "customer since <time" in html and ">Jun 1, 2025</time>" in html


def test_a_customer_without_payments_is_one_since_its_record(agent_client, customer):
    html = page_of(agent_client, reverse("customers:detail", args=[customer.id]))
    since = customer.created_at
    assert f'customer since <time datetime="{since.isoformat()}">' in html


def test_ids_in_a_list_are_cut_copyable_and_escaped(agent_client, merchant):
    payment = PaymentFactory(merchant=merchant, order_id='<b onmouseover="x()">ORD</b>')

    html = page_of(agent_client, PAYMENTS)

    # The id opens its payment and has a copy button; the order id is text, never markup.
    assert f'href="/payments/{payment.id}/" title="{payment.id}"' in html
    assert f'data-copy="{payment.id}" aria-label="Copy the payment id {payment.id}"' in html
    assert "<b onmouseover" not in html
    assert 'data-copy="&lt;b onmouseover=&quot;x()&quot;&gt;ORD&lt;/b&gt;"' in html
