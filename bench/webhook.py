"""Webhook delivery throughput: events recorded through the outbox, sent by a real
Celery worker (Redis db 14) to a local receiver, signed (Standard Webhooks).

- the receiver: a threaded HTTP server in this process on loopback, answering 200 to
  every POST; it checks each signature with the endpoint's secret (standardwebhooks)
  and counts the distinct `webhook-id`s;
- one endpoint of the big merchant (webhooks.services.create_endpoint, private
  targets allowed for this loopback URL), subscribed to payment.captured; the bench
  endpoints are deleted before and after (with their deliveries);
- for 1 and then 2 worker processes: EVENTS events are recorded while no worker runs,
  by a child process with the product's broker settings (webhooks.outbox.record in
  the services' way: BATCH events per transaction, each with the payment's API JSON,
  the deliveries queued on commit), then a worker is started and drains them;
  rate = (N - 1) / (last finished_at - first finished_at) of the deliveries, so the
  worker's boot is not counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .common import (
    BIG_MERCHANT,
    ROOT,
    Row,
    admin_email,
    drain_backlog,
    log,
    or_error_row,
    product_env,
    start,
)
from .e2e import flush_redis, flush_redis_quietly

SECTION = "webhooks"
EVENTS = 2000
BATCH = 50
EVENT_TYPE = "payment.captured"
DESCRIPTION = "bench receiver"
WEBHOOK_ENV = {"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", "WEBHOOK_ALLOW_HTTP": "true"}

# Run by a child process (the product's settings with the Redis broker): records the
# events through the outbox and prints how long it took.
RECORD = """
import json, sys, time
import django
django.setup()
from django.db import transaction
from merchants.models import Merchant
from payments.events import payment_answer
from payments.models import Payment
from webhooks import outbox

merchant = Merchant.objects.get(name=sys.argv[1])
count, batch = int(sys.argv[2]), int(sys.argv[3])
payments = list(
    Payment.objects.filter(merchant=merchant, is_captured=True)
    .select_related("merchant").order_by("-created_at")[:count]
)
ids = []
started = time.perf_counter()
for lo in range(0, count, batch):
    with transaction.atomic():
        for i in range(lo, min(lo + batch, count)):
            payment = payments[i % len(payments)]
            [event] = outbox.record(merchant_id=merchant.id, types=[sys.argv[4]],
                                    data=json.loads(payment_answer(payment)))
            ids.append(event.id)
