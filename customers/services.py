"""Customer writes: payment checks, restrictions, the blacklist."""

from django.db import transaction
from django.db.models import F

from merchants.errors import DomainError, ValidationFailed
from merchants.models import Merchant

from .models import BlacklistEntry, Customer, normalize_email


class CustomerRestricted(DomainError):
    type = "customer_restricted"
    status = 403

    def __init__(self, message: str, *, rule: str):
        super().__init__(message)
        self.rule = rule


def is_email_blacklisted(email: str) -> bool:
    return BlacklistEntry.objects.active().for_email(email).exists()


def check_payment_allowed(*, email: str, customer: Customer | None, initiator: str) -> None:
    """SPEC 5, before any gateway call: a blacklisted email is refused at every
    merchant; restrictCit refuses CIT payments; restrictMit refuses MIT payments.
    A refusal is counted on the customer (in its own transaction, so the count stays
    although the payment is never created)."""
    rule = None
    if email and is_email_blacklisted(email):
        rule, message = "blacklisted", "Payment refused: the customer's email is blacklisted"
    elif customer is not None and initiator == "CIT" and customer.restrict_cit:
        rule, message = (
            "restrict_cit",
            "Payment refused: the customer is restricted from customer-initiated payments",
        )
    elif customer is not None and initiator == "MIT" and customer.restrict_mit:
        rule, message = (
            "restrict_mit",
            "Payment refused: the customer is restricted from merchant-initiated payments",
        )
    if rule is None:
        return
    if customer is not None:
        with transaction.atomic():
            Customer.objects.filter(pk=customer.pk).update(
                refused_payment_attempts=F("refused_payment_attempts") + 1
            )
    raise CustomerRestricted(message, rule=rule)


def find_customer_by_email(*, merchant: Merchant, email: str) -> Customer | None:
    return (
        Customer.objects.for_merchant(merchant).filter(email__iexact=normalize_email(email)).first()
    )


def get_or_create_customer(*, merchant: Merchant, email: str, name: str = "") -> Customer:
    """The merchant's customer with this email (case-insensitive), created if new."""
    email = (email or "").strip()
    if not email:
        raise ValidationFailed("Customer email is required", param="customer.email")
    existing = find_customer_by_email(merchant=merchant, email=email)
    if existing is not None:
        return existing
    customer, _ = Customer.objects.get_or_create(
        merchant=merchant, email__iexact=email, defaults={"email": email, "name": name}
    )
    return customer
