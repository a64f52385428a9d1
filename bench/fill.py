"""Fill `backoffice_bench` with a realistic data set, fast, in SQL.

A fresh database every time (drop, create, `manage.py migrate`): merchants, their
admins (group "Merchant admin") and API keys through the ORM; then customers, payments
with their ledger (payments_transaction), chargebacks and their disputes, and audit
entries with `INSERT ... SELECT generate_series` in batches, on two connections (two
cores), with every index, primary key and foreign key of the big tables dropped during
the load and rebuilt afterwards (the same statements, read back from pg_catalog), then
VACUUM ANALYZE, then the rollups the services keep (daily totals, the dispute ratio's
monthly totals) rebuilt by their management commands. A marker table (`bench_fill`)
records the size once all of it is done, so `--skip-fill` can trust what it finds.

Every value is a deterministic function of the row's number (`hashint8extended`), so
the same N gives the same data set. Payment number g is also its age rank: g = 1 is
the oldest, g = N the newest, spread evenly over 18 months.

Disputes: every chargeback has its dispute (amount: the captured amount; evidence due
DISPUTE_DAYS after the chargeback). Those of the last DISPUTE_DAYS days need a response
or are under review; those of the 60 days before are a mix of every status (a needs
response one is overdue); older ones are won, lost or accepted. A won one has its
`chargeback_reversal` ledger row, and Payment.amount_disputed is the sum of the
payment's disputes not won (0 when won).
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from .common import (
    DB_NAME,
    MERCHANTS,
    ROOT,
    Row,
    admin_email,
    api_key_for,
    connect,
    log,
    product_env,
)

MARKER_TABLE = "bench_fill"
BIG_TABLES = [
    "payments_payment",
    "payments_transaction",
    "customers_customer",
    "chargebacks_chargeback",
    "chargebacks_dispute",
    "audit_auditentry",
]
PAYMENT_SPAN_SECONDS = 548 * 86400  # 18 months
CUSTOMER_SPAN_SECONDS = 600 * 86400
PAYMENT_BATCH = 250_000
DISPUTE_DAYS = 14  # settings.DISPUTE_RESPONSE_DAYS: the evidence deadline after a chargeback
CUSTOMER_BATCH = 250_000
FIFTY_TXN_PAYMENT = "pay_bench50transactions0"  # 'pay_' + 24 characters, like the others


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "ben anna carlos diana emma felix grace hugo iris jack kate liam mia noah olga "
    "paul quinn rosa sam tara umar vera will xena yusuf zoe adam bella chloe david "
    "elena farid gina henri ivan julia kenji lena marco nina oscar priya rafael sofia "
    "tomas ursula victor wendy yara zach "
)
LAST_NAMES = _words(
    "kowalski smith garcia muller rossi dubois novak johansson tanaka kim nguyen "
    "silva jensen martin brown lopez schmidt fischer weber moreau bernard costa "
    "ferreira horvat kovac nielsen olsen petrov ivanova sato suzuki wang li chen "
    "patel singh khan ali haddad cohen levi murphy kelly walsh byrne oconnor evans "
    "hughes "
)


NETWORKS = ["visa", "visa", "visa", "mastercard", "mastercard", "amex", "discover", "other"]
REASON_CODES = ["10.4", "13.1", "4837", "4853", "F29", "13.3", "", "10.5"]
REASONS = [
    "fraudulent",
    "fraudulent",
    "product_not_received",
    "product_unacceptable",
    "duplicate",
    "subscription_canceled",
    "credit_not_processed",
    "general",
]


def rand(expr: str, seed: int, modulo: int) -> str:
    """SQL: a deterministic pseudo-random integer in [0, modulo) from a bigint `expr`."""
    return f"mod(hashint8extended(({expr})::bigint, {seed}) & 9223372036854775807, {modulo})"


def sql_array(words: list[str]) -> str:
    return "(ARRAY[" + ",".join(f"'{w}'" for w in words) + "])"


@dataclass
class Plan:
    payments: int
    customers: int
    audit: int
    anchor: datetime  # "now" of the data set: the newest payment is just before it
    merchant_ids: list[int]
    customer_ranges: list[tuple[int, int]]  # per merchant: first customer number, count
    key_ids: list[str]
    user_ids: list[int]


# --- SQL -----------------------------------------------------------------------------------


def _merchant_case(bucket: str, values: list) -> str:
    """CASE on a 0..99 bucket choosing per merchant (80/12/8) among `values`."""
    limits, total = [], 0
    for _, share in MERCHANTS:
        total += share
        limits.append(total)
    whens = " ".join(
        f"WHEN {bucket} < {limit} THEN {value}"
        for limit, value in zip(limits[:-1], values[:-1], strict=True)
    )
    return f"CASE {whens} ELSE {values[-1]} END"


def customers_sql(plan: Plan) -> str:
    first = sql_array(FIRST_NAMES)
    last = sql_array(LAST_NAMES)
    nf, nl = len(FIRST_NAMES), len(LAST_NAMES)
    bounds = [start for start, _ in plan.customer_ranges[1:]]
    merchant = "CASE " + " ".join(
        f"WHEN c < {b} THEN {m}" for b, m in zip(bounds, plan.merchant_ids, strict=False)
    )
    merchant += f" ELSE {plan.merchant_ids[-1]} END"
    return f"""
    INSERT INTO customers_customer (id, merchant_id, email, name, restrict_cit, restrict_mit,
        restrict_reason, refused_payment_attempts, created_at)
    SELECT
        'cus_' || substr(md5('cus' || c), 1, 24),
        {merchant},
        {first}[1 + mod(c, {nf})] || '.' || {last}[1 + mod(c / {nf}, {nl})] || c || '@example.com',
        initcap({first}[1 + mod(c, {nf})]) || ' ' || initcap({last}[1 + mod(c / {nf}, {nl})]),
        {rand("c", 31, 1000)} < 2,
        {rand("c", 31, 1000)} < 4,
        CASE WHEN {rand("c", 31, 1000)} < 4 THEN 'Chargeback history' ELSE '' END,
        0,
        %(anchor)s::timestamptz - make_interval(secs => {rand("c", 32, CUSTOMER_SPAN_SECONDS)})
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS c
    """


def payments_sql(plan: Plan) -> str:
    """One statement per batch: the payments, their ledger rows and their chargebacks."""
    n = plan.payments
    step = PAYMENT_SPAN_SECONDS / n
    merchant = _merchant_case("mb", plan.merchant_ids)
    starts = [start for start, _ in plan.customer_ranges]
    counts = [max(count, 1) for _, count in plan.customer_ranges]
    customer_no = _merchant_case(
        "mb", [f"{s} + mod(r_cus, {c})" for s, c in zip(starts, counts, strict=True)]
    )
    key_id = _merchant_case("mb", [f"'{k}'" for k in plan.key_ids])
    user_id = _merchant_case("mb", [str(u) for u in plan.user_ids])
    return f"""
    WITH b AS (
        SELECT g,
            {rand("g", 1, 100)} AS mb,
            {rand("g", 2, 10000)} AS sb,
            {rand("g", 3, 100)} AS cb,
            {rand("g", 4, 100)} AS ob,
            {rand("g", 5, 1000000007)} AS r_cus,
            {rand("g", 6, 100000)} AS r_amt,
            {rand("g", 7, 1000)} AS r_jit,
            {rand("g", 8, 1000)} AS r_evt,
            {rand("g", 9, 100)} AS r_misc,
            {rand("g", 10, 100)} AS ds
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g
    ), k AS (
        SELECT b.*,
            {merchant} AS merchant_id,
            {key_id} AS key_id,
            {user_id} AS user_id,
            CASE WHEN r_misc < 3 THEN NULL
                 ELSE 'cus_' || substr(md5('cus' || ({customer_no})), 1, 24) END AS customer_id,
            CASE WHEN cb < 80 THEN 'USD' WHEN cb < 90 THEN 'EUR' WHEN cb < 95 THEN 'GBP'
                 WHEN cb < 98 THEN 'JPY' ELSE 'KWD' END AS currency,
            CASE WHEN sb < 300 THEN 'failed' WHEN sb < 800 THEN 'authorized'
                 WHEN sb < 1000 THEN 'voided' WHEN sb < 1300 THEN 'refunded'
                 WHEN sb < 1600 THEN 'partial' WHEN sb < 1650 THEN 'chargeback'
                 ELSE 'captured' END AS kind,
            %(anchor)s::timestamptz
                - make_interval(secs => ({n} - g + 1) * {step} - r_jit * {step} / 1000.0)
                AS created_at
        FROM b
    ), a AS (
        SELECT k.*,
            CASE WHEN currency = 'JPY' THEN 100 + r_amt * r_amt / 500000
                 WHEN currency = 'KWD' THEN 1000 + r_amt * r_amt / 20000
                 ELSE 100 + r_amt * r_amt / 50000 END AS raw_amount
        FROM k
    ), p AS MATERIALIZED (
        SELECT a.*,
            -- the sandbox gateway's magic amounts are avoided
            CASE WHEN raw_amount IN (408, 503, 666, 667) THEN raw_amount + 1
                 ELSE raw_amount END AS amount,
            kind IN ('captured', 'refunded', 'partial', 'chargeback') AS captured,
            CASE WHEN ob < 70 THEN 'ORD-' || lpad(g::text, 7, '0')
                 WHEN ob < 85 AND customer_id IS NOT NULL
                     THEN 'sub_' || substr(md5('sub' || customer_id), 1, 14) || ':'
                          || to_char(date_trunc('month', created_at AT TIME ZONE 'UTC'),
                                     'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                 ELSE '' END AS order_id,
            least(created_at + make_interval(
                      secs => CASE WHEN kind = 'voided' THEN 600 + r_evt * 60
                                   WHEN kind = 'chargeback' THEN (20 + mod(r_evt, 40)) * 86400
                                   ELSE (1 + mod(r_evt, 30)) * 86400 + r_evt END),
                  %(anchor)s::timestamptz - interval '1 second') AS event_at
        FROM a
    ), q AS MATERIALIZED (
        SELECT p.*,
            CASE WHEN captured THEN amount ELSE 0 END AS amount_captured,
            CASE WHEN kind IN ('voided', 'refunded') THEN amount
                 WHEN kind = 'partial' THEN greatest(1, amount * (10 + mod(r_evt, 80)) / 100)
                 ELSE 0 END AS amount_reversed,
            'sbx_pi_' || substr(md5('ref' || g), 1, 20) AS reference,
            CASE WHEN kind <> 'failed' THEN ''
                 WHEN r_misc < 60 THEN 'card_declined' ELSE 'insufficient_funds' END
                AS failure_reason,
            -- the chargeback's dispute: the recent ones open, the older ones mostly closed
            CASE WHEN kind <> 'chargeback' THEN NULL
                 WHEN event_at > %(anchor)s::timestamptz - interval '{DISPUTE_DAYS} days'
                     THEN CASE WHEN ds < 70 THEN 'needs_response' ELSE 'under_review' END
                 WHEN event_at > %(anchor)s::timestamptz - interval '60 days'
                     THEN CASE WHEN ds < 30 THEN 'needs_response' WHEN ds < 55 THEN 'under_review'
                               WHEN ds < 70 THEN 'won' WHEN ds < 85 THEN 'lost'
                               ELSE 'accepted' END
                 ELSE CASE WHEN ds < 35 THEN 'won' WHEN ds < 80 THEN 'lost'
                           ELSE 'accepted' END
            END AS dispute_status
        FROM p
    ), d0 AS (
        SELECT g, 'pay_' || substr(md5('pay' || g), 1, 24) AS pid, merchant_id, user_id,
            amount_captured, currency, dispute_status, event_at, r_evt, ds,
            event_at + interval '{DISPUTE_DAYS} days' AS due_by
        FROM q WHERE kind = 'chargeback'
    ), d1 AS (
        SELECT d0.*,
            -- evidence: under review and won always, lost half the time (the other half
            -- was left unanswered past the deadline)
            CASE WHEN dispute_status IN ('under_review', 'won')
                      OR (dispute_status = 'lost' AND mod(ds, 2) = 0)
                 THEN event_at + least(make_interval(days => (1 + mod(r_evt, 12))::int),
                                       (%(anchor)s::timestamptz - event_at) / 2)
            END AS submitted_at,
            CASE WHEN dispute_status IN ('won', 'lost')
                     THEN least(due_by + make_interval(days => (5 + mod(r_evt, 40))::int),
                                due_by + (%(anchor)s::timestamptz - due_by) * 0.9)
                 WHEN dispute_status = 'accepted'
                     THEN event_at + make_interval(hours => (1 + mod(r_evt, 200))::int)
            END AS outcome_at
        FROM d0
    ), d AS MATERIALIZED (
        SELECT d1.*,
            CASE WHEN dispute_status = 'won' THEN 0 ELSE amount_captured END AS disputed
        FROM d1
    ), ins_payments AS (
        INSERT INTO payments_payment (id, merchant_id, customer_id, subscription_id, order_id,
            amount, currency, status, failure_reason, initiator, gateway_reference,
            is_captured, amount_captured, captured_at, amount_reversed,
            amount_reversal_pending, is_voided, is_chargebacked, chargeback_recorded_at,
            metadata, created_at, updated_at, capture_pending, processor, payment_method,
            authorization_key, capture_requested, resolution_attempts, amount_disputed)
        SELECT 'pay_' || substr(md5('pay' || q.g), 1, 24), q.merchant_id, customer_id, NULL,
            order_id, amount, q.currency,
            CASE WHEN kind = 'failed' THEN 'failed' ELSE 'succeeded' END, failure_reason,
            CASE WHEN order_id LIKE 'sub\\_%%' THEN 'MIT' ELSE 'CIT' END,
            CASE WHEN kind = 'failed' THEN '' ELSE reference END,
            captured, q.amount_captured, CASE WHEN captured THEN created_at END,
            amount_reversed, 0, kind = 'voided', kind = 'chargeback',
            CASE WHEN kind = 'chargeback' THEN q.event_at END,
            CASE WHEN order_id LIKE 'sub\\_%%' THEN '{{"plan": "monthly"}}'::jsonb
                 ELSE '{{}}'::jsonb END,
            created_at,
            CASE WHEN d.dispute_status = 'won' THEN d.outcome_at
                 WHEN kind IN ('voided', 'refunded', 'partial', 'chargeback') THEN q.event_at
                 ELSE created_at END,
            false, 'sandbox',
            '{{"type": "card", "brand": "visa", "last4": "4242", "expMonth": 12,
               "expYear": 2029, "country": "US"}}'::jsonb,
            'backoffice-pay_' || substr(md5('pay' || q.g), 1, 24),
            captured OR kind <> 'authorized', 0, coalesce(d.disputed, 0)
        FROM q LEFT JOIN d ON d.g = q.g
    ), ins_chargebacks AS (
        INSERT INTO chargebacks_chargeback (merchant_id, payment_id, blacklisted_customer,
            applied_restrictions, created_at, created_by_id, created_by_api_key_id)
        SELECT merchant_id, pid, false, '{{}}'::jsonb, event_at, user_id, NULL
        FROM d
        RETURNING id, payment_id
    ), ins_disputes AS (
        INSERT INTO chargebacks_dispute (id, merchant_id, payment_id, chargeback_id, amount,
            currency, network, reason_code, reason_category, status, evidence_due_by,
            product_description, customer_communication, refund_policy,
            shipping_tracking_number, uncategorized_text, evidence_submitted_at,
            outcome_recorded_at, gateway_reference, created_at, updated_at, created_by_id,
            created_by_api_key_id)
        SELECT 'dp_' || substr(md5('dp' || d.g), 1, 24), d.merchant_id, d.pid, c.id,
            d.amount_captured, d.currency,
            {sql_array(NETWORKS)}[1 + mod(d.r_evt, {len(NETWORKS)})],
            {sql_array(REASON_CODES)}[1 + mod(d.r_evt, {len(REASON_CODES)})],
            {sql_array(REASONS)}[1 + mod(d.ds, {len(REASONS)})],
            d.dispute_status, d.due_by,
            CASE WHEN d.submitted_at IS NULL THEN ''
                 ELSE 'Shipped with tracking; delivered and signed for.' END,
            '', '', CASE WHEN d.submitted_at IS NULL THEN '' ELSE '1Z999AA1' || d.g END, '',
            d.submitted_at, d.outcome_at, '', d.event_at,
            coalesce(d.outcome_at, d.submitted_at, d.event_at), d.user_id, NULL
        FROM ins_chargebacks c JOIN d ON d.pid = c.payment_id
    )
    INSERT INTO payments_transaction (id, merchant_id, payment_id, type, amount, status,
        is_external, reason, note, order_id, metadata, gateway_reference, failure_reason,
        created_by_id, created_by_api_key_id, created_at, processed_at, attempts,
        last_attempt_at, send_lease_until)
    SELECT 'txn_' || substr(md5('txn' || g || '-' || t.slot), 1, 24), merchant_id,
        'pay_' || substr(md5('pay' || g), 1, 24), t.type, t.amount,
        CASE WHEN t.slot = 1 AND kind = 'failed' THEN 'failed' ELSE 'succeeded' END,
        t.external, t.reason, '', order_id, '{{}}'::jsonb,
        CASE WHEN kind = 'failed' THEN ''
             WHEN t.slot = 3 THEN 'sbx_re_' || substr(md5('re' || g), 1, 20)
             ELSE reference END,
        CASE WHEN t.slot = 1 AND kind = 'failed' THEN failure_reason ELSE '' END,
        CASE WHEN t.by_user THEN user_id END,
        CASE WHEN t.by_user THEN NULL ELSE key_id END,
        t.at, t.at, CASE WHEN t.sent THEN 1 ELSE 0 END, CASE WHEN t.sent THEN t.at END, NULL
    FROM q LEFT JOIN (SELECT g AS dg, dispute_status AS d_status, outcome_at AS d_outcome
                      FROM d) AS dd ON dd.dg = q.g
    CROSS JOIN LATERAL (VALUES
        (1, 'authorization', amount, false, '', false, created_at, false),
        (2, CASE WHEN captured THEN 'capture' WHEN kind = 'voided' THEN 'void' END,
            CASE WHEN captured THEN amount_captured ELSE amount END,
            false,
            CASE WHEN kind = 'voided' THEN 'requested_by_customer' ELSE '' END,
            kind = 'voided' AND r_misc < 50,
            CASE WHEN kind = 'voided' THEN event_at
                 ELSE created_at + interval '1 millisecond' END,
            true),
        (3, CASE WHEN kind IN ('refunded', 'partial') THEN 'refund'
                 WHEN kind = 'chargeback' THEN 'chargeback' END,
            CASE WHEN kind = 'chargeback' THEN amount_captured ELSE amount_reversed END,
            kind IN ('refunded', 'partial') AND mod(r_misc, 10) = 0,
            CASE WHEN kind = 'chargeback' THEN '' ELSE 'requested_by_customer' END,
            r_misc < 50,
            event_at,
            kind IN ('refunded', 'partial') AND mod(r_misc, 10) <> 0),
        -- a won dispute gives the amount back
        (4, CASE WHEN dd.d_status = 'won' THEN 'chargeback_reversal' END,
            amount_captured, false, '', true, dd.d_outcome, false)
    ) AS t(slot, type, amount, external, reason, by_user, at, sent)
    WHERE t.type IS NOT NULL
    """


def audit_sql(plan: Plan) -> str:
    n = plan.payments
    span = PAYMENT_SPAN_SECONDS
    merchant = _merchant_case(f"{rand('pg', 1, 100)}", plan.merchant_ids)
    user_id = _merchant_case(f"{rand('pg', 1, 100)}", [str(u) for u in plan.user_ids])
    key_id = _merchant_case(f"{rand('pg', 1, 100)}", [f"'{k}'" for k in plan.key_ids])
    emails = _merchant_case(
        f"{rand('pg', 1, 100)}", [f"'{admin_email(name)}'" for name, _ in MERCHANTS]
    )
    prefixes = _merchant_case(
        f"{rand('pg', 1, 100)}", [f"'API key {api_key_for(name)[:12]}…'" for name, _ in MERCHANTS]
    )
    actions = sql_array(
        [
            "payment.refund",
            "payment.refund",
            "payment.refund",
            "payment.refund_external",
            "payment.void",
            "payment.capture",
            "payment.chargeback",
            "customer.restrict",
        ]
    )
    return f"""
    INSERT INTO audit_auditentry (created_at, actor_user_id, actor_api_key_id, actor_label,
        merchant_id, action, target_type, target_id, outcome, detail, source_ip, metadata,
        request_id)
    SELECT
        %(anchor)s::timestamptz - make_interval(secs => ({plan.audit} - e + 1)
            * {span}.0 / {plan.audit}),
        CASE WHEN by_user THEN {user_id} END,
        CASE WHEN by_user THEN NULL ELSE {key_id} END,
        CASE WHEN by_user THEN {emails} ELSE {prefixes} END,
        {merchant},
        action,
        CASE WHEN action = 'customer.restrict' THEN 'customer' ELSE 'payment' END,
        CASE WHEN action = 'customer.restrict'
             THEN 'cus_' || substr(md5('cus' || (1 + {rand("e", 23, plan.customers)})), 1, 24)
             ELSE 'pay_' || substr(md5('pay' || pg), 1, 24) END,
        CASE WHEN refused THEN 'refused' ELSE 'succeeded' END,
        CASE WHEN refused THEN 'Refund amount exceeds the amount available for refund'
             ELSE 'Refund of 1000 USD minor units' END,
        ('10.' || {rand("e", 24, 250)} || '.' || {rand("e", 25, 250)} || '.'
            || (1 + {rand("e", 26, 250)}))::inet,
        jsonb_build_object('amount', 100 + {rand("e", 27, 10000)}, 'currency', 'USD'),
        ''
    FROM (
        SELECT e,
            -- a payment of about the entry's time (payments are numbered by age)
            greatest(1, least({n}, (e * {n} / {plan.audit}) - {rand("e", 20, 50)})) AS pg,
            {actions}[1 + {rand("e", 21, 8)}] AS action,
            {rand("e", 22, 100)} < 60 AS by_user,
            {rand("e", 28, 100)} < 5 AS refused
        FROM generate_series(1, %(count)s::bigint) AS e
    ) AS x
    """


FIFTY_SQL = """
WITH c AS (
    SELECT id FROM customers_customer WHERE merchant_id = %(merchant)s
    ORDER BY created_at DESC LIMIT 1
), ins AS (
    INSERT INTO payments_payment (id, merchant_id, customer_id, order_id, amount, currency,
        status, failure_reason, initiator, gateway_reference, is_captured, amount_captured,
        captured_at, amount_reversed, amount_reversal_pending, is_voided, is_chargebacked,
        metadata, created_at, updated_at, capture_pending, processor, authorization_key,
        capture_requested, resolution_attempts, amount_disputed)
    SELECT %(id)s::text, %(merchant)s, c.id, 'ORD-FIFTY-REFUNDS', 1000000, 'USD', 'succeeded', '',
        'CIT', 'sbx_pi_fiftytransactions0', true, 1000000, %(at)s, 48 * 2500, 0, false,
        false, '{}'::jsonb, %(at)s, %(at)s + interval '48 hours', false, 'sandbox',
        'backoffice-' || %(id)s::text, true, 0, 0
    FROM c
)
INSERT INTO payments_transaction (id, merchant_id, payment_id, type, amount, status,
    is_external, reason, note, order_id, metadata, gateway_reference, failure_reason,
    created_by_id, created_by_api_key_id, created_at, processed_at, attempts)
