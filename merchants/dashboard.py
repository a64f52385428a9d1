"""Dashboard plumbing shared by the apps' views: access control, HTMX responses and the
one-use form tokens that make a dialog's double submit harmless.

Access (SPEC 1): anonymous -> the login page; signed in but lacking the role's
permission -> 403; merchant pages need a user who belongs to a merchant (platform
staff get 403 there, and `/` sends them to the blacklist).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from . import idempotency
from .actors import Actor
from .models import IdempotencyRecord, Merchant


def dashboard_view(*permissions: str, merchant: bool = True) -> Callable:
    """Guard a dashboard view: signed in, every permission held (deny by default), and
    (unless merchant=False) a member of a merchant. The merchant is passed to the view
    as `request.merchant`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if merchant and user.merchant_id is None:
                raise PermissionDenied("This page belongs to a merchant's dashboard.")
            if not user.has_perms(permissions):
                raise PermissionDenied("Your role does not allow this.")
            request.merchant = user.merchant if merchant else None
            return view(request, *args, **kwargs)

        wrapper.dashboard_permissions = permissions
        return wrapper

    return decorator


def merchant_required(view: Callable) -> Callable:
    """Signed in and a member of a merchant; no particular permission."""
    return dashboard_view(merchant=True)(view)


def actor_for(request: HttpRequest) -> Actor:
    return Actor(user=request.user)


def current_merchant(request: HttpRequest) -> Merchant:
    return request.merchant


def wants_partial(request: HttpRequest) -> bool:
    """An HTMX request that swaps part of the page (not a history restore, which needs
    the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest, template: str, context: dict, *, partial: str | None = None, **kw
) -> HttpResponse:
    """Render the full page, or only `template#partial` for an HTMX request. The
    response varies on HX-Request, so a browser cache never serves a fragment as a page."""
    name = f"{template}#{partial}" if partial and wants_partial(request) else template
    response = render(request, name, context, **kw)
    patch_vary_headers(response, ("HX-Request",))
    return response


def hx_events(response: HttpResponse, **events) -> HttpResponse:
    """Add HX-Trigger events (merged with any already set)."""
    existing = json.loads(response.get("HX-Trigger", "{}"))
    existing.update(events)
    response["HX-Trigger"] = json.dumps(existing)
    return response


def dialog_done(*, toast: str, **events) -> HttpResponse:
    """The answer to a dialog's successful HTMX POST: nothing to swap (204), and the
    events that close the dialog, refresh what changed and confirm with a toast."""
    return hx_events(HttpResponse(status=204), closeDialog=True, toast=toast, **events)


# --- one-use form tokens ----------------------------------------------------------------
#
# A dialog form carries a uuid4 generated when the dialog was rendered. The first POST
# with it claims it atomically; a second POST with the same token (a double click, a
# resubmit, a retried request) finds it claimed and gets the first outcome instead of
# acting again. The claim is a row of the API's idempotency table (unique per merchant
# and key, committed before the action starts), so it holds across every process and
# server, and it is purged with the API's keys after 24 hours.


class FormToken:
    """The claim on one (user, purpose, token)."""

    def __init__(self, *, merchant: Merchant, user_id: int, purpose: str, token: str):
        self.merchant = merchant
        self.key = f"dashboard:{user_id}:{purpose}:{token}"
        self._fingerprint = idempotency.Fingerprint("POST", f"dashboard:{purpose}", "")
        self._record: IdempotencyRecord | None = None

    def claim(self) -> bool:
        """True for the first claim; False when this token was already used."""
        self._record, first = idempotency.claim(
            merchant=self.merchant, key=self.key, fingerprint=self._fingerprint
        )
        return first

    def release(self) -> None:
        """The action was refused (nothing happened): the same form may be resent."""
        if self._record is not None:
            idempotency.release(self._record)

    def complete(self, outcome: str) -> None:
        IdempotencyRecord.objects.filter(pk=self._record.pk).update(
            status=IdempotencyRecord.Status.COMPLETED,
            response_status=200,
            response_body=outcome,
            completed_at=timezone.now(),
        )

    def outcome(self) -> str | None:
        """What the first use recorded, or None while it is still running."""
        record = self._record
        if record is None or record.status != IdempotencyRecord.Status.COMPLETED:
            return None
        return record.response_body
