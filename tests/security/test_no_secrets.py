"""No card number and no API key secret is ever stored or logged.

The demo seed exercises every write path the product has (users, an API key,
customers, payments, refunds, voids, chargebacks, blacklist): afterwards no text column
of any table, and no log line (SQL statements included), may hold a Luhn-valid 13-19
digit number or an `sk_test_`/`sk_live_` secret longer than the 12-character prefix
that is kept in clear.
"""

import datetime
import io
import json
import logging
from decimal import Decimal

import pytest
import structlog
from django.core.management import call_command
from django.db import connection

from audit.services import card_numbers_in, raw_api_keys_in, record, redact
from config.logging import build_logging
from customers.models import Customer
from merchants.models import ApiKey, hash_api_key

from .helpers import secrets_in, secrets_in_database

pytestmark = pytest.mark.django_db


def test_the_detectors_find_what_they_look_for():
    # A scan that finds nothing must be because there is nothing.
    assert card_numbers_in("card 4242 4242 4242 4242 expired") == ["4242 4242 4242 4242"]
    assert card_numbers_in("4000-0566-5566-5556")
    assert card_numbers_in("378282246310005")  # 15-digit Amex
    assert not card_numbers_in("4242424242424241")  # fails Luhn
    assert not card_numbers_in("order 123456789012")  # 12 digits
    assert not card_numbers_in("a1b2c3" + "4242424242424242" + "ff")  # inside a token (hex)
    assert raw_api_keys_in("Bearer sk_test_abcdefghijklmnopqrstuvwxyz123456")
    assert not raw_api_keys_in("key sk_test_abcd… (Demo Store)")  # the kept prefix


def test_the_database_scan_sees_every_table(merchant):
    Customer.objects.create(merchant=merchant, email="x@example.test", name="4111111111111111")
    findings = secrets_in_database()
    assert [f.kind for f in findings] == ["card number"]
    assert "customers_customer.name" in findings[0].where


def _loggable_text(record: logging.LogRecord) -> str:
    """A log line's text. For SQL statements, the values they carry: a card number or a
    secret would be a string (or JSON) parameter, while numeric parameters (amounts,
    ids, the microseconds of a date shift) are numbers that only look like card numbers."""
    if record.name != "django.db.backends" or not hasattr(record, "params"):
        return record.getMessage()
    params = record.params or ()
    if isinstance(params, dict):
        params = params.values()
    carried = [
        str(value)
        for value in params
        if not isinstance(value, int | float | Decimal | datetime.date | datetime.timedelta)
        and value is not None
    ]
    return "\n".join(carried)


def test_seed_demo_stores_and_logs_no_card_number_and_no_secret(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    stdout = io.StringIO()
    connection.force_debug_cursor = True  # every SQL statement, with its parameters, is logged
    try:
        call_command("seed_demo", "--payments", "30", stdout=stdout)
    finally:
        connection.force_debug_cursor = False

    key = ApiKey.objects.get(name="Demo key")
    secrets_shown = raw_api_keys_in(stdout.getvalue())
    # The command shows the new key once, on its own output, for the person running it.
    assert [hash_api_key(s) for s in secrets_shown] == [key.key_hash]
    assert secrets_shown[0].startswith(key.prefix)

    findings = secrets_in_database()
    assert not findings, "\n".join(str(f) for f in findings)

    logged = "\n".join(_loggable_text(r) for r in caplog.records)
    sql_records = [r for r in caplog.records if r.name == "django.db.backends"]
    assert any("INSERT" in getattr(r, "sql", "") for r in sql_records), (
        "the SQL log was not captured; the scan would prove nothing"
    )
    assert "agent@demo.test" in logged, "the SQL parameters were not captured"
    findings = secrets_in("logs", logged)
    assert not findings, "\n".join(str(f) for f in findings)
    assert secrets_shown[0] not in logged


def test_the_production_json_log_lines_carry_no_card_number_and_no_secret():
    """What the production handler writes (LOG_FORMAT=json), SQL statements included,
    while the demo is seeded and while code logs secrets by mistake."""
    formatter_config = dict(build_logging(json=True)["formatters"]["structlog"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_config.pop("()")(**formatter_config))
    root, sql = logging.getLogger(), logging.getLogger("django.db.backends")
    levels = root.level, sql.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        call_command("seed_demo", "--payments", "10", stdout=io.StringIO())
        secret = "sk_test_" + "S" * 32
        logging.getLogger("payments").warning("retrying card 4111 1111 1111 1111 key %s", secret)
        structlog.get_logger("payments").info(
            "sent", api_key=secret, body={"card": "5555555555554444"}
        )
    finally:
        connection.force_debug_cursor = False
        root.removeHandler(handler)
        root.setLevel(levels[0])
        sql.setLevel(levels[1])

    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]  # one JSON object per line
    assert any(r["logger"] == "django.db.backends" for r in records), "no SQL line captured"
    assert "agent@demo.test" in stream.getvalue(), "the SQL parameters were not captured"
    findings = secrets_in("JSON logs", stream.getvalue())
    assert not findings, "\n".join(str(f) for f in findings)
    assert records[-2]["event"] == "retrying card [card …1111] key sk_test_SSSS…"


def test_the_audit_trail_redacts_secrets_it_is_given(merchant):
    secret = "sk_live_" + "Z" * 32
    entry = record(
        action="api_key.create",
        actor=None,
        merchant=merchant,
        target=("apikey", "key_1"),
        detail=f"made {secret} for card 4242 4242 4242 4242",
        metadata={"nested": [{"key": secret}], "card": "5555555555554444"},
    )
    entry.refresh_from_db()
    stored = f"{entry.detail} {entry.metadata}"
    assert secret not in stored and "4242 4242" not in stored and "5555555555554444" not in stored
    assert "sk_live_ZZZZ…" in entry.detail and "[card …4242]" in entry.detail
    assert redact("nothing to hide 123") == "nothing to hide 123"