SELECT 'txn_fifty' || lpad(i::text, 19, '0'), %(merchant)s, %(id)s,
    CASE i WHEN 1 THEN 'authorization' WHEN 2 THEN 'capture' ELSE 'refund' END,
    CASE WHEN i <= 2 THEN 1000000 ELSE 2500 END, 'succeeded', i > 2 AND i %% 3 = 0,
    CASE WHEN i <= 2 THEN '' ELSE 'requested_by_customer' END,
    CASE WHEN i > 2 THEN 'Partial refund ' || (i - 2) || ' of 48' ELSE '' END,
    'ORD-FIFTY-REFUNDS', '{}'::jsonb, 'sbx_re_fifty' || i, '',
    CASE WHEN i > 2 AND i %% 2 = 0 THEN %(user)s END,
    CASE WHEN i <= 2 OR i %% 2 = 1 THEN %(key)s END,
    %(at)s + make_interval(hours => i), %(at)s + make_interval(hours => i), 0
FROM generate_series(1, 50) AS i
"""


# --- the database ----------------------------------------------------------------------------


def read_marker() -> dict | None:
    """The completed fill's sizes, or None when there is no complete fill."""
    try:
        with connect() as conn:
            row = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", [f"public.{MARKER_TABLE}"]
            ).fetchone()
            if not row[0]:
                return None
            row = conn.execute(
                f"SELECT payments, anchor, seconds, filled_at, to_jsonb(m) -> 'detail' "
                f"FROM {MARKER_TABLE} AS m ORDER BY filled_at DESC LIMIT 1"
            ).fetchone()
    except Exception:
        return None
    if row is None:
        return None
    keys = ("payments", "anchor", "seconds", "filled_at", "detail")
    return dict(zip(keys, row, strict=True))


