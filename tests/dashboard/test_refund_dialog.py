"""The refund / void dialog: HTMX fragment, validation in major units, the form token that
makes a double submit harmless, the chargeback confirmation, and the no-JS path."""

import json
import re

import pytest
from django.urls import reverse

from core.actors import SYSTEM
from core.forms import FormToken
from payments import services
from payments.models import Transaction
from tests.conftest import require_postgres, run_concurrently
from tests.dashboard.conftest import HTMX
from tests.dashboard.roles import ensure_role_groups
from tests.factories import MerchantFactory, PaymentFactory, UserFactory, charge_back


def reverse_url(payment):
    return reverse("payments:reverse", args=[payment.id])


def dialog_token(client, payment) -> str:
    html = client.get(reverse_url(payment), headers=HTMX).content.decode()
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def post(client, payment, htmx=True, **data):
    if "token" not in data:
        data["token"] = dialog_token(client, payment)
    data.setdefault("reason", "requested_by_customer")
    return client.post(reverse_url(payment), data, headers=HTMX if htmx else {})


def reversals(payment):
    return list(Transaction.objects.filter(payment=payment, type__in=Transaction.REVERSAL_TYPES))


def test_get_with_htmx_answers_a_dialog_fragment_with_defaults(agent_client, payment):
    response = agent_client.get(reverse_url(payment), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<dialog")
    assert "data-dialog" in html
    assert "<html" not in html
    assert 'name="amount" value="25.00"' in html  # what is still reversible
    assert re.search(r'name="token" value="[0-9a-f]{32}"', html)
    assert '<option value="requested_by_customer" selected>' in html
    assert "Already refunded at the gateway (record only)" in html
    assert f'hx-post="/payments/{payment.id}/refund/"' in html
    assert f'action="/payments/{payment.id}/refund/"' in html
    assert 'method="post"' in html
    assert "hx-disabled-elt" in html


def test_each_rendering_gets_a_new_token(agent_client, payment):
    assert dialog_token(agent_client, payment) != dialog_token(agent_client, payment)


def test_default_amount_is_what_is_still_reversible(agent_client, payment):
    services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, amount=520
    )
    html = agent_client.get(reverse_url(payment), headers=HTMX).content.decode()
    assert 'name="amount" value="19.80"' in html


def test_htmx_refund_answers_events_and_refunds(agent_client, agent, payment):
    response = post(agent_client, payment, amount="5.00", note="")
    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert events["closeDialog"] is True
    assert events["paymentChanged"] == {"id": payment.id}
    assert events["toast"] == {
        "text": "Refund of $5.00 is pending: waiting for the gateway",
        "level": "info",
    }
    payment.refresh_from_db()
    assert payment.amount_reversed == 500
    [refund] = reversals(payment)
    assert refund.type == "refund"
    assert refund.created_by == agent
    assert refund.reason == "requested_by_customer"


def test_without_javascript_get_is_a_page_and_post_redirects_with_a_message(agent_client, payment):
    page = agent_client.get(reverse_url(payment))
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert "<dialog" not in page.content.decode()

    response = post(agent_client, payment, htmx=False, amount="7.50")
    assert response.status_code == 302
    assert response.url == reverse("payments:detail", args=[payment.id])
    follow = agent_client.get(response.url).content.decode()
    assert "Refund of $7.50 is pending: waiting for the gateway" in follow
    payment.refresh_from_db()
    assert payment.amount_reversed == 750


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("5.001", "USD amounts have at most 2 decimal places"),
        ("30.00", "at most $25.00 can be refunded"),
        ("0", "Amount must be greater than 0"),
        ("-1", "Enter the amount as digits, with a dot before the decimals"),
        ("five", "Enter the amount as digits, with a dot before the decimals"),
        ("", "This field is required."),
    ],
)
def test_invalid_amounts_are_refused_inside_the_dialog(agent_client, payment, amount, message):
    response = post(agent_client, payment, amount=amount)
    html = response.content.decode()
    assert response.status_code == 200
    assert "HX-Trigger" not in response
    assert html.lstrip().startswith('<div id="reverse-form-wrap"')
    assert message in html
    assert 'id="id_amount_error"' in html
    assert 'aria-invalid="true"' in html
    assert reversals(payment) == []


