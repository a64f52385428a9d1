"""python -m bench: fill PostgreSQL, then measure pages, the CSV export, the API, the
refund pipeline and webhook delivery.

    python -m bench --payments 1000000            # fill (minutes), then measure all
    python -m bench --payments 1000000 --skip-fill --only pages,export,webhooks

Uses only the database `backoffice_bench` and Redis db 14, on loopback. Every
section catches its own failures (its rows read "error: ..."), and every process the
bench starts is killed at the end, also on error or Ctrl-C. Prints one markdown table
and writes it to --out (bench/results.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from .common import DATABASE_URL, ROOT, Row, error_row, log, stop_all

SECTIONS = ["fill", "pages", "export", "api", "e2e", "webhooks"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--audit", type=int, default=100_000, help="audit entries")
    parser.add_argument(
        "--skip-fill", action="store_true", help="reuse the data there when its size matches"
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"sections, comma-separated: {SECTIONS}"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--repeat", type=int, default=30, help="requests per page")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per page, at most")
    parser.add_argument(
        "--webhook-events", type=int, default=2000, help="events per webhook delivery run"
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose among {SECTIONS}")
    if args.payments < 10_000:
        parser.error("--payments must be at least 10000")
    return args


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The in-process test client speaks plain HTTP: no redirect to HTTPS.
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    for name in ("CELERY_BROKER_URL", "CACHE_URL", "DEBUG", "SANDBOX_GATEWAY_LEDGER"):
        os.environ.pop(name, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A TERM (or Ctrl-C) unwinds through the finally below, which stops the children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    log(f"sections {args.sections}; logs of the processes started in {log_dir}")
    setup_django()

    from . import fill, report

    rows: list[Row] = []
    loads: dict[str, float] = {}
    payments = args.payments
    try:
        loads["fill"] = os.getloadavg()[0]
        try:
            rows += fill.ensure_data(
                payments=args.payments,
                customers=args.customers,
                audit=args.audit,
                skip_fill=args.skip_fill,
                allowed="fill" in args.sections,
            )
        except Exception as error:
            rows.append(error_row("fill", "data set", error))
        marker = fill.read_marker()
        if marker and marker["payments"] != args.payments:
            rows.append(Row("fill", "data set", note=f"{marker['payments']:,} payments there"))
        payments = marker["payments"] if marker else args.payments

        if "pages" in args.sections:
            from . import pages

            loads["pages"] = os.getloadavg()[0]

            rows += _guarded("pages", lambda: pages.run(repeat=args.repeat, budget=args.budget))
        if "export" in args.sections:
            from . import export

            loads["export"] = os.getloadavg()[0]

            rows += _guarded("export", export.run)
        if "api" in args.sections:
            from . import api

            loads["api"] = os.getloadavg()[0]

            rows += _guarded("api", lambda: api.run(log_dir=log_dir))
        if "e2e" in args.sections:
            from . import e2e

            loads["e2e"] = os.getloadavg()[0]

            rows += _guarded("e2e", lambda: e2e.run(log_dir=log_dir))
        if "webhooks" in args.sections:
            from . import webhook

            loads["webhooks"] = os.getloadavg()[0]

            rows += _guarded(
                "webhooks", lambda: webhook.run(log_dir=log_dir, events=args.webhook_events)
            )
    finally:
        stop_all()
    loads["end"] = os.getloadavg()[0]

    text = report.render(
        rows,
        payments=payments,
        sections=args.sections,
        seconds=time.perf_counter() - started,
        loads=loads,
    )
    print()
    print(text)
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    out.write_text(text)
    log(f"written to {out}")
    return 0


def _guarded(section: str, fn) -> list[Row]:
    try:
        return fn()
    except Exception as error:
        return [error_row(section, section, error)]


if __name__ == "__main__":
    sys.exit(main())
