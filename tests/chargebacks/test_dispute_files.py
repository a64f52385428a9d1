"""Evidence files (SPEC 10): recognised by content, not name; at most 5 MB and 10 a
dispute; a refused file is never stored; only the merchant's keys download them."""

import io

import pytest

from chargebacks import services
from chargebacks.models import MAX_EVIDENCE_FILE_SIZE, Dispute, DisputeFile
from core.actors import SYSTEM
from tests.customers.conftest import error_of
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def dispute(merchant) -> Dispute:
    payment = PaymentFactory(merchant=merchant)
    services.record_chargeback(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
    return Dispute.objects.get(payment=payment)


def upload(api, dispute_id: str, content: bytes, name: str):
    handle = io.BytesIO(content)
    handle.name = name
    return api.client.post(
        f"/api/v1/disputes/{dispute_id}/files", {"file": handle}, headers=api._headers()
    )


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()]


def assert_refused(response, media) -> None:
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert (error["type"], error["param"]) == ("validation_error", "file"), error
    assert not DisputeFile.objects.exists() or DisputeFile.objects.count() == len(
        stored_files(media)
    )


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (PDF, "receipt.pdf", "application/pdf"),
        (PDF, "looks-like-a-picture.png", "application/pdf"),
        (PNG, "screenshot", "image/png"),
        (JPEG, "photo.jpeg", "image/jpeg"),
    ],
)
def test_a_file_is_recognised_by_its_content(api, dispute, media, content, name, content_type):
    response = upload(api, dispute.id, content, name)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["name"], answer["size"], answer["contentType"]) == (
        name,
        len(content),
        content_type,
    )
    assert answer["id"].startswith("dpf_")
    stored = DisputeFile.objects.get(pk=answer["id"])
    assert stored.file.read() == content
    assert name not in stored.file.name  # stored under our id, never the sender's name
    got = api.get(f"/disputes/{dispute.id}").json()
    assert got["evidence"]["files"] == [answer["id"]]
    download = api.client.get(answer["url"], headers=api._headers())
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] == content_type
    assert download["Content-Disposition"].startswith("attachment")


def test_a_text_file_named_pdf_is_refused_and_not_stored(api, dispute, media):
    response = upload(api, dispute.id, b"just some words, not a PDF at all", "contract.pdf")
    assert_refused(response, media)
    assert "PDF, PNG or JPEG" in error_of(response)["message"]
    assert not DisputeFile.objects.exists() and stored_files(media) == []


def test_an_empty_file_is_refused(api, dispute, media):
    assert_refused(upload(api, dispute.id, b"", "empty.pdf"), media)
    assert stored_files(media) == []


def test_five_megabytes_is_fine_and_one_byte_more_is_refused(api, dispute, media):
    exactly = PDF + b"0" * (MAX_EVIDENCE_FILE_SIZE - len(PDF))
    assert upload(api, dispute.id, exactly, "big.pdf").status_code == 200
    response = upload(api, dispute.id, exactly + b"0", "too-big.pdf")
    assert_refused(response, media)
    assert "5 MB" in error_of(response)["message"]
    assert DisputeFile.objects.count() == 1 and len(stored_files(media)) == 1


def test_the_eleventh_file_is_refused(api, dispute, media):
    for number in range(10):
        assert upload(api, dispute.id, PDF, f"page-{number}.pdf").status_code == 200
    response = upload(api, dispute.id, PDF, "page-10.pdf")
    assert_refused(response, media)
    assert "10" in error_of(response)["message"]
    assert DisputeFile.objects.count() == 10 and len(stored_files(media)) == 10


def test_no_file_after_the_evidence_was_submitted(api, dispute, media):
    services.stage_evidence(
        merchant=dispute.merchant,
        actor=SYSTEM,
        dispute_id=dispute.id,
        evidence={"product_description": "x"},
        submit=True,
    )
    response = upload(api, dispute.id, PDF, "late.pdf")
    assert response.status_code == 409
    assert stored_files(media) == []


def test_a_missing_file_field_is_refused(api, dispute):
    response = api.client.post(
        f"/api/v1/disputes/{dispute.id}/files", {"other": "x"}, headers=api._headers()
    )
    assert response.status_code == 400
    assert error_of(response)["type"] == "validation_error"


def test_another_merchant_cannot_download(api, other_api, dispute):
    file_id = upload(api, dispute.id, PDF, "receipt.pdf").json()["id"]
    response = other_api.get(f"/disputes/{dispute.id}/files/{file_id}")
    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found"
    assert api.get(f"/disputes/dp_other/files/{file_id}").status_code == 404


def test_an_upload_retried_with_its_idempotency_key_is_stored_once(api, dispute):
    from django.test.client import encode_multipart

    def send(boundary: str):
        handle = io.BytesIO(PDF)
        handle.name = "receipt.pdf"
        return api.client.post(
            f"/api/v1/disputes/{dispute.id}/files",
            encode_multipart(boundary, {"file": handle}),
            content_type=f"multipart/form-data; boundary={boundary}",
            headers={**api._headers(), "Idempotency-Key": "upload-1"},
        )

    first = send("first-boundary-1234")
    again = send("another-boundary-98")
    assert first.status_code == again.status_code == 200, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert DisputeFile.objects.count() == 1
