"""Idempotent API POSTs (SPEC 7).

A POST sent with `Idempotency-Key` (or `X-Idempotency-Key`) is done at most once per
merchant and key; a retry gets the first answer back instead of doing the work again.

1. The API key is authenticated first: a 401 stores nothing.
2. A key longer than 255 characters (or empty) is refused: 400 validation_error.
3. A record (merchant, key, method, path, body hash) is INSERTed in its own committed
   transaction before the work starts. The unique constraint decides the race: of
   concurrent requests with one key exactly one inserts; the others find its record.
4. A found record answers at once: another request under the same key -> 422
   idempotency_error; the first still running -> 409 conflict; otherwise the stored
   status and body, with `Idempotent-Replayed: true`.
5. After the work: a 400 (the request was refused by validation, and nothing was
   done) deletes the record, so the key can be used again; any other answer is
   stored, a 5xx too (as Stripe does): a server error may come after the money moved
   (e.g. while rendering the answer), so a retry under the same key replays the error
   rather than risk doing the work twice. A new key is a new attempt.

Records are kept for at least 24 hours, then purged by `merchants.tasks`. A record
left `in_progress` by a process that died mid-request keeps answering 409 until it is
purged: whether the work was done is unknown, so it is never done a second time.

Applied by config.api to every operation of the API, so every POST router gets it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from merchants.models import IdempotencyRecord, Merchant

from .auth import api_key_auth
from .errors import JSON_CONTENT_TYPE, error_response, exception_response

logger = logging.getLogger(__name__)

KEY_HEADERS = ("Idempotency-Key", "X-Idempotency-Key")
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Fingerprint:
    method: str
    path: str
    body_sha256: str

    @classmethod
    def of(cls, request: HttpRequest) -> Fingerprint:
        body = request.body
        # The same JSON with other spacing or key order is the same request.
        with contextlib.suppress(ValueError):
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        # The same upload sent again comes with a new multipart boundary: set it aside.
        boundary = request.content_params.get("boundary", "") if request.content_type else ""
        if request.content_type == "multipart/form-data" and boundary:
            body = body.replace(boundary.encode("latin-1"), b"<boundary>")
        return cls(request.method or "", request.path, hashlib.sha256(body).hexdigest())

    def matches(self, record: IdempotencyRecord) -> bool:
        return (self.method, self.path, self.body_sha256) == (
            record.request_method,
            record.request_path,
            record.request_body_sha256,
        )


def key_of(request: HttpRequest) -> str | None:
    for header in KEY_HEADERS:
        if header in request.headers:
            return request.headers[header]
    return None


def claim(
    *, merchant: Merchant, key: str, fingerprint: Fingerprint
) -> tuple[IdempotencyRecord, bool]:
    """The record of (merchant, key): (new record, True) when this request is the
    first, (existing record, False) otherwise. The INSERT commits at once, so that a
    concurrent request sees it, whatever the work does afterwards."""
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    merchant=merchant,
                    key=key,
                    request_method=fingerprint.method,
                    request_path=fingerprint.path,
                    request_body_sha256=fingerprint.body_sha256,
                )
            return record, True
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(merchant=merchant, key=key).first()
            if existing is not None:
                return existing, False
            # Deleted in between (its request was refused by validation): try again.
    raise RuntimeError(f"Could not claim idempotency key {key!r}")  # pragma: no cover


def complete(record: IdempotencyRecord, response: HttpResponseBase) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=IdempotencyRecord.Status.COMPLETED,
        response_status=response.status_code,
        response_body=response.content.decode(),
        completed_at=timezone.now(),
    )


def release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        record.response_body, status=record.response_status, content_type=JSON_CONTENT_TYPE
    )
    response[REPLAYED_HEADER] = "true"
    return response


def is_stored(response: HttpResponseBase) -> bool:
    """A 400 did nothing (services refuse before they write): it is not kept.
    Everything else, server errors included, is the answer to replay."""
    return response.status_code != 400 and not getattr(response, "streaming", False)


def idempotent_posts(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Ninja "view" decorator (wraps an operation's `run`, before authentication and
    input validation) that makes every POST honour an idempotency key."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method != "POST":
            return run(request, *args, **kwargs)
        key = key_of(request)
        if key is None:
            return run(request, *args, **kwargs)
        api_key = api_key_auth(request)
        if api_key is None:
            return run(request, *args, **kwargs)  # answers 401; nothing is stored
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            return error_response(
                400,
                "validation_error",
                f"Idempotency-Key must have 1 to {MAX_KEY_LENGTH} characters",
                param="Idempotency-Key",
            )
        try:
            fingerprint = Fingerprint.of(request)
        except Exception as exc:  # e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE
            return exception_response(request, exc)

        record, is_first = claim(merchant=api_key.merchant, key=key, fingerprint=fingerprint)
        if not is_first:
            if not fingerprint.matches(record):
                return error_response(
                    422,
                    "idempotency_error",
                    "This idempotency key was already used for another request "
                    f"({record.request_method} {record.request_path} with another body); "
                    "use a new key for a new request",
                    param="Idempotency-Key",
                )
            if record.status == IdempotencyRecord.Status.IN_PROGRESS:
                return error_response(
                    409,
                    "conflict",
                    "A request with this idempotency key is still in progress; retry later",
                    param="Idempotency-Key",
                )
            return replay(record)

        # An exception escaping here (the API's handlers turn errors into answers, so
        # only a dying process) leaves the record in progress: its outcome is unknown.
        response = run(request, *args, **kwargs)
        try:
            if is_stored(response):
                complete(record, response)
            else:
                release(record)
        except Exception:
            # The work is done: answer it. The record stays in_progress (409 to a
            # retry) rather than let a retry do the work again.
            logger.exception("Could not store the answer of idempotency key %r", key)
        return response

    return wrapper
