"""SSRF guard: refuse URLs, and connections, that would reach private, local or otherwise internal hosts.

Public API::

    NetPolicy(*, allow_private=False, allowed_hosts=frozenset(), allowed_networks=(),
              blocked_ports=DEFAULT_BLOCKED_PORTS, resolver=None)
    check_url(url, policy) -> None        # scheme, credentials, port and IP-literal hosts; raises BlockedURL
    check_address(ip, policy, *, url=..., host=...) -> None   # one resolved address; raises BlockedURL
    GuardedBackend(policy)                # httpcore network backend that validates what it connects to
    guarded_transport(policy, **kw)       # an httpx.AsyncHTTPTransport using GuardedBackend

Two layers. ``check_url`` runs before any I/O and refuses what the URL alone gives away, including
IPv4 hosts spelt in decimal, octal or hex (``http://2130706433/``, ``http://0x7f.1/``), which the C
resolver would quietly turn into 127.0.0.1. ``GuardedBackend.connect_tcp`` then resolves the host
name once, checks every address it got, connects to a checked address (not to the name, so a DNS
answer that changes between check and connect -- DNS rebinding -- cannot slip through) and verifies
the socket's peer address. TLS SNI and the Host header still carry the name: httpcore takes both
from the request URL, not from the address we connect to.

The guard is hand-written because no maintained library plugs into httpcore's network backend;
the address classification itself is the standard library's ``ipaddress``. Environment proxies are
switched off (``trust_env=False``) since a proxy would make the connection, and the check, moot.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from medcurate.errors import BlockedURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

ALLOWED_SCHEMES: frozenset[str] = frozenset({"http", "https"})

# The Fetch standard's "bad ports": services that a crafted HTTP request could talk to (SMTP, IRC...).
DEFAULT_BLOCKED_PORTS: frozenset[int] = frozenset(
    {
        0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
        103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
        512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
        995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
        6669, 6679, 6697, 10080,
    }
)  # fmt: skip

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_LEGACY_IPV4 = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)
# What a person can change: the setting, not the class behind it.
_ALLOW_HINT = 'to fetch it anyway, add it to MEDCURATE_ALLOWED_HOSTS (a JSON list, such as ["10.0.0.5"])'


@dataclass(frozen=True, kw_only=True)
class NetPolicy:
    """Which hosts, addresses and ports the fetcher may connect to.

    ``allowed_hosts`` (exact host names or IP strings) and ``allowed_networks`` open holes in the
    private-address refusal; ``resolver`` replaces the system resolver (a test hook: host, port ->
    IP strings).
    """

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    blocked_ports: frozenset[int] = DEFAULT_BLOCKED_PORTS
    resolver: Resolver | None = field(default=None, compare=False)

    @classmethod
    def allowing(cls, *targets: str, **kwargs: Any) -> NetPolicy:
        """Policy allowing the given networks (``"127.0.0.1"``, ``"10.0.0.0/8"``) on top of the defaults."""
        nets = tuple(ipaddress.ip_network(t, strict=False) for t in targets)
        return cls(allowed_networks=nets, **kwargs)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Read a host spelt as a classic inet_aton IPv4 (``2130706433``, ``0x7f.1``, ``0177.0.0.1``)."""
    if not _LEGACY_IPV4.match(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


def parse_ip_host(host: str) -> IPAddress | None:
    """The IP address a URL host names literally, in any spelling a resolver accepts, else None."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return _legacy_ipv4(bare)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64, compatible), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip))
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why an address is not public unicast (``"a loopback address"``...), or None when it is."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        inner = address_problem(embedded)
        return f"{inner} (it embeds IPv4 {embedded})" if inner else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("shared (carrier-grade NAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED),
        ("non-global", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{'an' if name[0] in 'aeiou' else 'a'} {name} address"
    return None


def _allowed(ip: IPAddress, host: str, policy: NetPolicy) -> bool:
    """Say whether the policy opens a hole for this address or host name."""
    if policy.allow_private or host.lower().strip("[]") in policy.allowed_hosts:
        return True
    return any(ip.version == net.version and ip in net for net in policy.allowed_networks)


def check_address(ip: IPAddress, policy: NetPolicy, *, url: str | None = None, host: str = "") -> None:
    """Refuse a (resolved) address that is not public unicast, unless the policy allows it."""
    problem = address_problem(ip)
    if problem is None or _allowed(ip, host or str(ip), policy):
        return
    bare = host.strip("[]")
    if not bare or bare == str(ip):
        subject = f"{ip} is"
    elif parse_ip_host(bare) is None:
        subject = f"{bare} resolves to {ip},"
    else:
        subject = f"{bare} is {ip},"
    shown = bare if bare and parse_ip_host(bare) is None else str(ip)
    raise BlockedURL(
        f"refused: {subject} {problem} (SSRF guard); " + _ALLOW_HINT.replace("10.0.0.5", shown),
        url=url,
    )


def check_url(url: str, policy: NetPolicy) -> None:
    """Refuse, before any I/O, a URL whose scheme, credentials, port or literal IP host is not allowed.

    Host names are checked later, at connection time, by ``GuardedBackend``.

    Raises:
        BlockedURL: with a message saying why and how to allow it.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedURL(f"refused: malformed URL ({exc})", url=url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "none"
        raise BlockedURL(f"refused: scheme {shown!r} is not http or https (SSRF guard)", url=url)
    if parts.username is not None or parts.password is not None:
        raise BlockedURL("refused: URLs with credentials (user:pass@) are not fetched (SSRF guard)", url=url)
    host = parts.hostname or ""
    if not host:
        raise BlockedURL("refused: URL has no host", url=url)
    port = port if port is not None else (443 if scheme == "https" else 80)
    if port in policy.blocked_ports:
        raise BlockedURL(f"refused: port {port} is a blocked (non-HTTP service) port (SSRF guard)", url=url)
    ip = parse_ip_host(host)
    if ip is not None:
        check_address(ip, policy, url=url, host=host)


async def resolve_host(host: str, port: int, policy: NetPolicy) -> list[IPAddress]:
    """Resolve a host to its addresses once, with the policy's resolver or the system one."""
    literal = parse_ip_host(host)
    if literal is not None:
        return [literal]
    if policy.resolver is not None:
        return [ipaddress.ip_address(a) for a in policy.resolver(host, port)]
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    seen: dict[str, IPAddress] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        addr = str(sockaddr[0]).split("%", 1)[0]
        seen.setdefault(addr, ipaddress.ip_address(addr))
    return list(seen.values())


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to addresses the policy allows."""

    def __init__(self, policy: NetPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve once, refuse if any address is forbidden, connect to a checked address, verify the peer."""
        if port in self._policy.blocked_ports:
            raise BlockedURL(f"refused: port {port} is a blocked (non-HTTP service) port (SSRF guard)")
        try:
            with anyio.fail_after(timeout):
                addresses = await resolve_host(host, port, self._policy)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no addresses")
        for ip in addresses:
            check_address(ip, self._policy, host=host)
        last_error: Exception | None = None
        for ip in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            self._verify_peer(stream, ip, host)
            return stream
        assert last_error is not None
        raise last_error

    def _verify_peer(self, stream: httpcore.AsyncNetworkStream, ip: IPAddress, host: str) -> None:
        """Close and refuse if the socket is connected anywhere but the checked address."""
        sock = stream.get_extra_info("socket")
        peer = parse_ip_host(str(sock.getpeername()[0])) if sock is not None else None
        if peer != ip:
            raise BlockedURL(f"refused: connected to {peer} for {host}, expected {ip} (SSRF guard)")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are never used for fetching."""
        raise BlockedURL("refused: Unix sockets are not fetched (SSRF guard)")

    async def sleep(self, seconds: float) -> None:
        """Delegate to the wrapped backend."""
        await self._inner.sleep(seconds)


def guarded_transport(
    policy: NetPolicy, *, limits: httpx.Limits | None = None, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes through ``GuardedBackend``, proxies off."""
    limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
    ssl_context = verify
    if not isinstance(ssl_context, ssl.SSLContext):
        ssl_context = httpx.create_ssl_context(verify, trust_env=False)
    transport = httpx.AsyncHTTPTransport(trust_env=False, limits=limits, verify=ssl_context)
    # httpx does not expose httpcore's network_backend; swap the pool it built for one that uses ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy),
    )
    return transport
