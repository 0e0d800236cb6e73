"""What the connection says about itself: HTTPS or not, and the client's address, proxies included.

A reverse proxy that ends TLS tells the app with ``X-Forwarded-Proto: https`` and names the client
in ``X-Forwarded-For``; those headers are believed only from the addresses in
``WebOptions.trusted_proxies`` (any client can send them).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import Request


@lru_cache(maxsize=64)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted if entry.strip())


def from_trusted_proxy(request: Request, trusted: Sequence[str]) -> bool:
    """True when the peer is one of the trusted proxies."""
    if not trusted or request.client is None:
        return False
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(peer in network for network in _networks(tuple(trusted)))


def served_over_https(request: Request, trusted: Sequence[str]) -> bool:
    """True when the browser talks HTTPS: to this server, or to a trusted proxy that says so."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return forwarded == "https" and from_trusted_proxy(request, trusted)


def client_address(request: Request, trusted: Sequence[str]) -> str:
    """The client's address: the peer's, or the last one a trusted proxy added to X-Forwarded-For."""
    peer = request.client.host if request.client else ""
    if from_trusted_proxy(request, trusted):
        hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
        if hops:
            return hops[-1][:64]
    return peer
