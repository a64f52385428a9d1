"""POST /webhooks/stripe: Stripe's events, verified with STRIPE_WEBHOOK_SECRET.

Not part of the API under /api/v1 (no API key, no idempotency record: Stripe signs
each request, and the event id makes a retry harmless). A missing or wrong signature,
or one older than the SDK's tolerance (5 minutes, against replays), answers 400 and
stores nothing; any verified event answers 200, also one we ignore, so Stripe stops
retrying it. An error while handling answers 500, and Stripe delivers it again.
"""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        logger.error("a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set")
        return _refused("Webhook signing secret is not configured")
    signature = request.headers.get("Stripe-Signature", "")
    payload = request.body.decode("utf-8", errors="replace")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as error:
        logger.warning("stripe webhook refused: %s", error)
        return _refused("Invalid or missing Stripe-Signature")
    if not isinstance(event, dict):
        return _refused("The event is not a JSON object")
    outcome = services.receive_stripe_event(event)
    return JsonResponse({"received": True, "outcome": outcome})


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"error": {"type": "invalid_request", "message": message}}, status=400)
