"""Queueing Celery tasks from services and beat sweepers, the same way everywhere
(unlike Celery's own delay_on_commit, a broker that is down is logged, never raised).

The tasks are passed in: core imports no app's tasks (nor Celery itself).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction


def queue_after_commit(task: Any, *args: Any, failure: str) -> None:
    """Queue `task(*args)` once the current transaction commits. The change is already
    recorded, so a broker that cannot take the message must not fail the request that
    made it: `failure` (a log message with a %s per argument) is logged on the task's
    module logger, and that work's sweeper picks it up later."""

    def publish() -> None:
        try:
            task.delay(*args)
        except Exception:
            logging.getLogger(task.__module__).exception(failure, *args)

    transaction.on_commit(publish)


def queue_each(task: Any, ids: Sequence, *, done: str) -> int:
    """A beat sweeper's catch-up: queue `task(id)` for each id, log `done` (a message
    with a %d for how many) when there were any, and answer how many."""
    for id_ in ids:
        task.delay(id_)
    if ids:
        logging.getLogger(task.__module__).info(done, len(ids))
    return len(ids)