def test_a_zero_decimal_currency_refuses_decimals(agent_client, merchant):
    yen = PaymentFactory(merchant=merchant, amount=5000, currency="JPY")
    html = agent_client.get(reverse_url(yen), headers=HTMX).content.decode()
    assert 'name="amount" value="5000"' in html
    response = post(agent_client, yen, amount="500.5")
    assert "JPY has no decimal places" in response.content.decode()
    response = post(agent_client, yen, amount="5000")
    assert json.loads(response["HX-Trigger"])["toast"]["text"] == (
        "Refund of ¥5,000 is pending: waiting for the gateway"
    )


def test_a_three_decimal_currency_converts_exactly(agent_client, merchant):
    kwd = PaymentFactory(merchant=merchant, amount=12345, currency="KWD")
    response = post(agent_client, kwd, amount="1.5")
    assert json.loads(response["HX-Trigger"])["toast"]["text"] == (
        "Refund of KWD 1.500 is pending: waiting for the gateway"
    )
    kwd.refresh_from_db()
    assert kwd.amount_reversed == 1500


def test_other_reason_needs_a_note_and_the_error_shows_inline(agent_client, payment):
    response = post(agent_client, payment, amount="1.00", reason="other", note="")
    html = response.content.decode()
    assert response.status_code == 200
    assert "A note is required when the reason is &#x27;other&#x27;" in html
    assert 'id="id_note_error"' in html
    assert reversals(payment) == []

    response = post(agent_client, payment, amount="1.00", reason="other", note="goodwill")
    assert response.status_code == 204
    assert reversals(payment)[0].note == "goodwill"


def test_a_refused_submit_can_be_corrected_and_resent_with_the_same_token(agent_client, payment):
    token = dialog_token(agent_client, payment)
    assert post(agent_client, payment, token=token, amount="1", reason="other").status_code == 200
    response = post(agent_client, payment, token=token, amount="1", reason="duplicate")
    assert response.status_code == 204
    assert len(reversals(payment)) == 1


def test_double_submit_with_the_same_token_reverses_once(agent_client, payment):
    token = dialog_token(agent_client, payment)
    first = post(agent_client, payment, token=token, amount="5.00")
    second = post(agent_client, payment, token=token, amount="5.00")
    third = post(agent_client, payment, token=token, amount="5.00", htmx=False)
    assert first.status_code == second.status_code == 204
    assert json.loads(second["HX-Trigger"])["toast"]["text"] == (
        "Refund of $5.00 is pending: waiting for the gateway"
    )
    assert third.status_code == 302
    assert len(reversals(payment)) == 1
    payment.refresh_from_db()
    assert payment.amount_reversed == 500


def test_a_second_submit_while_the_first_is_running_is_told_to_wait(agent_client, agent, payment):
    token = dialog_token(agent_client, payment)
    # Another process holds the claim and has not finished yet.
    FormToken(user_id=agent.pk, purpose=f"reverse:{payment.id}", token=token).claim()
    response = post(agent_client, payment, token=token, amount="5.00")
    assert response.status_code == 200
    assert "already being submitted" in response.content.decode()
    assert reversals(payment) == []


def test_tokens_are_per_user(agent_client, client, merchant_admin, payment):
    token = dialog_token(agent_client, payment)
    assert post(agent_client, payment, token=token, amount="1.00").status_code == 204
    client.force_login(merchant_admin)
    assert post(client, payment, token=token, amount="1.00").status_code == 204
    assert len(reversals(payment)) == 2


def test_two_dialogs_make_two_refunds(agent_client, payment):
    post(agent_client, payment, amount="1.00")
    post(agent_client, payment, amount="1.00")
    assert len(reversals(payment)) == 2


def test_void_of_an_uncaptured_payment_has_no_amount_field(agent_client, merchant):
    uncaptured = PaymentFactory(merchant=merchant, amount=2500, capture=False)
    html = agent_client.get(reverse_url(uncaptured), headers=HTMX).content.decode()
    assert "Void payment" in html
    assert 'name="amount"' not in html
    assert "Already voided at the gateway (record only)" in html
    assert "releases the whole authorization of <strong>$25.00</strong>" in html

    response = post(agent_client, uncaptured)
    assert json.loads(response["HX-Trigger"])["toast"]["text"] == (
        "Void of $25.00 is pending: waiting for the gateway"
    )
    uncaptured.refresh_from_db()
    assert uncaptured.is_voided
    assert reversals(uncaptured)[0].type == "void"


