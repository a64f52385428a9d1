import io
import json
import logging
import os
import socket

import pytest
import structlog
from django.core.cache import cache

from config.logging import build_logging
from tests.conftest import skip_unless_ci


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url() -> str:
    """The test Redis (bin/test sets TEST_REDIS_URL); skipped without it, except in CI."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        skip_unless_ci("TEST_REDIS_URL is not set (Redis is needed)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        skip_unless_ci(f"Redis at {url} is not reachable")
    return url


@pytest.fixture
def fresh_cache():
    """The metrics share their database counts through the cache for a while."""
    cache.clear()
    yield
    cache.clear()


class JsonLines:
    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_log():
    """What the production (LOG_FORMAT=json) handler writes, for every logger."""
    config = build_logging(json=True)["formatters"]["structlog"]
    formatter = config["()"](**{k: v for k, v in config.items() if k != "()"})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield JsonLines(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        structlog.contextvars.clear_contextvars()
