"""Access to the dashboard's pages (SPEC 1): anonymous -> the login page; signed in but
lacking the role's permission -> 403; merchant pages need a user who belongs to a
merchant (platform staff get 403 there, and `/` sends them to the blacklist); what is not
the member's merchant's, or not there at all -> 404."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache, lru_cache, wraps

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, OuterRef, QuerySet, StringAgg, Subquery, Value
from django.db.models.functions import Concat
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.module_loading import import_string

from .actors import Actor
from .errors import NotFound


def _lines(text: str | None) -> set[str]:
    return set(text.split("\n")) if text else set()


@cache
def member_extras() -> dict[str, Callable]:
    """settings.DASHBOARD_MEMBER_EXTRAS: what the domain apps ask of every dashboard
    page's member in the same statement (the banners' figures), as name -> a function
    answering an expression over the user's row (`OuterRef("merchant_id")` is its
    merchant). Registered by dotted path, like context processors, so that core imports
    no domain app. An expression may depend on the date (UTC), not on the time of day:
    `members()` builds them once a day."""
    return {name: import_string(path) for name, path in settings.DASHBOARD_MEMBER_EXTRAS.items()}


def members() -> QuerySet:
    """Users, each read with what every dashboard page needs of it: its merchant (every
    read is scoped by it; the top bar names it), its own and its roles' permissions (the
    checks here and `perms` in templates), its role names (the top bar) and the member
    extras (`member_extras`). Asked one by one that is four statements before the page's
    own; this is one. The session's user is read through it (merchants.auth_backends),
    so a page asks for its user once: a list page stays within four statements (session,
    user, its rows and their count) and five when a search names customers.

    Building this annotated query costs more than running it, so it is built once a day
    per process and cloned for each read (a clone runs it anew: nothing read is kept).
    The day is UTC's: a member extra may depend on the date, never on the time of day."""
    return _members_on(timezone.now().date())


@lru_cache(maxsize=1)
def _members_on(day: date) -> QuerySet:
    from django.contrib.auth.models import Group, Permission  # not before apps are ready

    label = Concat("content_type__app_label", Value("."), "codename", output_field=CharField())

    def joined(rows, value, *, per):
        # Every `value` of `rows`, one per line, as one column of the member's row.
        grouped = rows.order_by().values(per).annotate(all=StringAgg(value, Value("\n")))
        return Subquery(grouped.values("all"))

    return (
        get_user_model()
        .objects.select_related("merchant")
        .annotate(
            own_perms=joined(Permission.objects.filter(user=OuterRef("pk")), label, per="user"),
            role_perms=joined(
                Permission.objects.filter(group__user=OuterRef("pk")), label, per="group__user"
            ),
            roles=joined(Group.objects.filter(user=OuterRef("pk")), "name", per="user"),
            **{f"extra_{name}": expression() for name, expression in member_extras().items()},
        )
    )


def load_member(user) -> list[str]:
    """What `members()` reads of the signed-in user, put where the page looks for it:
    the merchant on `user.merchant`, the member extras in `user.dashboard_extras`, and
    the permissions where Django's ModelBackend keeps them for this user object
    (`_user_perm_cache`, `_group_perm_cache`, `_perm_cache`). A user the session read
    through `members()` already holds it all; another is asked for it, in one statement.
    It lives as long as the request, so a changed role shows on the next page. Answers
    the role names."""
    member = user if hasattr(user, "own_perms") else members().only("merchant").get(pk=user.pk)
    user.merchant = member.merchant
    user.dashboard_extras = {name: getattr(member, f"extra_{name}") for name in member_extras()}
    # A superuser has every permission, an inactive user none: ModelBackend decides.
    if user.is_active and not user.is_superuser:
        user._user_perm_cache = _lines(member.own_perms)
        user._group_perm_cache = _lines(member.role_perms)
        user._perm_cache = user._user_perm_cache | user._group_perm_cache
    return sorted(_lines(member.roles))


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
            request.role_names = load_member(user)
            if merchant and user.merchant_id is None:
                raise PermissionDenied("This page belongs to a merchant's dashboard.")
            if not user.has_perms(permissions):
                raise PermissionDenied("Your role does not allow this.")
            request.merchant = user.merchant if merchant else None
            return view(request, *args, **kwargs)

        wrapper.dashboard_permissions = permissions
        return wrapper

    return decorator


def post_only(page: str) -> Callable:
    """A form's POST target that is no page of its own: any other method is redirected
    to `page`, the URL name of the page the form is on, with the same URL arguments.
    Goes below dashboard_view, so the role is checked first."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method != "POST":
                return redirect(page, *args, **kwargs)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def actor_for(request: HttpRequest) -> Actor:
    return Actor(user=request.user)


def found_or_404[T](lookup: Callable[..., T], /, **kwargs) -> T:
    """`lookup(**kwargs)`, a selector scoped to the merchant that raises NotFound, or a
    404 page: another merchant's id answers exactly as a missing one."""
    try:
        return lookup(**kwargs)
    except NotFound as missing:
        raise Http404(missing.message) from None