def recreate_database() -> None:
    from django.db import connections

    connections.close_all()
    with connect("postgres") as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [DB_NAME],
        )
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def ensure_database() -> None:
    with connect("postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {DB_NAME}")


def manage(*args: str, timeout: float, **run_options) -> None:
    """Run a manage.py command of the product on the bench database."""
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=product_env(),
        check=True,
        timeout=timeout,
        **run_options,
    )


def migrate() -> None:
    log("manage.py migrate on backoffice_bench")
    manage("migrate", "--verbosity", "0", timeout=1800)


@dataclass
class Ddl:
    """Statements to drop and rebuild the keys and indexes of the big tables."""

    drop: list[str]
    indexes: list[tuple[str, str]]  # (table, CREATE [UNIQUE] INDEX ...)
    attach: list[str]  # ALTER TABLE ... ADD CONSTRAINT ... USING INDEX
    foreign_keys: list[tuple[str, str, str]]  # (table, name, definition)


def capture_ddl(conn) -> Ddl:
    tables = BIG_TABLES
    fks = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
           FROM pg_constraint c
           WHERE c.contype = 'f' AND (c.conrelid::regclass::text = ANY(%(t)s)
                                      OR c.confrelid::regclass::text = ANY(%(t)s))
           ORDER BY 1, 2""",
        {"t": tables},
    ).fetchall()
    keys = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, c.contype,
                  pg_get_indexdef(c.conindid)
           FROM pg_constraint c
           WHERE c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(%(t)s)
           ORDER BY 1, 2""",
        {"t": tables},
    ).fetchall()
    plain = conn.execute(
        """SELECT i.indrelid::regclass::text, ic.relname, pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
           WHERE i.indrelid::regclass::text = ANY(%(t)s)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
           ORDER BY 1, 2""",
        {"t": tables},
    ).fetchall()
    drop = [f'ALTER TABLE {t} DROP CONSTRAINT "{name}"' for t, name, _ in fks]
    drop += [f'ALTER TABLE {t} DROP CONSTRAINT "{name}"' for t, name, _, _ in keys]
    drop += [f'DROP INDEX "{name}"' for _, name, _ in plain]
    indexes = [(t, definition) for t, _, _, definition in keys]
    indexes += [(t, definition) for t, _, definition in plain]
    kinds = {"p": "PRIMARY KEY", "u": "UNIQUE"}
    attach = [
        f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {kinds[kind]} USING INDEX "{name}"'
        for t, name, kind, _ in keys
    ]
    return Ddl(drop=drop, indexes=indexes, attach=attach, foreign_keys=fks)


