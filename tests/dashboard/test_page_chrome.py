"""What every page has: a favicon, a title naming the page and the merchant, and a 403
that logs one line."""

import logging
import re
import sys

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils.log import configure_logging

from config.log_filters import ClientErrorsWithoutTraceback


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1)


def test_the_favicon_is_served_and_linked(client, agent):
    assert finders.find("favicon.svg")
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content)
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 302 and redirect["Location"] == "/static/favicon.svg"
    client.force_login(agent)
    html = client.get(reverse("payments:list")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


@pytest.mark.parametrize(
    ("url_name", "args", "name"),
    [
        ("payments:list", [], "Payments"),
        ("payments:overview", [], "Overview"),
        ("customers:list", [], "Customers"),
        ("payments:detail", ["payment"], "Payment pay_"),
        ("customers:detail", ["customer"], "Customer jane@example.test"),
    ],
)
def test_every_page_title_names_the_page_and_the_merchant(
    agent_client, payment, customer, url_name, args, name
):
    objects = {"payment": payment.id, "customer": customer.id}
    html = agent_client.get(reverse(url_name, args=[objects[a] for a in args])).content.decode()
    title = title_of(html)
    assert title.startswith(name)
    assert title.endswith(" · Acme Shop · Back office")


def test_admin_pages_titles(merchant_admin_client):
    html = merchant_admin_client.get(reverse("audit:activity")).content.decode()
    assert title_of(html) == "Activity · Acme Shop · Back office"


def test_platform_and_anonymous_titles(platform_client, client):
    html = platform_client.get(reverse("customers:blacklist")).content.decode()
    assert title_of(html) == "Blacklist · Platform · Back office"
    html = Client().get(reverse("login")).content.decode()
    assert title_of(html) == "Sign in · Back office"


def test_a_403_logs_one_line_without_a_traceback(agent, settings, capfd):
    """Django's own console handler (DEBUG on) and the root's both printed every
    django.request line, each with the PermissionDenied's traceback."""
    settings.DEBUG = True
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    try:
        client = Client(raise_request_exception=False)
        client.force_login(agent)
        capfd.readouterr()
        assert client.get(reverse("audit:activity")).status_code == 403
        err = capfd.readouterr().err
    finally:
        settings.DEBUG = False
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    # One line says it was refused (beside the access log's one line per request).
    refused = [line for line in err.splitlines() if "Forbidden (Permission denied)" in line]
    assert len(refused) == 1, err
    assert "/activity/" in refused[0]
    assert "Traceback" not in err


def test_a_server_error_keeps_its_traceback():
    record = logging.LogRecord("django.request", logging.ERROR, "", 0, "boom", (), None)
    record.status_code = 500
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert ClientErrorsWithoutTraceback().filter(record)
    assert record.exc_info is not None
    record.status_code = 403
    assert ClientErrorsWithoutTraceback().filter(record)
    assert record.exc_info is None
