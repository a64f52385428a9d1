"""Logs: structlog on top of the standard library, a request id, no secrets.

- `build_logging()` gives settings.LOGGING: every record (Django's, Celery's, ours,
  stdlib or structlog) goes through one formatter that renders one JSON object per
  line (LOG_FORMAT=json, the default with DEBUG off) or a readable console line.
- `RequestIdMiddleware` takes a sane `X-Request-ID` from the client or makes one,
  binds it to structlog's context variables for the request (so every log line of the
  request carries it), answers it in the `X-Request-ID` header and logs one line per
  request. `current_request_id()` reads it from anywhere.
- The Celery signal handlers at the bottom carry the request id into the tasks the
  request enqueues (a `request_id` message header), and bind it in the worker.
- `redact_secrets` (a processor on every line) blanks the values of secret-looking
  keys, masks raw API keys down to their 12-character prefix and Luhn-valid card
  numbers down to their last four digits, wherever they appear.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import Token
from typing import Any

import structlog
from celery import signals
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from core.request_context import current_request_id

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_logger = structlog.get_logger("config.request")


# --- redaction -------------------------------------------------------------------------

# The same rules as audit.services.redact(), kept here so logging never imports models.
_SECRET_KEY_NAME = re.compile(
    r"passw(or)?d|passphrase|secret|token|authori[sz]ation|api[_-]?key|card[_-]?number|cookie",
    re.IGNORECASE,
)
_RAW_API_KEY = re.compile(r"sk_(?:test|live)_[A-Za-z0-9]+")
_API_KEY_PREFIX_LENGTH = 12
_CARD_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")
REDACTED = "[redacted]"


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"[ -]", "", match.group())
    if 13 <= len(digits) <= 19 and _luhn_valid(digits):
        return f"[card …{digits[-4:]}]"
    return match.group()


def redact_text(text: str) -> str:
    """Raw API keys cut to their prefix, card numbers to their last four digits."""
    text = _RAW_API_KEY.sub(lambda m: m.group()[:_API_KEY_PREFIX_LENGTH] + "…", text)
    return _CARD_LIKE.sub(_mask_card, text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if _SECRET_KEY_NAME.search(str(k)) else _redact(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: dict) -> dict:
    """structlog processor: runs last before rendering, on every line."""
    return _redact(event_dict)


# --- the LOGGING dict ------------------------------------------------------------------

# Applied to every line, whether it was logged through structlog or the stdlib.
_SHARED_PROCESSORS: list[Callable] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def wants_json(log_format: str, *, debug: bool) -> bool:
    """LOG_FORMAT "json" or "console"; unset: JSON unless DEBUG is on."""
    return (log_format or ("console" if debug else "json")).lower() == "json"


def build_logging(*, json: bool, level: str = "INFO") -> dict:
    """settings.LOGGING; also configures structlog's own loggers to hand their events
    to the same stdlib handler."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    if json:
        # Tracebacks become text before redaction: an exception can quote a secret too.
        render = [structlog.processors.format_exc_info, redact_secrets]
        render.append(structlog.processors.JSONRenderer())
    else:
        render = [redact_secrets, structlog.dev.ConsoleRenderer(colors=False)]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _SHARED_PROCESSORS,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *render,
                ],
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structlog"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "environ": {"level": "WARNING"},  # ".env not found" at every start
            # Our own access line (config.request) replaces runserver's.
            "django.server": {"level": "WARNING"},
        },
    }


# --- the request id --------------------------------------------------------------------


def sane_request_id(value: str | None) -> str | None:
    """The given id if it is at most 64 characters of [A-Za-z0-9._-], else None."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


class RequestIdMiddleware:
    """Outermost middleware: the request id, and one access line per request.

    The id stays bound until the response is closed (`request_finished`), so that
    Django's own "Not Found: /…" lines, logged after the middleware chain, carry it too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        request.request_id = request_id
        started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        access_logger.info(
            "request",
            method=request.method,
            path=request.path,  # never the query string: searches carry emails
            route=match.view_name if match else None,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished)
def _forget_request_id(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


# --- into Celery -----------------------------------------------------------------------

_task_tokens: dict[str, Mapping[str, Token]] = {}


@signals.before_task_publish.connect
def _publish_request_id(headers: dict | None = None, **_: Any) -> None:
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault("request_id", request_id)


@signals.task_prerun.connect
def _bind_task_context(task_id: str, task: Any, **_: Any) -> None:
    context: dict[str, str] = {"task_id": task_id, "task": task.name}
    # In-process (eager) tasks run inside the request and keep its context as it is.
    request_id = sane_request_id(task.request.get("request_id"))
    if request_id:
        context["request_id"] = request_id
    _task_tokens[task_id] = structlog.contextvars.bind_contextvars(**context)


@signals.task_postrun.connect
def _clear_task_context(task_id: str, **_: Any) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        structlog.contextvars.reset_contextvars(**tokens)
