"""Access to the dashboard's pages (SPEC 1): anonymous -> the login page; signed in but
lacking the role's permission -> 403; merchant pages need a user who belongs to a
merchant (platform staff get 403 there, and `/` sends them to the blacklist)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .actors import Actor


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


def actor_for(request: HttpRequest) -> Actor:
    return Actor(user=request.user)