def run_parallel(jobs: list, worker, *, threads: int = 2) -> None:
    """Run `worker(conn, job)` for every job on `threads` connections; re-raise the
    first failure once all threads stopped."""
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    errors: list[BaseException] = []

    def loop() -> None:
        with connect() as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute("SET work_mem = '256MB'")
            conn.execute("SET max_parallel_maintenance_workers = 0")
            while not errors:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    worker(conn, job)
                except BaseException as error:
                    errors.append(error)
                    return

    pool = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]


class Progress:
    """Progress lines, at most one every few seconds (and the last one)."""

    def __init__(self, what: str, total: int, every: float = 5.0) -> None:
        self.what, self.total, self.done = what, total, 0
        self.started = self.last = time.perf_counter()
        self.every = every
        self.lock = threading.Lock()

    def add(self, count: int) -> None:
        with self.lock:
            self.done += count
            now = time.perf_counter()
            if self.done < self.total and now - self.last < self.every:
                return
            self.last = now
            elapsed = now - self.started
            rate = self.done / elapsed if elapsed else 0
            log(
                f"  {self.what}: {self.done:,}/{self.total:,} "
                f"({100 * self.done / self.total:.0f}%) {elapsed:.0f} s, {rate:,.0f}/s"
            )


def batches(total: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size - 1, total)) for lo in range(1, total + 1, size)]


