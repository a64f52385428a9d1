"""A service records its own audit entry, in a few lines you can read in the service:

    with audit_trail(AuditEntry.Action.PAYMENT_CAPTURE, actor=actor, merchant=merchant,
                     target=("payment", payment_id), arguments={"amount": amount}) as trail:
        with transaction.atomic():
            ...                                  # lock, decide, write
            trail.succeeded(payment)             # the entry, in the same transaction

`succeeded(obj)` writes the entry inside the service's transaction, so a change and
its entry commit (or roll back) together; the entry reads as `obj.audit_summary()`
says. A refusal (a DomainError) leaving the `with` is recorded as refused, with the
error's message, *after* the service's transaction has rolled back, so the refusal
survives the rollback; the error is then re-raised. `arguments` (plain values, never a
secret) are kept on a refused entry, to show what was asked. Anything unexpected is
recorded as refused with the exception's class name only.

The customer an entry concerns (the Activity page filters by it) is the `customer_id`
given to `audit_trail` when the call knows it (restrictions, a blacklisting after a
chargeback), else the `customerId` of the subject's summary (whose payment was created,
refunded or charged back), known once the service found the payment. A refusal before
that has no customer, and is found by its target.

An audit entry that cannot be written (anything but a database error, which fails the
service's transaction with it) is logged and never replaces the service's answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection

from core.actors import Actor
from core.errors import DomainError

from .models import AuditEntry
from .services import record

logger = logging.getLogger(__name__)


@dataclass
class Trail:
    """One service call's entry: its action (which the service may refine once it
    knows, e.g. a void rather than a refund), and whether it was recorded."""

    action: str
    actor: Actor | None
    merchant: Any
    target: Any
    arguments: dict
    customer_id: str | None = None
    recorded: bool = False

    def succeeded(self, subject: Any = None, *, detail: str = "", metadata: dict | None = None):
        """Record success now, in the caller's transaction. `subject` is the model the
        entry is about; it says how it reads (`audit_summary()`) unless `detail` does."""
        if subject is not None and not detail:
            detail, summary = subject.audit_summary()
            metadata = {**summary, **(metadata or {})}
        if self.customer_id is None and metadata:
            self.customer_id = metadata.get("customerId")
        if subject is not None and isinstance(self.target, tuple) and not self.target[1]:
            self.target = subject  # made by this call: now it has an id
        self._record(AuditEntry.Outcome.SUCCEEDED, detail, metadata or {})

    def refused(self, error: BaseException) -> None:
        if connection.in_atomic_block and connection.needs_rollback:
            logger.error("audit entry not recorded (%s): the transaction is broken", self.action)
            return
        metadata: dict = {"arguments": _plain(self.arguments)}
        if isinstance(error, DomainError):
            detail = error.message
            metadata["errorType"] = error.type
            if error.param:
                metadata["param"] = error.param
            if rule := getattr(error, "rule", None):
                metadata["rule"] = rule
        else:
            detail = f"Unexpected error ({type(error).__name__})"
            metadata["errorType"] = "api_error"
        self._record(AuditEntry.Outcome.REFUSED, detail, metadata)

    def _record(self, outcome: str, detail: str, metadata: dict) -> None:
        self.recorded = True
        try:
            record(
                action=self.action,
                actor=self.actor,
                merchant=self.merchant,
                target=self.target,
                outcome=outcome,
                detail=detail,
                metadata=metadata,
                customer_id=self.customer_id,
            )
        except DatabaseError:
            raise
        except Exception:
            logger.exception("could not record an audit entry (%s, %s)", self.action, outcome)


def _plain(arguments: dict) -> dict:
    return {
        name: value
        for name, value in arguments.items()
        if value is None or isinstance(value, str | int | float | bool | dict | list)
    }


@contextmanager
def audit_trail(
    action: str,
    *,
    actor: Actor | None,
    merchant=None,
    target: Any = None,
    arguments: dict | None = None,
    customer_id: str | None = None,
) -> Iterator[Trail]:
    """Record one service call (see the module docstring). `merchant=None` records a
    platform-wide action (the blacklist); `customer_id` is the customer it concerns,
    when the call knows it."""
    trail = Trail(action, actor, merchant, target, arguments or {}, customer_id)
    try:
        yield trail
    except Exception as error:
        trail.refused(error)
        raise
    if not trail.recorded:
        trail.succeeded()
