"""Sign-in with a throttle against password guessing.

After MAX_FAILURES failed sign-ins for one (email, client IP) within WINDOW, further
attempts for that pair are refused without checking the password, until the window
(counted from the first failure) has passed; a successful sign-in clears the count.
Refusing by (email, IP) rather than by email alone means an attacker cannot lock a
real user out from elsewhere.

The counters live in Django's cache: the default per-process LocMemCache counts per
process, so a deployment with several processes points CACHES at a shared cache
(Redis) for the limit to hold across all of them.

Both the dashboard login and the admin login authenticate through here. A refused
attempt looks exactly like a wrong password (no account enumeration).

When the cache does not answer, sign-in goes on without the throttle (the password is
still checked), logged at ERROR each time, and /readyz names the cache: an outage of a
counter must not lock every support agent out of refunds.
"""

from __future__ import annotations

import hashlib
import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.dashboard import members
from core.request_context import client_ip

logger = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _client_ip(request: HttpRequest | None) -> str:
    if request is None:
        return "-"
    return client_ip(request) or "-"


def _cache_key(email: str, ip: str) -> str:
    # Hashed: the cache never holds an email address in clear, and any characters are fine.
    digest = hashlib.sha256(f"{email.strip().lower()}|{ip}".encode()).hexdigest()
    return f"login-failures:{digest}"


def failures(email: str, ip: str) -> int:
    return int(cache.get(_cache_key(email, ip), 0))


def is_throttled(email: str, ip: str) -> bool:
    return failures(email, ip) >= MAX_FAILURES


def record_failure(email: str, ip: str) -> int:
    key = _cache_key(email, ip)
    # add() starts the window with the first failure; incr() keeps its expiry.
    if cache.add(key, 1, WINDOW_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, WINDOW_SECONDS)
        return 1


def reset_failures(email: str, ip: str) -> None:
    cache.delete(_cache_key(email, ip))


class ThrottledModelBackend(ModelBackend):
    """ModelBackend refusing after MAX_FAILURES failures per (email, IP) in WINDOW."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if not email or password is None:
            return None
        ip = _client_ip(request)
        if _throttle(is_throttled, email, ip, default=False):
            logger.warning("sign-in throttled for a user from %s", ip)
            # PermissionDenied stops django.contrib.auth.authenticate() from trying the
            # other backends, and it answers the form as a failed sign-in.
            raise PermissionDenied("Too many failed sign-in attempts")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            _throttle(record_failure, email, ip, default=0)
            return None
        _throttle(reset_failures, email, ip, default=None)
        return user

    def get_user(self, user_id):
        """A session's user, read with what every dashboard page needs of it (its
        merchant, permissions and roles: core.dashboard.members), so that a page asks
        for its user once rather than twice."""
        try:
            user = members().get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


def _throttle(step, email: str, ip: str, *, default):
    """One step of the throttle; when the cache fails, the default and an ERROR log."""
    try:
        return step(email, ip)
    except Exception:
        logger.error("sign-in throttle unavailable: the cache does not answer", exc_info=True)
        return default
