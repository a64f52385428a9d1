"""The result table (markdown), with the machine it ran on."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from .common import ROOT, Row, connect

COLUMNS = ["section", "measurement", "req/s", "p50 ms", "p95 ms", "p99 ms", "SQL/req", "notes"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _postgres() -> str:
    try:
        with connect() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            shared = conn.execute("SHOW shared_buffers").fetchone()[0]
        return f"{version} (shared_buffers {shared})"
    except Exception as error:
        return f"unknown ({type(error).__name__})"


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def machine() -> list[str]:
    import django

    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; code at commit {_commit()}",
        f"- machine: {os.cpu_count()} CPUs (nproc), {_memory()} RAM, {_cpu_model()}",
        f"- PostgreSQL {_postgres()}; Python {platform.python_version()}, "
        f"Django {django.get_version()}; the product's statements {_binding()}",
    ]


def _binding() -> str:
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {})
    if not options.get("server_side_binding"):
        return "with their parameters inlined, never prepared (DATABASE_PREPARED_STATEMENTS=false)"
    return f"prepared on their {options.get('prepare_threshold')}th run on a connection"


def _number(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int) or digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in rows:
        cells = [
            row.section,
            row.label,
            _number(row.rps, 0),
            _number(row.p50),
            _number(row.p95),
            _number(row.p99),
            _number(row.sql, 0),
            row.note.replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(
    rows: list[Row], *, payments: int, sections: list[str], seconds: float, loads: dict
) -> str:
    load = ", ".join(f"{name} {value:.1f}" for name, value in loads.items())
    head = [
        f"# Bench: {payments:,} payments",
        "",
        "`python -m bench` (bench/__main__.py). Pages: in-process Django test client, "
        "signed in as the big merchant's admin (80% of the payments); API: gunicorn -w 2 "
        "and wrk on loopback, product against the floor (/work/shared/bench/floor_reverse.py); "
        "e2e: gunicorn + Redis + a real Celery worker; export: /payments/export.csv streamed "
        "through the test client (rows/s in the req/s column, peak memory in the notes); "
        "webhooks: events recorded through the outbox, sent by a real Celery worker to a "
        "receiver in the bench process (deliveries/s in the req/s column). "
        "Times in ms; SQL/req counted "
        "with CaptureQueriesContext on one request. wrk posts 1-unit external refunds to "
        "distinct payments (each wrk thread walks its own slice: wrk has no per-connection "
        "hook); the ratio product/floor is the figure to compare between machines.",
        "",
        *machine(),
        f"- sections run: {', '.join(sections)}; the run took {seconds / 60:.1f} min",
        f"- load average (1 min) when each section started: {load} "
        f"(on {os.cpu_count()} CPUs; anything above what the bench runs is other work "
        "sharing the machine, which makes absolute numbers noisier than the ratios)",
        "",
    ]
    return "\n".join(head) + "\n" + table(rows) + "\n"
