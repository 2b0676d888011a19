"""Where webhooks may go: https, and only to public addresses (checked at save and at send, and the
connection goes to the address checked)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class UnsafeUrlError(Exception):
    """The URL is not one deliveries may be sent to; the message says why."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host name has (a hook for tests: a name that resolves elsewhere the second time)."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send: `url` names the address that was checked, so nothing resolves the name again
    between the check and the connection (DNS rebinding); `host` and `sni_hostname` keep the name
    for the `Host` header and for TLS (the certificate is verified against the name)."""

    url: str
    host: str | None = None
    sni_hostname: str | None = None


async def check_url(url: str, *, allow_insecure: bool, resolve: Resolver = system_resolver) -> Target:
    """Refuse a URL that is not https or whose host resolves to any non-public address; else the
    target pinned to the first address it resolved to.

    `allow_insecure` (WEBHOOK_ALLOW_INSECURE, development and tests) accepts http and any address."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrlError("must be an absolute https URL")
    if allow_insecure:
        return Target(url)
    if parts.scheme != "https":
        raise UnsafeUrlError("must be https")
    if parts.username or parts.password:
        raise UnsafeUrlError("must not carry credentials")
    try:
        explicit_port = parts.port
    except ValueError:
        raise UnsafeUrlError("has an invalid port") from None
    hostname = parts.hostname
    try:
        addresses = await resolve(hostname, explicit_port or 443)
    except (OSError, UnicodeError):
        raise UnsafeUrlError(f"host {hostname} does not resolve") from None
    refused = sorted({a for a in addresses if not _public(a)})
    if not addresses or refused:
        raise UnsafeUrlError(f"host {hostname} resolves to a private or local address ({', '.join(refused)})")
    address = addresses[0].split("%")[0]
    literal = f"[{address}]" if ":" in address else address
    port = f":{explicit_port}" if explicit_port is not None else ""
    pinned = urlunsplit(("https", literal + port, parts.path or "/", parts.query, ""))
    named = _is_name(hostname)
    host = (f"[{hostname}]" if ":" in hostname else hostname) + port
    return Target(pinned, host=host, sni_hostname=hostname if named else None)


def _is_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False
