"""Where webhooks may go: https, and only to public addresses (checked at save and at send)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


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


async def check_url(url: str, *, allow_insecure: bool) -> None:
    """Refuse a URL that is not https or whose host resolves to a non-public address.

    `allow_insecure` (WEBHOOK_ALLOW_INSECURE, development and tests) accepts http and any address."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrlError("must be an absolute https URL")
    if allow_insecure:
        return
    if parts.scheme != "https":
        raise UnsafeUrlError("must be https")
    if parts.username or parts.password:
        raise UnsafeUrlError("must not carry credentials")
    try:
        port = parts.port or 443
    except ValueError:
        raise UnsafeUrlError("has an invalid port") from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeUrlError(f"host {parts.hostname} does not resolve") from None
    addresses = {str(info[4][0]) for info in infos}
    refused = sorted(a for a in addresses if not _public(a))
    if not addresses or refused:
        raise UnsafeUrlError(
            f"host {parts.hostname} resolves to a private or local address ({', '.join(refused)})"
        )