print(json.dumps({"seconds": time.perf_counter() - started, "events": ids}))
"""


class Receiver:
    """A loopback HTTP server answering 200 to every POST, checking signatures."""

    def __init__(self) -> None:
        self.verifier = None  # set once the endpoint (and its secret) exists
        self.lock = threading.Lock()
        self.received = 0
        self.ids: set[str] = set()
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    outer.verifier.verify(body, headers)
                    ok = True
                except Exception:
                    ok = False
                with outer.lock:
                    outer.received += 1
                    outer.ids.add(headers.get("webhook-id", ""))
                    outer.bad_signatures += 0 if ok else 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def use_secret(self, secret: str) -> None:
        from standardwebhooks import Webhook

        self.verifier = Webhook(secret)

    def reset(self) -> None:
        with self.lock:
            self.received, self.bad_signatures = 0, 0
            self.ids = set()


def make_endpoint(merchant, user, url: str) -> tuple[str, str]:
    from django.test import override_settings

    from webhooks.models import Endpoint
    from webhooks.services import create_endpoint

    Endpoint.objects.filter(merchant=merchant, description=DESCRIPTION).delete()
    with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_ALLOW_HTTP=True):
        endpoint, secret = create_endpoint(
            merchant=merchant,
            url=url,
            event_types=[EVENT_TYPE],
            description=DESCRIPTION,
            created_by=user,
        )
    return endpoint.id, secret


def record_events(count: int, log_dir: Path) -> tuple[list[str], float]:
    done = subprocess.run(
        [sys.executable, "-c", RECORD, BIG_MERCHANT, str(count), str(BATCH), EVENT_TYPE],
        cwd=ROOT,
        env=product_env(broker=True, **WEBHOOK_ENV),
        capture_output=True,
        text=True,
        timeout=900,
    )
    (log_dir / "webhooks-record.log").write_text(done.stdout[-5000:] + done.stderr[-20000:])
    if done.returncode != 0:
        raise RuntimeError(f"recording the events failed: {done.stderr[-400:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["events"], answer["seconds"]


def start_worker(concurrency: int, log_dir: Path):
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    argv += ["--concurrency", str(concurrency), "--pool", "prefork", "-l", "warning"]
    argv += ["-n", f"benchhooks{concurrency}@%h", "--without-gossip", "--without-mingle"]
    argv += ["--without-heartbeat"]
    env = product_env(broker=True, **WEBHOOK_ENV)
    return start(argv, env=env, log_path=log_dir / f"celery-webhooks-{concurrency}.log")


def drain(endpoint_id: str, events: list[str], concurrency: int, receiver, log_dir: Path) -> Row:
    from django.db import connection

    label = f"webhook deliveries/s, {concurrency} worker process(es), backlog of {len(events)}"
    query = (
        "SELECT count(*) FILTER (WHERE status = 'succeeded'), "
        "count(*) FILTER (WHERE status = 'failed'), count(*), min(finished_at), "
        "max(finished_at), sum(attempts) FROM webhooks_delivery "
        "WHERE endpoint_id = %s AND event_id = ANY(%s)"
    )

    def count() -> tuple:
        with connection.cursor() as cursor:
            cursor.execute(query, [endpoint_id, events])
            return cursor.fetchone()

    worker = start_worker(concurrency, log_dir)
    (done, failed, total, first, last, attempts), wall = drain_backlog(
        worker,
        count,
        finished=lambda counts: counts[2] and counts[0] + counts[1] >= counts[2],
        progress=lambda counts: f"{counts[0]} of {counts[2]} deliveries succeeded",
        timeout=300,
        interval=0.1,
    )
    span = (last - first).total_seconds() if first and last else 0
    rate = (total - 1) / span if span > 0 else None
    note = (
        f"{done} succeeded, {failed} failed of {total} deliveries ({attempts} attempts); "
        f"the receiver got {receiver.received} POSTs, {len(receiver.ids)} distinct webhook-ids, "
        f"{receiver.bad_signatures} bad signatures; sent over {span:.1f} s, "
        f"{wall:.1f} s from worker launch (boot included)"
    )
    if total != len(events) or done != len(events) or receiver.bad_signatures:
        note += "; WRONG: not every event was delivered once, signed"
    return Row(SECTION, label, rps=rate, note=note)


def recording_row(ids: list[str], seconds: float) -> Row:
    return Row(
        SECTION,
        f"events recorded through the outbox ({BATCH} per transaction, "
        "payment JSON, deliveries queued on commit, no worker)",
        rps=len(ids) / seconds if seconds else None,
        note=f"{len(ids)} events in {seconds:.1f} s (one process)",
    )


def run(*, log_dir: Path, events: int = EVENTS) -> list[Row]:
    from merchants.models import Merchant, User

    merchant = Merchant.objects.get(name=BIG_MERCHANT)
    user = User.objects.get(email=admin_email(BIG_MERCHANT))
    rows: list[Row] = []
    try:
        with or_error_row(rows, SECTION, "webhook delivery"):
            flush_redis()
            receiver = Receiver()
            endpoint_id, secret = make_endpoint(
                merchant, user, f"http://127.0.0.1:{receiver.port}/hooks"
            )
            receiver.use_secret(secret)
            with receiver:
                for concurrency in (1, 2):
                    with or_error_row(rows, SECTION, f"deliveries, {concurrency} worker(s)"):
                        receiver.reset()
                        ids, seconds = record_events(events, log_dir)
                        if concurrency == 1:
                            rows.append(recording_row(ids, seconds))
                        rows.append(drain(endpoint_id, ids, concurrency, receiver, log_dir))
                        log(f"  {rows[-1].label}: {rows[-1].rps or 0:.0f}/s; {rows[-1].note}")
    finally:
        # The endpoint (and its deliveries) goes: later runs and sections see none.
        from webhooks.models import Endpoint

        Endpoint.objects.filter(merchant=merchant, description=DESCRIPTION).delete()
        flush_redis_quietly()
    return rows
