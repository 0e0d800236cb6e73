"""SSRF guard: refused URLs and connections, with the default policy, against real loopback servers."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator

import httpcore
import pytest

import paths
from httpserver import LocalServer, Reply, http_server, local_fetch_options
from medcurate.errors import BlockedURL, FetchError
from medcurate.ingest.fetch import fetch_url
from medcurate.ingest.netguard import NetPolicy, address_problem, check_url, parse_ip_host
from medcurate.ingest.options import FetchOptions

__all__ = ["http_server"]  # the fixture, imported for pytest

DEFAULT = NetPolicy()
FIXTURES = paths.FIXTURES / "fetch"


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every TCP connection the fetcher opens, recorded (and still made)."""
    calls: list[tuple[str, int]] = []
    original = httpcore.AnyIOBackend.connect_tcp

    async def spy(self: httpcore.AnyIOBackend, host: str, port: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append((host, port))
        return await original(self, host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", spy)
    yield calls


def default_options(**overrides: object) -> FetchOptions:
    """The default options (default SSRF policy), minus the politeness delay."""
    return FetchOptions(per_host_delay=0.0, connect_timeout=3.0, **overrides)  # type: ignore[arg-type]


# --- check_url: refused before any I/O -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8080/", "127.0.0.1 is a loopback address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://172.16.5.4/", "172.16.5.4 is a private address"),
        ("http://100.64.0.1/", "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://[::]/", ":: is an unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[fc00::1]/", "fc00::1 is a private address"),
        ("http://0x7f000001/", "0x7f000001 is 127.0.0.1, a loopback address"),
        ("http://0x7f.1/", "0x7f.1 is 127.0.0.1, a loopback address"),
        ("http://2130706433/", "2130706433 is 127.0.0.1, a loopback address"),
        ("http://017700000001/", "017700000001 is 127.0.0.1, a loopback address"),
        ("http://127.1/", "127.1 is 127.0.0.1, a loopback address"),
        ("http://0/", "0 is 0.0.0.0, an unspecified address"),
        ("http://[::ffff:127.0.0.1]/", "a loopback address (it embeds IPv4 127.0.0.1)"),
        ("http://[::ffff:a9fe:a9fe]/", "a link-local address (it embeds IPv4 169.254.169.254)"),
        ("http://[64:ff9b::10.0.0.1]/", "a private address (it embeds IPv4 10.0.0.1)"),
        ("http://[2002:7f00:1::]/", "a loopback address (it embeds IPv4 127.0.0.1)"),
        ("ftp://example.org/file", "scheme 'ftp' is not http or https"),
        ("file:///etc/passwd", "scheme 'file' is not http or https"),
        ("gopher://example.org/", "scheme 'gopher'"),
        ("//example.org/", "scheme 'none'"),
        ("http://user:secret@example.org/", "URLs with credentials"),
        ("http://example.org:25/", "port 25 is a blocked"),
        ("http:///nohost", "URL has no host"),
    ],
)
def test_check_url_refuses(url: str, message: str) -> None:
    with pytest.raises(BlockedURL) as info:
        check_url(url, DEFAULT)
    assert message in str(info.value)
    assert info.value.url == url
    if "address" in message:
        # The message names the setting a person can change, never a Python class.
        assert "add it to MEDCURATE_ALLOWED_HOSTS" in str(info.value)
        assert "NetPolicy" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/a?b=c",
        "http://8.8.8.8/",
        "http://[2606:4700:4700::1111]/",
        "https://cafe.be:8443/",
    ],
)
def test_check_url_accepts_public_targets(url: str) -> None:
    check_url(url, DEFAULT)


def test_allow_list_opens_only_what_it_names() -> None:
    check_url("http://127.0.0.1:8080/", NetPolicy.allowing("127.0.0.1"))
    check_url("http://10.1.2.3/", NetPolicy.allowing("10.0.0.0/8"))
    check_url("http://10.1.2.3/", NetPolicy(allow_private=True))
    check_url("http://[::1]/", NetPolicy(allowed_hosts=frozenset({"::1"})))
    with pytest.raises(BlockedURL):
        check_url("http://127.0.0.2/", NetPolicy.allowing("127.0.0.1"))
    with pytest.raises(BlockedURL, match="scheme"):
        check_url("ftp://127.0.0.1/", NetPolicy(allow_private=True))
    with pytest.raises(BlockedURL, match="credentials"):
        check_url("http://a:b@127.0.0.1/", NetPolicy(allow_private=True))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("cafe.be", None),
        ("1.2.3", "1.2.0.3"),
    ],
)
def test_parse_ip_host(host: str, expected: str | None) -> None:
    parsed = parse_ip_host(host)
    assert (str(parsed) if parsed else None) == expected


