"""Auditing a service call: success and refusal, in a few explicit lines per service.

    from audit.hooks import audit_payment_reversal

    @audit_payment_reversal
    def reverse_payment(*, merchant, payment_id, actor, ...): ...

(the ready-made decorators at the end of this module are `audited(...)` configured for
each of the product's services), or, at a call site, `audited_call(action, actor,
merchant, target_type, target_id, service, **service_kwargs)`.

The wrapper calls the service; when it returns, a `succeeded` entry describing the
result (amounts included) is recorded; when it raises a DomainError, a `refused` entry
with the error's message is recorded and the error re-raised. Services are
keyword-only, so the wrapper reads the actor, merchant and target id from their
keyword arguments.

Why a wrapper and not a call inside the service: a refusal is raised inside the
service's `transaction.atomic()`, which rolls back everything written in it. The
wrapper sits outside that block, so it records the refusal after the rollback, and the
refusal survives. (A caller that wraps the service in a transaction of its own and then
rolls it back takes the entry with it: record_chargeback's nested restriction and
blacklist calls roll back with it, which is right, since they did not happen either.
Views, API endpoints and tasks call services outside any transaction.)

An unexpected exception (a bug, a database error) is recorded as refused too, with only
the exception's class name; a failure to write the audit entry is logged and never
replaces the service's own answer.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from merchants.errors import DomainError

from .models import AuditEntry
from .services import record

logger = logging.getLogger(__name__)

# Arguments that never go into an entry, whatever the service.
_SECRET_ARGUMENTS = {"raw_key", "secret", "password", "token", "card_number"}
_NOT_ARGUMENTS = {"merchant", "actor", "created_by", "revoked_by", "added_by", "removed_by"}


@dataclass
class AuditedCall:
    """What a describer or an action chooser sees of one service call."""

    kwargs: dict[str, Any]
    result: Any = None
    error: BaseException | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return self.error is not None


ActionSpec = str | Callable[[AuditedCall], str]
KwargSpec = str | Callable[[AuditedCall], Any] | None


def _resolve(spec: KwargSpec, call: AuditedCall) -> Any:
    if spec is None:
        return None
    if callable(spec):
        return spec(call)
    return call.kwargs.get(spec)


# --- how a result reads in the trail ------------------------------------------------------


def _minor(amount: int, currency: str) -> str:
    try:
        from payments import money

        return f"{money.format_minor(amount, currency)} ({amount} {currency} minor units)"
    except Exception:  # an unknown currency must not stop the audit
        return f"{amount} {currency} minor units"


def describe_result(result: Any) -> tuple[str, dict]:
    """A one-line summary and structured facts of what a service answered."""
    from chargebacks.models import Chargeback
    from customers.models import BlacklistEntry, Customer
    from merchants.models import ApiKey
    from payments.models import Payment, Transaction

    if isinstance(result, Transaction):
        payment = result.payment
        external = " (external, recorded only)" if result.is_external else ""
        return (
            f"{result.type} of {_minor(result.amount, payment.currency)} on {payment.id}"
            f"{external}: {result.status}",
            {
                "paymentId": payment.id,
                "transactionId": result.id,
                "type": result.type,
                "amount": result.amount,
                "currency": payment.currency,
                "status": result.status,
                "isExternal": result.is_external,
                "reason": result.reason,
                "amountCaptured": payment.amount_captured,
                "amountReversed": payment.amount_reversed,
            },
        )
    if isinstance(result, Payment):
        return (
            f"payment {result.id}: {result.status}, authorized "
            f"{_minor(result.amount, result.currency)}, captured {result.amount_captured}, "
            f"reversed {result.amount_reversed}",
            {
                "paymentId": result.id,
                "amount": result.amount,
                "currency": result.currency,
                "status": result.status,
                "initiator": result.initiator,
                "amountCaptured": result.amount_captured,
                "amountReversed": result.amount_reversed,
                "isChargebacked": result.is_chargebacked,
            },
        )
    if isinstance(result, ApiKey):
        state = "revoked" if result.revoked_at else "active"
        return (
            f"{result.mode} key {result.prefix}… '{result.name}': {state}",
            {"keyId": result.id, "prefix": result.prefix, "mode": result.mode},
        )
    if isinstance(result, Customer):
        return (
            f"customer {result.id}: restrictCit={result.restrict_cit}, "
            f"restrictMit={result.restrict_mit}, reason '{result.restrict_reason}'",
            {
                "customerId": result.id,
                "restrictCit": result.restrict_cit,
                "restrictMit": result.restrict_mit,
                "restrictReason": result.restrict_reason,
            },
        )
    if isinstance(result, BlacklistEntry):
        removed = f", removed: {result.removal_reason}" if result.removed_at else ""
        return (
            f"{result.email} ({result.source}): {result.reason}{removed}",
            {"entryId": result.pk, "email": result.email, "source": result.source},
        )
    if isinstance(result, Chargeback):
        return (
            f"chargeback on {result.payment_id}: blacklisted={result.blacklisted_customer}, "
            f"restrictions={result.applied_restrictions}",
            {
                "chargebackId": result.pk,
                "paymentId": result.payment_id,
                "blacklistedCustomer": result.blacklisted_customer,
                "appliedRestrictions": result.applied_restrictions,
            },
        )
    if isinstance(result, tuple) and result:  # e.g. create_api_key -> (key, secret)
        return describe_result(result[0])
    return ("" if result is None else str(result)[:200]), {}


def _target_id_of(result: Any) -> str:
    from payments.models import Transaction

    if isinstance(result, tuple) and result:
        result = result[0]
    if isinstance(result, Transaction):
        return result.payment_id
    return str(getattr(result, "pk", "") or "")


def _arguments(kwargs: dict) -> dict:
    """The call's plain arguments (amounts, reason, flags...), never a secret."""
    plain = {}
    for name, value in kwargs.items():
        if name in _SECRET_ARGUMENTS or name in _NOT_ARGUMENTS:
            continue
        if value is None or isinstance(value, str | int | float | bool | dict | list):
            plain[name] = value
    return plain


