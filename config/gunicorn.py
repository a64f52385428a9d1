"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi` (see the Procfile).

Environment: PORT (8000), BIND (overrides PORT, e.g. "unix:/run/backoffice.sock"),
WEB_CONCURRENCY (workers, 2), GUNICORN_TIMEOUT (30 s), LOG_FORMAT / LOG_LEVEL (as for
Django), PROMETHEUS_MULTIPROC_DIR (see below).
"""

import os
import shutil
import tempfile
from pathlib import Path

import environ

from config.logging import build_logging, wants_json

env = environ.Env()

bind = env.str("BIND", default=f"0.0.0.0:{env.int('PORT', default=8000)}")
workers = env.int("WEB_CONCURRENCY", default=2)
# Sync workers: a request holds its worker (creating a payment waits for the gateway's
# authorization, at most 5 + 20 s with Stripe), so the timeout stays above that.
worker_class = "sync"
timeout = env.int("GUNICORN_TIMEOUT", default=30)  # a stuck worker is killed and replaced
graceful_timeout = 30  # on SIGTERM, finish the requests in flight first
keepalive = 5  # behind a load balancer that keeps connections open
# Recycle workers now and then (a slow leak never grows for ever), not all at once.
max_requests = 1000
max_requests_jitter = 100
# Heartbeat files in memory, not on a disk that may stall (Docker's /tmp is overlayfs).
_shm = Path("/dev/shm")  # noqa: S108 (gunicorn's own advice; files are mkstemp'd)
worker_tmp_dir = str(_shm) if _shm.is_dir() else None
# gunicorn 27's admin socket lives at one path per user: two servers on a host collide.
control_socket_disable = True

# No access log from gunicorn: Django logs one JSON line per request, with its request
# id (config.logging.RequestIdMiddleware). gunicorn's own lines use the same format.
accesslog = None
logconfig_dict = build_logging(
    json=wants_json(env.str("LOG_FORMAT", default=""), debug=env.bool("DEBUG", default=False)),
    level=env.str("LOG_LEVEL", default="INFO"),
)
logconfig_dict["loggers"].update(
    {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    }
)

# Prometheus multiprocess mode: every worker writes its samples to files in one
# directory and /metrics (in any worker) adds them up. Made here, before the workers
# import prometheus_client, unless the environment names one (bin/stack does, to share
# it with the Celery worker); a directory made here is emptied at start and removed
# at exit.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="backoffice-metrics-", dir=worker_tmp_dir
    )


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
