"""Filters for settings.LOGGING."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """django.request logs a 403 or 404 with the exception that made it: a full
    traceback for someone who opened a page their role does not allow. A 4xx is the
    client's doing and its one line says all there is to say, so the line stays and the
    traceback goes; a 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
