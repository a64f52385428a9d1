"""The payments CSV export (/payments/export.csv, payments.exports) streamed through the
whole Django stack with the test client, signed in as the big merchant's admin.

- the whole list (about 80% of the payments): rows/s over the full stream, SQL
  statements (counted with an execute wrapper, nothing kept), and the process's peak
  RSS above what it was before the request (sampled every 20 ms by a thread), with the
  RSS after 10% of the rows beside it: constant memory means the two are close;
- the same, with tracemalloc on, over the first TRACED_ROWS rows only (it slows
  Python down several times): the peak of the Python heap that the stream allocated;
- one month (the list's date filter, a year ago): rows/s and SQL statements.

Each row checks the answer: HTTP 200, text/csv, the header line, as many lines as the
database has payments for the filter, and the newest of them first.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from .common import BIG_MERCHANT, Row, admin_email, error_row, log
from .fill import read_marker

SECTION = "export"
URL = "/payments/export.csv"
TRACED_ROWS = 100_000


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """The highest RSS of this process while it runs (every `every` seconds)."""

    def __init__(self, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.peak = rss_kib()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, rss_kib())
            self.done.wait(self.every)

    def stop(self) -> int:
        self.done.set()
        self.join()
        self.peak = max(self.peak, rss_kib())
        return self.peak


@contextmanager
def counting_sql():
    """Count the statements run on the default connection (nothing else is kept)."""
    from django.db import connection

    count = [0]

    def wrapper(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def expected(merchant_id: int, where: str = "", params: list | None = None) -> tuple[int, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM payments_payment WHERE merchant_id = %s {where}",
            [merchant_id, *(params or [])],
        )
        count = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT id FROM payments_payment WHERE merchant_id = %s {where} "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            [merchant_id, *(params or [])],
        )
        newest = cursor.fetchone()
    return count, newest[0] if newest else ""


def stream(client, url: str, *, stop_after: int | None = None, on_row=None) -> tuple[int, str]:
    """GET the export and read it line by line; answers the data rows read and the
    first data row's payment id."""
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code} for {url}: {response.content[:200]!r}")
    if not response.streaming:
        raise RuntimeError(f"{url} is not streamed")
    if not response["Content-Type"].startswith("text/csv"):
        raise RuntimeError(f"{url} answers {response['Content-Type']}")
    rows, first, header, pending = 0, "", None, b""
    try:
        for piece in response.streaming_content:
            pending += piece
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if header is None:
                    header = line
                    if not line.startswith(b"id,"):
                        raise RuntimeError(f"unexpected header {line[:80]!r}")
                    continue
                if not first:
                    first = line.split(b",", 1)[0].decode()
                rows += 1
                if on_row is not None:
                    on_row(rows)
            if stop_after is not None and rows >= stop_after:
                break
    finally:
        response.close()
    if pending.strip():
        rows += 1
    return rows, first


def whole_list(client, merchant_id: int) -> list[Row]:
    count, newest = expected(merchant_id)
    rows_out: list[Row] = []
    marks: dict[str, int] = {}
    tenth = max(1, count // 10)

    def on_row(n: int) -> None:
        if n == tenth:
            marks["tenth"] = rss_kib()

    before = rss_kib()
    sampler = RssSampler()
    sampler.start()
    with counting_sql() as sql:
        started = time.perf_counter()
        rows, first = stream(client, URL, on_row=on_row)
        seconds = time.perf_counter() - started
    peak = sampler.stop()
    problems = []
    if rows != count:
        problems.append(f"{rows:,} rows, the database has {count:,}")
    if first != newest:
        problems.append(f"first row {first}, newest is {newest}")
    at_tenth = marks.get("tenth", before)
    note = (
        f"{rows:,} rows in {seconds:.1f} s; RSS peak +{(peak - before) / 1024:.1f} MiB above "
        f"the {before / 1024:.0f} MiB before the request (+{(at_tenth - before) / 1024:.1f} MiB "
        f"after 10% of the rows)"
    )
    if problems:
        note += "; WRONG: " + "; ".join(problems)
    rows_out.append(
        Row(
            SECTION,
            f"CSV export, whole list of the big merchant ({count:,} payments): rows/s",
            rps=rows / seconds if seconds else None,
            sql=sql[0],
            note=note,
        )
    )

    # The Python heap the stream allocates, over its first rows (tracemalloc is slow).
    limit = min(count, TRACED_ROWS)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        traced: dict[int, int] = {}

        def on_traced(n: int) -> None:
            if n in (limit // 10, limit):
                traced[n] = tracemalloc.get_traced_memory()[1]

        started = time.perf_counter()
        got, _ = stream(client, URL, stop_after=limit, on_row=on_traced)
        seconds = time.perf_counter() - started
        _, peak_heap = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = ", ".join(
        f"{(v - base) / 1024:,.0f} KiB at row {k:,}" for k, v in sorted(traced.items())
    )
    rows_out.append(
        Row(
            SECTION,
            f"CSV export, whole list: Python heap peak (tracemalloc, first {limit:,} rows)",
            note=f"peak {(peak_heap - base) / 1024:,.0f} KiB above the start ({growth}); "
            f"{got:,} rows in {seconds:.1f} s under tracemalloc",
        )
    )
    return rows_out


def one_month(client, merchant_id: int) -> Row:
    from django.utils import timezone

    marker = read_marker() or {}
    anchor = marker.get("anchor") or timezone.now()
    month_to = (anchor - timedelta(days=365)).date()
    month_from = month_to - timedelta(days=30)
    url = f"{URL}?created_from={month_from.isoformat()}&created_to={month_to.isoformat()}"
    # The list's date filter: from the start of the first day to the end of the last (UTC).
    count, newest = expected(
        merchant_id,
        "AND created_at >= %s::date AND created_at < %s::date + 1",
        [month_from, month_to],
    )
    with counting_sql() as sql:
        started = time.perf_counter()
        rows, first = stream(client, url)
        seconds = time.perf_counter() - started
    note = f"{url}: {rows:,} rows in {seconds * 1000:.0f} ms"
    if rows != count or first != newest:
        note += f"; WRONG? the database has {count:,} (newest {newest}), first row {first}"
    return Row(
        SECTION,
        "CSV export, one month (created_from/created_to)",
        rps=rows / seconds if seconds else None,
        p50=seconds * 1000,
        sql=sql[0],
        note=note,
    )


def run() -> list[Row]:
    import logging

    from django.test import Client

    from merchants.models import Merchant, User

    logging.getLogger("django.request").setLevel(logging.ERROR)
    merchant = Merchant.objects.get(name=BIG_MERCHANT)
    client = Client()
    client.force_login(User.objects.get(email=admin_email(BIG_MERCHANT)))
    rows: list[Row] = []
    for label, fn in (
        ("CSV export, whole list", lambda: whole_list(client, merchant.id)),
        ("CSV export, one month", lambda: [one_month(client, merchant.id)]),
    ):
        try:
            done = fn()
        except Exception as error:
            done = [error_row(SECTION, label, error)]
        for row in done:
            log(f"  {row.label}: {row.rps or 0:,.0f} rows/s; {row.note}")
        rows += done
    return rows
