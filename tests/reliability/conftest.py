"""Fault injection and scale-out with real processes that the tests start themselves.

Each test module gets its own cluster (`cluster` fixture): two redis-server processes
on free loopback ports (the Celery broker, which tests stop, freeze and restart, and
the sandbox gateway's call ledger, which plays the gateway and so survives every
fault), plus the gunicorn, Celery worker and Celery beat processes a test asks for,
all pointed at pytest-django's test database (the tests are `transaction=True`, so
what they write is committed and the processes see it). Never the machine's shared
Redis, never a fixed port.

Every process runs in its own process group and is killed (SIGKILL to the group) at
the end of the module, also when a test fails; every wait is bounded, so a broken run
fails with the processes' logs instead of hanging.

The sweeper runs for real: beat sends `resend_stale_reversals` every
RESEND_STALE_EVERY_SECONDS (1 s here), and a reversal is re-sent 2 s after its last
attempt once its 3 s send lease has run out.

Prerequisites: PostgreSQL (DATABASE_URL), /usr/bin/redis-server and gunicorn (in the
virtualenv). Missing ones skip these tests, or fail them under CI=true.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import skip_unless_ci

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SECRET_KEY = "reliability-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEFAULT_WAIT = 45.0  # seconds: a generous bound for anything to happen on a busy machine

# What the processes of a cluster run with (besides DATABASE_URL and the Redis URLs).
CLUSTER_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "PYTHONUNBUFFERED": "1",
    "DEBUG": "false",
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "PAYMENT_GATEWAY": "sandbox",
    "SANDBOX_GATEWAY_LATENCY_MS": "50",
    "SANDBOX_GATEWAY_TIMEOUT_MS": "300",
    "REVERSAL_RESEND_AFTER_SECONDS": "2",
    "REVERSAL_SEND_LEASE_SECONDS": "3",
    "RESEND_STALE_EVERY_SECONDS": "1",
    "LOG_LEVEL": "INFO",
}
# Variables of the test run that must not leak into the processes.
NOT_INHERITED = (
    "CELERY_BROKER_URL",
    "SANDBOX_GATEWAY_LEDGER",
    "DATABASE_URL",
    "CACHE_URL",
    "CONN_MAX_AGE",
    "PYTEST_CURRENT_TEST",
    "PYTEST_XDIST_WORKER",
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "reliability: fault injection and scale-out with real processes (redis-server, "
        "Celery worker and beat, gunicorn) that the test starts on free loopback ports",
    )


# --- prerequisites -----------------------------------------------------------------------


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(found, os.X_OK):
        skip_unless_ci("redis-server is not installed (apt-get install redis-server)")
    return found


def gunicorn_binary() -> str:
    found = VENV_BIN / "gunicorn"
    if not found.exists():
        skip_unless_ci("gunicorn is not installed in the virtualenv (pip install gunicorn)")
    return str(found)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(
    condition: Callable[[], Any],
    what: str,
    *,
    timeout: float = DEFAULT_WAIT,
    interval: float = 0.1,
    logs: Callable[[], str] | None = None,
) -> Any:
    """Poll `condition` until it answers something truthy (answered); fail after
    `timeout` seconds, with the processes' logs when given."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout:.0f}s waiting for {what}\n{logs() if logs else ''}"
            )
        time.sleep(interval)


# --- processes ---------------------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (from /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


class Proc:
    """One command in its own process group, its output in a log file. `start()`
    returns at once; `wait_ready()` waits until it prints `ready_text`."""

    ready_text = ""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], log_dir: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None
        self.log_offset = 0  # where this run's output starts in the log

    def start(self) -> Proc:
        assert not self.alive, f"{self.name} is already running"
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as out:
            out.write(f"\n=== start {self.name}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group
            )
        return self

    def wait_ready(self) -> None:
        if self.ready_text:
            self.wait_output(self.ready_text)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        """What this run (since the last start) printed."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def tail(self, chars: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.name} ({self.log_path}) ---\n{text[-chars:]}"

    def signal_group(self, sig: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group: no cleanup, no goodbye, like a crashed machine."""
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=30)

    def wait_output(self, text: str, *, count: int = 1, timeout: float = DEFAULT_WAIT) -> None:
        def seen() -> bool:
            if not self.alive:
                pytest.fail(f"{self.name} exited ({self.popen.returncode})\n{self.tail()}")
            return self.output().count(text) >= count

        wait_for(seen, f"{self.name} to print {text!r}", timeout=timeout, logs=self.tail)