# --- the fill ---------------------------------------------------------------------------------


def create_tenants() -> tuple[list[int], list[str], list[int]]:
    """Merchants, one admin each (group Merchant admin) and one API key each, through
    the product's own code."""
    from django.contrib.auth.models import Group

    from merchants.models import ApiKey, Merchant, User, hash_api_key
    from merchants.roles import MERCHANT_ADMIN
    from merchants.services import create_api_key

    admins = Group.objects.get(name=MERCHANT_ADMIN)
    merchant_ids, key_ids, user_ids = [], [], []
    for name, _ in MERCHANTS:
        merchant, _ = Merchant.objects.get_or_create(name=name)
        user = User.objects.filter(email=admin_email(name)).first()
        if user is None:
            user = User.objects.create_user(
                admin_email(name), password="bench-password-123", merchant=merchant
            )
            user.groups.add(admins)
        raw = api_key_for(name)
        key = ApiKey.objects.filter(key_hash=hash_api_key(raw)).first()
        if key is None:
            key, _ = create_api_key(merchant=merchant, name="bench", raw_key=raw, created_by=user)
        merchant_ids.append(merchant.id)
        key_ids.append(key.id)
        user_ids.append(user.id)
    return merchant_ids, key_ids, user_ids


def make_plan(payments: int, customers: int, audit: int) -> Plan:
    merchant_ids, key_ids, user_ids = create_tenants()
    ranges, start = [], 1
    for i, (_, share) in enumerate(MERCHANTS):
        count = customers * share // 100 if i < len(MERCHANTS) - 1 else customers - start + 1
        ranges.append((start, count))
        start += count
    anchor = datetime.now(UTC).replace(microsecond=0)
    return Plan(
        payments=payments,
        customers=customers,
        audit=audit,
        anchor=anchor,
        merchant_ids=merchant_ids,
        customer_ranges=ranges,
        key_ids=key_ids,
        user_ids=user_ids,
    )


