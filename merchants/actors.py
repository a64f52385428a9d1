"""Who performs an action: a dashboard user, an API key, or the system (tasks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import ApiKey, User


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    api_key: ApiKey | None = None

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.email
        if self.api_key is not None:
            return f"API key {self.api_key.prefix}…"
        return "system"

    def as_fields(self) -> dict:
        """Keyword arguments for models that record who acted."""
        return {"created_by": self.user, "created_by_api_key": self.api_key}


SYSTEM = Actor()
