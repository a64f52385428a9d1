"""End to end: a non-external refund through gunicorn, Redis and a real Celery worker.

gunicorn (the product, CELERY_BROKER_URL=redis db 14) records each 1-unit refund
`pending` and enqueues it after commit; a `celery -A config worker` (sandbox gateway,
0 ms latency) sends it and marks it `succeeded`. For 1 and then 2 worker processes:

- latency: sequential requests, each from the POST until its transaction reads
  `succeeded` in the database (polled every 2 ms);
- throughput: M refunds are enqueued while no worker runs, then a worker is started
  and drains them; rate = (M - 1) / (last processed_at - first processed_at).
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .api import captured_payments
from .common import (
    BIG_MERCHANT,
    REDIS_URL,
    Row,
    api_key_for,
    connect,
    drain_backlog,
    log,
    or_error_row,
    p50,
    post_json,
    product_env,
    start,
    start_gunicorn,
    stop,
)

SECTION = "e2e"
LATENCY_SAMPLES = 40
BACKLOG = 600
BODY = {"amount": 1, "isExternal": False}
POLL_S = 0.002


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def flush_redis_quietly() -> None:
    """After a section: empty the bench's Redis db, logging (not raising) a failure."""
    try:
        flush_redis()
    except Exception as error:
        log(f"could not flush redis db 14: {error}")


def refund(port: int, payment_id: str, key: str) -> tuple[str, float]:
    """POST a 1-unit refund; answer the new transaction's id and the request's ms."""
    started = time.perf_counter()
    status, body = post_json(port, f"/api/v1/payments/{payment_id}/reverse", BODY, key=key)
    ms = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
    pending = [
        t
        for t in json.loads(body)["transactions"]
        if t["type"] == "refund" and t["amount"] == 1 and not t["isExternal"]
    ]
    if not pending:
        raise RuntimeError("the answer holds no new refund")
    return pending[-1]["id"], ms


def wait_succeeded(conn, txn_id: str, *, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        row = conn.execute(
            "SELECT status FROM payments_transaction WHERE id = %s", [txn_id]
        ).fetchone()
        if row and row[0] == "succeeded":
            return
        if row and row[0] == "failed":
            raise RuntimeError(f"{txn_id} failed at the gateway")
        time.sleep(POLL_S)
    raise TimeoutError(f"{txn_id} still pending after {timeout:.0f} s")


def start_worker(concurrency: int, log_dir: Path):
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    argv += ["--concurrency", str(concurrency), "--pool", "prefork", "-l", "warning"]
    argv += ["-n", f"bench{concurrency}@%h", "--without-gossip", "--without-mingle"]
    argv += ["--without-heartbeat"]
    env = product_env(broker=True, SANDBOX_GATEWAY_LATENCY_MS="0")
    return start(argv, env=env, log_path=log_dir / f"celery-{concurrency}.log")


def latency(port: int, ids: list[str], key: str, concurrency: int) -> Row:
    label = f"refund request -> succeeded, {concurrency} worker process(es)"
    totals, requests = [], []
    with connect() as conn:
        # The first one also waits for the worker to boot.
        txn, _ = refund(port, ids[0], key)
        wait_succeeded(conn, txn, timeout=120)
        for payment_id in ids[1:]:
            started = time.perf_counter()
            txn, ms = refund(port, payment_id, key)
            wait_succeeded(conn, txn)
            totals.append((time.perf_counter() - started) * 1000)
            requests.append(ms)
    note = f"n={len(totals)}; the POST alone: p50 {p50(requests):.1f} ms"
    return Row.timed(SECTION, label, totals, note=note)


def enqueue(port: int, ids: list[str], key: str) -> tuple[list[str], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        txns = [t for t, _ in pool.map(lambda pid: refund(port, pid, key), ids)]
    return txns, len(ids) / (time.perf_counter() - started)


def drain(txns: list[str], concurrency: int, log_dir: Path) -> Row:
    label = f"worker throughput, {concurrency} process(es), backlog of {len(txns)}"
    with connect() as conn:
        worker = start_worker(concurrency, log_dir)
        (done, failed, first, last), wall = drain_backlog(
            worker,
            lambda: conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'succeeded'), "
                "count(*) FILTER (WHERE status = 'failed'), min(processed_at), "
                "max(processed_at) FROM payments_transaction WHERE id = ANY(%s)",
                [txns],
            ).fetchone(),
            finished=lambda counts: counts[0] + counts[1] >= len(txns),
            progress=lambda counts: f"{counts[0]} of {len(txns)} succeeded",
            timeout=240,
            interval=0.05,
        )
    span = (last - first).total_seconds()
    rate = (len(txns) - 1) / span if span > 0 else float("nan")
    note = (
        f"{done} succeeded, {failed} failed; processed over {span:.1f} s; "
        f"{wall:.1f} s from worker launch (boot included)"
    )
    return Row(SECTION, label, rps=rate, note=note)


def run(*, log_dir: Path) -> list[Row]:
    from merchants.models import Merchant

    merchant = Merchant.objects.get(name=BIG_MERCHANT)
    key = api_key_for(BIG_MERCHANT)
    rows: list[Row] = []
    web = None
    try:
        with or_error_row(rows, SECTION, "end to end"):
            flush_redis()
            ids = captured_payments(merchant.id, 2 * (LATENCY_SAMPLES + 1 + BACKLOG))
            log("e2e: starting gunicorn with the Redis broker")
            web, port = start_gunicorn(
                "config.wsgi", env=product_env(broker=True), log_dir=log_dir, name="gunicorn-e2e"
            )
            chunk = LATENCY_SAMPLES + 1 + BACKLOG
            for i, concurrency in enumerate((1, 2)):
                mine = ids[i * chunk : (i + 1) * chunk]
                worker = start_worker(concurrency, log_dir)
                try:
                    with or_error_row(rows, SECTION, f"latency, {concurrency} worker(s)"):
                        rows.append(latency(port, mine[: LATENCY_SAMPLES + 1], key, concurrency))
                        log(f"  {rows[-1].label}: p50 {rows[-1].p50:.1f} ms")
                finally:
                    stop(worker, timeout=30)
                with or_error_row(rows, SECTION, f"throughput, {concurrency} worker(s)"):
                    txns, enqueue_rate = enqueue(port, mine[LATENCY_SAMPLES + 1 :], key)
                    if concurrency == 1:
                        label = "enqueue non-external refunds via gunicorn (8 clients, no worker)"
                        rows.append(
                            Row(SECTION, label, rps=enqueue_rate, note=f"{len(txns)} requests")
                        )
                    rows.append(drain(txns, concurrency, log_dir))
                    log(f"  {rows[-1].label}: {rows[-1].rps:.0f}/s")
    finally:
        if web is not None:
            stop(web)
        flush_redis_quietly()
    return rows