def test_record_only_refund_is_external_and_succeeded(agent_client, payment):
    post(agent_client, payment, amount="2.00", is_external="on")
    [refund] = reversals(payment)
    assert refund.is_external
    assert refund.status == "succeeded"
    payment.refresh_from_db()
    assert payment.amount_reversal_pending == 0


@pytest.mark.parametrize("outcome", [None, "lost"])
def test_chargebacked_payment_needs_an_explicit_confirmation(agent_client, payment, outcome):
    charge_back(payment, outcome=outcome)
    html = agent_client.get(reverse_url(payment), headers=HTMX).content.decode()
    assert "This payment was charged back." in html
    assert 'name="confirm_chargeback"' in html

    response = post(agent_client, payment, amount="5.00")
    assert response.status_code == 200
    assert "confirm that you want to return money again" in response.content.decode()
    assert reversals(payment) == []

    response = post(agent_client, payment, amount="5.00", confirm_chargeback="on")
    assert response.status_code == 204
    assert len(reversals(payment)) == 1


def test_a_refund_after_a_won_dispute_returns_money_once_and_needs_no_confirmation(
    agent_client, payment
):
    """SPEC 10: the won dispute gave the money back, so the double-refund warning would
    be untrue; the dialog says what happened instead."""
    charge_back(payment, outcome="won")
    html = agent_client.get(reverse_url(payment), headers=HTMX).content.decode()
    assert "This payment was charged back." not in html
    assert "its dispute was won" in html
    assert 'name="confirm_chargeback"' not in html

    response = post(agent_client, payment, amount="5.00")

    assert response.status_code == 204
    [refund] = reversals(payment)
    assert refund.amount == 500


def test_nothing_reversible_shows_why_and_reverses_nothing(agent_client, payment):
    services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, is_external=True
    )
    html = agent_client.get(reverse_url(payment), headers=HTMX).content.decode()
    assert "it is already fully refunded" in html
    assert "<form" not in html
    response = post(agent_client, payment, token="a" * 32, amount="1.00")
    assert response.status_code == 200
    assert "it is already fully refunded" in response.content.decode()
    assert len(reversals(payment)) == 1


def test_a_dialog_left_open_while_someone_else_refunds_is_refused(agent_client, payment):
    token = dialog_token(agent_client, payment)
    # Someone else refunds everything between the dialog's rendering and its submit.
    services.reverse_payment(
        merchant=payment.merchant, payment_id=payment.id, actor=SYSTEM, amount=2400
    )
    response = post(agent_client, payment, token=token, amount="5.00")
    assert response.status_code == 200
    assert "at most $1.00 can be refunded" in response.content.decode()
    assert len(reversals(payment)) == 1


def test_a_service_refusal_shows_inside_the_dialog_and_frees_the_token(
    agent_client, payment, monkeypatch
):
    def refuse(**kwargs):
        raise services.PaymentNotReversible("its capture is still pending at the gateway")

    monkeypatch.setattr(services, "reverse_payment", refuse)
    token = dialog_token(agent_client, payment)
    response = post(agent_client, payment, token=token, amount="5.00")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Payment cannot be reversed: its capture is still pending at the gateway" in html
    assert 'class="alert alert-error"' in html

    monkeypatch.undo()
    assert post(agent_client, payment, token=token, amount="5.00").status_code == 204


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submits_of_one_form_reverse_once():
    """Two requests with the same form token at the same instant (a double click that
    got past the disabled button, two tabs): the token's atomic claim lets one through."""
    require_postgres()
    ensure_role_groups()
    from django.test import Client

    from merchants import roles

    merchant = MerchantFactory(name="Race Shop")
    agent = UserFactory(email="racer@race.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    payment = PaymentFactory(merchant=merchant, amount=2500)
    token = "c" * 32

    def submit(_):
        client = Client()
        client.force_login(agent)
        data = {"token": token, "amount": "5.00", "reason": "duplicate"}
        return client.post(reverse_url(payment), data, headers=HTMX).status_code

    statuses = run_concurrently(submit, 4)
    assert len(reversals(payment)) == 1
    assert set(statuses) <= {200, 204}, statuses  # 200: "already being submitted"
    assert 204 in statuses
