"""The payments list (filters, search, keyset paging, HTMX partial) and a payment's page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chargebacks import services as chargebacks
from core.actors import SYSTEM
from customers.services import add_to_blacklist, update_restrictions
from payments import delivery, services
from payments.models import Payment
from tests.dashboard.conftest import HTMX
from tests.factories import CustomerFactory, PaymentFactory

LIST = reverse("payments:list")


def detail_url(payment):
    return reverse("payments:detail", args=[payment.id])


def ids_in(html: str) -> list[str]:
    return re.findall(r'href="/payments/(pay_[^/"]+)/"', html)


def record_chargeback(payment):
    Payment.objects.filter(pk=payment.pk).update(is_chargebacked=True)


# --- list -------------------------------------------------------------------------------------


def test_list_shows_the_payments_facts_newest_first(agent_client, merchant, payment):
    newer = PaymentFactory(merchant=merchant, amount=1999, currency="JPY", order_id="ord-jp")
    html = agent_client.get(LIST).content.decode()
    assert ids_in(html) == [newer.id, payment.id]
    assert "jane@example.test" in html
    assert "$25.00" in html
    assert "¥1,999" in html
    assert "ord-1001" in html
    assert 'class="badge badge-captured">Captured<' in html


def test_list_shows_only_the_merchants_payments(agent_client, payment, foreign_payment):
    assert ids_in(agent_client.get(LIST).content.decode()) == [payment.id]


def test_filter_by_display_status_chargeback(agent_client, merchant, payment):
    other = PaymentFactory(merchant=merchant)
    record_chargeback(payment)
    html = agent_client.get(LIST, {"status": "chargeback"}).content.decode()
    assert ids_in(html) == [payment.id]
    assert '<option value="chargeback" selected>Chargeback</option>' in html
    assert other.id not in html


def test_search_by_payment_id_order_id_or_customer_email(agent_client, merchant, payment):
    PaymentFactory(merchant=merchant, order_id="ord-other")
    for query in (payment.id, "ord-1001", "JANE@example.test "):
        html = agent_client.get(LIST, {"q": query}).content.decode()
        assert ids_in(html) == [payment.id], query
    html = agent_client.get(LIST, {"q": "nobody@example.test"}).content.decode()
    assert ids_in(html) == []
    assert "No payments match search “nobody@example.test”." in html


def test_keyset_paging_goes_older_and_back_to_newest(agent_client, merchant):
    created = [PaymentFactory(merchant=merchant, amount=100 + i) for i in range(27)]
    newest_first = [p.id for p in reversed(created)]

    first = agent_client.get(LIST).content.decode()
    assert ids_in(first) == newest_first[:25]
    older = re.search(r'href="(/payments/\?after=[^"#]+)#payment-results"', first).group(1)
    assert older == f"/payments/?after={newest_first[24]}"
    assert "⇤ Newest" not in first and "← Newer" not in first

    second = agent_client.get(older).content.decode()
    assert ids_in(second) == newest_first[25:]
    assert "Older →" not in second
    assert "⇤ Newest" in second
    newer = re.search(r'href="(/payments/\?before=[^"#]+)#payment-results"', second).group(1)
    assert newer == f"/payments/?before={newest_first[25]}"
    assert ids_in(agent_client.get(newer).content.decode()) == newest_first[:25]


def test_paging_keeps_the_filters(agent_client, merchant):
    for _ in range(26):
        PaymentFactory(merchant=merchant, capture=False)
    PaymentFactory(merchant=merchant)
    html = agent_client.get(LIST, {"status": "authorized"}).content.decode()
    assert re.search(r'href="/payments/\?status=authorized&amp;after=pay_', html)


def test_an_unknown_cursor_or_status_shows_an_error_not_a_crash(agent_client, payment):
    response = agent_client.get(LIST, {"after": "pay_doesnotexist"})
    assert response.status_code == 200
    assert "No such payment" in response.content.decode()
    response = agent_client.get(LIST, {"status": "bogus"})
    assert response.status_code == 200
    assert "bogus is not one of the available choices" in response.content.decode()
    assert ids_in(response.content.decode()) == []


def test_htmx_filter_request_gets_only_the_results_partial(agent_client, payment):
    response = agent_client.get(LIST, {"q": "ord-1001"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="payment-results"')
    assert "<html" not in html
    assert ids_in(html) == [payment.id]
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(agent_client, payment):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    html = agent_client.get(LIST, headers=headers).content.decode()
    assert "<html" in html


def test_list_works_without_javascript_as_a_plain_get_form(agent_client, payment):
    html = agent_client.get(LIST).content.decode()
    assert re.search(r'<form class="filters" method="get" action="/payments/"', html)
    assert 'hx-push-url="true"' in html
    assert 'hx-target="#payment-results"' in html


def _count_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST).status_code == 200
    return len(queries)


def test_list_query_count_does_not_grow_with_the_page_size(
    agent_client, merchant, django_assert_max_num_queries
):
    for i in range(2):
        PaymentFactory(merchant=merchant, customer=CustomerFactory(merchant=merchant))
    few = _count_list_queries(agent_client)
    for i in range(30):
        PaymentFactory(merchant=merchant, customer=CustomerFactory(merchant=merchant))
    with django_assert_max_num_queries(few):
        agent_client.get(LIST)


# --- one payment ------------------------------------------------------------------------------


def test_payment_page_shows_amounts_customer_and_timeline(agent_client, agent, payment):
    services.reverse_payment(
        merchant=payment.merchant,
        payment_id=payment.id,
        actor=SYSTEM,
        amount=500,
        reason="other",
        note="goodwill",
    )
    html = agent_client.get(detail_url(payment)).content.decode()
    amounts = re.search(r'<dl class="amounts".*?</dl>', html, re.S).group(0)
    # Pending is shown beside what succeeded, never added to it (SPEC 8.1).
    for label, value in [
        ("Authorized", "$25.00"),
        ("Captured", "$25.00"),
        ("Refunded", "$0.00"),
        ("Pending at the gateway", "$5.00"),
        ("Refundable", "$20.00"),
    ]:
        assert re.search(rf"<dt>{label}</dt><dd[^>]*>{re.escape(value)}</dd>", amounts), label
    timeline = re.search(r'<ol class="timeline".*?</ol>', html, re.S).group(0)
    assert [t for t in re.findall(r'timeline-type">(\w+)<', timeline)] == [
        "Authorization",
        "Capture",
        "Refund",
    ]
    assert "Reason: Other — goodwill" in timeline
    assert "by system" in timeline
    assert "jane@example.test" in html
    assert "No restrictions" in html
    # The refund is still pending at the gateway: the badge says so, not "refunded".
    assert "Refund pending" in html and "Partially refunded" not in html


def test_payment_page_polls_only_while_something_is_pending(agent_client, payment):
    html = agent_client.get(detail_url(payment)).content.decode()
    assert 'hx-trigger="paymentChanged from:body"' in html
    assert "every 2s" not in html

    reversal = services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, amount=100
    )
    html = agent_client.get(detail_url(payment)).content.decode()
    assert 'hx-trigger="paymentChanged from:body, every 2s"' in html
    assert "Waiting for the gateway" in html

    delivery.send_pending_transaction(transaction_id=reversal.id)
    html = agent_client.get(detail_url(payment), headers=HTMX).content.decode()
    assert html.lstrip().startswith('<div id="payment-live"')
    assert "every 2s" not in html
    assert "<html" not in html


def test_customer_badges_show_restrictions_and_blacklist(agent_client, payment, customer):
    update_restrictions(
        merchant=payment.merchant,
        customer_id=customer.id,
        actor=SYSTEM,
        restrict_mit=True,
        restrict_reason="Chargeback",
    )
    add_to_blacklist(email=customer.email, reason="fraud", actor=SYSTEM)
    html = agent_client.get(detail_url(payment)).content.decode()
    badges = re.search(r'id="customer-badges">(.*?)</p>', html, re.S).group(1)
    assert "Blacklisted" in badges
    assert "Recurring restricted" in badges
    assert "Customer-initiated restricted" not in badges
    assert "Restriction reason: Chargeback" in html


@pytest.mark.parametrize(
    "stored, blacklisted",
    [
        ("Jane.Roe@Example.test", "jane.roe@example.test"),  # read in the page's statement
        ('"jane.roe"@example.test', "jane.roe@example.test"),  # a quoted local part
        ("Jane@Bücher.de", "jane@bücher.de"),  # an IDNA domain
    ],
)
def test_the_blacklist_badge_holds_for_every_spelling_of_an_email(
    agent_client, merchant, stored, blacklisted
):
    """The payment and customer pages read the blacklist mark with their row, lower-cased
    in SQL; an email that needs more normalising than that is asked as before."""
    customer = CustomerFactory(merchant=merchant, email=stored)
    payment = PaymentFactory(merchant=merchant, customer=customer)
    neighbour = PaymentFactory(merchant=merchant, customer=CustomerFactory(merchant=merchant))
    add_to_blacklist(email=blacklisted, reason="fraud", actor=SYSTEM)

    def badges(of):
        html = agent_client.get(detail_url(of)).content.decode()
        return re.search(r'id="customer-badges">(.*?)</p>', html, re.S).group(1)

    assert "Blacklisted" in badges(payment)
    assert "Blacklisted" not in badges(neighbour)
    page = agent_client.get(reverse("customers:detail", args=[customer.id])).content.decode()
    assert '<dd><span class="badge badge-danger">Blacklisted</span></dd>' in page


def test_the_payment_page_asks_five_statements_at_most(
    agent_client, merchant, customer, django_assert_max_num_queries
):
    """Session, user (with its merchant and permissions), the payment with its customer
    and blacklist mark, its ledger, and its disputes when it was charged back (issue 12:
    a page within five statements)."""
    plain = PaymentFactory(merchant=merchant, customer=customer, amount=9000)
    disputed = PaymentFactory(merchant=merchant, customer=customer, amount=9000)
    for payment in (plain, disputed):
        for _ in range(3):
            services.reverse_payment(
                merchant=merchant, payment_id=payment.id, actor=SYSTEM, amount=100
            )
    chargebacks.record_chargeback(merchant=merchant, payment_id=disputed.id, actor=SYSTEM)
    add_to_blacklist(email=customer.email, reason="fraud", actor=SYSTEM)

    with django_assert_max_num_queries(4):
        html = agent_client.get(detail_url(plain)).content.decode()
    assert "Blacklisted" in html and 'id="payment-disputes"' not in html
    with django_assert_max_num_queries(5):
        html = agent_client.get(detail_url(disputed)).content.decode()
    assert 'id="payment-disputes"' in html


def test_refund_button_reads_void_when_not_captured(agent_client, merchant):
    uncaptured = PaymentFactory(merchant=merchant, capture=False)
    html = agent_client.get(detail_url(uncaptured)).content.decode()
    button = re.search(r'<a class="button[^"]*" id="refund-button"[^>]*>(\w+)</a>', html, re.S)
    assert button.group(1) == "Void"
    assert 'role="button" aria-haspopup="dialog"' in button.group(0)
    assert f'hx-get="/payments/{uncaptured.id}/refund/"' in html
    assert f'href="/payments/{uncaptured.id}/refund/"' in html  # works without JS


def test_refund_button_is_disabled_with_the_reason_when_nothing_is_reversible(
    agent_client, payment
):
    services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, is_external=True
    )
    html = agent_client.get(detail_url(payment)).content.decode()
    assert 'id="refund-button"' not in html
    assert re.search(r"<button[^>]*disabled[^>]*>Refund</button>", html)
    assert "it is already fully refunded" in html


def test_failed_payment_cannot_be_refunded_or_charged_back(agent_client, merchant):
    failed = PaymentFactory(merchant=merchant, amount=666)
    html = agent_client.get(detail_url(failed)).content.decode()
    assert "The card issuer declined the payment" in html
    assert "Nothing was authorized" in html and "Authorized" not in html
    # No Void or Refund at all (not even disabled), and no chargeback (SPEC 8.1).
    assert 'id="refund-button"' not in html and ">Void<" not in html
    assert 'id="chargeback-button"' not in html


def test_chargebacked_payment_shows_the_banner_and_no_chargeback_button(agent_client, payment):
    assert 'id="chargeback-button"' in agent_client.get(detail_url(payment)).content.decode()
    record_chargeback(payment)
    html = agent_client.get(detail_url(payment)).content.decode()
    assert 'id="chargeback-banner"' in html
    assert 'id="chargeback-button"' not in html
    assert 'id="refund-button"' in html  # still refundable (SPEC 4.7), with a warning


def test_a_role_without_the_permissions_sees_no_buttons(viewer_client, payment):
    html = viewer_client.get(detail_url(payment)).content.decode()
    assert viewer_client.get(detail_url(payment)).status_code == 200
    assert 'id="refund-button"' not in html
    assert ">Refund<" not in html
    assert 'id="chargeback-button"' not in html


def test_payment_page_query_count_does_not_grow_with_the_transactions(
    agent_client, payment, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as queries:
        agent_client.get(detail_url(payment))
    for _ in range(6):
        services.reverse_payment(
            merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, amount=100
        )
    with django_assert_max_num_queries(len(queries)):
        agent_client.get(detail_url(payment))


def test_an_amount_never_shows_its_currency_twice(agent_client, merchant):
    """ "KWD 150.000 KWD" was seen on the list: the code is shown once."""
    PaymentFactory(merchant=merchant, amount=150000, currency="KWD")
    PaymentFactory(merchant=merchant, amount=500, currency="USD")
    html = agent_client.get(reverse("payments:list")).content.decode()
    assert "KWD 150.000" in html and "KWD 150.000 <span" not in html
    assert '$5.00 <span class="currency">USD</span>' in html
