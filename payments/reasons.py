"""Why a payment or one of its operations failed, in words for people (SPEC 8.1: raw
codes such as `refund_declined` never reach a person; the API keeps the code too)."""

MESSAGES = {
    "card_declined": "The card issuer declined the payment",
    "insufficient_funds": "The card has insufficient funds",
    "expired_card": "The card has expired",
    "incorrect_cvc": "The card's security code was wrong",
    "lost_card": "The card was reported lost",
    "stolen_card": "The card was reported stolen",
    "fraudulent": "The card issuer suspects fraud",
    "processing_error": "The gateway could not process the card",
    "payment_intent_requires_action": (
        "The card asks the customer to authenticate (3-D Secure), which a back office cannot do"
    ),
    "payment_intent_requires_payment_method": "The card issuer declined the payment",
    "gateway_unavailable": (
        "The gateway did not answer; it is being asked again, and anything it authorized "
        "will be released"
    ),
    "gateway_unavailable_released": (
        "The gateway did not answer in time but had authorized the payment; that "
        "authorization was released automatically, so the customer is not charged"
    ),
    "refund_declined": "The card issuer declined the refund",
    "refund_failed": "The gateway could not complete the refund",
    "refund_canceled": "The gateway canceled the refund",
    "charge_already_refunded": "The gateway says the payment was already refunded",
    "void_declined": "The gateway refused to release the authorization",
    "capture_declined": "The gateway refused the capture",
}
FALLBACK = "The gateway declined it"


def reason_message(code: str) -> str:
    """A sentence for a failure code ("card_declined: Your card was declined." counts as
    card_declined), never the code itself."""
    return MESSAGES.get((code or "").split(":", 1)[0].strip(), FALLBACK)