def test_public_addresses_have_no_problem() -> None:
    for addr in ("8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"):
        assert address_problem(ipaddress.ip_address(addr)) is None


# --- refused with the default policy: nothing reaches the server -------------------------------------


def test_loopback_literal_is_refused_and_the_server_sees_nothing(http_server, connects) -> None:
    srv: LocalServer = http_server()
    srv.route("/", Reply(body=b"<html>internal</html>"))
    for url in (srv.url("/"), f"http://0x7f000001:{srv.port}/", f"http://2130706433:{srv.port}/"):
        with pytest.raises(BlockedURL, match=r"refused: .*127\.0\.0\.1.* loopback address \(SSRF guard\)"):
            fetch_url(url, default_options())
    assert srv.requests == []
    assert connects == []


def test_ipv6_loopback_is_refused(http_server, connects) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        srv: LocalServer = http_server(host="::1")
    except OSError as exc:
        pytest.skip(f"cannot listen on ::1: {exc}")
    srv.route("/", Reply(body=b"<html>internal</html>"))
    with pytest.raises(BlockedURL, match="::1 is a loopback address"):
        fetch_url(srv.url("/"), default_options())
    assert srv.requests == []
    assert connects == []
    # The same server is reachable when the allow-list names it: the refusal was the guard's doing.
    assert fetch_url(srv.url("/"), local_fetch_options()).text == "<html>internal</html>"


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/"],
)
def test_private_targets_are_refused_before_any_connection(url: str, connects) -> None:
    with pytest.raises(BlockedURL, match=r"(private|link-local) address"):
        fetch_url(url, default_options())
    assert connects == []


def test_non_http_schemes_and_credentials_are_refused(http_server, connects) -> None:
    srv: LocalServer = http_server()
    for url in (f"ftp://127.0.0.1:{srv.port}/", f"http://user:pw@127.0.0.1:{srv.port}/"):
        with pytest.raises(BlockedURL, match=r"scheme 'ftp'|credentials"):
            fetch_url(url, local_fetch_options())
    assert srv.requests == []
    assert connects == []


def test_host_name_resolving_to_loopback_is_refused_at_connect(http_server, connects) -> None:
    srv: LocalServer = http_server()
    srv.route("/", Reply(body=b"<html>internal</html>"))
    with pytest.raises(BlockedURL, match=r"localhost resolves to (127\.0\.0\.1|::1), a loopback address"):
        fetch_url(f"http://localhost:{srv.port}/", default_options())
    assert srv.requests == []
    assert connects == []


def test_resolver_hook_answer_is_refused(http_server) -> None:
    srv: LocalServer = http_server()
    policy = NetPolicy(resolver=lambda host, port: ["127.0.0.1"])
    with pytest.raises(BlockedURL, match=r"news\.example resolves to 127\.0\.0\.1, a loopback address"):
        fetch_url(f"http://news.example:{srv.port}/", default_options(policy=policy))
    assert srv.requests == []


def test_redirect_from_allowed_host_to_loopback_is_refused(http_server, connects) -> None:
    inside: LocalServer = http_server(host="127.0.0.1")
    inside.route("/secret", Reply(body=b"<html>secret</html>"))
    outside: LocalServer = http_server(host="127.0.0.2")
    outside.route("/go", Reply(status=302, headers={"Location": inside.url("/secret")}))
    outside.route(
        "/go-by-name", Reply(status=302, headers={"Location": f"http://localhost:{inside.port}/secret"})
    )
    options = default_options(policy=NetPolicy.allowing("127.0.0.2"))
    with pytest.raises(BlockedURL, match=r"127\.0\.0\.1 is a loopback address"):
        fetch_url(outside.url("/go"), options)
    with pytest.raises(BlockedURL, match="localhost resolves to"):
        fetch_url(outside.url("/go-by-name"), options)
    assert outside.count("/go") == 1 and outside.count("/go-by-name") == 1
    assert inside.requests == []
    assert all(host == "127.0.0.2" for host, _port in connects)


