"""Where webhooks may go, and the POST that takes them there.

An endpoint on a loopback, private, link-local or otherwise non-public address
could reach the platform's own services (a metadata service, the database, an
admin port): it is refused when the endpoint is saved and again at every
delivery, after DNS resolution, and the request then goes to the address that
was checked (never to a second lookup, which could answer differently).
Redirects are not followed. `WEBHOOK_ALLOW_PRIVATE_TARGETS=true` lifts the
check (tests and local development, where receivers listen on 127.0.0.1).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from .errors import WebhookError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The target resolves to an address webhooks may not go to."""


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _parse(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("Only http and https URLs.")
    if not parts.hostname:
        raise ValueError("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise ValueError("The URL's port is not a number from 0 to 65535.") from error
    return parts.scheme, parts.hostname, port


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The scope of a link-local IPv6 address ("fe80::1%eth0") is not part of it.
    return list(dict.fromkeys(ipaddress.ip_address(str(f[4][0]).split("%")[0]) for f in found))


def allowed_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses a delivery may connect to; TargetRefused if any of them is
    not public (a name that resolves to one public and one private address is
    refused whole)."""
    addresses = resolve(host, port)
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return addresses
    refused = [a for a in addresses if not is_public(a)]
    if refused:
        raise TargetRefused(
            f"{host} resolves to {refused[0]}, which is not a public address (loopback, "
            "private, link-local or reserved; WEBHOOK_ALLOW_PRIVATE_TARGETS=true allows it)"
        )
    return addresses


def check_url(url: str) -> None:
    """Refuse, on `url`, an endpoint webhooks may not be sent to. A name that does
    not resolve now is let through: the check at delivery refuses it then if
    it resolves to a private address."""
    try:
        _, host, port = _parse(url)
    except ValueError as error:
        raise WebhookError("url", str(error), code="invalid") from error
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    if host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        raise WebhookError("url", "A loopback host is not allowed.", code="private_target")
    try:
        allowed_addresses(host, port)
    except TargetRefused as refused:
        raise WebhookError("url", f"{refused}.", code="private_target") from refused
    except (OSError, UnicodeError):
        return  # does not resolve (yet)


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> tuple[int, str]:
    """POST `body` to `url` through an address that passed the check; returns the
    status and the first 4000 characters of the answer. Raises TargetRefused,
    OSError (connection, TLS, timeout) or http.client.HTTPException."""
    scheme, host, port = _parse(url)
    addresses = allowed_addresses(host, port)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        # The checked addresses, in order; TLS still verifies the certificate for `host`.
        error: OSError | None = None
        for checked in addresses:
            try:
                return socket.create_connection((str(checked), address[1]), *args, **kwargs)
            except OSError as failure:
                error = failure
        assert error is not None
        raise error

    connection._create_connection = connect  # type: ignore[attr-defined]
    try:
        connection.request("POST", path, body=body, headers=dict(headers))
        response = connection.getresponse()
        text = response.read(4000).decode("utf-8", "replace")
        return response.status, text
    finally:
        connection.close()
