"""Dashboard pages through the whole Django stack (middleware, views, templates), with
the test client signed in (force_login) as the big merchant's admin.

The pages are data: `PAGES` (built) and `PLANNED` (not built yet), each a
(label, url, must contain (one text or several), must not contain[, htmx, SQL budget])
with {placeholders} filled from `targets()`, facts read from the database (the newest
payment, an old cursor, the first and last disputes of the queue's page...). The
two checks make each row honest: a built page that answers something else is flagged,
and a planned page counts as built only when it answers 200 and filters (so a page
that is missing (404) or that ignores its parameter reads "n/a (not built yet)").
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import NamedTuple

from payments.models import DisplayStatus

from .common import BIG_MERCHANT, Row, admin_email, error_row, log
from .fill import FIFTY_TXN_PAYMENT, FIRST_NAMES, LAST_NAMES, read_marker

SECTION = "pages"
NOT_BUILT = "n/a (not built yet)"


class Page(NamedTuple):
    label: str
    url: str
    expect: str | tuple[str, ...] | None = None  # the answer must contain this (each)
    reject: str | None = None  # ... and must not contain this
    htmx: bool = False
    max_sql: int | None = None  # the page's statement budget: more is flagged


# The payment page's statement budget, issue 12's five (4 for most payments, 5 for a
# charged-back one, asserted in tests/dashboard/test_payments_pages.py): more is flagged.
PAYMENT_PAGE_SQL = 5


STATUSES = DisplayStatus.values

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
    Page(
        "payment page, 50 transactions",
        f"/payments/{FIFTY_TXN_PAYMENT}/",
        "refund 48 of 48",
        max_sql=PAYMENT_PAGE_SQL,
    ),
    Page(
        "payment page, typical (refunded)",
        "/payments/{newest_refunded}/",
        "{newest_refunded}",
        max_sql=PAYMENT_PAGE_SQL,
    ),
    Page(
        "payment page, chargeback with a won dispute",
        "/payments/{won_payment}/",
        ("{won_payment}", "{won_dispute}"),
        max_sql=PAYMENT_PAGE_SQL,
    ),
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
    # Order ids grow with time: "ORD-1" means about a million payments, all old; more
    # than 1,000 are refused with a word to type more (payments.selectors).
    Page("payments: short order id prefix (ORD-1)", "/payments/?q=ORD-1", "type more", "{newest}"),
    Page("payments: order id start, 1,000 or fewer", "/payments/?q=ORD-1234", "{order_1234_pay}"),
    # A last name alone means ~20,000 customers at 1M: the payments list asks to type more.
    Page("payments: customer full name", "/payments/?q={full_name}", "{full_low}", "{newest}"),
    Page("customers: name part", "/customers/?q={name_part}", "{name_low}", "{newest_customer}"),
    Page("overview (30 days of refunds, chargebacks)", "/overview/"),
    # The queue: needs response first, soonest deadline first; each row carries its
    # status (data-status), so a filter that lets another status through is seen.
    Page(
        "disputes queue: first page",
        "/disputes/",
        ("{queue_first}", "{queue_last}"),
        "{queue_next}",
    ),
    Page(
        "disputes queue: status=needs_response",
        "/disputes/?status=needs_response",
        ("{needs_first}", "{needs_last}"),
        'data-status="under_review"',
    ),
    Page(
        "disputes queue: overdue=true",
        "/disputes/?overdue=true",
        ("{overdue_first}", "{overdue_last}"),
        "{not_overdue_first}",
    ),
]  # fmt: skip

# Pages of features not built yet: measured once they answer.
PLANNED: list[Page] = []


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
    t["order_1234_pay"] = _one(
        recent.format("AND lower(order_id) LIKE %s") + " LIMIT 1", [merchant_id, "ord-1234%"]
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
    t.update(dispute_targets(merchant_id))
    t["won_payment"], t["won_dispute"] = _one(
        "SELECT payment_id, id FROM chargebacks_dispute WHERE merchant_id = %s AND status = 'won' "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        [merchant_id],
    )
    t["newest_audit_target"] = _one(
        "SELECT target_id FROM audit_auditentry WHERE merchant_id = %s AND target_type = 'payment' "
        "ORDER BY created_at DESC, id DESC LIMIT 1",
        [merchant_id],
    )[0]
    return t


def dispute_targets(merchant_id: int) -> dict[str, str]:
    """The first and last rows of the queue's first page (25 rows), unfiltered and per
    filter, in the queue's order; and a row that must not show."""
    from django.db import connection
    from django.utils import timezone

    queue = (
        "SELECT id FROM chargebacks_dispute WHERE merchant_id = %s {} "
        "ORDER BY status <> 'needs_response', evidence_due_by, id LIMIT 26"
    )

    def ids(where: str, params: list) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(queue.format(where), [merchant_id, *params])
            return [row[0] for row in cursor.fetchall()]

    t: dict[str, str] = {}
    now = timezone.now()
    none = "(no such dispute in the data set)"
    for name, where, params in (
        ("queue", "", []),
        ("needs", "AND status = 'needs_response'", []),
        ("overdue", "AND status = 'needs_response' AND evidence_due_by < %s", [now]),
        ("not_overdue", "AND status = 'needs_response' AND evidence_due_by >= %s", [now]),
    ):
        found = ids(where, params)
        t[f"{name}_first"] = found[0] if found else none
        t[f"{name}_last"] = found[:25][-1] if found else none
        # A dispute on the next page: it must not be on the first.
        t[f"{name}_next"] = found[25] if len(found) > 25 else "(fewer than 26 disputes)"
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
    expected = (page.expect,) if isinstance(page.expect, str) else page.expect or ()
    for want in expected:
        if want.format(**t) not in body:
            return f"missing {want.format(**t)}"
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
    if page.max_sql is not None and sql > page.max_sql:
        note += f"; over budget: {sql} SQL statements, {page.max_sql} before"
    if problem:
        note += f"; unexpected answer: {problem}"
    return Row.timed(SECTION, page.label, samples, sql=sql, note=note)


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
    return rows
