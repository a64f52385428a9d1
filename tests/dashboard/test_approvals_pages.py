"""The dashboard side of refund approvals (SPEC 13): the refund dialog tells that a
refund will wait, the payment page shows it, the Approvals queue and its dialogs, the
thresholds page, and who sees what."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEntry
from core.actors import Actor
from merchants import roles
from payments import approvals, services
from payments.models import ApprovalThreshold, RefundApproval, Transaction
from tests.dashboard.conftest import HTMX, client_for
from tests.factories import PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def threshold(merchant, merchant_admin):
    return approvals.set_threshold(
        merchant=merchant, currency="USD", amount=10_000, actor=Actor(user=merchant_admin)
    )


@pytest.fixture
def big_payment(merchant, customer):
    return PaymentFactory(merchant=merchant, customer=customer, amount=50_000)


@pytest.fixture
def second_admin(merchant):
    return UserFactory(email="admin2@acme.test", merchant=merchant, role=roles.MERCHANT_ADMIN)


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def ask_refund(client, payment, amount: str):
    url = reverse("payments:reverse", args=[payment.id])
    token = token_of(client.get(url, headers=HTMX).content.decode())
    data = {"token": token, "amount": amount, "reason": "requested_by_customer"}
    return client.post(url, data, headers=HTMX)


def test_the_refund_dialog_says_a_refund_over_the_threshold_will_wait(
    agent_client, big_payment, threshold
):
    html = agent_client.get(
        reverse("payments:reverse", args=[big_payment.id]), headers=HTMX
    ).content.decode()
    assert "Refunds over <strong>$100.00</strong> wait for another merchant admin" in html
    # The default amount (everything, $500.00) is over it: the summary says so.
    assert "Ask to refund $500.00 of $500.00 to jane@example.test" in html
    assert "waits for another admin&#x27;s approval before it is sent" in html
    summary = reverse("payments:reverse_summary", args=[big_payment.id])
    at = agent_client.get(summary, {"amount": "100.00"}).content.decode()
    assert "Refund $100.00 of $500.00" in at and "approval" not in at  # equal: not over it


def test_a_held_refund_is_told_as_waiting_and_shown_on_the_payment_page(
    agent_client, big_payment, threshold
):
    response = ask_refund(agent_client, big_payment, "300.00")

    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert events["toast"] == {
        "text": "Refund of $300.00 is waiting for another admin's approval",
        "level": "info",
    }
    held = Transaction.objects.get(payment=big_payment, type="refund")
    assert held.status == "requires_approval"
    page = agent_client.get(reverse("payments:detail", args=[big_payment.id])).content.decode()
    assert "Refund awaiting approval" in page
    assert "Waiting for approval" in page  # the amounts card and the timeline badge
    assert "Held for approval" in page
    assert re.search(r"<dt>Refundable</dt><dd[^>]*>\$200\.00</dd>", page)


def test_the_queue_lists_what_waits_and_the_asker_cannot_approve_it(
    client, merchant_admin, second_admin, big_payment, threshold
):
    services.reverse_payment(
        merchant=big_payment.merchant,
        payment_id=big_payment.id,
        actor=Actor(user=merchant_admin),
        amount=30_000,
    )
    asker = client_for(client, merchant_admin)
    html = asker.get(reverse("payments:approvals")).content.decode()
    assert big_payment.id in html and "jane@example.test" in html
    assert "$300.00" in html and "admin@acme.test" in html
    assert "in 2 days 23 h" in html
    assert "Another admin decides" in html
    held = Transaction.objects.get(payment=big_payment, type="refund")
    url = reverse("payments:approval_approve", args=[held.id])
    dialog = asker.get(url, headers=HTMX).content.decode()
    assert "You asked for this refund: another merchant admin must approve" in dialog
    asker.post(url, {"token": "a" * 32}, headers=HTMX)
    held.refresh_from_db()
    assert held.status == "requires_approval"


def test_another_admin_approves_from_the_queue(
    client,
    agent,
    second_admin,
    big_payment,
    threshold,
    gateway_calls,
    django_capture_on_commit_callbacks,
):
    services.reverse_payment(
        merchant=big_payment.merchant,
        payment_id=big_payment.id,
        actor=Actor(user=agent),
        amount=30_000,
    )
    held = Transaction.objects.get(payment=big_payment, type="refund")
    approver = client_for(client, second_admin)
    url = reverse("payments:approval_approve", args=[held.id])
    dialog = approver.get(url, headers=HTMX).content.decode()
    assert dialog.lstrip().startswith("<dialog")
    assert "asked by agent@acme.test" in dialog

    with django_capture_on_commit_callbacks(execute=True):
        response = approver.post(url, {"token": token_of(dialog)}, headers=HTMX)

    assert response.status_code == 204
    assert len(gateway_calls("refund")) == 1
    events = json.loads(response["HX-Trigger"])
    assert events["toast"]["text"] == "Refund of $300.00 approved and sent to the gateway"
    assert events["approvalsChanged"] is True
    held.refresh_from_db()
    assert held.status in ("pending", "succeeded")
    # Sent again (a double click, a resubmit): told it is decided, nothing sent twice.
    again = approver.post(url, {"token": token_of(dialog)}, headers=HTMX)
    assert "no longer waiting for approval: it was approved by admin2@acme.test" in (
        again.content.decode()
    )
    assert len(gateway_calls("refund")) == 1
    assert RefundApproval.objects.get(refund=held).status == "approved"
    assert (
        "Nothing is waiting for approval"
        in approver.get(reverse("payments:approvals")).content.decode()
    )


def test_reject_with_a_note_releases_the_amount(
    client, agent, second_admin, big_payment, threshold
):
    held = services.reverse_payment(
        merchant=big_payment.merchant,
        payment_id=big_payment.id,
        actor=Actor(user=agent),
        amount=30_000,
    )
    approver = client_for(client, second_admin)
    url = reverse("payments:approval_reject", args=[held.id])
    token = token_of(approver.get(url, headers=HTMX).content.decode())
    response = approver.post(url, {"token": token, "note": "Duplicate ask"}, headers=HTMX)
    assert response.status_code == 204
    page = approver.get(reverse("payments:detail", args=[big_payment.id])).content.decode()
    assert "Rejected by admin2@acme.test" in page and "Duplicate ask" in page
    assert re.search(r"<dt>Refundable</dt><dd[^>]*>\$500\.00</dd>", page)
    activity = approver.get(reverse("audit:activity")).content.decode()
    assert "rejected the refund of $300.00" in activity
    assert "asked to refund $300.00" in activity


def test_approvals_and_thresholds_are_for_merchant_admins_only(agent_client, threshold):
    assert agent_client.get(reverse("payments:approvals")).status_code == 403
    assert agent_client.get(reverse("payments:approval_thresholds")).status_code == 403
    nav = agent_client.get(reverse("payments:list")).content.decode()
    assert 'href="/approvals/"' not in nav


def test_merchant_admin_sets_and_removes_a_threshold(merchant_admin_client, merchant):
    url = reverse("payments:approval_thresholds")
    nav = merchant_admin_client.get(url).content.decode()
    assert 'href="/approvals/"' in nav
    response = merchant_admin_client.post(url, {"currency": "EUR", "amount": "250.5"})
    assert response.status_code == 302
    assert ApprovalThreshold.objects.get(merchant=merchant, currency="EUR").amount == 25_050
    page = merchant_admin_client.get(url).content.decode()
    assert "Refunds in EUR over €250.50 now need another admin" in page
    refused = merchant_admin_client.post(url, {"currency": "EUR", "amount": "5,00"})
    assert refused.status_code == 200
    assert ApprovalThreshold.objects.get(merchant=merchant, currency="EUR").amount == 25_050
    merchant_admin_client.post(url, {"currency": "EUR", "amount": ""})
    assert not ApprovalThreshold.objects.filter(merchant=merchant).exists()
    assert AuditEntry.objects.filter(action="approval_threshold.set").count() == 2


def test_another_merchants_refund_is_a_404(client, other_merchant, agent, big_payment, threshold):
    held = services.reverse_payment(
        merchant=big_payment.merchant,
        payment_id=big_payment.id,
        actor=Actor(user=agent),
        amount=30_000,
    )
    outsider = UserFactory(merchant=other_merchant, role=roles.MERCHANT_ADMIN)
    response = client_for(client, outsider).get(
        reverse("payments:approval_approve", args=[held.id]), headers=HTMX
    )
    assert response.status_code == 404


def test_the_payment_page_offers_the_decision_to_another_admin_only(
    client, merchant_admin, second_admin, agent, big_payment, threshold
):
    held = services.reverse_payment(
        merchant=big_payment.merchant,
        payment_id=big_payment.id,
        actor=Actor(user=merchant_admin),
        amount=30_000,
    )
    approve_url = reverse("payments:approval_approve", args=[held.id])
    page_url = reverse("payments:detail", args=[big_payment.id])
    for user, offered in ((second_admin, True), (merchant_admin, False), (agent, False)):
        html = client_for(client, user).get(page_url).content.decode()
        assert "Held for approval" in html  # everyone sees the state
        assert (approve_url in html) is offered, user.email


def test_held_refunds_and_their_deciders_come_with_the_ledger_on_the_payment_page(
    merchant_admin_client, agent, second_admin, big_payment, threshold
):
    detail = reverse("payments:detail", args=[big_payment.id])
    with CaptureQueriesContext(connection) as before:
        merchant_admin_client.get(detail)
    for amount in (20_000, 15_000):
        services.reverse_payment(
            merchant=big_payment.merchant,
            payment_id=big_payment.id,
            actor=Actor(user=agent),
            amount=amount,
        )
    first, _ = Transaction.objects.filter(payment=big_payment, type="refund").order_by("amount")
    approvals.reject_refund(
        merchant=big_payment.merchant,
        transaction_id=first.id,
        actor=Actor(user=second_admin),
        note="Too much",
    )

    with CaptureQueriesContext(connection) as after:
        html = merchant_admin_client.get(detail).content.decode()

    # Two held refunds, one decided: as many statements as the payment alone, the
    # approvals read with the ledger (not a statement of their own).
    assert len(after) == len(before)
    [ledger] = [q["sql"] for q in after if "payments_refundapproval" in q["sql"]]
    assert 'FROM "payments_transaction"' in ledger
    assert "Too much" in html and "admin2@acme.test" in html
