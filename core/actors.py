"""Who performs an action: a dashboard user, an API key, or the system (tasks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SYSTEM_LABEL = "system"


def actor_label(*, user: Any = None, api_key: Any = None) -> str:
    """How an actor reads everywhere a person sees it: the user's email, "API key
    sk_test_abcd…" (only the stored prefix), or "system"."""
    if user is not None:
        return user.email
    if api_key is not None:
        return f"API key {api_key.prefix}…"
    return SYSTEM_LABEL


@dataclass(frozen=True)
class Actor:
    user: Any = None  # merchants.User
    api_key: Any = None  # merchants.ApiKey

    @property
    def label(self) -> str:
        return actor_label(user=self.user, api_key=self.api_key)

    def as_fields(self) -> dict:
        """Keyword arguments for models that record who acted."""
        return {"created_by": self.user, "created_by_api_key": self.api_key}


SYSTEM = Actor()