# --- action choosers ------------------------------------------------------------------------


def reversal_action(call: AuditedCall) -> str:
    """payment.refund_external / payment.refund / payment.void for reverse_payment: from
    the reversal made, or, when refused, from the payment's state (refund when unknown)."""
    from payments.models import Payment, Transaction

    if call.kwargs.get("is_external"):
        return AuditEntry.Action.PAYMENT_REFUND_EXTERNAL
    if isinstance(call.result, Transaction):
        if call.result.type == Transaction.Type.VOID:
            return AuditEntry.Action.PAYMENT_VOID
        return AuditEntry.Action.PAYMENT_REFUND
    merchant, payment_id = call.kwargs.get("merchant"), call.kwargs.get("payment_id")
    if merchant is not None and payment_id:
        captured = (
            Payment.objects.for_merchant(merchant)
            .filter(id=payment_id)
            .values_list("is_captured", flat=True)
            .first()
        )
        if captured is False:
            return AuditEntry.Action.PAYMENT_VOID
    return AuditEntry.Action.PAYMENT_REFUND


# --- the wrappers -----------------------------------------------------------------------------


def _record_safely(
    action: ActionSpec,
    call: AuditedCall,
    *,
    describe: Callable[[AuditedCall], tuple[str, dict]] | None = None,
    **fields,
) -> None:
    """Record, but never let the audit replace the service's own answer: a failure
    here is logged (at ERROR, for alerting) and swallowed."""
    if connection.in_atomic_block and connection.needs_rollback:
        logger.error(
            "audit entry not recorded (%s): the caller's transaction is broken",
            fields.get("outcome"),
        )
        return
    try:
        if describe is not None:
            fields["detail"], fields["metadata"] = describe(call)
        record(action=_resolve_action(action, call), **fields)
    except Exception:
        logger.exception("could not record an audit entry (%s)", fields.get("outcome"))


def audited_call(
    action: ActionSpec,
    actor: Any,
    merchant: Any,
    target_type: str,
    target_id: Any,
    fn: Callable[..., Any],
    /,
    **kwargs: Any,
) -> Any:
    """Call `fn(**kwargs)`, record its outcome, answer its result or re-raise.

    `action` is an AuditEntry.Action value or a function of the AuditedCall choosing
    one. `target_id` None takes the id from the result (a Transaction's payment). The
    first six parameters are positional-only, so `kwargs` may hold the service's own
    `actor` and `merchant`:

        audited_call("payment.capture", actor, merchant, "payment", payment_id,
                     _capture_payment, merchant=merchant, payment_id=payment_id,
                     actor=actor, amount=amount)
    """
    return run_audited(
        action,
        actor=actor,
        merchant=merchant,
        target_type=target_type,
        target_id=target_id,
        fn=fn,
        kwargs=kwargs,
    )


def run_audited(
    action: ActionSpec,
    *,
    actor: Any,
    merchant: Any,
    target_type: str,
    target_id: Any,
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
    describe: Callable[[AuditedCall], tuple[str, dict]] | None = None,
) -> Any:
    """audited_call with the service's arguments as a dict, and an optional
    `describe(call) -> (detail, metadata)` replacing the default summary."""
    call = AuditedCall(kwargs=kwargs)
    try:
        call.result = fn(**kwargs)
    except DomainError as error:
        call.error = error
        metadata = {"errorType": error.type, "arguments": _arguments(kwargs)}
        if error.param:
            metadata["param"] = error.param
        if getattr(error, "rule", None):
            metadata["rule"] = error.rule
        _record_safely(
            action,
            call,
            actor=actor,
            merchant=merchant,
            target=(target_type, target_id or ""),
            outcome=AuditEntry.Outcome.REFUSED,
            detail=error.message,
            metadata=metadata,
        )
        raise
    except Exception as error:
        call.error = error
        _record_safely(
            action,
            call,
            actor=actor,
            merchant=merchant,
            target=(target_type, target_id or ""),
            outcome=AuditEntry.Outcome.REFUSED,
            detail=f"Unexpected error ({type(error).__name__})",
            metadata={"errorType": "api_error", "arguments": _arguments(kwargs)},
        )
        raise
    _record_safely(
        action,
        call,
        describe=describe or _default_describe,
        actor=actor,
        merchant=merchant,
        target=(target_type, target_id or _target_id_of(call.result)),
        outcome=AuditEntry.Outcome.SUCCEEDED,
    )
    return call.result


