"""What every section shares: where the bench database is, result rows, timing
statistics, and the child processes (gunicorn, celery) with their cleanup.

Everything the bench starts is a child in its own process group, registered here and
killed by `stop_all()` (called from `python -m bench` in a finally block and at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
FLOOR_DIR = Path("/work/shared/bench")

DB_NAME = "backoffice_bench"
DB_HOST = "127.0.0.1"
DB_PORT = 5432
DB_USER = "postgres"
DATABASE_URL = f"postgres://{DB_USER}@{DB_HOST}:{DB_PORT}/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/14"

# The three merchants: (name, share of customers and payments).
MERCHANTS = [
    ("Acme Megastore", 80),
    ("Bolt Bikes", 12),
    ("Cedar Books", 8),
]
BIG_MERCHANT = MERCHANTS[0][0]


def conninfo(dbname: str = DB_NAME) -> str:
    return f"host={DB_HOST} port={DB_PORT} user={DB_USER} dbname={dbname}"


def connect(dbname: str = DB_NAME, *, autocommit: bool = True):
    import psycopg

    return psycopg.connect(conninfo(dbname), autocommit=autocommit)


def admin_email(merchant_name: str) -> str:
    slug = merchant_name.lower().replace(" ", "-")
    return f"admin@{slug}.example"


def api_key_for(merchant_name: str) -> str:
    """The merchant's bench API key. Deterministic (so a later run with --skip-fill
    can use it: only its hash is stored), which is fine for a loopback bench database."""
    import hashlib

    digest = hashlib.sha256(f"bench-key:{merchant_name}".encode()).hexdigest()
    return f"sk_test_bench{digest[:32]}"


# --- result rows ---------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    label: str
    rps: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    sql: float | None = None
    note: str = ""

    @classmethod
    def timed(cls, section: str, label: str, samples: list[float], **fields) -> Row:
        """A row of latencies: p50 and p95 of the samples (milliseconds)."""
        return cls(section, label, p50=p50(samples), p95=percentile(samples, 95), **fields)


def error_row(section: str, label: str, error: BaseException) -> Row:
    text = f"{type(error).__name__}: {error}".replace("\n", " ").replace("|", "/")
    return Row(section, label, note=f"error: {text[:300]}")


@contextlib.contextmanager
def or_error_row(rows: list[Row], section: str, label: str):
    """Run one measurement; if it fails, the table gets an error row under its label
    instead of the whole section stopping (a bench reports what it could measure)."""
    try:
        yield
    except Exception as error:
        rows.append(error_row(section, label, error))


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile of samples (in whatever unit they are)."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(1, round(pct / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def p50(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the environment of the product's processes --------------------------------------------


def product_env(*, broker: bool = False, **extra: str) -> dict[str, str]:
    """The environment of a product process (gunicorn, celery, manage.py) on the bench
    database: production-like settings, no TLS redirect, eager Celery unless `broker`."""
    env = dict(os.environ)
    for name in ("CELERY_BROKER_URL", "CACHE_URL", "SANDBOX_GATEWAY_LEDGER"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=DATABASE_URL,
        DEBUG="false",
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    if broker:
        env["CELERY_BROKER_URL"] = REDIS_URL
    env.update(extra)
    return env


def ensure_pip(module: str, package: str | None = None) -> None:
    """Install a Python package into the running venv when it is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        log(f"installing {package or module} into {sys.prefix}")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", package or module],
            check=True,
            timeout=600,
        )


_apt_updated = False


def ensure_wrk() -> str:
    global _apt_updated
    found = shutil.which("wrk")
    if found:
        return found
    if not _apt_updated:
        log("apt-get update (to install wrk)")
        subprocess.run(["apt-get", "update", "-q"], check=True, timeout=600)
        _apt_updated = True
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


# --- child processes ---------------------------------------------------------------------------

_children: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(argv: list[str], *, env: dict[str, str], log_path: Path, cwd: Path = ROOT):
    """Start a child in its own session (process group), output to `log_path`."""
    handle = log_path.open("ab")
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    handle.close()
    proc.log_path = log_path  # type: ignore[attr-defined]
    _children.append(proc)
    return proc


def stop(proc: subprocess.Popen, *, timeout: float = 20) -> None:
    """TERM the child's process group, then KILL it if it is still there."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Children of the group that outlived their leader (e.g. prefork workers).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc in _children:
        _children.remove(proc)


def stop_all() -> None:
    for proc in list(_children):
        with contextlib.suppress(Exception):
            stop(proc, timeout=10)


atexit.register(stop_all)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_http(port: int, proc: subprocess.Popen, *, path: str = "/", timeout: float = 60) -> None:
    """Until something answers HTTP on the port (any status), or the child died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"process exited with {proc.returncode}: {tail(proc.log_path)}"  # type: ignore[attr-defined]
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} after {timeout:.0f} s")


def drain_backlog(
    worker: subprocess.Popen,
    count: Callable[[], tuple],
    *,
    finished: Callable[[tuple], bool],
    progress: Callable[[tuple], str],
    timeout: float,
    interval: float,
) -> tuple[tuple, float]:
    """Let a started worker work off a backlog, then stop it: `count()` is asked every
    `interval` seconds until `finished(counts)`. Answers the last counts and the wall
    time since the call (boot included). A worker that exits, or a backlog not done
    after `timeout` seconds (`progress(counts)` says how far it got), is an error."""
    launched = time.perf_counter()
    try:
        deadline = launched + timeout
        while not finished(counts := count()):
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited: {tail(worker.log_path)}")  # type: ignore[attr-defined]
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{progress(counts)} after {timeout:.0f} s")
            time.sleep(interval)
        return counts, time.perf_counter() - launched
    finally:
        stop(worker, timeout=30)


def start_gunicorn(
    app: str, *, env: dict[str, str], log_dir: Path, name: str, workers: int = 2, chdir=None
) -> tuple[subprocess.Popen, int]:
    ensure_pip("gunicorn")
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    argv += ["--timeout", "60", "--graceful-timeout", "5"]
    if chdir:
        argv += ["--chdir", str(chdir)]
    argv.append(app)
    proc = start(argv, env=env, log_path=log_dir / f"{name}.log")
    wait_http(port, proc)
    return proc, port


def post_json(
    port: int, path: str, body: dict, *, key: str, timeout: float = 30
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
