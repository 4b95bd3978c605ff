"""Where a webhook may go, and the one way a request gets there (SSRF rules).

A URL is checked when it is registered and again at every delivery: https (http only when
allowed), an allowed port, no credentials, and a host whose every address is global. Hosts are
resolved here once per delivery and the connection goes to the address that was checked, with the
name kept for the Host header, SNI and the certificate check, so a DNS answer that changes between
the check and the connection (rebinding) cannot reach anything else. Redirects are never followed.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_READ = 64 * 1024  # of a response body; the rest is not read
KEEP = 2 * 1024  # of it, in the delivery log
USER_AGENT = "VOD-Webhooks/1.0"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# Embeddings of an IPv4 address in IPv6 that reach it through a translator.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class UrlRefused(Exception):
    """The URL may not be called; the message says which rule refused it."""


class Unresolvable(UrlRefused):
    """The host has no address (DNS failed)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # the IDNA (ASCII) form
    port: int
    path: str  # path and query, as sent
    addresses: tuple[Address, ...]


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: str | None
    excerpt: str


def _private_allowed() -> bool:
    return settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS


def address_refusal(address: Address) -> str | None:
    """Why this address may not be called, or None. Only global unicast addresses pass."""
    if address.is_unspecified or address.is_multicast:
        return "an unspecified or multicast address"
    if address in _METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None or address in _NAT64:
            return "an IPv4 address embedded in IPv6"
        embedded = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None and address_refusal(embedded):
            return "an IPv6 tunnel to a non-public IPv4 address"
    if _private_allowed():
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private or address.is_reserved or not address.is_global:
        return "a private, shared (CGNAT) or reserved address"
    return None


def _literal(host: str) -> Address | None:
    """The address a host names by itself, in any form a resolver would accept: dotted, decimal
    (2130706433), hex (0x7f000001), short (127.1), octal, or IPv6."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host.replace(".", "").replace("x", "").replace("X", "").isalnum() and host[:1].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _resolve(host: str, port: int) -> tuple[Address, ...]:
    literal = _literal(host)
    if literal is not None:
        return (literal,)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"{host} does not resolve.") from exc
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(f"{host} does not resolve.")
    return tuple(addresses)


def check_url(url: str) -> Target:
    """Parses and checks `url`, resolving its host; raises UrlRefused saying why it may not be called."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlRefused("This is not a valid URL.") from exc
    scheme = parts.scheme.lower()
    allowed_schemes = {"https", "http"} if settings.WEBHOOK_ALLOW_HTTP or _private_allowed() else {"https"}
    if scheme not in allowed_schemes:
        raise UrlRefused("The URL must use https.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("The URL must not carry credentials.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    if parts.fragment:
        raise UrlRefused("The URL must not have a fragment.")
    host = parts.hostname.rstrip(".")
    if not host.isascii():  # IDNA, which also folds look-alike digits (full-width forms) to ASCII
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UrlRefused("The host name is not valid.") from exc
    if not host:
        raise UrlRefused("The URL has no host.")
    port = port or (443 if scheme == "https" else 80)
    if not _private_allowed() and port not in settings.WEBHOOK_ALLOWED_PORTS:
        allowed = ", ".join(str(each) for each in settings.WEBHOOK_ALLOWED_PORTS)
        raise UrlRefused(f"The port must be one of {allowed}.")
    addresses = _resolve(host, port)
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise UrlRefused(f"{host} resolves to {refusal}, which webhooks may not call.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; the Host header still names the host."""

    def __init__(self, target: Target, address: Address, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """TLS to the checked address, with SNI and certificate verification for the host name."""

    default_port = 443

    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str]) -> Answer:
    """POSTs `body` to one of the target's checked addresses, within WEBHOOK_TIMEOUT_SECONDS in all;
    reads at most 64 KB of the answer and keeps 2 KB. Raises OSError (and http.client errors) on
    network failures, TimeoutError past the deadline."""
    deadline = time.monotonic() + settings.WEBHOOK_TIMEOUT_SECONDS
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: OSError | None = None
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        connection = connection_class(target, address, timeout=remaining)
        try:
            try:
                connection.connect()
            except OSError as exc:  # try the next address of the name
                last_error = exc
                continue
            connection.request(
                "POST",
                target.path,
                body=body,
                headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
            )
            response = connection.getresponse()
            data = b""
            while len(data) < MAX_READ:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("The receiver took too long.")
                if connection.sock is not None:
                    connection.sock.settimeout(remaining)
                chunk = response.read1(MAX_READ - len(data)) if hasattr(response, "read1") else b""
                if not chunk:
                    break
                data += chunk
            return Answer(
                status=response.status,
                retry_after=response.getheader("Retry-After"),
                excerpt=data[:KEEP].decode("utf-8", errors="replace"),
            )
        finally:
            connection.close()
    raise last_error or TimeoutError("The receiver took too long.")
