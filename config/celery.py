import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Connects the signal handlers that carry the request id into tasks (and log lines).
from . import logging as _request_id_signals  # noqa: F401

app = Celery("backoffice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