def _default_describe(call: AuditedCall) -> tuple[str, dict]:
    return describe_result(call.result)


def _resolve_action(action: ActionSpec, call: AuditedCall) -> str:
    return action(call) if callable(action) else action


def audited(
    action: ActionSpec,
    *,
    target_type: str,
    target_id: KwargSpec = None,
    actor: KwargSpec = "actor",
    merchant: KwargSpec = "merchant",
    describe: Callable[[AuditedCall], tuple[str, dict]] | None = None,
) -> Callable:
    """Decorate a keyword-only service so every call is audited (see audited_call).

    `actor`, `merchant` and `target_id` name the keyword argument holding each (or are
    functions of the AuditedCall); the actor may be an Actor or a User. `merchant=None`
    records a platform-wide action (the blacklist).
    """

    def decorator(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if args:  # services are keyword-only; positional calls are not audited shapes
                raise TypeError(f"{fn.__name__}() takes keyword arguments only")
            before = AuditedCall(kwargs=kwargs)
            return run_audited(
                action,
                actor=_resolve(actor, before),
                merchant=_resolve(merchant, before),
                target_type=target_type,
                target_id=_resolve(target_id, before),
                fn=fn,
                kwargs=kwargs,
                describe=describe,
            )

        wrapper.__audited__ = True
        return wrapper

    return decorator


# --- the product's audited services --------------------------------------------------------------
#
# One decorator per public service, applied in the service modules:
#
#     from audit.hooks import audit_payment_reversal
#
#     @audit_payment_reversal
#     def reverse_payment(*, merchant, payment_id, actor, ...): ...


def describe_chargeback(call: AuditedCall) -> tuple[str, dict]:
    """record_chargeback answers the payment; the entry describes its chargeback."""
    payment = call.result
    detail, metadata = describe_result(payment)
    chargeback = getattr(payment, "chargeback", None)
    if chargeback is not None:
        detail, extra = describe_result(chargeback)
        metadata = {**metadata, **extra}
    amount = payment.amount_captured or payment.amount
    return f"{detail}; amount {_minor(amount, payment.currency)}", metadata


def _chargeback_merchant(call: AuditedCall) -> Any:
    chargeback = call.kwargs.get("chargeback")
    return chargeback.merchant if chargeback is not None else None


audit_payment_create = audited(AuditEntry.Action.PAYMENT_CREATE, target_type="payment")
audit_payment_capture = audited(
    AuditEntry.Action.PAYMENT_CAPTURE, target_type="payment", target_id="payment_id"
)
audit_payment_reversal = audited(reversal_action, target_type="payment", target_id="payment_id")
audit_chargeback = audited(
    AuditEntry.Action.PAYMENT_CHARGEBACK,
    target_type="payment",
    target_id="payment_id",
    describe=describe_chargeback,
)
audit_customer_restrict = audited(
    AuditEntry.Action.CUSTOMER_RESTRICT, target_type="customer", target_id="customer_id"
)
# The blacklist is platform-wide: the merchant is the chargeback's, if it came from one.
audit_blacklist_add = audited(
    AuditEntry.Action.BLACKLIST_ADD, target_type="blacklistentry", merchant=_chargeback_merchant
)
audit_blacklist_remove = audited(
    AuditEntry.Action.BLACKLIST_REMOVE,
    target_type="blacklistentry",
    target_id="entry_id",
    merchant=None,
)
audit_api_key_create = audited(
    AuditEntry.Action.API_KEY_CREATE, target_type="apikey", actor="created_by"
)
audit_api_key_revoke = audited(
    AuditEntry.Action.API_KEY_REVOKE, target_type="apikey", target_id="key_id", actor="revoked_by"
)


__all__ = [
    "AuditedCall",
    "audit_api_key_create",
    "audit_api_key_revoke",
    "audit_blacklist_add",
    "audit_blacklist_remove",
    "audit_chargeback",
    "audit_customer_restrict",
    "audit_payment_capture",
    "audit_payment_create",
    "audit_payment_reversal",
    "audited",
    "audited_call",
    "describe_chargeback",
    "describe_result",
    "reversal_action",
    "run_audited",
]
