"""The SSRF guard (SPEC 11): never a request to a loopback, private, link-local or
metadata address unless WEBHOOK_ALLOW_PRIVATE_TARGETS is on; checked at registration
and again at each send, and the send connects to the address that was checked."""

import ipaddress
import socket

import pytest

from core.errors import ValidationFailed
from tests.factories import PaymentFactory
from webhooks import delivery as webhook_delivery
from webhooks import services as webhook_services
from webhooks import targets
from webhooks.models import Attempt, Delivery


@pytest.fixture
def private_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False


@pytest.fixture
def dns(monkeypatch):
    """Names of our own for the resolver: {name: [addresses]}; other names resolve as
    usual. (The answers can be changed between calls, as DNS can.)"""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in answers[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_not_public(address):
    assert not targets.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_internet_addresses_are_public(address):
    assert targets.is_public(ipaddress.ip_address(address))


def test_a_target_on_127_0_0_1_is_refused_at_registration(merchant, private_refused):
    with pytest.raises(ValidationFailed) as refused:
        webhook_services.create_endpoint(
            merchant=merchant, url="http://127.0.0.1:8000/hooks", event_types=["payment.created"]
        )
    assert refused.value.param == "url"
    assert "not a public internet address" in refused.value.message


def test_a_host_name_resolving_to_loopback_is_refused(merchant, private_refused, dns):
    dns["hooks.shop.example"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(ValidationFailed, match=r"resolves to 127\.0\.0\.1"):
        webhook_services.create_endpoint(
            merchant=merchant, url="https://hooks.shop.example/x", event_types=["payment.created"]
        )
    with pytest.raises(ValidationFailed, match="resolves to"):
        webhook_services.create_endpoint(
            merchant=merchant, url="http://localhost:9/x", event_types=["payment.created"]
        )


def test_only_http_and_https_and_https_unless_allowed(merchant, settings):
    for url in ("ftp://example.com/x", "file:///etc/passwd", "gopher://example.com"):
        with pytest.raises(ValidationFailed):
            targets.parse(url)
    settings.WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(ValidationFailed, match="https"):
        targets.parse("http://example.com/hooks")
    assert targets.parse("https://example.com/hooks?x=1") == (
        "https",
        "example.com",
        443,
        "/hooks?x=1",
    )


def test_a_host_that_turns_private_after_registration_is_not_sent_to(
    merchant, receiver, settings, dns
):
    """DNS can change between the check at registration and a send: checked again."""
    dns["hooks.shop.example"] = ["93.184.216.34"]
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    url = f"http://hooks.shop.example:{receiver.port}/hooks"
    webhook_services.create_endpoint(merchant=merchant, url=url, event_types=["payment.created"])
    dns["hooks.shop.example"] = ["127.0.0.1"]  # rebinding to the machine itself
    PaymentFactory(merchant=merchant)

    delivery = Delivery.objects.get()
    webhook_delivery.send_delivery(delivery_id=delivery.id)

    assert receiver.received == []
    attempt = Attempt.objects.get()
    assert attempt.status_code is None and "not a public internet address" in attempt.error


def test_the_send_connects_to_the_checked_address_and_names_the_host(merchant, receiver, dns):
    dns["hooks.shop.example"] = ["127.0.0.1"]
    url = f"http://hooks.shop.example:{receiver.port}/hooks"
    webhook_services.create_endpoint(merchant=merchant, url=url, event_types=["payment.created"])
    PaymentFactory(merchant=merchant)

    webhook_delivery.send_delivery(delivery_id=Delivery.objects.get().id)

    [post] = receiver.posts()
    assert post.headers["host"] == f"hooks.shop.example:{receiver.port}"
