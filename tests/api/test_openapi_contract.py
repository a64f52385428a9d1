"""The API honours its own OpenAPI document: schemathesis generates requests from
/api/v1/openapi.json (valid and invalid ones) and checks that no answer is a server
error, and that every answer's status code, content type and body are the documented
ones. Requests carry a real key and a fresh idempotency key, and path ids are swapped
for real payments often enough that the happy paths run too."""

import uuid
import zlib

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from chargebacks.models import Dispute, DisputeFile
from chargebacks.services import add_evidence_file, record_chargeback, stage_evidence
from core.actors import SYSTEM
from tests.factories import CustomerFactory, PaymentFactory

pytestmark = pytest.mark.django_db

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def in_test_transaction(application):
    """The project's WSGI application, but keeping the test's database connection open:
    like django.test.Client, requests do not close it when they finish (which would
    end the test's transaction)."""

    def app(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = application(environ, start_response)
            try:
                body = b"".join(response)
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]

    return app


# Loaded when the module is collected (the document needs no database). Not through
# schemathesis.pytest.from_fixture: its lazy loading breaks on pytest 9 (`_nodeid`).
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", in_test_transaction(get_wsgi_application())
)


@pytest.fixture
def real_payment_ids(merchant):
    customer = CustomerFactory(merchant=merchant)
    return [
        PaymentFactory(merchant=merchant, customer=customer).id,
        PaymentFactory(merchant=merchant, capture=False).id,
        PaymentFactory(merchant=merchant, amount=666).id,  # declined: failed
        PaymentFactory(merchant=merchant, amount=100_000).id,
    ]


@pytest.fixture
def real_dispute_ids(merchant, settings, tmp_path):
    """Disputes in each state that takes a transition, one with an evidence file."""
    settings.MEDIA_ROOT = tmp_path
    ids = []
    for _ in range(3):
        payment = PaymentFactory(merchant=merchant)
        record_chargeback(merchant=merchant, payment_id=payment.id, actor=SYSTEM)
        ids.append(Dispute.objects.get(payment=payment).id)
    stage_evidence(
        merchant=merchant,
        actor=SYSTEM,
        dispute_id=ids[1],
        evidence={"product_description": "Delivered"},
        submit=True,
    )
    add_evidence_file(
        merchant=merchant,
        actor=SYSTEM,
        dispute_id=ids[0],
        upload=SimpleUploadedFile("receipt.pdf", b"%PDF-1.4\n%%EOF\n"),
    )
    return ids


def use_real_ids(case, ids: list[str], name: str = "payment_id") -> None:
    """Replace a generated id by a real one for most cases (deterministically, from
    the generated value), leaving the rest to exercise 404."""
    parameters = case.path_parameters or {}
    if name in parameters:
        pick = zlib.crc32(str(parameters[name]).encode()) % (len(ids) + 1)
        if pick < len(ids):
            parameters[name] = ids[pick]
    if name == "dispute_id" and "file_id" in parameters and parameters.get(name) == ids[0]:
        parameters["file_id"] = DisputeFile.objects.get(dispute_id=ids[0]).id


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_openapi_document(case, api_key, real_payment_ids, real_dispute_ids):
    use_real_ids(case, real_payment_ids)
    use_real_ids(case, real_dispute_ids, "dispute_id")

    case.call_and_validate(
        headers={
            "Authorization": f"Bearer {api_key[1]}",
            "Idempotency-Key": f"contract-{uuid.uuid4()}",
        },
        checks=CHECKS,
    )
