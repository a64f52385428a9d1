"""The disputes queue, a dispute's page and its dialogs (SPEC 10, 8.1): HTMX and no-JS,
roles, and another merchant's dispute answering 404."""

import io
import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from chargebacks import services
from chargebacks.models import Dispute, DisputeFile
from core.actors import SYSTEM
from payments.models import Payment
from tests.dashboard.conftest import HTMX
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def open_dispute(merchant, *, days=14, amount=None, email="buyer@example.test") -> Dispute:
    payment = PaymentFactory(
        merchant=merchant, customer=CustomerFactory(merchant=merchant, email=email), amount=5000
    )
    services.record_chargeback(
        merchant=merchant,
        payment_id=payment.id,
        actor=SYSTEM,
        amount=amount,
        evidence_due_by=timezone.now() + timedelta(days=days),
    )
    return Dispute.objects.get(payment=payment)


@pytest.fixture
def dispute(merchant) -> Dispute:
    return open_dispute(merchant)


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)


def dialog_post(client, url, **data):
    html = client.get(url, headers=HTMX).content.decode()
    assert html.lstrip().startswith("<dialog"), html[:200]
    return client.post(url, {"token": token_of(html), **data}, headers=HTMX)


def test_the_queue_puts_needs_response_first_then_the_soonest_deadline(agent_client, merchant):
    later = open_dispute(merchant, days=10, email="a@example.test")
    overdue = open_dispute(merchant, days=-2, email="b@example.test")
    soon = open_dispute(merchant, days=1, email="c@example.test")
    reviewed = open_dispute(merchant, days=0.5, email="d@example.test")
    services.stage_evidence(
        merchant=merchant,
        actor=SYSTEM,
        dispute_id=reviewed.id,
        evidence={"product_description": "x"},
        submit=True,
    )

    html = agent_client.get(reverse("chargebacks:disputes")).content.decode()
    order = [m for m in re.findall(r"(dp_[A-Za-z0-9]{24})", html)]
    firsts = list(dict.fromkeys(order))
    assert firsts == [overdue.id, soon.id, later.id, reviewed.id]
    assert 'aria-current="page">Disputes<' in html
    assert "row-overdue" in html and "Overdue by" in html
    assert "1 day left" in html or "Due today" in html
    assert "10 days left" in html or "9 days left" in html

    filtered = agent_client.get(
        reverse("chargebacks:disputes"), {"status": "under_review"}, headers=HTMX
    ).content.decode()
    assert reviewed.id in filtered and later.id not in filtered
    assert not filtered.lstrip().startswith("<!doctype")


def test_a_bad_filter_shows_no_rows(agent_client, dispute):
    html = agent_client.get(reverse("chargebacks:disputes"), {"status": "open"}).content.decode()
    assert dispute.id not in html
    assert "Select a valid choice" in html


def test_roles_that_see_payments_read_the_queue_but_only_chargeback_roles_act(
    viewer_client, dispute
):
    assert viewer_client.get(reverse("chargebacks:disputes")).status_code == 200
    page = viewer_client.get(reverse("chargebacks:dispute", args=[dispute.id])).content.decode()
    assert "Submit evidence" not in page and "Accept dispute" not in page
    assert 'id="evidence-form"' not in page
    for name in ("submit", "accept", "close"):
        assert (
            viewer_client.get(reverse(f"chargebacks:{name}", args=[dispute.id])).status_code == 403
        )
    response = viewer_client.post(
        reverse("chargebacks:evidence", args=[dispute.id]), {"product_description": "x"}
    )
    assert response.status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).product_description == ""


def test_another_merchants_dispute_is_404(agent_client, other_merchant):
    foreign = open_dispute(other_merchant)
    DisputeFile.objects.create(
        merchant=other_merchant,
        dispute=foreign,
        file="x.pdf",
        name="x.pdf",
        size=5,
        content_type="application/pdf",
    )
    file_id = DisputeFile.objects.get().id
    for url in (
        reverse("chargebacks:dispute", args=[foreign.id]),
        reverse("chargebacks:submit", args=[foreign.id]),
        reverse("chargebacks:accept", args=[foreign.id]),
        reverse("chargebacks:close", args=[foreign.id]),
        reverse("chargebacks:file", args=[foreign.id, file_id]),
    ):
        assert agent_client.get(url).status_code == 404, url
    response = agent_client.post(
        reverse("chargebacks:evidence", args=[foreign.id]), {"product_description": "mine"}
    )
    assert response.status_code == 404
    assert agent_client.get(reverse("chargebacks:disputes")).content.decode().count(foreign.id) == 0


def test_drafts_save_as_typed_and_answer_a_small_saved_note(merchant_admin_client, dispute):
    url = reverse("chargebacks:evidence", args=[dispute.id])
    page = merchant_admin_client.get(reverse("chargebacks:dispute", args=[dispute.id]))
    html = page.content.decode()
    assert f'hx-post="{url}"' in html and 'hx-trigger="input delay:800ms, submit"' in html

    response = merchant_admin_client.post(url, {"product_description": "A lamp"}, headers=HTMX)
    assert response.status_code == 200
    assert response.content.decode().strip().startswith('<span id="evidence-saved"')
    assert ">Saved<" in response.content.decode()
    response = merchant_admin_client.post(url, {"refund_policy": "30 days"}, headers=HTMX)
    dispute.refresh_from_db()
    assert (dispute.product_description, dispute.refund_policy) == ("A lamp", "30 days")

    too_long = merchant_admin_client.post(url, {"refund_policy": "x" * 20_001}, headers=HTMX)
    assert "Not saved" in too_long.content.decode()
    dispute.refresh_from_db()
    assert dispute.refund_policy == "30 days"