class RedisServer(Proc):
    """A private redis-server without persistence, restartable on its port."""

    def __init__(self, name: str, *, log_dir: Path):
        self.port = free_port()
        super().__init__(
            name,
            [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(log_dir),
                "--dbfilename", f"{name}.rdb",
            ],
            env=dict(os.environ),
            log_dir=log_dir,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def wait_ready(self) -> None:
        wait_for(self.ping, f"{self.name} to answer on port {self.port}", logs=self.tail)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): clients see their connections closed."""
        self.signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self) -> None:
        self.start()
        self.wait_ready()

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers (a hung broker)."""
        self.signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal_group(signal.SIGCONT)


class Worker(Proc):
    ready_text = " ready."


class Beat(Proc):
    ready_text = "beat: Starting"


def _no_control_socket() -> list[str]:
    """gunicorn 27 opens a control socket at one path per user: two servers (ours, or
    another test run's on this machine) would take it from each other."""
    import gunicorn.config

    return ["--no-control-socket"] if hasattr(gunicorn.config, "ControlSocketDisable") else []


class Web(Proc):
    """gunicorn serving config.wsgi with sync workers."""

    def __init__(self, name: str, *, workers: int, env: dict[str, str], log_dir: Path):
        self.port = free_port()
        self.workers = workers
        super().__init__(
            name,
            [
                gunicorn_binary(),
                "--workers", str(workers),
                "--bind", f"127.0.0.1:{self.port}",
                "--timeout", "60",
                "--graceful-timeout", "5",
                "--log-level", "info",
                *_no_control_socket(),
                "config.wsgi",
            ],
            env=env,
            log_dir=log_dir,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        self.wait_output("Booting worker", count=self.workers)

        def answers() -> bool:
            try:
                return requests.get(f"{self.url}/api/v1/payments", timeout=5).status_code == 401
            except requests.RequestException:
                return False

        wait_for(answers, f"{self.name} to answer HTTP", logs=self.tail)

    def worker_pids(self) -> list[int]:
        return child_pids(self.pid)

    def busy_worker_pids(self) -> list[int]:
        """The workers holding an accepted connection (a sync worker serves one request
        at a time, so these are the ones in the middle of a request)."""
        established = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as rows:
                for row in list(rows)[1:]:
                    columns = row.split()
                    local_port = int(columns[1].rsplit(":", 1)[1], 16)
                    if local_port == self.port and columns[3] == "01":  # ESTABLISHED
                        established.add(columns[9])
        busy = []
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                fds = Path(f"/proc/{pid}/fd")
                inodes = {
                    os.readlink(fd)[8:-1]
                    for fd in fds.iterdir()
                    if os.readlink(fd).startswith("socket:[")
                }
                if inodes & established:
                    busy.append(pid)
        return busy


class Cluster:
    """The processes of one test module, sharing one database, one broker, one ledger.

    `up(web=..., workers=..., beat=...)` starts them together and waits until each is
    ready; `revive()` restarts what died, as a supervisor would."""

    def __init__(self, *, log_dir: Path, database: dict, label: str):
        self.log_dir = log_dir
        self.database = database
        self.label = label
        self.broker = RedisServer("redis-broker", log_dir=log_dir)
        self.ledger_redis = RedisServer("redis-ledger", log_dir=log_dir)
        self.procs: list[Proc] = [self.broker, self.ledger_redis]
        self.workers: dict[str, Worker] = {}
        self.webs: list[Web] = []
        self.beat: Beat | None = None

    def database_url(self, role: str) -> str:
        db = self.database
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return (
            f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"
            f"?application_name={self.application_name(role)}"
        )

    def application_name(self, role: str) -> str:
        """How the processes of a role name themselves to PostgreSQL."""
        return f"reliability-{self.label}-{role}"

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        """Run SQL on a connection of its own (autocommit, so pg_stat_activity is
        read fresh each time)."""
        import psycopg

        db = self.database
        with psycopg.connect(
            host=db.get("HOST") or "127.0.0.1",
            port=db.get("PORT") or 5432,
            user=db["USER"],
            password=db.get("PASSWORD") or None,
            dbname=db["NAME"],
            autocommit=True,
        ) as conn:
            return conn.execute(sql, params or {}).fetchall()

    def env(self, role: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env.update(CLUSTER_ENV)
        env.update(
            DATABASE_URL=self.database_url(role),
            CELERY_BROKER_URL=self.broker.url,
            SANDBOX_GATEWAY_LEDGER=self.ledger_redis.url,
        )
        env.update(extra)
        return env

    def up(
        self,
        *,
        webs: int = 0,
        web_workers: int = 2,
        workers: int = 0,
        concurrency: int = 2,
        beat: bool = False,
        **env: str,
    ) -> Cluster:
        """Start the module's processes together, then wait until each is ready."""
        started: list[Proc] = []
        for server in (self.broker, self.ledger_redis):
            if not server.alive:
                started.append(server.start())
        for _ in range(webs):
            web = Web(
                f"web{len(self.webs) + 1}",
                workers=web_workers,
                env=self.env("web", **env),
                log_dir=self.log_dir,
            )
            self.webs.append(web)
            started.append(web.start())
        for _ in range(workers):
            name = f"worker{len(self.workers) + 1}"
            worker = Worker(
                name,
                [
                    sys.executable, "-m", "celery", "-A", "config", "worker",
                    "-n", f"{name}-{self.label}@%h",
                    f"--concurrency={concurrency}",
                    "--loglevel=INFO",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                ],
                env=self.env("worker", **env),
                log_dir=self.log_dir,
            )  # fmt: skip
            self.workers[name] = worker
            started.append(worker.start())
        if beat:
            self.beat = Beat(
                "beat",
                [
                    sys.executable, "-m", "celery", "-A", "config", "beat",
                    "--loglevel=INFO",
                    "--schedule", str(self.log_dir / "beat-schedule"),
                    "--pidfile=",
                ],
                env=self.env("beat", **env),
                log_dir=self.log_dir,
            )  # fmt: skip
            started.append(self.beat.start())
        self.procs.extend(p for p in started if p not in self.procs)
        for proc in started:
            proc.wait_ready()
        return self

    @property
    def web(self) -> Web:
        return self.webs[0]

    def revive(self, *, wait: bool = True, settle: float = 3.0) -> list[str]:
        """Restart whatever is dead or stopped, as a process supervisor (systemd,
        Kubernetes) would; answers the names of the processes restarted.

        Needed after a broker outage, not only after a kill: with kombu 5.7, a worker
        that holds an unacknowledged message when the Redis connection drops exits
        ("Unrecoverable error: AttributeError ... 'hostname'" in restore_unacked)
        instead of reconnecting. It takes a second or more to stop, so a worker that
        logged that is waited for and restarted, and with `wait`, whatever dies in the
        `settle` seconds after is restarted too (a supervisor does not look once)."""
        for server in (self.broker, self.ledger_redis):
            server.thaw()
        restarted: list[str] = []
        deadline = time.monotonic() + (settle if wait else 0)
        while True:
            for worker in self.workers.values():
                if worker.alive and "Unrecoverable error" in worker.output():
                    worker.popen.wait(timeout=60)
            dead = [proc for proc in self.procs if not proc.alive]
            for proc in dead:
                proc.start()
            if wait:
                for proc in dead:
                    proc.wait_ready()
            restarted += [proc.name for proc in dead]
            if time.monotonic() >= deadline:
                return restarted
            time.sleep(0.2)

    def logs(self) -> str:
        return "\n".join(proc.tail() for proc in self.procs if proc.log_path.exists())

    def shutdown(self) -> None:
        for proc in self.procs:
            proc.signal_group(signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.kill()


@pytest.fixture(scope="module")
def cluster(request, django_db_setup, tmp_path_factory):
    """The module's cluster, nothing started yet: each module starts what it needs
    with `cluster.up(...)` in a module-scoped fixture of its own (`stack`)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        skip_unless_ci("the database is not PostgreSQL (set DATABASE_URL)")
    redis_server_binary()
    gunicorn_binary()
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    log_dir = tmp_path_factory.mktemp(f"reliability-{label}")
    group = Cluster(log_dir=log_dir, database=dict(connection.settings_dict), label=label)
    try:
        yield group
    finally:
        group.shutdown()


@pytest.fixture
def ledger(cluster, settings):
    """The gateway's ledger (calls and effects), shared with every process of the
    cluster and emptied for this test; this test process's sandbox writes to it too."""
    from payments.gateways import get_gateway

    cluster.revive()
    settings.SANDBOX_GATEWAY_LEDGER = cluster.ledger_redis.url
    get_gateway.cache_clear()
    gateway_ledger = get_gateway().ledger
    gateway_ledger.clear()
    yield gateway_ledger
    get_gateway.cache_clear()


# --- the API as a client sees it ---------------------------------------------------------


@dataclass
class Answer:
    """One HTTP exchange: the status (None when no answer came) and the JSON body."""

    method: str
    path: str
    status: int | None
    body: Any = None
    headers: dict = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def replayed(self) -> bool:
        return self.headers.get("Idempotent-Replayed") == "true"


class ApiClient:
    """requests against one or more gunicorn instances, with a merchant's secret key.
    Thread-safe (a new connection per request, as gunicorn's sync workers close them)."""

    def __init__(self, urls: list[str], secret: str, *, timeout: float = 30):
        self.urls = urls
        self.secret = secret
        self.timeout = timeout
        self._next = 0
        self._lock = threading.Lock()

    def _url(self) -> str:
        with self._lock:
            self._next += 1
            return self.urls[self._next % len(self.urls)]

    def request(
        self, method: str, path: str, body: Any = None, *, key: str | None = None
    ) -> Answer:
        headers = {"Authorization": f"Bearer {self.secret}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        started = time.monotonic()
        try:
            response = requests.request(
                method,
                f"{self._url()}/api/v1{path}",
                data=None if body is None else json.dumps(body),
                headers={**headers, "Content-Type": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            return Answer(method, path, None, error=repr(error), seconds=time.monotonic() - started)
        answer = Answer(
            method,
            path,
            response.status_code,
            headers=dict(response.headers),
            seconds=time.monotonic() - started,
        )
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                answer.body = response.json()
            except ValueError:
                answer.error = f"invalid JSON: {response.text[:300]!r}"
        else:
            answer.error = f"not JSON ({content_type}): {response.text[:300]!r}"
        return answer

    def post(self, path: str, body: Any = None, *, key: str | None = None) -> Answer:
        return self.request("POST", path, body, key=key)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)


ERROR_TYPES = {
    400: {"invalid_request", "validation_error"},
    401: {"authentication_error"},
    403: {"permission_error", "customer_restricted"},
    404: {"not_found"},
    409: {"conflict"},
    422: {"idempotency_error"},
    500: {"api_error"},
}


def json_answer_problem(answer: Answer) -> str | None:
    """Why an answer breaks SPEC 7 (JSON success or the JSON error shape), else None.
    No answer at all (a killed process) is not an answer: the caller decides."""
    if answer.status is None:
        return None
    if answer.error:
        return f"{answer.method} {answer.path} -> {answer.status}: {answer.error}"
    if answer.status == 200:
        return None
    error = (answer.body or {}).get("error") if isinstance(answer.body, dict) else None
    if not isinstance(error, dict) or error.get("type") not in ERROR_TYPES.get(answer.status, ()):
        return (
            f"{answer.method} {answer.path} -> {answer.status}: not the error shape: {answer.body}"
        )
    return None


def assert_json_answers(answers: list[Answer]) -> None:
    problems = [p for p in map(json_answer_problem, answers) if p]
    assert not problems, f"{len(problems)} answers break the JSON contract:\n" + "\n".join(
        problems[:20]
    )


# --- end states ----------------------------------------------------------------------------


def wait_until_nothing_pending(cluster: Cluster, *, timeout: float = DEFAULT_WAIT) -> None:
    """Every capture, refund and void of the test database reached a final state (the
    faults are over: whatever is dead is restarted, as a supervisor would)."""
    from django.db import connection

    from payments.models import Transaction

    def settled() -> bool:
        cluster.revive()
        connection.close()  # a fresh connection: a fault may have terminated ours
        return not Transaction.objects.filter(status=Transaction.Status.PENDING).exists()

    def report() -> str:
        pending = list(
            Transaction.objects.filter(status=Transaction.Status.PENDING).values(
                "id", "type", "amount", "attempts", "last_attempt_at", "send_lease_until"
            )[:20]
        )
        return f"still pending: {pending}\n{cluster.logs()}"

    wait_for(settled, "every reversal to reach a final state", timeout=timeout, interval=0.3,
             logs=report)  # fmt: skip


@dataclass
class Reconciliation:
    """Our ledger (transactions and payment totals) against the gateway's effects."""

    payments: int = 0
    reversals: Counter = field(default_factory=Counter)  # (type, status) -> count
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    over_refunded: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.lost + self.duplicated + self.over_refunded + self.inconsistent

    def summary(self) -> str:
        return (
            f"{self.payments} payments, reversals {dict(self.reversals)}; "
            f"lost {len(self.lost)}, duplicated {len(self.duplicated)}, "
            f"over-refunded {len(self.over_refunded)}, inconsistent {len(self.inconsistent)}"
        )


def reconcile(gateway_ledger) -> Reconciliation:
    """Check every payment of the test database against the gateway's ledger:

    - our totals equal our transactions (amountReversed = non-failed reversals,
      amountReversalPending = pending ones), never more reversed than captured (or,
      voided, exactly the authorization), never both a capture and a void;
    - the gateway performed each succeeded non-external reversal exactly once (same
      operation and amount, under the reversal's own key), and nothing else: no effect
      for a failed, pending or external reversal, nor under a key we do not know;
    - no idempotency key produced two effects; per payment, the gateway's refunds add
      up to our succeeded ones and never exceed the captured amount.
    """
    from django.db import connection

    from payments.models import Payment

    connection.close()
    report = Reconciliation()
    effects_by_key: dict[str, list[dict]] = defaultdict(list)
    for effect in gateway_ledger.effects():
        if effect["op"] in ("refund", "void"):
            effects_by_key[effect["idempotency_key"]].append(effect)
    for key, effects in effects_by_key.items():
        if len(effects) > 1:
            report.duplicated.append(f"{key}: {len(effects)} effects at the gateway")
    known_keys: set[str] = set()

    payments = Payment.objects.prefetch_related("transactions").order_by("created_at")
    for payment in payments:
        report.payments += 1
        reversals = [t for t in payment.transactions.all() if t.is_reversal]
        captures = [t for t in payment.transactions.all() if t.type == "capture"]
        for txn in reversals:
            report.reversals[(txn.type, txn.status)] += 1
        non_failed = sum(t.amount for t in reversals if t.status != "failed")
        pending = sum(t.amount for t in reversals if t.status == "pending")
        if payment.amount_reversed != non_failed or payment.amount_reversal_pending != pending:
            report.inconsistent.append(
                f"{payment.id}: amountReversed {payment.amount_reversed} / pending "
                f"{payment.amount_reversal_pending}, transactions say {non_failed} / {pending}"
            )
        live_voids = [t for t in reversals if t.type == "void" and t.status != "failed"]
        live_captures = [t for t in captures if t.status != "failed"]
        if live_voids and live_captures:
            report.inconsistent.append(f"{payment.id}: both a capture and a void")
        if len(live_voids) > 1:
            report.duplicated.append(f"{payment.id}: {len(live_voids)} voids")
        limit = payment.amount_captured if payment.is_captured else payment.amount
        if non_failed > limit:
            report.over_refunded.append(f"{payment.id}: reversed {non_failed} of {limit}")

        gateway_sum = 0
        for txn in reversals:
            key = txn.gateway_idempotency_key
            known_keys.add(key)
            effects = effects_by_key.get(key, [])
            gateway_sum += sum(e["amount"] for e in effects)
            wanted = 1 if (txn.status == "succeeded" and not txn.is_external) else 0
            if len(effects) < wanted:
                report.lost.append(f"{txn.id} ({txn.type} {txn.amount}): succeeded, never sent")
            elif len(effects) > wanted and wanted == 0:
                report.lost.append(
                    f"{txn.id} ({txn.type} {txn.amount}, {txn.status}, external="
                    f"{txn.is_external}): the gateway performed it, our ledger does not count it"
                )
            for effect in effects:
                if effect["op"] != txn.type or effect["amount"] != txn.amount:
                    report.inconsistent.append(f"{txn.id}: gateway effect {effect}")
                if effect["ref"] != payment.gateway_reference:
                    report.inconsistent.append(f"{txn.id}: effect on another payment {effect}")
        ours = sum(t.amount for t in reversals if t.status == "succeeded" and not t.is_external)
        if gateway_sum != ours:
            report.inconsistent.append(
                f"{payment.id}: the gateway reversed {gateway_sum}, we say {ours}"
            )
        if gateway_sum > limit:
            report.over_refunded.append(f"{payment.id}: the gateway reversed {gateway_sum}")
    for key in effects_by_key.keys() - known_keys:
        report.lost.append(f"gateway effect under unknown key {key}: {effects_by_key[key]}")
    return report


def assert_reconciled(gateway_ledger) -> Reconciliation:
    report = reconcile(gateway_ledger)
    assert not report.problems, report.summary() + "\n" + "\n".join(report.problems[:30])
    return report


def effects_of(gateway_ledger, key: str) -> list[dict]:
    return [e for e in gateway_ledger.effects() if e["idempotency_key"] == key]


def calls_of(gateway_ledger, key: str) -> list[dict]:
    return [c for c in gateway_ledger.calls() if c["idempotency_key"] == key]


def new_merchant_and_key(name: str = "Faulty Shop") -> tuple[Any, str]:
    from tests.factories import MerchantFactory, make_api_key

    merchant = MerchantFactory(name=name)
    _, secret = make_api_key(merchant, name="reliability")
    return merchant, secret


def last_reversal(answer: Answer) -> dict:
    transactions = answer.body["transactions"]
    reversals = [t for t in transactions if t["type"] in ("refund", "void")]
    assert reversals, answer.body
    return reversals[-1]
