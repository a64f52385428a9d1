"""Bulk refunds in a real browser: upload a CSV, read the dry run, confirm, watch the
progress bar fill in place (HTMX polling that stops when the batch is finished),
download the results; and the payments list's Export CSV with its filters."""

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bulk import services, tasks
from bulk.models import RefundBatch
from merchants import roles
from payments.models import Transaction
from tests.bulk.helpers import refund_file
from tests.e2e.conftest import login, screenshot
from tests.factories import MerchantFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(roles_ready):
    merchant = MerchantFactory(name="Acme Shop")
    UserFactory(email="agent@acme.test", merchant=merchant, role=roles.SUPPORT_AGENT)
    usd = [PaymentFactory(merchant=merchant, amount=2000, order_id=f"ord-{i}") for i in range(4)]
    eur = PaymentFactory(merchant=merchant, amount=900, currency="EUR", order_id="=eur-order")
    return {"merchant": merchant, "usd": usd, "eur": eur}


def downloaded_rows(page, selector: str) -> list[dict]:
    with page.expect_download() as info:
        page.click(selector)
    text = Path(info.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_upload_dry_run_confirm_progress_and_results(page, shop, monkeypatch):
    # The job is run below, a chunk at a time, so the page can be seen following it.
    monkeypatch.setattr(tasks, "enqueue_run", lambda batch_id: None)
    monkeypatch.setattr(services, "CHUNK_SIZE", 2)
    usd, eur = shop["usd"], shop["eur"]
    content = refund_file(
        [
            [usd[0].id, "5.00", "duplicate", ""],
            [usd[1].id, "", "", ""],
            [usd[2].id, "30.00", "", ""],  # more than was paid
            [usd[3].id, "1.50", "other", "goodwill"],
            [eur.id, "9.00", "", ""],
        ]
    )
    login(page, "agent@acme.test")
    page.goto("/payments/")
    page.get_by_role("link", name="Bulk refunds").click()
    page.set_input_files(
        "#id_file", files=[{"name": "refunds.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", name="Dry run: nothing has been refunded")).to_be_visible()
    expect(page.locator("#batch-counts")).to_contain_text("4 of 5 rows can be refunded")
    expect(page.locator("#batch-totals")).to_contain_text("$26.50")
    expect(page.locator("#batch-totals")).to_contain_text("€9.00")
    expect(page.locator("[data-row='3']").first).to_contain_text("Amount over refundable")
    screenshot(page, "bulk-dry-run")
    assert Transaction.objects.filter(type="refund").count() == 0

    page.get_by_role("button", name="Refund 4 rows").click()
    expect(page.locator("#batch-state")).to_have_text("Running")
    expect(page.locator("#progress-text")).to_contain_text("0 of 4 rows done")
    page.evaluate("window.sameDocument = true")

    batch = RefundBatch.objects.get()
    services.run_batch_chunk(batch_id=batch.id)
    expect(page.locator("#progress-text")).to_contain_text("2 of 4 rows done")
    services.run_batch_chunk(batch_id=batch.id)
    services.run_batch_chunk(batch_id=batch.id)
    expect(page.locator("#batch-state")).to_have_text("Finished")
    expect(page.locator("#progress-text")).to_contain_text("4 of 4 rows done: 4 refunded")
    assert page.evaluate("window.sameDocument") is True  # updated in place, no reload
    expect(page.locator("#batch-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    screenshot(page, "bulk-finished")

    results = downloaded_rows(page, "#results-link")
    assert [(r["row"], r["outcome"], r["amount"], r["currency"]) for r in results] == [
        ("1", "refunded", "5.00", "USD"),
        ("2", "refunded", "20.00", "USD"),
        ("3", "refused", "30.00", "USD"),
        ("4", "refunded", "1.50", "USD"),
        ("5", "refunded", "9.00", "EUR"),
    ]
    refunds = Transaction.objects.filter(type="refund")
    assert {r["refund_id"] for r in results} - {""} == set(refunds.values_list("id", flat=True))


def test_export_downloads_the_filtered_rows(page, shop):
    login(page, "agent@acme.test")
    page.goto("/payments/?currency=EUR")

    rows = downloaded_rows(page, "text=Export CSV")

    assert [(r["id"], r["amount"], r["currency"]) for r in rows] == [
        (shop["eur"].id, "9.00", "EUR")
    ]
    assert rows[0]["order_id"] == "'=eur-order"
