"""Request bodies and paths the API accepts: JSON only, and text the database can store."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponseBase
from ninja.parser import Parser

from core.errors import ValidationFailed

from .errors import UnsupportedContentType, not_found_response


def _is_storable_text(text: str) -> bool:
    """PostgreSQL stores neither NUL characters nor lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _first_unstorable_string(value, path: tuple = ()) -> tuple | None:
    if isinstance(value, str):
        return None if _is_storable_text(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if not _is_storable_text(key):
                return (*path, key)
            if (found := _first_unstorable_string(item, (*path, key))) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _first_unstorable_string(item, (*path, index))) is not None:
                return found
    return None


class JsonOnlyParser(Parser):
    """Bodies are JSON, sent as application/json (or a +json type); anything else is
    refused with 400 invalid_request rather than guessed at. Text the database cannot
    store (NUL characters, lone surrogates) is refused with 400 validation_error, in
    the body and in the query string alike, for every endpoint."""

    def parse_body(self, request: HttpRequest):
        content_type = (request.content_type or "").lower()
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedContentType(content_type or "none")
        data = super().parse_body(request)
        if (path := _first_unstorable_string(data)) is not None:
            raise ValidationFailed(
                "Text must not contain NUL characters or lone surrogates",
                param=".".join(str(part) for part in path) or None,
            )
        return data

    def parse_querydict(self, data, list_fields, request):
        for name, values in data.lists():
            # Uploaded files (request.FILES comes through here too) are not text.
            texts = [text for text in (name, *values) if isinstance(text, str)]
            if not all(_is_storable_text(text) for text in texts):
                raise ValidationFailed(
                    "Text must not contain NUL characters or lone surrogates", param=name
                )
        return super().parse_querydict(data, list_fields, request)


def reject_nul_in_path(run: Callable) -> Callable:
    """Ninja "view" decorator: an id the database could not even store names nothing,
    so it is not found (rather than a database error)."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not all(_is_storable_text(str(value)) for value in kwargs.values()):
            return not_found_response(request)
        return run(request, *args, **kwargs)

    return wrapper