def test_blocked_ports_stay_blocked_on_allowed_hosts() -> None:
    with pytest.raises(BlockedURL, match="port 25 is a blocked"):
        fetch_url("http://127.0.0.1:25/", local_fetch_options())


# --- connecting to the checked address -------------------------------------------------------------


def twin_servers(http_server) -> tuple[LocalServer, LocalServer]:
    """A server on 127.0.0.2 (allowed) and one on 127.0.0.1 (forbidden) on the same port."""
    for _ in range(10):
        allowed: LocalServer = http_server(host="127.0.0.2")
        try:
            forbidden: LocalServer = http_server(host="127.0.0.1", port=allowed.port)
        except OSError:
            continue
        for server, label in ((allowed, "allowed"), (forbidden, "forbidden")):
            server.route("/", Reply(body=f"<html>{label}</html>".encode()))
        return allowed, forbidden
    pytest.skip("could not bind twin servers on one port")


def test_connection_goes_to_the_checked_address_with_the_host_header_kept(http_server) -> None:
    allowed, forbidden = twin_servers(http_server)
    # The system resolver would say 127.0.0.1 for localhost; the hook says 127.0.0.2. Reaching the
    # 127.0.0.2 server proves the connection used the checked answer, not a second lookup.
    policy = NetPolicy.allowing("127.0.0.2", resolver=lambda host, port: ["127.0.0.2"])
    page = fetch_url(f"http://localhost:{allowed.port}/", default_options(policy=policy))
    assert page.text == "<html>allowed</html>"
    assert allowed.seen("/")[0].headers["host"] == f"localhost:{allowed.port}"
    assert forbidden.requests == []


def test_dns_rebinding_between_connections_is_refused(http_server) -> None:
    allowed, forbidden = twin_servers(http_server)
    answers = iter([["127.0.0.2"], ["127.0.0.1"], ["127.0.0.1"]])
    policy = NetPolicy.allowing("127.0.0.2", resolver=lambda host, port: next(answers))
    options = default_options(policy=policy, respect_robots=False)
    assert fetch_url(f"http://localhost:{allowed.port}/", options).text == "<html>allowed</html>"
    with pytest.raises(BlockedURL, match=r"localhost resolves to 127\.0\.0\.1, a loopback address"):
        fetch_url(f"http://localhost:{allowed.port}/", options)
    assert forbidden.requests == []


def test_a_name_with_any_forbidden_address_is_refused(http_server) -> None:
    allowed, forbidden = twin_servers(http_server)
    policy = NetPolicy.allowing("127.0.0.2", resolver=lambda host, port: ["127.0.0.2", "10.0.0.1"])
    with pytest.raises(BlockedURL, match=r"resolves to 10\.0\.0\.1, a private address"):
        fetch_url(f"http://site.example:{allowed.port}/", default_options(policy=policy))
    assert allowed.requests == [] and forbidden.requests == []


def test_allowed_hosts_by_name(http_server) -> None:
    srv: LocalServer = http_server()
    srv.route("/", Reply(body=b"<html>ok</html>"))
    policy = NetPolicy(allowed_hosts=frozenset({"localhost"}), resolver=lambda host, port: ["127.0.0.1"])
    assert (
        fetch_url(f"http://localhost:{srv.port}/", default_options(policy=policy)).text == "<html>ok</html>"
    )


def test_tls_keeps_sni_and_certificate_host_while_connecting_to_the_checked_address(http_server) -> None:
    cert, key = FIXTURES / "site-test.crt", FIXTURES / "site-test.key"
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    srv: LocalServer = http_server(host="127.0.0.2", tls=server_tls)
    srv.route("/", Reply(body=b"<html>over tls</html>"))
    policy = NetPolicy.allowing("127.0.0.2", resolver=lambda host, port: ["127.0.0.2"])
    client_tls = ssl.create_default_context(cafile=str(cert))
    options = default_options(policy=policy, verify=client_tls)
    page = fetch_url(f"https://site.test:{srv.port}/", options)
    assert page.text == "<html>over tls</html>"
    assert srv.sni_names and set(srv.sni_names) == {"site.test"}
    assert srv.seen("/")[0].headers["host"] == f"site.test:{srv.port}"
    # The certificate names site.test only: reaching the same address by another name must fail.
    with pytest.raises(FetchError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        fetch_url(f"https://other.test:{srv.port}/", default_options(policy=policy, verify=client_tls))
