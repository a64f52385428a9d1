"""The disputes API (SPEC 10): record-chargeback's new fields, the list, each
transition, bad input, and another merchant's dispute answering 404."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from chargebacks.models import Dispute
from payments.models import Payment
from tests.customers.conftest import error_of
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def payment(merchant):
    return PaymentFactory(
        merchant=merchant, customer=CustomerFactory(merchant=merchant), amount=4200
    )


@pytest.fixture
def dispute_id(api, payment) -> str:
    response = api.post(f"/payments/{payment.id}/record-chargeback", {})
    assert response.status_code == 200, response.content
    return response.json()["disputes"][0]["id"]


def assert_error(response, status: int, type_: str, param: str | None = None) -> dict:
    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["type"] == type_, error
    if param is not None:
        assert error.get("param") == param, error
    return error


def upload(api, dispute_id: str, content: bytes, name: str, **headers):
    return api.client.post(
        f"/api/v1/disputes/{dispute_id}/files",
        {"file": io.BytesIO(content) if not name else named(content, name)},
        headers={**api._headers(), **headers},
    )


def named(content: bytes, name: str):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def test_record_chargeback_takes_the_dispute_terms_and_embeds_the_dispute(api, payment):
    due = (timezone.now() + timedelta(days=5)).replace(microsecond=0)
    response = api.post(
        f"/payments/{payment.id}/record-chargeback",
        {
            "amount": 1500,
            "network": "mastercard",
            "reasonCode": "4837",
            "reasonCategory": "fraudulent",
            "evidenceDueBy": due.isoformat(),
        },
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["amountDisputed"] == 1500 and answer["isChargebacked"] is True
    assert answer["transactions"][-1]["amount"] == 1500
    [dispute] = answer["disputes"]
    assert dispute["paymentId"] == payment.id
    assert (dispute["amount"], dispute["currency"], dispute["status"]) == (
        1500,
        "USD",
        "needs_response",
    )
    assert (dispute["network"], dispute["reasonCode"], dispute["reasonCategory"]) == (
        "mastercard",
        "4837",
        "fraudulent",
    )
    assert dispute["evidenceDueBy"].startswith(due.strftime("%Y-%m-%dT%H:%M:%S"))
    assert dispute["isOverdue"] is False and dispute["evidenceSubmittedAt"] is None
    assert dispute["evidence"]["files"] == [] and dispute["createdBy"].startswith("API key")
    # The payment's own answer shows the disputed amount.
    assert api.get(f"/payments/{payment.id}").json()["amountDisputed"] == 1500


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount": 4201}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "10"}, "amount"),
        ({"network": "diners"}, "network"),
        ({"reasonCategory": "whatever"}, "reasonCategory"),
        ({"reasonCode": "x" * 21}, "reasonCode"),
        ({"evidenceDueBy": "2026-12-01T00:00:00"}, "evidenceDueBy"),
        ({"evidenceDueBy": "soon"}, "evidenceDueBy"),
        ({"evidenceDueBy": "0001-01-01T00:00:00+18:00"}, "evidenceDueBy"),
    ],
)
def test_bad_dispute_terms_answer_400_and_record_nothing(api, payment, body, param):
    response = api.post(f"/payments/{payment.id}/record-chargeback", body)
    assert_error(response, 400, "validation_error", param)
    assert not Payment.objects.get(pk=payment.pk).is_chargebacked
    assert not Dispute.objects.exists()


def test_get_and_list_disputes_soonest_deadline_first(api, merchant):
    now = timezone.now()
    ids = []
    for days in (9, 2, -1, 5):
        payment = PaymentFactory(merchant=merchant)
        response = api.post(
            f"/payments/{payment.id}/record-chargeback",
            {"evidenceDueBy": (now + timedelta(days=days)).isoformat()},
        )
        ids.append(response.json()["disputes"][0]["id"])
    late, soon = ids[2], ids[1]

    first = api.get("/disputes", {"limit": 2}).json()
    assert [d["id"] for d in first["data"]] == [late, soon]
    assert first["hasMore"] is True and first["nextCursor"] == soon
    second = api.get("/disputes", {"limit": 2, "startingAfter": soon}).json()
    assert [d["id"] for d in second["data"]] == [ids[3], ids[0]]
    assert second["hasMore"] is False and second["nextCursor"] is None

    overdue = api.get("/disputes", {"overdue": "true"}).json()["data"]
    assert [(d["id"], d["isOverdue"]) for d in overdue] == [(late, True)]
    assert len(api.get("/disputes", {"overdue": "false"}).json()["data"]) == 3
    due_before = (now + timedelta(days=3)).isoformat()
    assert [d["id"] for d in api.get("/disputes", {"dueBefore": due_before}).json()["data"]] == [
        late,
        soon,
    ]
    assert api.get("/disputes", {"status": "won"}).json()["data"] == []
    assert_error(api.get("/disputes", {"status": "open"}), 400, "validation_error", "status")
    assert_error(
        api.get("/disputes", {"startingAfter": "dp_nope"}), 400, "validation_error", "startingAfter"
    )
    assert api.get(f"/disputes/{soon}").json()["id"] == soon
    # An offset PostgreSQL cannot store is read in UTC.
    far_east = api.get("/disputes", {"dueBefore": "0782-12-22T15:29:26+18:10"})
    assert far_east.status_code == 200 and far_east.json()["data"] == []


def test_evidence_is_staged_then_submitted_once(api, dispute_id):
    staged = api.post(
        f"/disputes/{dispute_id}/evidence",
        {"productDescription": "A lamp", "refundPolicy": "30 days"},
    )
    assert staged.status_code == 200, staged.content
    merged = api.post(f"/disputes/{dispute_id}/evidence", {"refundPolicy": ""}).json()
    assert merged["evidence"]["productDescription"] == "A lamp"
    assert merged["evidence"]["refundPolicy"] == ""
    assert merged["status"] == "needs_response"

    submitted = api.post(f"/disputes/{dispute_id}/evidence", {"submit": True}).json()
    assert submitted["status"] == "under_review" and submitted["evidenceSubmittedAt"]

    later = api.post(f"/disputes/{dispute_id}/evidence", {"uncategorizedText": "more"})
    assert_error(later, 409, "conflict")
    assert Dispute.objects.get(pk=dispute_id).uncategorized_text == ""


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"productDescription": "x" * 20_001}, "productDescription"),
        ({"productDescription": 5}, "productDescription"),
        ({"files": ["x"]}, "files"),
        ({"submit": "yes"}, "submit"),
    ],
)
def test_bad_evidence_answers_400(api, dispute_id, body, param):
    assert_error(api.post(f"/disputes/{dispute_id}/evidence", body), 400, "validation_error", param)
    assert not Dispute.objects.get(pk=dispute_id).has_evidence


def test_accept_then_every_transition_is_409(api, dispute_id):
    accepted = api.post(f"/disputes/{dispute_id}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert_error(api.post(f"/disputes/{dispute_id}/accept"), 409, "conflict")
    assert_error(api.post(f"/disputes/{dispute_id}/close", {"outcome": "won"}), 409, "conflict")
    assert_error(
        api.post(f"/disputes/{dispute_id}/evidence", {"productDescription": "x"}), 409, "conflict"
    )
    assert Dispute.objects.get(pk=dispute_id).status == "accepted"


def test_close_won_gives_the_amount_back(api, dispute_id, payment):
    assert_error(api.post(f"/disputes/{dispute_id}/close", {"outcome": "won"}), 409, "conflict")
    api.post(f"/disputes/{dispute_id}/evidence", {"productDescription": "x", "submit": True})
    assert_error(
        api.post(f"/disputes/{dispute_id}/close", {"outcome": "draw"}),
        400,
        "validation_error",
        "outcome",
    )
    won = api.post(f"/disputes/{dispute_id}/close", {"outcome": "won"})
    assert won.status_code == 200 and won.json()["status"] == "won"
    answer = api.get(f"/payments/{payment.id}").json()
    assert answer["amountDisputed"] == 0
    assert answer["transactions"][-1]["type"] == "chargeback_reversal"
    assert answer["transactions"][-1]["amount"] == 4200


def test_transitions_are_idempotent_with_a_key(api, dispute_id):
    first = api.post(f"/disputes/{dispute_id}/accept", idempotency_key="accept-1")
    again = api.post(f"/disputes/{dispute_id}/accept", idempotency_key="accept-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()


def test_another_merchants_dispute_is_404_everywhere(api, other_api, dispute_id):
    api.post(f"/disputes/{dispute_id}/evidence", {"productDescription": "x"})
    file_id = upload(api, dispute_id, PDF, "receipt.pdf").json()["id"]
    for response in (
        other_api.get(f"/disputes/{dispute_id}"),
        other_api.post(f"/disputes/{dispute_id}/evidence", {"productDescription": "mine"}),
        other_api.post(f"/disputes/{dispute_id}/accept"),
        other_api.post(f"/disputes/{dispute_id}/close", {"outcome": "lost"}),
        upload(other_api, dispute_id, PDF, "x.pdf"),
        other_api.get(f"/disputes/{dispute_id}/files/{file_id}"),
    ):
        assert_error(response, 404, "not_found")
    assert other_api.get("/disputes").json()["data"] == []
    dispute = Dispute.objects.get(pk=dispute_id)
    assert (dispute.status, dispute.product_description, dispute.files.count()) == (
        "needs_response",
        "x",
        1,
    )


def test_an_unknown_dispute_is_404(api):
    assert_error(api.get("/disputes/dp_missing"), 404, "not_found")
    assert_error(api.post("/disputes/dp_missing/accept"), 404, "not_found")
