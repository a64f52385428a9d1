"""One signed POST of an event to an endpoint (Standard Webhooks): no database here.

Headers: `webhook-id` (the event's id, the same on every retry, so receivers
deduplicate by it), `webhook-timestamp` (seconds, of this attempt) and
`webhook-signature` ("v1,<base64>", one per secret in use, space-separated, made by
the `standardwebhooks` package). 10 seconds at most; 2xx is success; a redirect is
never followed (a 3xx is a failure).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime

import urllib3
from standardwebhooks import Webhook

from .models import RESPONSE_KEPT_BYTES
from .targets import Target, TargetRefused, resolve

TIMEOUT_SECONDS = 10.0
USER_AGENT = "BackOffice-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    latency_ms: int
    response_body: str = ""
    error: str = ""


def sign(*, secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header: one signature per secret, space-separated."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets)


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(total=TIMEOUT_SECONDS)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    return urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)


def post(*, url: str, secrets: list[str], msg_id: str, payload: dict, now: datetime) -> Outcome:
    """POST `payload` to `url`, checked again now and connected to at the checked address."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = resolve(url)
    except TargetRefused as refused:
        return Outcome(False, None, elapsed(), error=refused.message[:500])
    body = json.dumps(payload, separators=(",", ":"))
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(secrets=secrets, msg_id=msg_id, timestamp=now, body=body),
    }
    pool = _pool(target)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body.encode(),
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            answer = response.read(RESPONSE_KEPT_BYTES, decode_content=True)
        finally:
            response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return Outcome(False, None, elapsed(), error=f"{type(error).__name__}: {error}"[:500])
    finally:
        pool.close()
    status = response.status
    text = answer[:RESPONSE_KEPT_BYTES].decode("utf-8", errors="replace")
    ok = 200 <= status < 300
    error = "" if ok else ("Redirects are not followed" if 300 <= status < 400 else "")
    return Outcome(ok, status, elapsed(), response_body=text, error=error)
