"""Dashboard pages through the whole Django stack (middleware, views, templates), with
the test client signed in (force_login) as the big merchant's admin.

The pages are data: `PAGES` (built) and `PLANNED` (not built yet), each a
(label, url, must contain, must not contain[, htmx]) with {placeholders} filled from
`targets()`, facts read from the database (the newest payment, an old cursor...). The
two checks make each row honest: a built page that answers something else is flagged,
and a planned page counts as built only when it answers 200 and filters (so a page
that is missing (404) or that ignores its parameter reads "n/a (not built yet)").
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import time
from datetime import timedelta
from typing import NamedTuple

from .common import BIG_MERCHANT, Row, admin_email, error_row, log, p50, percentile
from .fill import FIFTY_TXN_PAYMENT, FIRST_NAMES, LAST_NAMES, read_marker

SECTION = "pages"
NOT_BUILT = "n/a (not built yet)"


class Page(NamedTuple):
    label: str
    url: str
    expect: str | None = None  # the answer must contain this
    reject: str | None = None  # ... and must not contain this
    htmx: bool = False


STATUSES = [
    "failed",
    "chargeback",
    "voided",
    "refunded",
    "partially_refunded",
    "captured",
    "authorized",
]

PAGES = [
    Page("payments: first page", "/payments/", "{newest}"),
    Page("payments: first page, HTMX partial", "/payments/", "{newest}", htmx=True),
    Page("payments: page 2 (cursor of page 1)", "/payments/?after={page1_last}", "{page2_first}"),
    Page("payments: deep page (17-month-old cursor)", "/payments/?after={deep}", "{deep_next}"),
    *[
        Page(f"payments: status={s}", f"/payments/?status={s}", f"{{newest_{s}}}")
        for s in STATUSES
    ],
    Page(
        "payments: status=captured, deep page",
        "/payments/?status=captured&after={deep_captured}",
        "{deep_captured_next}",
    ),
    Page(
        "payments: status=chargeback, deep page",
        "/payments/?status=chargeback&after={deep_chargeback}",
        "{deep_chargeback_next}",
    ),
    Page("payments: search payment id", "/payments/?q={deep}", "{deep}"),
    Page("payments: search exact order id", "/payments/?q={order_id}", "{order_payment}"),
    Page("payments: search customer email", "/payments/?q={email}", "{email_payment}"),
    Page("payments: search finding nothing", "/payments/?q=nobody@example.org", None, "{newest}"),
    Page("payment page, 50 transactions", f"/payments/{FIFTY_TXN_PAYMENT}/", "refund 48 of 48"),
    Page("payment page, typical (refunded)", "/payments/{newest_refunded}/", "{newest_refunded}"),
    Page("customers: first page", "/customers/", "{newest_customer}"),
    Page("customers: search exact email", "/customers/?q={email}", "{email_customer}"),
    Page("customers: search email prefix", "/customers/?q={email_prefix}", "{prefix_customer}"),
    Page("customer page", "/customers/{email_customer}/", "{email_customer}"),
    Page("activity: first page", "/activity/", "{newest_audit_target}"),
    Page("activity: action=payment.chargeback", "/activity/?action=payment.chargeback"),
    Page(
        "payments: date range (one month, a year ago)",
        "/payments/?created_from={month_from}&created_to={month_to}",
        "{month_newest}",
        "{newest}",
    ),
    Page(
        "payments: amount range (USD)",
        "/payments/?currency=USD&amount_min={amount_min}&amount_max={amount_max}",
        "{amount_newest}",
        "{newest}",
    ),
    Page("payments: order id prefix", "/payments/?q={order_prefix}", "{order_pre_pay}", "{newest}"),
    Page("payments: email prefix", "/payments/?q={email_prefix}", "{prefix_pay}", "{newest}"),
    # A last name alone means ~20,000 customers at 1M: the payments list asks to type more.
    Page("payments: customer full name", "/payments/?q={full_name}", "{full_low}", "{newest}"),
    Page("customers: name part", "/customers/?q={name_part}", "{name_low}", "{newest_customer}"),
    Page("overview (30 days of refunds, chargebacks)", "/overview/"),
]  # fmt: skip

# Pages of features not built yet: measured once they answer.
PLANNED = [
    Page("disputes queue", "/disputes/"),
]  # fmt: skip

# Rows for things that do not exist yet at all: (label, url names tried, modules tried).
LATER = [
    ("CSV export of 1M payments", ["payments:export", "payments:export_csv"], []),
    ("webhook delivery", ["webhooks:list", "webhooks:endpoints"], ["webhooks"]),
]  # fmt: skip


# --- targets: facts of the data set that the pages must show ---------------------------


def _one(sql: str, params: list) -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise LookupError(f"no row for: {sql.split('WHERE')[0].strip()[:60]}... {params}")
    return row


def targets(merchant_id: int) -> dict[str, str]:
    marker = read_marker() or {}
    from django.utils import timezone

    anchor = marker.get("anchor") or timezone.now()
    old = anchor - timedelta(days=510)
    t: dict[str, str] = {}
    recent = (
        "SELECT id FROM payments_payment WHERE merchant_id = %s {} "
        "ORDER BY created_at DESC, id DESC"
    )
    t["newest"] = _one(recent.format("") + " LIMIT 1", [merchant_id])[0]
    t["page1_last"] = _one(recent.format("") + " OFFSET 24 LIMIT 1", [merchant_id])[0]
    t["page2_first"] = _one(recent.format("") + " OFFSET 25 LIMIT 1", [merchant_id])[0]
    t["deep"] = _one(recent.format("AND created_at < %s") + " LIMIT 1", [merchant_id, old])[0]
    t["deep_next"] = _one(
        recent.format("AND created_at < %s") + " OFFSET 1 LIMIT 1", [merchant_id, old]
    )[0]
    for status in STATUSES:
        t[f"newest_{status}"] = _one(
            recent.format("AND display_status = %s") + " LIMIT 1", [merchant_id, status]
        )[0]
    for status in ("captured", "chargeback"):
        where = recent.format("AND display_status = %s AND created_at < %s")
        t[f"deep_{status}"] = _one(where + " LIMIT 1", [merchant_id, status, old])[0]
        t[f"deep_{status}_next"] = _one(where + " OFFSET 1 LIMIT 1", [merchant_id, status, old])[0]
    # An order id and a customer from about nine months ago.
    middle = anchor - timedelta(days=270)
    t["order_payment"], t["order_id"], t["email_payment_of"] = _one(
        "SELECT id, order_id, customer_id FROM payments_payment WHERE merchant_id = %s "
        "AND created_at < %s AND order_id LIKE 'ORD-%%' AND customer_id IS NOT NULL "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        [merchant_id, middle],
    )
    t["email_customer"], t["email"] = _one(
        "SELECT id, email FROM customers_customer WHERE id = %s", [t["email_payment_of"]]
    )
    t["email_payment"] = _one(
        "SELECT id FROM payments_payment WHERE customer_id = %s ORDER BY created_at DESC, id DESC "
        "LIMIT 1",
        [t["email_customer"]],
    )[0]
    t["newest_customer"] = _one(
        "SELECT id FROM customers_customer WHERE merchant_id = %s "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        [merchant_id],
    )[0]
    # "ben.kowalski123@example.com" -> "ben.kowalski12": about ten customers start so.
    t["email_prefix"] = t["email"].split("@")[0][:-1]
    t["prefix_customer"] = _one(
        "SELECT id FROM customers_customer WHERE merchant_id = %s AND lower(email) LIKE %s "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        [merchant_id, t["email_prefix"].lower() + "%"],
    )[0]
    t["prefix_pay"] = _one(
        "SELECT p.id FROM payments_payment p JOIN customers_customer c ON c.id = p.customer_id "
        "WHERE c.merchant_id = %s AND lower(c.email) LIKE %s "
        "ORDER BY p.created_at DESC, p.id DESC LIMIT 1",
        [merchant_id, t["email_prefix"].lower() + "%"],
    )[0]
    t["order_prefix"] = t["order_id"][:-1]
    t["order_pre_pay"] = _one(
        recent.format("AND order_id LIKE %s") + " LIMIT 1", [merchant_id, t["order_prefix"] + "%"]
    )[0]
    # A last name that neither the newest payment's customer nor the newest customer has.
    taken = _one(
        "SELECT coalesce((SELECT c.name FROM customers_customer c JOIN payments_payment p "
        "ON p.customer_id = c.id WHERE p.id = %s), ''), "
        "(SELECT name FROM customers_customer WHERE id = %s)",
        [t["newest"], t["newest_customer"]],
    )
    name = next(n for n in LAST_NAMES if all(n not in (x or "").lower() for x in taken))
    t["name_part"], t["name_low"] = name.capitalize(), f".{name}"
    first = next(n for n in FIRST_NAMES if all(n not in (x or "").lower() for x in taken))
    t["full_name"], t["full_low"] = f"{first.capitalize()}+{name.capitalize()}", f"{first}.{name}"
    month_to = (anchor - timedelta(days=365)).date()
    month_from = month_to - timedelta(days=30)
    t["month_from"], t["month_to"] = month_from.isoformat(), month_to.isoformat()
    t["month_newest"] = _one(
        recent.format("AND created_at < %s") + " LIMIT 1",
        [merchant_id, month_to + timedelta(days=1)],
    )[0]
    t["amount_min"], t["amount_max"] = "1000.00", "1010.00"
    t["amount_newest"] = _one(
        recent.format("AND amount BETWEEN 100000 AND 101000 AND currency = 'USD'") + " LIMIT 1",
        [merchant_id],
    )[0]
    t["newest_audit_target"] = _one(
        "SELECT target_id FROM audit_auditentry WHERE merchant_id = %s AND target_type = 'payment' "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        [merchant_id],
    )[0]
    return t


# --- measuring ----------------------------------------------------------------------------------


def _get(client, page: Page, url: str):
    headers = {"HX-Request": "true"} if page.htmx else {}
    response = client.get(url, headers=headers)
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode(errors="replace")
    return response.status_code, body


def _check(page: Page, body: str, t: dict[str, str]) -> str | None:
    """None when the answer shows what it should, else what is wrong."""
    if page.expect and page.expect.format(**t) not in body:
        return f"missing {page.expect.format(**t)}"
    if page.reject and page.reject.format(**t) in body:
        return f"shows {page.reject.format(**t)} (parameter ignored?)"
    return None


def measure(client, page: Page, t: dict, *, repeat: int, budget: float, planned: bool) -> Row:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = page.url.format(**t)
    status, body = _get(client, page, url)
    if planned and status == 404:
        return Row(SECTION, page.label, note=f"{NOT_BUILT}: {url} answers 404")
    if status != 200:
        return Row(SECTION, page.label, note=f"error: HTTP {status} for {url}")
    problem = _check(page, body, t)
    if planned and problem:
        return Row(SECTION, page.label, note=f"{NOT_BUILT}: {url} {problem}")
    with CaptureQueriesContext(connection) as queries:
        _get(client, page, url)
    sql = len(queries.captured_queries)  # now: the next request resets the log
    _get(client, page, url)  # warm-up
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    while len(samples) < repeat and (len(samples) < 3 or time.perf_counter() < deadline):
        started = time.perf_counter()
        _get(client, page, url)
        samples.append((time.perf_counter() - started) * 1000)
    note = f"n={len(samples)}"
    if problem:
        note += f"; unexpected answer: {problem}"
    return Row(
        SECTION,
        page.label,
        p50=p50(samples),
        p95=percentile(samples, 95),
        sql=sql,
        note=note,
    )


def later_rows(client) -> list[Row]:
    from django.urls import NoReverseMatch, reverse

    rows = []
    for label, url_names, modules in LATER:
        try:
            urls = []
            for name in url_names:
                with contextlib.suppress(NoReverseMatch):
                    urls.append(reverse(name))
            present = [m for m in modules if _module_exists(m)]
            if not urls and not present:
                rows.append(Row("later", label, note=NOT_BUILT))
                continue
            if urls:
                started = time.perf_counter()
                status, body = _get(client, Page(label, urls[0]), urls[0])
                ms = (time.perf_counter() - started) * 1000
                note = f"{urls[0]}: HTTP {status}, {len(body):,} characters, one request"
                rows.append(Row("later", label, p50=ms, note=note))
            else:
                note = f"module {present[0]} exists; no measurement written for it yet"
                rows.append(Row("later", label, note=note))
        except Exception as error:
            rows.append(error_row("later", label, error))
    return rows


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def run(*, repeat: int, budget: float) -> list[Row]:
    from django.test import Client

    from merchants.models import Merchant, User

    logging.getLogger("django.request").setLevel(logging.ERROR)
    merchant = Merchant.objects.get(name=BIG_MERCHANT)
    user = User.objects.get(email=admin_email(BIG_MERCHANT))
    client = Client()
    client.force_login(user)
    log("pages: reading targets")
    t = targets(merchant.id)
    rows: list[Row] = []
    for planned, pages in ((False, PAGES), (True, PLANNED)):
        for page in pages:
            try:
                row = measure(client, page, t, repeat=repeat, budget=budget, planned=planned)
            except Exception as error:
                row = error_row(SECTION, page.label, error)
            log(f"  {row.label}: p50 {row.p50 or 0:.1f} ms, SQL {row.sql} {row.note}")
            rows.append(row)
    rows += later_rows(client)
    return rows
