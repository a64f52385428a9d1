"""Shared by the security and audit tests: what the database holds, as text and as a
snapshot, and the detectors for card numbers and raw API keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from audit.services import card_numbers_in, raw_api_keys_in

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField)


@dataclass(frozen=True)
class Finding:
    where: str
    kind: str
    value: str

    def __str__(self) -> str:
        # The finding is shown masked: a test failure must not print a secret either.
        return f"{self.kind} in {self.where}: {self.value[:12]}…"


def every_text_value() -> Iterator[tuple[str, str]]:
    """(table.column[pk], text) for every text-like column of every table Django
    knows, the auto-created many-to-many tables included."""
    for model in apps.get_models(include_auto_created=True):
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not fields:
            continue
        names = [f.attname for f in fields]
        for row in model._default_manager.values_list("pk", *names).iterator():
            pk, *values = row
            for name, value in zip(names, values, strict=True):
                if value in (None, "", {}, []):
                    continue
                yield f"{model._meta.db_table}.{name}[{pk}]", str(value)


def secrets_in(where: str, text: str) -> list[Finding]:
    found = [Finding(where, "card number", value) for value in card_numbers_in(text)]
    found += [Finding(where, "raw API key", value) for value in raw_api_keys_in(text)]
    return found


def secrets_in_database() -> list[Finding]:
    findings: list[Finding] = []
    for where, text in every_text_value():
        findings += secrets_in(where, text)
    return findings


# --- snapshots ------------------------------------------------------------------------------

# Tables whose rows legitimately change on any request, allowed or not: sessions,
# the admin's log, idempotency records (a stored 404 answer), and the audit trail
# itself (a refusal is recorded: that is the point).
SNAPSHOT_EXCLUDED_MODELS = {
    "sessions.session",
    "admin.logentry",
    "merchants.idempotencyrecord",
    "audit.auditentry",
}
# Columns touched by authentication itself, not by the request's action.
SNAPSHOT_EXCLUDED_FIELDS = {
    "merchants.apikey": {"last_used_at"},
    "merchants.user": {"last_login"},
}


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every other table, all columns: a request that must change nothing
    leaves this equal (row counts, payment amounts and flags, restrictions...)."""
    state = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if label in SNAPSHOT_EXCLUDED_MODELS:
            continue
        skipped = SNAPSHOT_EXCLUDED_FIELDS.get(label, set())
        names = [f.attname for f in model._meta.concrete_fields if f.name not in skipped]
        rows = model._default_manager.order_by("pk").values_list(*names)
        state[label] = [tuple(repr(v) for v in row) for row in rows]
    return state


def differences(before: dict, after: dict) -> list[str]:
    changed = []
    for label in sorted(before.keys() | after.keys()):
        old, new = before.get(label, []), after.get(label, [])
        if old != new:
            changed.append(
                f"{label}: {len(old)} -> {len(new)} rows"
                + ("" if len(old) != len(new) else " (values changed)")
            )
    return changed
