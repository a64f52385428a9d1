"""Stripe events as Stripe sends them: JSON bodies shaped like Stripe's, signed the way
Stripe signs (`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>">`), so
the view's real verifier (stripe.Webhook.construct_event) checks them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

SECRET = "whsec_test_backoffice"
URL = "/webhooks/stripe"


def sign(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def event(event_type: str, obj: dict, *, event_id: str | None = None, previous=None) -> dict:
    data = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": data,
    }


def refund_object(reference: str, *, status: str, amount: int = 1000, **extra) -> dict:
    return {
        "id": reference,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": "ch_3Pq0000000000000",
        "created": int(time.time()) - 60,
        "currency": "usd",
        "metadata": {},
        "payment_intent": "pi_3Pq0000000000000",
        "reason": None,
        "status": status,
        **extra,
    }


def dispute_object(
    payment_intent: str,
    *,
    dispute_id: str = "du_1Pq0000000000000",
    status: str = "needs_response",
    amount: int = 2500,
    reason: str = "fraudulent",
    due_by: int | None = None,
    network: str = "visa",
    **extra,
) -> dict:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": "ch_3Pq0000000000000",
        "created": int(time.time()),
        "currency": "usd",
        "evidence_details": {
            "due_by": due_by or int(time.time()) + 7 * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "payment_method_details": {"card": {"brand": network, "network_reason_code": "10.4"}},
        "reason": reason,
        "status": status,
        **extra,
    }


def post(client, body: dict | str, *, signature: str | None = "sign", secret: str = SECRET):
    """POST an event to the webhook; `signature="sign"` signs it properly, None sends none."""
    text = body if isinstance(body, str) else json.dumps(body)
    headers = {}
    if signature == "sign":
        headers["Stripe-Signature"] = sign(text, secret=secret)
    elif signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(URL, data=text, content_type="application/json", headers=headers)
