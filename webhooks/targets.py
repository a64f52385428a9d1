"""Where a webhook may go (SPEC 11): never a loopback, private, link-local,
unique-local, multicast, reserved or cloud metadata address, unless
WEBHOOK_ALLOW_PRIVATE_TARGETS is on (development and tests).

The host is resolved and every address it resolves to is checked, at registration and
again before each send (DNS can change between the two, or between a check and the
connection). The send then connects to the address that was checked, never resolving
again: urllib3 is given the IP as the host, and the name only as the `Host` header and,
for https, as the TLS server name and the name the certificate must match.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Refused even when Python calls them global: shared address space (carrier NAT), the
# cloud metadata services, and the IPv6 prefixes that embed an IPv4 address.
ALWAYS_REFUSED = [
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "fd00:ec2::254/128",
        "fe80::/10",
        "fc00::/7",
        "ff00::/8",
    )
]


class TargetRefused(ValidationFailed):
    def __init__(self, message: str):
        super().__init__(message, param="url")


@dataclass(frozen=True)
class Target:
    """A checked URL: the address to connect to and what to tell the server."""

    scheme: str
    host: str  # the name, for the Host header and TLS
    port: int
    path: str  # path and query
    address: str  # the IP checked, connected to

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in ipaddress.ip_network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Only an address on the public internet: nothing of ours, the cloud's or the
    local network's."""
    if (embedded := _embedded_ipv4(address)) is not None:
        return is_public(embedded)
    if any(address in network for network in ALWAYS_REFUSED if network.version == address.version):
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_loopback
    )


def parse(url: str) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and path, or TargetRefused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused("Enter a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("The URL must start with https://")
    if scheme == "http" and not settings.WEBHOOK_ALLOW_HTTP:
        raise TargetRefused("The URL must use https://")
    if not parts.hostname:
        raise TargetRefused("The URL needs a host name")
    if parts.username or parts.password:
        raise TargetRefused("The URL must not hold a user name or password")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def resolve(url: str) -> Target:
    """Check `url` and the addresses its host has now; answers the target to connect
    to (the first address), or TargetRefused saying why."""
    scheme, host, port, path = parse(url)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused(f"The host {host} could not be resolved") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in found]
    if not addresses:
        raise TargetRefused(f"The host {host} could not be resolved")
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            if not is_public(address):
                raise TargetRefused(
                    f"The host {host} resolves to {address}, which is not a public internet "
                    "address: webhooks are never sent to private, loopback, link-local or "
                    "metadata addresses"
                )
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
