"""Customers: list and search, a customer's page, and the restrictions form (admins)."""

import json
import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.actors import SYSTEM
from customers import services
from customers.services import add_to_blacklist
from payments.models import Payment
from subscriptions.models import Subscription
from tests.dashboard.conftest import HTMX
from tests.factories import CustomerFactory, PaymentFactory

LIST = reverse("customers:list")


def detail(customer):
    return reverse("customers:detail", args=[customer.id])


def restrictions(customer):
    return reverse("customers:restrictions", args=[customer.id])


def test_list_shows_customers_with_their_state(agent_client, merchant, customer, other_merchant):
    blocked = CustomerFactory(merchant=merchant, email="blocked@example.test", restrict_cit=True)
    add_to_blacklist(email="BLOCKED@example.test", reason="fraud", actor=SYSTEM)
    CustomerFactory(merchant=other_merchant, email="foreign@example.test")
    html = agent_client.get(LIST).content.decode()
    assert "jane@example.test" in html
    assert "foreign@example.test" not in html
    row = re.search(rf"{blocked.id}.*?</tr>", html, re.S).group(0)
    assert "Blacklisted" in row and "CIT restricted" in row


def test_search_customers(agent_client, merchant, customer):
    CustomerFactory(merchant=merchant, email="zed@example.test")
    html = agent_client.get(LIST, {"q": "jan"}).content.decode()
    assert "jane@example.test" in html and "zed@example.test" not in html
    partial = agent_client.get(LIST, {"q": "zed"}, headers=HTMX).content.decode()
    assert partial.lstrip().startswith('<section id="customer-results"')
    assert "zed@example.test" in partial


def test_customer_list_query_count_does_not_grow(
    agent_client, merchant, django_assert_max_num_queries
):
    CustomerFactory(merchant=merchant)
    with CaptureQueriesContext(connection) as queries:
        agent_client.get(LIST)
    for _ in range(20):
        CustomerFactory(merchant=merchant)
    with django_assert_max_num_queries(len(queries)):
        agent_client.get(LIST)


def test_the_customer_page_asks_five_statements_at_most(
    agent_client, merchant, customer, django_assert_max_num_queries
):
    """Session, user, the customer with its blacklist mark, its payments (fewer than a
    page: the first of them is when it started) and its subscriptions."""
    first = PaymentFactory(merchant=merchant, customer=customer)
    PaymentFactory(merchant=merchant, customer=customer)
    Payment.objects.filter(pk=first.pk).update(created_at=customer.created_at - timedelta(days=400))

    with django_assert_max_num_queries(5):
        html = agent_client.get(reverse("customers:detail", args=[customer.id])).content.decode()
    since = (customer.created_at - timedelta(days=400)).strftime("%b %-d, %Y")
    assert since in html


def test_customer_page_shows_payments_subscriptions_and_refusals(
    agent_client, merchant, customer, payment
):
    Subscription.objects.create(
        merchant=merchant,
        customer=customer,
        amount=999,
        currency="EUR",
        interval="month",
        current_period_end=timezone.now() + timedelta(days=10),
    )
    customer.refused_payment_attempts = 3
    customer.save()
    html = agent_client.get(detail(customer)).content.decode()
    assert payment.id in html
    assert "$25.00" in html
    assert "€9.99" in html and "Monthly" in html
    assert re.search(r"Refused payment attempts</dt><dd[^>]*>3<", html)
    assert "Not blacklisted" in html


def test_agents_see_restrictions_but_cannot_change_them(agent_client, customer):
    html = agent_client.get(detail(customer)).content.decode()
    assert "Only merchant admins can change restrictions." in html
    assert 'name="restrict_cit"' not in html
    response = agent_client.post(restrictions(customer), {"restrict_cit": "on"})
    assert response.status_code == 403
    customer.refresh_from_db()
    assert not customer.restrict_cit


def test_merchant_admin_changes_restrictions_without_javascript(merchant_admin_client, customer):
    html = merchant_admin_client.get(detail(customer)).content.decode()
    assert 'name="restrict_cit"' in html
    response = merchant_admin_client.post(
        restrictions(customer), {"restrict_mit": "on", "restrict_reason": "Chargeback"}
    )
    assert response.status_code == 302
    assert response.url == detail(customer)
    customer.refresh_from_db()
    assert customer.restrict_mit and not customer.restrict_cit
    assert customer.restrict_reason == "Chargeback"
    assert "Restrictions saved" in merchant_admin_client.get(detail(customer)).content.decode()

    # Unticking lifts it. The form sends the values it was opened with (hidden
    # initial-* fields), so what the person unticked is what changes.
    page = merchant_admin_client.get(detail(customer)).content.decode()
    assert 'name="initial-restrict_mit" value="True"' in page
    merchant_admin_client.post(
        restrictions(customer),
        {"initial-restrict_mit": "True", "initial-restrict_reason": "Chargeback"},
    )
    customer.refresh_from_db()
    assert not customer.restrict_mit and customer.restrict_reason == ""


def test_a_form_left_open_never_lifts_a_restriction_set_meanwhile(
    merchant_admin_client, customer, merchant
):
    """A lost update found by a hostile run: the admin opened the form, a chargeback then
    restricted the customer, and saving the stale form (only the reason typed) must
    change only the reason."""
    page = merchant_admin_client.get(detail(customer)).content.decode()
    assert 'name="initial-restrict_mit" value="False"' in page
    services.update_restrictions(
        merchant=merchant, customer_id=customer.id, actor=SYSTEM, restrict_mit=True
    )
    merchant_admin_client.post(
        restrictions(customer),
        {"initial-restrict_mit": "False", "initial-restrict_cit": "False",
         "initial-restrict_reason": "", "restrict_reason": "Asked by phone"},
    )  # fmt: skip
    customer.refresh_from_db()
    assert customer.restrict_mit is True
    assert customer.restrict_reason == "Asked by phone"


def test_merchant_admin_changes_restrictions_with_htmx(merchant_admin_client, customer):
    response = merchant_admin_client.post(
        restrictions(customer), {"restrict_cit": "on"}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="restrictions-card"')
    assert 'hx-swap-oob="true"' in html and "CIT restricted" in html
    assert json.loads(response["HX-Trigger"])["toast"] == "Restrictions saved"
    customer.refresh_from_db()
    assert customer.restrict_cit


def test_restriction_errors_show_in_the_form(merchant_admin_client, customer):
    response = merchant_admin_client.post(
        restrictions(customer), {"restrict_reason": "x" * 501}, headers=HTMX
    )
    assert response.status_code == 200
    assert "HX-Trigger" not in response
    assert "errorlist" in response.content.decode()


def test_customer_page_lists_only_this_customers_payments(agent_client, merchant, customer):
    mine = PaymentFactory(merchant=merchant, customer=customer)
    theirs = PaymentFactory(merchant=merchant, customer=CustomerFactory(merchant=merchant))
    html = agent_client.get(detail(customer)).content.decode()
    assert mine.id in html and theirs.id not in html
