"""Benchmark: the payments list and detail at millions of rows, and reversal throughput.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/backoffice_bench \\
        python bench/payments_list.py --payments 1000000

Creates its own database tables (migrate), fills one merchant with N payments in a
single INSERT ... SELECT generate_series (plus a second merchant, so the merchant
filter is exercised), then prints a table of timings. Nothing here asserts a time.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from customers.models import Customer  # noqa: E402
from merchants.actors import SYSTEM  # noqa: E402
from merchants.models import Merchant  # noqa: E402
from payments import selectors, services  # noqa: E402
from payments.models import Payment  # noqa: E402

FILL_SQL = """
INSERT INTO payments_payment (
    id, merchant_id, customer_id, order_id, amount, currency, status, failure_reason,
    initiator, gateway_reference, is_captured, amount_captured, captured_at, amount_reversed,
    amount_reversal_pending, is_voided, is_chargebacked, metadata, created_at, updated_at
)
SELECT
    'pay_bench' || lpad(g::text, 19, '0'),
    %(merchant)s,
    CASE WHEN g %% 3 = 0 THEN %(customer)s ELSE NULL END,
    'ORD-' || g,
    1000 + (g %% 9000),
    'USD',
    CASE WHEN g %% 17 = 0 THEN 'failed' ELSE 'succeeded' END,
    '',
    'CIT',
    '',
    g %% 17 <> 0 AND g %% 5 <> 0,
    CASE WHEN g %% 17 <> 0 AND g %% 5 <> 0 THEN 1000 + (g %% 9000) ELSE 0 END,
    NULL,
    CASE WHEN g %% 17 <> 0 AND g %% 5 <> 0 AND g %% 7 = 0 THEN 500 ELSE 0 END,
    0,
    false,
    g %% 101 = 0 AND g %% 17 <> 0,
    '{}'::jsonb,
    now() - (g || ' seconds')::interval,
    now()
FROM generate_series(%(start)s, %(stop)s) AS g
"""


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def fill(merchant: Merchant, customer: Customer, count: int) -> None:
    existing = Payment.objects.filter(merchant=merchant).count()
    if existing >= count:
        return
    with connection.cursor() as cursor:
        step = 250_000
        for start in range(existing + 1, count + 1, step):
            cursor.execute(
                FILL_SQL,
                {
                    "merchant": merchant.id,
                    "customer": customer.id,
                    "start": start,
                    "stop": min(start + step - 1, count),
                },
            )
        cursor.execute("ANALYZE payments_payment")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database: this measures PostgreSQL plans.")

    call_command("migrate", verbosity=0)
    merchant, _ = Merchant.objects.get_or_create(name="Bench merchant")
    other, _ = Merchant.objects.get_or_create(name="Bench neighbour")
    customer, _ = Customer.objects.get_or_create(
        merchant=merchant, email="bench@example.com", defaults={"name": "Bench"}
    )
    started = time.perf_counter()
    fill(merchant, customer, args.payments)
    fill_seconds = time.perf_counter() - started
    total = Payment.objects.filter(merchant=merchant).count()

    first_page = selectors.list_payments(merchant=merchant, limit=25)
    deep_anchor = (
        Payment.objects.filter(merchant=merchant)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)[total // 2]
    )
    some_id = first_page.items[5].id
    rows = [
        ("first page, newest 25", lambda: selectors.list_payments(merchant=merchant, limit=25)),
        (
            "middle page (keyset)",
            lambda: selectors.list_payments(merchant=merchant, starting_after=deep_anchor),
        ),
        (
            "filter: chargeback",
            lambda: selectors.list_payments(merchant=merchant, display_status="chargeback"),
        ),
        (
            "filter: refunded/partial",
            lambda: selectors.list_payments(merchant=merchant, display_status="partially_refunded"),
        ),
        (
            "search by customer email",
            lambda: selectors.list_payments(merchant=merchant, search="BENCH@example.com"),
        ),
        ("search by order id", lambda: selectors.list_payments(merchant=merchant, search="ORD-77")),
        ("payment detail", lambda: selectors.get_payment(merchant=merchant, payment_id=some_id)),
        (
            "other merchant, empty list",
            lambda: selectors.list_payments(merchant=other, limit=25),
        ),
    ]
    print(f"\nPayments of the merchant: {total:,} (filled in {fill_seconds:.1f} s)\n")
    print(f"| {'operation':<28} | {'median ms':>9} | {'p95 ms':>7} |")
    print(f"|{'-' * 30}|{'-' * 11}|{'-' * 9}|")
    for name, fn in rows:
        median, p95 = timed(fn, args.repeat)
        print(f"| {name:<28} | {median:>9.2f} | {p95:>7.2f} |")

    # Reversal throughput: external refunds (no gateway) of distinct payments.
    targets = list(
        Payment.objects.filter(
            merchant=merchant, display_status="captured", amount_captured__gte=10
        ).values_list("id", flat=True)[:200]
    )
    started = time.perf_counter()
    for payment_id in targets:
        services.reverse_payment(
            merchant=merchant, payment_id=payment_id, actor=SYSTEM, amount=1, is_external=True
        )
    elapsed = time.perf_counter() - started
    print(
        f"\nreverse_payment (external, 1 process): {len(targets) / elapsed:,.0f} reversals/s "
        f"over {len(targets)} payments\n"
    )


if __name__ == "__main__":
    main()
