"""The bulk refund pages: upload, dry run, confirm, progress, cancel, results CSV."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from bulk.models import RefundBatch
from payments.models import Transaction
from tests.bulk.helpers import refund_file
from tests.dashboard.conftest import client_for
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client, agent):
    return client_for(client, agent)


def upload(client, content: bytes, name: str = "refunds.csv"):
    return client.post(
        reverse("bulk:list"), {"file": SimpleUploadedFile(name, content, "text/csv")}
    )


def results(client, batch) -> list[dict]:
    response = client.get(reverse("bulk:results", args=[batch.id]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_upload_dry_run_confirm_progress_and_results(
    agent_client, merchant, django_capture_on_commit_callbacks
):
    paid = PaymentFactory(merchant=merchant, amount=4000)
    content = refund_file(
        [
            [paid.id, "15.00", "duplicate", "=cmd|' /C calc'!A0"],
            ["pay_missing", "1.00", "", ""],
            [paid.id, "", "", "@rest"],
        ]
    )

    response = upload(agent_client, content)

    batch = RefundBatch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("bulk:detail", args=[batch.id])
    page = agent_client.get(response.url).content.decode()
    assert "Dry run: nothing has been refunded" in page
    assert "2</strong> of 3 rows can be refunded" in page
    assert "$40.00" in page  # $15.00 + the $25.00 left
    assert "Unknown payment" in page
    assert Transaction.objects.filter(type="refund").count() == 0
    dry = results(agent_client, batch)
    assert [(r["row"], r["outcome"], r["amount"]) for r in dry] == [
        ("1", "pending", "15.00"),
        ("2", "refused", "1.00"),
        ("3", "pending", "25.00"),
    ]

    detail = agent_client.get(reverse("bulk:detail", args=[batch.id])).content.decode()
    token = detail.split('name="token" value="')[1].split('"')[0]
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = agent_client.post(reverse("bulk:confirm", args=[batch.id]), {"token": token})
    assert confirmed.status_code == 302
    # The same form sent again (a double click) does nothing more.
    again = agent_client.post(reverse("bulk:confirm", args=[batch.id]), {"token": token})
    assert again.status_code == 302

    progress = agent_client.get(reverse("bulk:progress", args=[batch.id])).content.decode()
    assert "2 of 2 rows done: 2 refunded, 0 failed, 0 canceled" in progress, progress
    assert "hx-trigger" not in progress  # finished: the polling stops
    refunds = Transaction.objects.filter(type="refund", payment=paid)
    assert sorted(r.amount for r in refunds) == [1500, 2500]
    done = results(agent_client, batch)
    assert [(r["outcome"], r["amount"], r["refund_status"]) for r in done] == [
        ("refunded", "15.00", "succeeded"),  # the gateway answered (in-process here)
        ("refused", "1.00", ""),
        ("refunded", "25.00", "succeeded"),
    ]
    assert {r["refund_id"] for r in done} - {""} == set(refunds.values_list("id", flat=True))
    assert done[1]["error"].startswith("Unknown payment")


def test_a_running_batch_polls_its_progress(agent_client, merchant, agent):
    paid = PaymentFactory(merchant=merchant)
    upload(agent_client, refund_file([[paid.id, "1.00", "", ""]]))
    batch = RefundBatch.objects.get()
    RefundBatch.objects.filter(pk=batch.pk).update(state=RefundBatch.State.RUNNING)

    progress = agent_client.get(reverse("bulk:progress", args=[batch.id])).content.decode()

    assert 'hx-trigger="every 1s"' in progress
    assert "0 of 1 rows done" in progress


def test_a_refused_file_shows_why_and_stores_nothing(agent_client):
    response = upload(agent_client, b"\x89PNG\r\n\x1a\n\x00\x00", name="photo.csv")

    assert response.status_code == 400
    assert "not UTF-8 text" in response.content.decode()
    assert not RefundBatch.objects.exists()


def test_results_cells_are_safe_for_spreadsheets(agent_client, merchant):
    upload(agent_client, refund_file([['=HYPERLINK("http://x")', "1.00", "", ""]]))
    batch = RefundBatch.objects.get()

    row = results(agent_client, batch)[0]

    assert row["payment_id"] == '\'=HYPERLINK("http://x")'


def test_cancel_from_the_page(agent_client, merchant):
    paid = PaymentFactory(merchant=merchant)
    upload(agent_client, refund_file([[paid.id, "1.00", "", ""]]))
    batch = RefundBatch.objects.get()

    response = agent_client.post(reverse("bulk:cancel", args=[batch.id]))

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.state == RefundBatch.State.CANCELED
    assert list(batch.rows.values_list("outcome", flat=True)) == ["canceled"]


def test_only_refunders_of_the_merchant_see_batches(client, viewer, merchant, other_merchant):
    from merchants import roles
    from tests.factories import UserFactory

    paid = PaymentFactory(merchant=merchant)
    agent = UserFactory(email="a@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    upload(client_for(client, agent), refund_file([[paid.id, "1.00", "", ""]]))
    batch = RefundBatch.objects.get()

    client.force_login(viewer)  # may see payments, may not refund
    assert client.get(reverse("bulk:list")).status_code == 403
    assert client.get(reverse("bulk:results", args=[batch.id])).status_code == 403
    outsider = UserFactory(email="x@other.test", merchant=other_merchant, role=roles.SUPPORT_AGENT)
    client.force_login(outsider)
    assert client.get(reverse("bulk:detail", args=[batch.id])).status_code == 404
    assert client.get(reverse("bulk:results", args=[batch.id])).status_code == 404
    assert batch.id not in client.get(reverse("bulk:list")).content.decode()


def test_the_batches_page_lists_recent_batches_with_their_state(agent_client, merchant):
    paid = PaymentFactory(merchant=merchant)
    upload(agent_client, refund_file([[paid.id, "1.00", "", ""]]), name="first.csv")
    upload(agent_client, refund_file([["pay_nope", "1.00", "", ""]]), name="second.csv")
    first = RefundBatch.objects.get(filename="first.csv")
    agent_client.post(reverse("bulk:cancel", args=[first.id]))

    page = agent_client.get(reverse("bulk:list")).content.decode()

    assert page.index("second.csv") < page.index("first.csv")  # newest first
    assert "Canceled" in page and "Dry run, awaiting confirmation" in page
    assert "1 of 1" in page and "0 of 1" in page


def test_anonymous_is_sent_to_sign_in(client, merchant):
    paid = PaymentFactory(merchant=merchant)
    batch = RefundBatch.objects.create(merchant=merchant, filename="x.csv")
    BatchRow = batch.rows.model
    BatchRow.objects.create(batch=batch, number=1, payment_id=paid.id, outcome="pending")
    for url in (
        reverse("bulk:list"),
        reverse("bulk:detail", args=[batch.id]),
        reverse("bulk:results", args=[batch.id]),
        reverse("payments:export"),
    ):
        assert client.get(url).status_code == 302, url
    assert client.post(reverse("bulk:confirm", args=[batch.id])).status_code == 302
    batch.refresh_from_db()
    assert batch.state == RefundBatch.State.DRAFT
