"""Where the gateway may send a webhook: refusals at creation and again at each connection.

A target must be ``https`` (plain ``http`` only to the hosts of ``LABORCOOP_WEBHOOK_HTTP_HOSTS``,
for local development), and every address its host resolves to must be public: loopback,
private, link-local (so the cloud metadata service 169.254.169.254), unique-local (fd00:ec2::254),
multicast, unspecified and reserved addresses are refused, also when written as an IPv4-mapped
IPv6 address. The check is made at creation (a 422 naming ``url``) and at every connection by
:class:`GuardedBackend`, which resolves the name once, checks every address and connects to a
checked one: a name that resolves to a public address when checked and to a private one when
connecting (DNS rebinding) is never connected by a second resolution. TLS still verifies the
certificate against the name (the URL keeps it; only the socket goes to the checked address).
"""

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

import httpcore
import httpx

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host name resolves to (tests map names of their own)."""

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH: Final = 2000


class Refused(Exception):
    """The target may not be called; the message says why (never more than the URL's host)."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def forbidden(address: IpAddress) -> bool:
    """True for every address a webhook may not reach: anything not globally routable
    (loopback, private, link-local, unique-local, shared, reserved, unspecified) and multicast."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None and forbidden(mapped):
            return True
    return not address.is_global or address.is_multicast


def check_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """``addresses`` when every one is allowed (and there is one); else :class:`Refused`."""
    found = list(addresses)
    if not found:
        raise Refused(f"{host} does not resolve")
    for text in found:
        if forbidden(ipaddress.ip_address(text.split("%", 1)[0])):
            raise Refused(f"{host} resolves to a private, loopback or link-local address")
    return found


def check_url_form(url: str, http_hosts: Collection[str]) -> tuple[str, int]:
    """The host and port of ``url`` when its form is allowed (:class:`Refused` otherwise)."""
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused("not a URL") from exc
    host = parts.hostname
    if parts.scheme not in {"https", "http"} or not host:
        raise Refused("an https URL is required")
    if parts.scheme == "http" and host not in http_hosts:
        raise Refused("an https URL is required (plain http only to the development hosts)")
    if parts.username is not None or parts.password is not None:
        raise Refused("credentials in the URL are not allowed")
    if parts.fragment:
        raise Refused("a fragment is not allowed")
    return host, port or (443 if parts.scheme == "https" else 80)


async def check_target(url: str, http_hosts: Collection[str], resolve: Resolver) -> None:
    """Refuse ``url`` unless its form is allowed and its host resolves only to public
    addresses (hosts of ``http_hosts`` are not checked: local development)."""
    host, port = check_url_form(url, http_hosts)
    if host in http_hosts:
        return
    try:
        addresses = [host] if _is_address(host) else await resolve(host, port)
    except OSError as exc:
        raise Refused(f"{host} does not resolve") from exc
    check_addresses(host, addresses)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to checked addresses: resolves the host once, refuses it if any address
    is forbidden, and opens the socket to the first address it checked."""

    def __init__(self, http_hosts: Collection[str], resolver: Callable[[], Resolver]) -> None:
        self._http_hosts = frozenset(http_hosts)
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if _is_address(host):
            addresses = [host]
        else:
            try:
                addresses = await self._resolver()(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"{host} does not resolve") from exc
        if host not in self._http_hosts:
            try:
                check_addresses(host, addresses)
            except Refused as exc:
                raise httpcore.ConnectError(f"refused: {exc}") from exc
        return await self._inner.connect_tcp(
            addresses[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 — httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_client(
    http_hosts: Sequence[str],
    resolver: Callable[[], Resolver],
    *,
    timeout_s: float,
    max_connections: int,
) -> httpx.AsyncClient:
    """The pooled client of deliveries: redirects not followed, every connection guarded, no
    proxy or ``.netrc`` from the environment, keep-alive per target host."""
    transport = httpx.AsyncHTTPTransport(retries=0)
    transport._pool = httpcore.AsyncConnectionPool(  # httpx takes no network backend of its own
        ssl_context=ssl.create_default_context(),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
        retries=0,
        network_backend=GuardedBackend(http_hosts, resolver),
    )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout_s),
    )
