"""What the upload refuses (nothing stored) and what it reads."""

import pytest

from audit.models import AuditEntry
from bulk import services
from bulk.files import MAX_FILE_BYTES, MAX_ROWS, read_refund_file
from bulk.models import BatchRow, RefundBatch
from core.actors import Actor
from core.errors import ValidationFailed
from tests.bulk.helpers import refund_file

pytestmark = pytest.mark.django_db


def upload(merchant, agent, content: bytes) -> RefundBatch:
    return services.create_batch(
        merchant=merchant, actor=Actor(user=agent), filename="refunds.csv", content=content
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not UTF-8 text"),
        (b"%PDF-1.4\n\xe2\xe3\xcf\xd3\n1 0 obj", "not UTF-8 text"),
        (b"payment_id,amount\x00,reason,note\n", "binary data"),
        (b"", "The file is empty"),
        (b"payment id|amount|reason|note\npay_x|1.00||\n", "lacks the columns payment_id"),
        (b"payment_id,amount,note\npay_x,1.00,\n", "lacks the column reason"),
        (b'payment_id,amount,reason,note\n"pay_x,1.00,,\n', "not a readable CSV file"),
        (b"payment_id,amount,reason,note\n", "no refunds below it"),
    ],
    ids=[
        "png",
        "pdf",
        "nul",
        "empty",
        "pipes",
        "missing-column",
        "broken-quote",
        "header-only",
    ],
)
def test_a_file_that_is_not_a_refund_csv_is_refused_and_nothing_is_stored(
    merchant, agent, content, message
):
    with pytest.raises(ValidationFailed) as refused:
        upload(merchant, agent, content)

    assert message in refused.value.message
    assert refused.value.param == "file"
    assert not RefundBatch.objects.exists()
    assert not BatchRow.objects.exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.REFUND_BATCH_CREATE)
    assert entry.outcome == AuditEntry.Outcome.REFUSED


def test_a_file_over_the_size_limit_is_refused_saying_the_limit(merchant, agent):
    content = refund_file([["pay_" + "x" * 60, "1.00", "", "n" * 100]] * 13_000)
    assert len(content) > MAX_FILE_BYTES

    with pytest.raises(ValidationFailed, match="larger than 2 MB"):
        upload(merchant, agent, content)
    assert not RefundBatch.objects.exists()


def test_more_than_10000_rows_are_refused(merchant, agent):
    content = refund_file([["pay_x", "1", "", ""]] * (MAX_ROWS + 1))
    assert len(content) < MAX_FILE_BYTES

    with pytest.raises(ValidationFailed, match="more than 10,000 rows"):
        upload(merchant, agent, content)
    assert not RefundBatch.objects.exists()


def test_exactly_10000_rows_are_read():
    rows = read_refund_file(refund_file([["pay_x", "1", "", ""]] * MAX_ROWS))
    assert len(rows) == MAX_ROWS


def test_a_bom_any_column_order_header_case_and_blank_lines_are_fine():
    content = refund_file(
        [["a note", "pay_1", "duplicate", "2.50"], [], ["", "pay_2", "", ""]],
        header=("Note", " PAYMENT_ID ", "reason", "Amount"),
        bom=True,
    )

    rows = read_refund_file(content)

    assert [(r.number, r.payment_id, r.amount, r.reason, r.note) for r in rows] == [
        (1, "pay_1", "2.50", "duplicate", "a note"),
        (2, "pay_2", "", "", ""),
    ]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_commas_semicolons_or_tabs_as_spreadsheets_write_them(delimiter):
    content = delimiter.join(["payment_id", "amount", "reason", "note"]) + "\r\n"
    content += delimiter.join(["pay_1", "2.50", "", "n"]) + "\r\n"

    rows = read_refund_file(content.encode())

    assert [(r.payment_id, r.amount, r.note) for r in rows] == [("pay_1", "2.50", "n")]
