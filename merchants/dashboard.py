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
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from .actors import Actor
from .models import Merchant

FORM_TOKEN_TTL_SECONDS = 24 * 60 * 60
_IN_FLIGHT = "in-flight"


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
# with it claims it atomically (cache.add); a second POST with the same token (a double
# click, a resubmit, a retried request) finds it claimed and gets the first outcome
# instead of acting again. The store is Django's default cache: a per-process LocMemCache
# unless CACHES points at a shared cache (Redis) for multi-process deployments.


class FormToken:
    """The claim on one (user, purpose, token)."""

    def __init__(self, *, user_id: int, purpose: str, token: str):
        self.key = f"dashboard-form-token:{user_id}:{purpose}:{token}"

    def claim(self) -> bool:
        """True for the first claim; False when this token was already used."""
        return cache.add(self.key, _IN_FLIGHT, FORM_TOKEN_TTL_SECONDS)

    def release(self) -> None:
        """The action was refused (nothing happened): the same form may be resent."""
        cache.delete(self.key)

    def complete(self, outcome: str) -> None:
        cache.set(self.key, outcome, FORM_TOKEN_TTL_SECONDS)

    def outcome(self) -> str | None:
        """What the first use recorded, or None while it is still running."""
        value = cache.get(self.key)
        return None if value in (None, _IN_FLIGHT) else value