def test_evidence_saves_without_javascript(merchant_admin_client, dispute):
    url = reverse("chargebacks:evidence", args=[dispute.id])
    response = merchant_admin_client.post(url, {"uncategorized_text": "Signed for"})
    assert response.status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).uncategorized_text == "Signed for"


def test_upload_answers_the_files_part_and_downloads_to_the_merchants_users(
    merchant_admin_client, client, dispute, other_merchant
):
    url = reverse("chargebacks:files", args=[dispute.id])
    upload = io.BytesIO(PDF)
    upload.name = "receipt.png"
    response = merchant_admin_client.post(url, {"file": upload}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<section class="card" aria-labelledby="files-title"')
    assert "receipt.png" in html and "application/pdf" in html
    assert '<progress id="upload-progress"' in html
    stored = DisputeFile.objects.get()
    download = merchant_admin_client.get(reverse("chargebacks:file", args=[dispute.id, stored.id]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF

    text = io.BytesIO(b"hello, I am text")
    text.name = "fake.pdf"
    refused = merchant_admin_client.post(url, {"file": text}, headers=HTMX).content.decode()
    assert "PDF, PNG or JPEG" in refused
    assert DisputeFile.objects.count() == 1


def test_submit_accept_and_outcome_dialogs(merchant_admin_client, merchant):
    submitted = open_dispute(merchant, email="s@example.test")
    accepted = open_dispute(merchant, email="a@example.test")

    refused = dialog_post(
        merchant_admin_client, reverse("chargebacks:submit", args=[submitted.id]), confirm="on"
    )
    assert "Add evidence" in refused.content.decode()
    services.stage_evidence(
        merchant=merchant,
        actor=SYSTEM,
        dispute_id=submitted.id,
        evidence={"product_description": "Delivered"},
    )
    done = dialog_post(
        merchant_admin_client, reverse("chargebacks:submit", args=[submitted.id]), confirm="on"
    )
    assert done.status_code == 204
    events = json.loads(done["HX-Trigger"])
    assert events["closeDialog"] is True and events["disputeChanged"] == {"id": submitted.id}
    assert Dispute.objects.get(pk=submitted.pk).status == "under_review"

    won = dialog_post(
        merchant_admin_client, reverse("chargebacks:close", args=[submitted.id]), outcome="won"
    )
    assert won.status_code == 204
    assert json.loads(won["HX-Trigger"])["toast"]["text"] == "Dispute won: $50.00 given back"
    assert Payment.objects.get(pk=submitted.payment_id).amount_disputed == 0

    assert (
        dialog_post(
            merchant_admin_client, reverse("chargebacks:accept", args=[accepted.id]), confirm="on"
        ).status_code
        == 204
    )
    assert Dispute.objects.get(pk=accepted.pk).status == "accepted"
    again = merchant_admin_client.get(
        reverse("chargebacks:accept", args=[accepted.id]), headers=HTMX
    )
    assert "already accepted" in again.content.decode()


def test_the_payment_page_shows_its_disputes_and_the_disputed_amount(agent_client, dispute):
    page = agent_client.get(reverse("payments:detail", args=[dispute.payment_id])).content.decode()
    assert 'id="payment-disputes"' in page and dispute.id in page
    assert re.search(r"<dt>Disputed</dt><dd class=\"num\">\$50.00</dd>", page)


def test_record_chargeback_dialog_takes_amount_reason_and_due_date(agent_client, merchant):
    payment = PaymentFactory(merchant=merchant, amount=12_000)
    url = reverse("chargebacks:record", args=[payment.id])
    html = agent_client.get(url, headers=HTMX).content.decode()
    assert 'value="120.00"' in html and "Evidence due by" in html
    bad = dialog_post(
        agent_client,
        url,
        amount="120,00",
        reason_category="fraudulent",
        network="visa",
        evidence_due_by=str(timezone.localdate()),
    )
    assert bad.status_code == 200 and "Enter" in bad.content.decode()
    over = dialog_post(
        agent_client,
        url,
        amount="120.01",
        reason_category="fraudulent",
        network="visa",
        evidence_due_by=str(timezone.localdate()),
    )
    assert "at most $120.00" in over.content.decode()
    due = timezone.localdate() + timedelta(days=5)
    done = dialog_post(
        agent_client,
        url,
        amount="45.50",
        reason_category="product_not_received",
        reason_code="13.1",
        network="visa",
        evidence_due_by=str(due),
    )
    assert done.status_code == 204
    dispute = Dispute.objects.get(payment=payment)
    assert (dispute.amount, dispute.reason_category, dispute.reason_code, dispute.network) == (
        4550,
        "product_not_received",
        "13.1",
        "visa",
    )
    assert timezone.localtime(dispute.evidence_due_by).date() == due


def test_the_refund_dialog_warns_when_refund_and_dispute_overlap(agent_client, merchant):
    dispute = open_dispute(merchant, amount=3000)
    url = reverse("payments:reverse_summary", args=[dispute.payment_id])
    fine = agent_client.get(url, {"amount": "20.00"}).content.decode()
    assert "dispute-overlap-warning" not in fine
    warned = agent_client.get(url, {"amount": "20.01"}).content.decode()
    assert "dispute-overlap-warning" in warned and "$30.00 of this payment is disputed" in warned
