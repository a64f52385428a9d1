"""The record-chargeback dialog: blacklist and restrictions in one go, HTMX and no-JS."""

import json
import re

from django.urls import reverse

from customers.models import BlacklistEntry
from customers.services import is_email_blacklisted
from payments.models import Payment, Transaction
from tests.dashboard.conftest import HTMX
from tests.factories import PaymentFactory


def url(payment):
    return reverse("chargebacks:record", args=[payment.id])


def dialog_token(client, payment) -> str:
    html = client.get(url(payment), headers=HTMX).content.decode()
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def post(client, payment, htmx=True, **data):
    if "token" not in data:
        data["token"] = dialog_token(client, payment)
    return client.post(url(payment), data, headers=HTMX if htmx else {})


def test_get_with_htmx_answers_the_dialog(agent_client, payment):
    html = agent_client.get(url(payment), headers=HTMX).content.decode()
    assert html.lstrip().startswith("<dialog")
    for label in (
        "Blacklist the customer&#x27;s email",
        "Restrict recurring payments",
        "Restrict customer-initiated payments",
        "Restriction reason",
        "Record chargeback",
    ):
        assert label in html, label
    assert f'action="/payments/{payment.id}/chargeback/"' in html


def test_record_with_blacklist_and_restrictions(agent_client, agent, payment, customer):
    response = post(
        agent_client,
        payment,
        blacklist_customer="on",
        blacklist_reason="Card testing from this address",
        confirm_blacklist="on",
        restrict_mit="on",
        restrict_reason="Chargeback",
    )
    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert events["toast"] == {"text": "Chargeback recorded", "level": "success"}
    assert events["closeDialog"] is True
    assert events["paymentChanged"] == {"id": payment.id}

    payment.refresh_from_db()
    customer.refresh_from_db()
    assert payment.is_chargebacked
    assert customer.restrict_mit and not customer.restrict_cit
    assert customer.restrict_reason == "Chargeback"
    assert is_email_blacklisted(customer.email)
    entry = BlacklistEntry.objects.get(email=customer.email)
    assert entry.added_by == agent
    assert entry.reason == "Card testing from this address"  # the agent's words
    chargeback = Transaction.objects.get(payment=payment, type="chargeback")
    assert chargeback.created_by == agent

    html = agent_client.get(reverse("payments:detail", args=[payment.id])).content.decode()
    assert 'id="chargeback-banner"' in html
    assert "Blacklisted" in html
    assert "Recurring restricted" in html


def test_unticked_boxes_change_nothing_on_the_customer(agent_client, payment, customer):
    customer.restrict_cit = True
    customer.save()
    assert post(agent_client, payment).status_code == 204
    customer.refresh_from_db()
    assert customer.restrict_cit  # not lifted
    assert not is_email_blacklisted(customer.email)


def test_without_javascript_post_redirects_with_a_message(agent_client, payment):
    page = agent_client.get(url(payment)).content.decode()
    assert "<html" in page and "<dialog" not in page
    response = post(agent_client, payment, htmx=False, restrict_cit="on")
    assert response.status_code == 302
    assert response.url == reverse("payments:detail", args=[payment.id])
    assert "Chargeback recorded" in agent_client.get(response.url).content.decode()


def test_double_submit_records_once_and_answers_success(agent_client, payment):
    token = dialog_token(agent_client, payment)
    first = post(agent_client, payment, token=token)
    second = post(agent_client, payment, token=token)
    assert first.status_code == second.status_code == 204
    assert Transaction.objects.filter(payment=payment, type="chargeback").count() == 1


def test_already_chargebacked_payment_shows_the_conflict(agent_client, payment):
    assert post(agent_client, payment).status_code == 204
    html = agent_client.get(url(payment), headers=HTMX).content.decode()
    assert "A chargeback is already recorded on this payment." in html
    response = post(agent_client, payment, token="b" * 32)
    assert response.status_code == 200
    assert "already recorded" in response.content.decode()


def test_reason_without_a_restriction_is_refused(agent_client, payment):
    response = post(agent_client, payment, restrict_reason="why")
    assert response.status_code == 200
    assert "Tick a restriction" in response.content.decode()
    payment.refresh_from_db()
    assert not payment.is_chargebacked


def test_payment_without_customer_offers_no_customer_actions(agent_client, merchant):
    anonymous = PaymentFactory(merchant=merchant)
    html = agent_client.get(url(anonymous), headers=HTMX).content.decode()
    assert "No customer on this payment." in html
    assert 'name="blacklist_customer"' not in html
    # A crafted POST still cannot blacklist anyone.
    response = post(agent_client, anonymous, blacklist_customer="on")
    assert response.status_code == 204
    assert Payment.objects.get(pk=anonymous.pk).is_chargebacked
    assert not BlacklistEntry.objects.exists()


def test_failed_payment_is_refused_inside_the_dialog(agent_client, merchant):
    failed = PaymentFactory(merchant=merchant, amount=666)
    response = post(agent_client, failed)
    assert response.status_code == 200
    assert "cannot be chargebacked" in response.content.decode()


def test_blacklisting_is_asked_twice_with_a_reason_because_it_is_platform_wide(
    agent_client, payment, customer
):
    html = agent_client.get(url(payment), headers=HTMX).content.decode()
    assert "Blacklisting is platform-wide" in html
    response = post(agent_client, payment, blacklist_customer="on")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Say why this email is blacklisted." in html
    assert "Confirm that this email is refused at every merchant." in html
    payment.refresh_from_db()
    assert not payment.is_chargebacked and not is_email_blacklisted(customer.email)


def test_no_chargeback_button_or_dialog_on_a_payment_that_never_moved_money(agent_client, merchant):
    authorized = PaymentFactory(merchant=merchant, amount=3000, capture=False)
    html = agent_client.get(reverse("payments:detail", args=[authorized.id])).content.decode()
    assert 'id="chargeback-button"' not in html
    response = post(agent_client, authorized)
    assert "it was never captured, no money moved" in response.content.decode()
    authorized.refresh_from_db()
    assert not authorized.is_chargebacked
