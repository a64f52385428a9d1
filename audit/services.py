"""Writing the audit trail.

`record()` appends one entry. The source IP comes from the request being served
(audit.middleware.AuditContextMiddleware); the actor is given explicitly. Nothing
secret is ever written: details and metadata pass through `redact()`, which masks raw
API keys (down to the stored prefix) and anything that looks like a card number.

Services record their own calls, refusals included, through audit.trail.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import models

from core.actors import Actor
from core.request_context import current_ip, current_request_id

from .models import AuditEntry

MAX_DETAIL_LENGTH = 2000
API_KEY_PREFIX_LENGTH = 12  # what merchants.models.ApiKey keeps in clear

_RAW_API_KEY = re.compile(r"sk_(?:test|live)_[A-Za-z0-9]+")
# 13 to 19 digits, optionally grouped by spaces or dashes, not part of a longer token.
_CARD_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    """Luhn-valid 13-19 digit numbers in `text` (spaces and dashes allowed between)."""
    found = []
    for match in _CARD_LIKE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(match.group())
    return found


def raw_api_keys_in(text: str) -> list[str]:
    """API key secrets longer than the prefix we are allowed to keep in clear."""
    return [
        m.group() for m in _RAW_API_KEY.finditer(text) if len(m.group()) > API_KEY_PREFIX_LENGTH
    ]


def redact(text: str) -> str:
    def mask_key(match: re.Match) -> str:
        key = match.group()
        return key if len(key) <= API_KEY_PREFIX_LENGTH else key[:API_KEY_PREFIX_LENGTH] + "…"

    def mask_card(match: re.Match) -> str:
        raw = match.group()
        digits = re.sub(r"[ -]", "", raw)
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return f"[card …{digits[-4:]}]"
        return raw

    return _CARD_LIKE.sub(mask_card, _RAW_API_KEY.sub(mask_key, text))


def _redact_json(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): _redact_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _target_of(target: Any) -> tuple[str, str]:
    """A model instance -> (its model name, pk), e.g. ("payment", "pay_…"); a
    (type, id) pair as given. Use model names for pairs too, so that an entry's target
    reads the same whether the call succeeded (instance) or was refused (id only)."""
    if target is None:
        return "", ""
    if isinstance(target, models.Model):
        return target._meta.model_name, str(target.pk)
    if isinstance(target, tuple) and len(target) == 2:
        target_type, target_id = target
        return str(target_type or ""), "" if target_id is None else str(target_id)
    raise TypeError(f"An audit target is a model instance or (type, id), not {target!r}")


def _actor_fields(actor: Actor | None) -> dict:
    user = getattr(actor, "user", None)
    if user is not None and not user.is_authenticated:
        user = None  # AnonymousUser
    api_key = getattr(actor, "api_key", None)
    return {
        "actor_user": user,
        "actor_api_key": api_key,
        "actor_label": Actor(user=user, api_key=api_key).label,
    }


def record(
    *,
    action: str,
    actor: Actor | None,
    merchant: Any,
    target: Any = None,
    outcome: str = AuditEntry.Outcome.SUCCEEDED,
    detail: str = "",
    metadata: dict | None = None,
    source_ip: str | None = None,
    customer_id: str | None = None,
) -> AuditEntry:
    """Append one audit entry and answer it.

    `target` is a model instance or a (type, id) pair; `actor` an Actor, or None for
    the system; `customer_id` the customer the action concerns, if any. `source_ip`
    defaults to the client IP of the request being served, if any. Written in the
    caller's transaction: a refusal is recorded after the refused service's transaction
    has rolled back (audit.trail does), or it is lost with it.
    """
    if action not in AuditEntry.Action.values:
        raise ValueError(f"Unknown audit action: {action!r}")
    if outcome not in AuditEntry.Outcome.values:
        raise ValueError(f"Unknown audit outcome: {outcome!r}")
    target_type, target_id = _target_of(target)
    metadata = _redact_json(metadata or {})
    json.dumps(metadata)  # fail here, not at INSERT time, on something unserializable
    return AuditEntry.objects.create(
        action=action,
        outcome=outcome,
        merchant=merchant if isinstance(merchant, models.Model) else None,
        target_type=target_type[:60],
        target_id=redact(target_id)[:255],
        customer_id=str(customer_id)[:40] if customer_id else None,
        detail=redact(detail or "")[:MAX_DETAIL_LENGTH],
        metadata=metadata,
        source_ip=source_ip if source_ip is not None else current_ip(),
        request_id=current_request_id() or "",
        **_actor_fields(actor),
    )
