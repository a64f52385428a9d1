"""The record-chargeback flow (SPEC 6, seed 004) and the dispute that follows it
(SPEC 10): open, stage and submit evidence, add evidence files, accept, close.

Every transition runs in one transaction with the payment's row locked (then the
dispute's), decides from what it read under that lock, refuses a wrong state with
Conflict and changes nothing, and records its audit entry. Other apps build on these
functions (the Stripe webhook opens and closes disputes through them).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import TypedDict, Unpack

import filetype
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from pydantic.alias_generators import to_camel

from audit.models import AuditEntry
from audit.trail import audit_trail
from core.actors import Actor
from core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    ValidationFailed,
    found_or_not_found,
)
from customers import services as customer_services
from merchants.models import Merchant
from payments import dispute_ratio, rollup
from payments import selectors as payment_selectors
from payments import services as payment_services
from payments.models import Payment, Transaction

from . import events
from .models import (
    EVIDENCE_TEXT_FIELDS,
    MAX_EVIDENCE_FILE_SIZE,
    MAX_EVIDENCE_FILES,
    MAX_EVIDENCE_TEXT_LENGTH,
    MAX_REASON_CODE_LENGTH,
    Chargeback,
    Dispute,
    DisputeFile,
)

RESTRICTION_KEYS = ("restrict_cit", "restrict_mit", "restrict_reason")
# Evidence files are recognised by their first bytes (the `filetype` package reads the
# signatures), never by their name or the browser's content type.
EVIDENCE_CONTENT_TYPES = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}
SNIFF_BYTES = 262


# --- record a chargeback, open a dispute ---------------------------------------------------


class DisputeTerms(TypedDict, total=False):
    """The terms a chargeback's dispute is opened with, as record_chargeback and
    open_dispute take them (each optional; open_dispute's docstring has the rules)."""

    amount: int | None
    network: str | None
    reason_code: str | None
    reason_category: str | None
    evidence_due_by: datetime | None


def record_chargeback(
    *,
    merchant: Merchant,
    payment_id: str,
    actor: Actor,
    blacklist_customer: bool = False,
    blacklist_reason: str | None = None,
    customer_restrictions: dict | None = None,
    **dispute_terms: Unpack[DisputeTerms],
) -> Payment:
    """Record that the cardholder's bank took a payment back, opening its dispute;
    answers the payment with its customer, transactions and disputes.

    Rules:
    - The payment is the merchant's (a foreign or missing one is NotFound) and its
      authorization succeeded (a failed payment moved no money: invalid_request).
    - At most once: a payment already chargebacked is Conflict (409).
    - Sets isChargebacked and chargebackRecordedAt, adds a succeeded `chargeback`
      transaction of the disputed amount, a Chargeback record and its Dispute
      (see `open_dispute` for the dispute's terms); all keep who recorded it.
    - `blacklist_customer` blacklists the customer's email platform-wide, with this
      chargeback as the source and `blacklist_reason` (default: the chargeback) as
      why; `customer_restrictions` (restrict_cit, restrict_mit, restrict_reason; only
      the keys given change) acts as
      customers.services.update_restrictions. Either on a payment without a customer
      is validation_error (param blacklistCustomer / customerRestrictions).
    - All of it happens in one transaction with the payment row locked, or not at all.
    - It does not prevent a later capture or reversal.
    """
    with audit_trail(
        AuditEntry.Action.PAYMENT_CHARGEBACK,
        actor=actor,
        merchant=merchant,
        target=("payment", payment_id),
        arguments={
            "blacklist_customer": blacklist_customer,
            "amount": dispute_terms.get("amount"),
        },
    ) as trail:
        if not isinstance(blacklist_customer, bool):
            raise ValidationFailed(
                "blacklistCustomer must be true or false", param="blacklistCustomer"
            )
        restrictions = _clean_restrictions(customer_restrictions)
        terms = _CheckedTerms.clean(**dispute_terms)

        with transaction.atomic():
            payment = _chargeable_payment(merchant=merchant, payment_id=payment_id)
            if payment.customer_id is None:
                if blacklist_customer:
                    raise ValidationFailed(
                        "The payment has no customer to blacklist", param="blacklistCustomer"
                    )
                if restrictions.changes():
                    raise ValidationFailed(
                        "The payment has no customer to restrict", param="customerRestrictions"
                    )
            chargeback, _ = _charge_back(
                payment,
                actor=actor,
                terms=terms,
                blacklisted_customer=blacklist_customer,
                applied_restrictions=restrictions.changes(),
            )
            if restrictions.changes():
                customer_services.update_restrictions(
                    merchant=merchant,
                    customer_id=payment.customer_id,
                    actor=actor,
                    **restrictions.changes(),
                )
            if blacklist_customer:
                customer_services.add_to_blacklist(
                    email=payment.customer.email,
                    reason=blacklist_reason or f"Chargeback on payment {payment.id}",
                    actor=actor,
                    chargeback=chargeback,
                )
            trail.succeeded(chargeback)
    return payment_selectors.get_payment(merchant=merchant, payment_id=payment.id)


def open_dispute(
    *,
    merchant: Merchant,
    payment_id: str,
    actor: Actor,
    gateway_reference: str = "",
    **dispute_terms: Unpack[DisputeTerms],
) -> Dispute:
    """Open a dispute on a payment (a chargeback recorded without acting on the
    customer: what the gateway tells us, or record_chargeback's core); answers it.

    Rules (besides record_chargeback's on the payment: the merchant's, captured, not
    chargebacked yet, else NotFound / invalid_request / Conflict):
    - `amount` defaults to the captured amount; 0 < amount ≤ amount captured, else
      validation_error (param amount). Payment.amount_disputed grows by it.
    - `network` one of Dispute.Network (default other), `reason_category` one of
      Dispute.ReasonCategory (default general), `reason_code` as the network gave it
      (≤ 20 characters).
    - `evidence_due_by` given (an aware datetime; a past one makes the dispute
      overdue at once) or now + settings.DISPUTE_RESPONSE_DAYS.
    - `gateway_reference` (the gateway's dispute id) is unique per merchant: a second
      dispute with the same one is Conflict.
    """
    with audit_trail(
        AuditEntry.Action.PAYMENT_CHARGEBACK,
        actor=actor,
        merchant=merchant,
        target=("payment", payment_id),
        arguments={"amount": dispute_terms.get("amount"), "gateway_reference": gateway_reference},
    ) as trail:
        terms = _CheckedTerms.clean(**dispute_terms, gateway_reference=gateway_reference)
        with transaction.atomic():
            payment = _chargeable_payment(merchant=merchant, payment_id=payment_id)
            if (
                terms.gateway_reference
                and Dispute.objects.for_merchant(merchant)
                .filter(gateway_reference=terms.gateway_reference)
                .exists()
            ):
                raise Conflict(
                    f"A dispute with gateway reference '{terms.gateway_reference}' exists"
                )
            chargeback, dispute = _charge_back(payment, actor=actor, terms=terms)
            trail.succeeded(chargeback)
    return get_dispute(merchant=merchant, dispute_id=dispute.id)


class _CheckedTerms:
    """A dispute's terms as asked, checked before any lock is taken (the amount's
    upper bound needs the payment, and is checked under its lock)."""

    def __init__(self, **terms):
        self.__dict__.update(terms)

    @classmethod
    def clean(
        cls,
        *,
        amount=None,
        network=None,
        reason_code=None,
        reason_category=None,
        evidence_due_by=None,
        gateway_reference: str = "",
    ) -> _CheckedTerms:
        if amount is not None:
            if isinstance(amount, bool) or not isinstance(amount, int):
                raise ValidationFailed("Amount must be an integer of minor units", param="amount")
            if amount <= 0:
                raise ValidationFailed("Amount must be greater than 0", param="amount")
        network = network or Dispute.Network.OTHER
        if network not in Dispute.Network.values:
            raise ValidationFailed(
                f"Network must be one of {', '.join(Dispute.Network.values)}", param="network"
            )
        reason_category = reason_category or Dispute.ReasonCategory.GENERAL
        if reason_category not in Dispute.ReasonCategory.values:
            raise ValidationFailed(
                f"Reason category must be one of {', '.join(Dispute.ReasonCategory.values)}",
                param="reasonCategory",
            )
        reason_code = reason_code or ""
        if not isinstance(reason_code, str) or len(reason_code.strip()) > MAX_REASON_CODE_LENGTH:
            raise ValidationFailed(
                f"Reason code is at most {MAX_REASON_CODE_LENGTH} characters",
                param="reasonCode",
            )
        if evidence_due_by is not None and (
            not isinstance(evidence_due_by, datetime) or timezone.is_naive(evidence_due_by)
        ):
            raise ValidationFailed(
                "The evidence deadline must be a date and time with a time zone",
                param="evidenceDueBy",
            )
        if evidence_due_by is not None:
            evidence_due_by = in_utc(evidence_due_by, param="evidenceDueBy")
        if not isinstance(gateway_reference, str) or len(gateway_reference) > 255:
            raise ValidationFailed(
                "Gateway reference is at most 255 characters", param="gatewayReference"
            )
        return cls(
            amount=amount,
            network=network,
            reason_code=reason_code.strip(),
            reason_category=reason_category,
            evidence_due_by=evidence_due_by,
            gateway_reference=gateway_reference.strip(),
        )


def in_utc(moment: datetime, *, param: str) -> datetime:
    """An aware time in UTC (the database stores no offset beyond ±15:59), or
    validation_error for one that UTC cannot hold."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed("This time is out of range", param=param) from None


def _chargeable_payment(*, merchant: Merchant, payment_id: str) -> Payment:
    """The payment, locked (in the caller's transaction), refused unless it can take
    a chargeback: the merchant's (else NotFound), not chargebacked yet (else
    Conflict), its authorization succeeded (else invalid_request)."""
    payment = payment_services.locked_payment(merchant=merchant, payment_id=payment_id)
    if payment.is_chargebacked:
        raise Conflict(
            f"A chargeback was already recorded on payment '{payment.id}' "
            f"at {payment.chargeback_recorded_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if why := payment.chargeback_refusal():
        raise InvalidRequest(f"Payment cannot be chargebacked: {why}")
    return payment


def _charge_back(
    payment: Payment,
    *,
    actor: Actor,
    terms: _CheckedTerms,
    blacklisted_customer: bool = False,
    applied_restrictions: dict | None = None,
) -> tuple[Chargeback, Dispute]:
    """Under the payment's lock: the chargeback (section 6) and its dispute."""
    disputable = payment.amount_captured - payment.amount_disputed
    amount = disputable if terms.amount is None else terms.amount
    if amount > disputable or amount <= 0:
        raise ValidationFailed(
            f"Amount must be more than 0 and at most {payment.format_amount(disputable)}, "
            "the amount captured",
            param="amount",
        )
    now = timezone.now()
    due_by = terms.evidence_due_by or now + timedelta(days=settings.DISPUTE_RESPONSE_DAYS)
    payment.is_chargebacked = True
    payment.chargeback_recorded_at = now
    payment.amount_disputed += amount
    payment.save(
        update_fields=["is_chargebacked", "chargeback_recorded_at", "amount_disputed", "updated_at"]
    )
    ledger_entry = Transaction.objects.create(
        merchant=payment.merchant,
        payment=payment,
        type=Transaction.Type.CHARGEBACK,
        amount=amount,
        status=Transaction.Status.SUCCEEDED,
        order_id=payment.order_id,
        processed_at=now,
        **actor.as_fields(),
    )
    chargeback = Chargeback.objects.create(
        merchant=payment.merchant,
        payment=payment,
        blacklisted_customer=blacklisted_customer,
        applied_restrictions=applied_restrictions or {},
        **actor.as_fields(),
    )
    dispute = Dispute.objects.create(
        merchant=payment.merchant,
        payment=payment,
        chargeback=chargeback,
        amount=amount,
        currency=payment.currency,
        network=terms.network,
        reason_code=terms.reason_code,
        reason_category=terms.reason_category,
        evidence_due_by=due_by,
        gateway_reference=terms.gateway_reference,
        **actor.as_fields(),
    )
    rollup.record(payment, ledger_entry)
    dispute_ratio.count_dispute_opened(
        merchant_id=payment.merchant_id, opened_at=dispute.created_at
    )
    events.dispute_opened(dispute)  # webhook event, in this transaction
    return chargeback, dispute


def _clean_restrictions(restrictions: dict | None) -> customer_services.Restrictions:
    if restrictions is None:
        return customer_services.Restrictions()
    if not isinstance(restrictions, dict):
        raise ValidationFailed(
            "customerRestrictions must be an object", param="customerRestrictions"
        )
    unknown = set(restrictions) - set(RESTRICTION_KEYS)
    if unknown:
        raise ValidationFailed(
            f"Unknown customer restriction: {', '.join(sorted(unknown))}",
            param="customerRestrictions",
        )
    return customer_services.clean_restrictions(
        **restrictions, param_prefix="customerRestrictions."
    )


# --- the dispute's transitions ----------------------------------------------------------------


def get_dispute(*, merchant: Merchant, dispute_id: str) -> Dispute:
    """The merchant's dispute with its payment and files (NotFound for a foreign id)."""
    queryset = (
        Dispute.objects.for_merchant(merchant)
        .select_related("payment", "created_by", "created_by_api_key")
        .prefetch_related("files")
    )
    return found_or_not_found(queryset, dispute_id, name="dispute")


def _locked_dispute(*, merchant: Merchant, dispute_id: str) -> tuple[Payment, Dispute]:
    """The payment's row lock first (every write to a payment takes it), then the
    dispute's; both read again under the locks."""
    payment_id = (
        Dispute.objects.for_merchant(merchant)
        .filter(pk=dispute_id)
        .values_list("payment_id", flat=True)
        .first()
    )
    if payment_id is None:
        raise NotFound(f"No such dispute: '{dispute_id}'", param="id")
    payment = payment_services.locked_payment(merchant=merchant, payment_id=payment_id)
    dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
    dispute.payment = payment
    return payment, dispute


def stage_evidence(
    *,
    merchant: Merchant,
    actor: Actor,
    dispute_id: str,
    evidence: dict,
    submit: bool = False,
) -> Dispute:
    """Save evidence fields on a dispute that needs a response (a merge: the fields
    given replace theirs, "" clears one, the others stay); with `submit`, send the
    evidence to the network: status under_review, evidence_submitted_at now, and no
    evidence can change afterwards.

    Rules: only while needs_response (else Conflict, nothing saved); the fields are
    EVIDENCE_TEXT_FIELDS, strings of at most 20,000 characters (validation_error with
    the camelCase field as param); submitting needs some evidence (a field or a file)
    and a deadline not yet past (Conflict).
    """
    action = AuditEntry.Action.DISPUTE_SUBMIT if submit else AuditEntry.Action.DISPUTE_EVIDENCE
    with audit_trail(
        action,
        actor=actor,
        merchant=merchant,
        target=("dispute", dispute_id),
        arguments={"fields": sorted(evidence) if isinstance(evidence, dict) else None},
    ) as trail:
        changes = _clean_evidence(evidence)
        if not isinstance(submit, bool):
            raise ValidationFailed("submit must be true or false", param="submit")
        with transaction.atomic():
            _, dispute = _locked_dispute(merchant=merchant, dispute_id=dispute_id)
            if why := dispute.evidence_refusal():
                raise Conflict(f"Evidence cannot be changed: {why}")
            for name, value in changes.items():
                setattr(dispute, name, value)
            update_fields = [*changes, "updated_at"]
            if submit:
                if why := dispute.submit_refusal():
                    raise Conflict(f"Evidence cannot be submitted: {why}")
                if not dispute.has_evidence and not dispute.files.exists():
                    raise ValidationFailed(
                        "Add evidence (a field or a file) before submitting", param="submit"
                    )
                dispute.status = Dispute.Status.UNDER_REVIEW
                dispute.evidence_submitted_at = timezone.now()
                update_fields += ["status", "evidence_submitted_at"]
            dispute.save(update_fields=update_fields)
            if submit:
                events.evidence_submitted(dispute)  # webhook event, in this transaction
            trail.succeeded(dispute)
    return get_dispute(merchant=merchant, dispute_id=dispute.id)


def _clean_evidence(evidence: object) -> dict[str, str]:
    if not isinstance(evidence, dict):
        raise ValidationFailed("Evidence must be an object of text fields", param="evidence")
    changes = {}
    for name, value in evidence.items():
        if name not in EVIDENCE_TEXT_FIELDS:
            raise ValidationFailed(f"Unknown evidence field: {name}", param="evidence")
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_EVIDENCE_TEXT_LENGTH:
            raise ValidationFailed(
                f"Evidence is text of at most {MAX_EVIDENCE_TEXT_LENGTH:,} characters",
                param=to_camel(name),
            )
        if "\x00" in value:
            raise ValidationFailed("Evidence cannot hold a NUL character", param=to_camel(name))
        changes[name] = value
    return changes


def add_evidence_file(*, merchant: Merchant, actor: Actor, dispute_id: str, upload) -> DisputeFile:
    """Attach one evidence file (a Django UploadedFile) to a dispute that needs a
    response, stored through the `dispute_evidence` storage; answers the file.

    Rules: PDF, PNG or JPEG by content (its first bytes), whatever its name says;
    1 byte to 5 MB; at most 10 files a dispute (validation_error, param file); only
    while needs_response (Conflict). A refused file is never stored.
    """
    name = _file_name(getattr(upload, "name", ""))
    with audit_trail(
        AuditEntry.Action.DISPUTE_FILE,
        actor=actor,
        merchant=merchant,
        target=("dispute", dispute_id),
        arguments={"fileName": name, "size": getattr(upload, "size", None)},
    ) as trail:
        content_type = _evidence_content_type(upload)
        stored_name = None
        try:
            with transaction.atomic():
                _, dispute = _locked_dispute(merchant=merchant, dispute_id=dispute_id)
                if why := dispute.evidence_refusal():
                    raise Conflict(f"Evidence cannot be added: {why}")
                if dispute.files.count() >= MAX_EVIDENCE_FILES:
                    raise ValidationFailed(
                        f"A dispute holds at most {MAX_EVIDENCE_FILES} evidence files",
                        param="file",
                    )
                evidence_file = DisputeFile(
                    merchant=merchant,
                    dispute=dispute,
                    name=name,
                    size=upload.size,
                    content_type=content_type,
                    **actor.as_fields(),
                )
                upload.seek(0)
                evidence_file.file.save(name, upload, save=False)
                stored_name = evidence_file.file.name
                evidence_file.save(force_insert=True)
                dispute.save(update_fields=["updated_at"])
                trail.succeeded(evidence_file)
        except BaseException:
            # The row is gone with the transaction: so is the file.
            if stored_name:
                DisputeFile.file.field.storage.delete(stored_name)
            raise
    return evidence_file


def _file_name(name: object) -> str:
    name = os.path.basename(str(name or "")).strip().replace("\x00", "")
    return name[-255:] or "evidence"


def _evidence_content_type(upload) -> str:
    size = getattr(upload, "size", None)
    if not size:
        raise ValidationFailed("The file is empty", param="file")
    if size > MAX_EVIDENCE_FILE_SIZE:
        raise ValidationFailed(
            f"The file is larger than {MAX_EVIDENCE_FILE_SIZE // (1024 * 1024)} MB", param="file"
        )
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in EVIDENCE_CONTENT_TYPES:
        raise ValidationFailed(
            "The file must be a PDF, PNG or JPEG (checked by its content, not its name)",
            param="file",
        )
    return kind.mime


def accept_dispute(*, merchant: Merchant, actor: Actor, dispute_id: str) -> Dispute:
    """The merchant gives up: needs_response → accepted (the disputed amount stays
    with the cardholder's bank). Any other state is Conflict."""
    with (
        audit_trail(
            AuditEntry.Action.DISPUTE_ACCEPT,
            actor=actor,
            merchant=merchant,
            target=("dispute", dispute_id),
        ) as trail,
        transaction.atomic(),
    ):
        _, dispute = _locked_dispute(merchant=merchant, dispute_id=dispute_id)
        if why := dispute.accept_refusal():
            raise Conflict(f"Dispute cannot be accepted: {why}")
        dispute.status = Dispute.Status.ACCEPTED
        dispute.outcome_recorded_at = timezone.now()
        dispute.save(update_fields=["status", "outcome_recorded_at", "updated_at"])
        events.dispute_decided(dispute)  # webhook event, in this transaction
        trail.succeeded(dispute)
    return get_dispute(merchant=merchant, dispute_id=dispute.id)


def close_dispute(
    *,
    merchant: Merchant,
    actor: Actor,
    dispute_id: str,
    outcome: str,
    reported_by_gateway: bool = False,
) -> Dispute:
    """Record the network's decision: under_review → won | lost (and a dispute left
    unanswered past its deadline → lost). Any other state is Conflict.
    `reported_by_gateway` (the Stripe webhook): the gateway's decision is recorded on a
    dispute still needing a response too (it may have been answered at the gateway).

    Won: the disputed amount comes back: Payment.amount_disputed shrinks by it and a
    succeeded `chargeback_reversal` transaction of it joins the ledger (counted in the
    overview's daily totals). Lost: nothing moves; the amount stays disputed.
    """
    with audit_trail(
        AuditEntry.Action.DISPUTE_CLOSE,
        actor=actor,
        merchant=merchant,
        target=("dispute", dispute_id),
        arguments={"outcome": outcome, "reported_by_gateway": reported_by_gateway},
    ) as trail:
        if outcome not in (Dispute.Status.WON, Dispute.Status.LOST):
            raise ValidationFailed("Outcome must be won or lost", param="outcome")
        with transaction.atomic():
            payment, dispute = _locked_dispute(merchant=merchant, dispute_id=dispute_id)
            if why := dispute.close_refusal(outcome, reported_by_gateway=reported_by_gateway):
                raise Conflict(f"Dispute outcome cannot be recorded: {why}")
            now = timezone.now()
            dispute.status = outcome
            dispute.outcome_recorded_at = now
            dispute.save(update_fields=["status", "outcome_recorded_at", "updated_at"])
            if outcome == Dispute.Status.WON:
                payment.amount_disputed -= dispute.amount
                payment.save(update_fields=["amount_disputed", "updated_at"])
                reversal = Transaction.objects.create(
                    merchant=merchant,
                    payment=payment,
                    type=Transaction.Type.CHARGEBACK_REVERSAL,
                    amount=dispute.amount,
                    status=Transaction.Status.SUCCEEDED,
                    order_id=payment.order_id,
                    processed_at=now,
                    **actor.as_fields(),
                )
                rollup.record(payment, reversal)
            events.dispute_decided(dispute)  # webhook event, in this transaction
            trail.succeeded(dispute)
    return get_dispute(merchant=merchant, dispute_id=dispute.id)