def fill(*, payments: int, customers: int, audit: int) -> list[Row]:
    rows: list[Row] = []
    started = time.perf_counter()
    recreate_database()
    migrate()
    plan = make_plan(payments, customers, audit)
    log(
        f"fill: {payments:,} payments, {customers:,} customers, {audit:,} audit entries "
        f"(anchor {plan.anchor:%Y-%m-%d %H:%M} UTC)"
    )

    with connect() as conn:
        ddl = capture_ddl(conn)
        for statement in ddl.drop:
            conn.execute(statement)
    log(
        f"dropped {len(ddl.foreign_keys)} foreign keys and {len(ddl.indexes)} indexes "
        "of the big tables for the load"
    )

    def timed(label: str, fn) -> None:
        t0 = time.perf_counter()
        fn()
        seconds = time.perf_counter() - t0
        log(f"{label}: {seconds:.1f} s")
        rows.append(Row("fill", label, note=f"{seconds:.1f} s"))

    def load(what: str, sql: str, count: int, batch_size: int) -> None:
        """Run `sql` over the numbers 1..count, a batch at a time, on parallel connections."""
        progress = Progress(what, count)

        def load_batch(conn, batch) -> None:
            lo, hi = batch
            conn.execute(sql, {"lo": lo, "hi": hi, "anchor": plan.anchor})
            progress.add(hi - lo + 1)

        run_parallel(batches(count, batch_size), load_batch)

    timed(
        f"load {customers:,} customers",
        lambda: load("customers", customers_sql(plan), customers, CUSTOMER_BATCH),
    )
    timed(
        f"load {payments:,} payments with ledger rows and chargebacks",
        lambda: load(
            "payments (+ ledger, chargebacks)", payments_sql(plan), payments, PAYMENT_BATCH
        ),
    )

    def load_rest() -> None:
        with connect() as conn:
            if audit:
                conn.execute(audit_sql(plan), {"anchor": plan.anchor, "count": audit})
            conn.execute(
                FIFTY_SQL,
                {
                    "id": FIFTY_TXN_PAYMENT,
                    "merchant": plan.merchant_ids[0],
                    "user": plan.user_ids[0],
                    "key": plan.key_ids[0],
                    "at": plan.anchor - timedelta(days=10),
                },
            )

    timed(f"load {audit:,} audit entries and the 50-transaction payment", load_rest)

    # Longest first, so the two connections finish together: the biggest tables, and in
    # each the unique indexes (the primary keys: sorts of random text ids) first.
    order = {t: i for i, t in enumerate(BIG_TABLES)}
    jobs = sorted(
        ddl.indexes,
        key=lambda job: (order.get(job[0], 99), "UNIQUE" not in job[1], job[1]),
    )
    index_progress = Progress("indexes", len(jobs))

    def build_index(conn, job) -> None:
        conn.execute(job[1])
        index_progress.add(1)

    def rebuild_keys() -> None:
        run_parallel(jobs, build_index)
        with connect() as conn:
            for statement in ddl.attach:
                conn.execute(statement)
            # NOT VALID first (instant), then validated per table on two connections.
            for table, name, definition in ddl.foreign_keys:
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID')
        by_table: dict[str, list[str]] = {}
        for table, name, _ in ddl.foreign_keys:
            by_table.setdefault(table, []).append(name)
        groups = sorted(by_table.items(), key=lambda item: order.get(item[0], 99))

        def validate(conn, group) -> None:
            table, names = group
            for name in names:
                conn.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')

        run_parallel(groups, validate)

    timed(
        f"rebuild {len(jobs)} indexes and keys, validate {len(ddl.foreign_keys)} foreign keys",
        rebuild_keys,
    )

    def vacuum(conn, table) -> None:
        conn.execute(f"VACUUM (ANALYZE) {table}")

    timed("VACUUM ANALYZE", lambda: run_parallel([*BIG_TABLES, "merchants_apikey"], vacuum))
    # The overview reads the daily totals the services keep; a SQL fill rebuilds them.
    timed(
        "rebuild the daily totals (manage.py rebuild_daily_totals)",
        lambda: manage("rebuild_daily_totals", timeout=3600),
    )

    # The dispute ratio monitor reads the monthly totals the services keep; rebuilt too.
    timed(
        "rebuild the monthly totals (manage.py rebuild_monthly_totals)",
        lambda: manage("rebuild_monthly_totals", timeout=3600, stdout=subprocess.DEVNULL),
    )

    seconds = time.perf_counter() - started
    with connect() as conn:
        disputes = conn.execute(
            "SELECT status, count(*), count(*) FILTER (WHERE status = 'needs_response' "
            "AND evidence_due_by < %s) FROM chargebacks_dispute GROUP BY status ORDER BY 2 DESC",
            [plan.anchor],
        ).fetchall()
        mix = ", ".join(
            f"{status} {count:,}" + (f" ({overdue:,} overdue)" if overdue else "")
            for status, count, overdue in disputes
        )
        monthly = conn.execute("SELECT count(*) FROM payments_monthlytotals").fetchone()[0]
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in BIG_TABLES
        }
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = size.fetchone()[0]
        summary = ", ".join(f"{t} {c:,}" for t, c in counts.items())
        log(f"fill done in {seconds:.0f} s ({seconds / 60:.1f} min); {summary}; database {size}")
        note = f"{seconds:.0f} s ({seconds / 60:.1f} min); db {size}"
        rows.append(Row("fill", "total fill time", note=note))
        rows.append(Row("fill", "rows", note=summary))
        rows.append(Row("fill", "disputes", note=f"{mix}; payments_monthlytotals {monthly:,}"))
        # Written last: its presence says the whole fill is there.
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (payments bigint, customers bigint, "
            "audit bigint, anchor timestamptz, seconds double precision, detail jsonb, "
            "filled_at timestamptz DEFAULT now())"
        )
        conn.execute(
            f"INSERT INTO {MARKER_TABLE} (payments, customers, audit, anchor, seconds, detail) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [
                payments,
                customers,
                audit,
                plan.anchor,
                seconds,
                json.dumps([asdict(r) for r in rows]),
            ],
        )
    return rows


def ensure_data(
    *, payments: int, customers: int, audit: int, skip_fill: bool, allowed: bool
) -> list[Row]:
    """Fill unless --skip-fill and the data already there has this size."""
    marker = read_marker()
    if skip_fill and marker and marker["payments"] == payments:
        ensure_database()
        migrate()
        create_tenants()
        when = f"{marker['filled_at']:%Y-%m-%d %H:%M} UTC"
        log(f"fill skipped: {marker['payments']:,} payments already there (filled {when})")
        rows = [Row("fill", "data set", note=f"reused (--skip-fill): filled {when}, as follows")]
        earlier = [Row(**fields) for fields in marker["detail"] or []]
        return rows + (
            earlier or [Row("fill", "total fill time", note=f"{marker['seconds']:.0f} s")]
        )
    if not allowed:
        found = f"{marker['payments']:,} payments" if marker else "no complete fill"
        raise RuntimeError(f"the bench data is not there ({found}); run with the fill section")
    if skip_fill:
        log("--skip-fill: the data there does not match --payments; filling")
    return fill(payments=payments, customers=customers, audit=audit)
