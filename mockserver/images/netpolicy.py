"""Network policy for every outbound request the mock makes.

The mock must never become an SSRF gadget: image URLs in a request body and webhook
URLs are attacker-controlled, so before anything is fetched the URL is vetted here
(scheme, allow-list, resolved addresses) and the fetch itself is bounded (no
redirects, no proxies, pinned to the vetted address, size and time limits).

Exception tree::

    FetchError            (has .reason)
     +-- FetchRefused     off-policy: scheme, host, address, redirect
     |    +-- FetchTooLarge   body bigger than max_bytes
     +-- FetchFailed      network error, timeout, non-2xx status
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Iterable, Union

__all__ = [
    "DEFAULT_ALLOW_HOSTS",
    "DEFAULT_MAX_BYTES",
    "FetchError",
    "FetchFailed",
    "FetchRefused",
    "FetchTooLarge",
    "NetPolicy",
    "is_loopback_bind",
]

DEFAULT_ALLOW_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
ALLOWED_SCHEMES = ("http", "https")
MAX_URL = 8192  # longer URLs are refused before they are parsed
_CHUNK = 64 * 1024

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class FetchError(Exception):
    """Base of fetch errors; ``reason`` is a human-readable explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FetchRefused(FetchError):
    """The URL (or where it led) is not allowed by the policy; nothing was read."""


class FetchTooLarge(FetchRefused):
    """The response body exceeded ``max_bytes``."""


class FetchFailed(FetchError):
    """The fetch was allowed but did not succeed (network error, timeout, non-2xx)."""


def _parse_ip(text: str) -> IPAddress | None:
    """An IP address from a host string (IPv6 zone id dropped, v4-mapped unwrapped)."""
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _split_allow_list(entries: Iterable[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """Separate host-name entries from IP / CIDR entries."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return frozenset(names), tuple(networks)


class NetPolicy:
    """Decides whether a URL may be fetched, and fetches it safely.

    ``allow_hosts`` holds exact host names (case-insensitive) and IP addresses or CIDRs.
    A URL's host is on the list when its name matches a name entry or when it is an IP
    literal inside an IP/CIDR entry (names are never matched through DNS, so off-list
    names are not even resolved). Every address the host resolves to must then pass:
    link-local, multicast, reserved and unspecified addresses are always refused;
    loopback only when the address itself is covered by an IP/CIDR entry (or
    ``allow_private``); other private addresses only with ``allow_private``.
    """

    def __init__(
        self,
        allow_hosts: Iterable[str] = DEFAULT_ALLOW_HOSTS,
        allow_private: bool = False,
        *,
        loopback_listed_only: bool = False,
    ) -> None:
        if isinstance(allow_hosts, str):
            allow_hosts = [allow_hosts]
        self.allow_hosts = tuple(allow_hosts)
        self.allow_private = bool(allow_private)
        self._names, self._networks = _split_allow_list(self.allow_hosts)
        # Loopback addresses pass only through entries that are loopback themselves (127.0.0.1,
        # 127.0.0.0/8, ::1), never through a broad CIDR that happens to contain them (0.0.0.0/0).
        self._loopback_networks = tuple(
            net for net in self._networks
            if not loopback_listed_only or (net.network_address.is_loopback and net.broadcast_address.is_loopback))

    @classmethod
    def for_bind(cls, allow_hosts: Iterable[str], bind_host: str, default: bool | None = None) -> "NetPolicy":
        """The policy for a mock bound to ``bind_host``.

        On loopback the list is used as it is. On any other address (other machines can send
        requests) the built-in list (``default``; by default: ``allow_hosts`` is the config's
        ``DefaultHosts``) allows nothing, and a configured one reaches loopback only through
        entries that are loopback addresses or networks themselves.
        """
        if default is None:
            from mockserver.config import DefaultHosts

            default = isinstance(allow_hosts, DefaultHosts)
        if is_loopback_bind(bind_host):
            return cls(allow_hosts)
        return cls(() if default else allow_hosts, loopback_listed_only=True)

    def __repr__(self) -> str:
        return f"NetPolicy(allow_hosts={self.allow_hosts!r}, allow_private={self.allow_private!r})"

    # ----------------------------------------------------------------- checking

    def check(self, url: str) -> str | None:
        """None when ``url`` may be fetched, else the reason it may not. Never connects."""
        reason, _ = self._vet(url)
        return reason

    def _vet(self, url: str) -> tuple[str | None, list[IPAddress]]:
        """(reason, []) when refused, (None, vetted addresses) when allowed."""
        parts, reason = _split_url(url)
        if reason is not None:
            return reason, []
        host = (parts.hostname or "").rstrip(".")
        reason = self._check_host_listed(host)
        if reason is not None:
            return reason, []
        addresses, reason = _resolve(host, parts.port)
        if reason is not None:
            return reason, []
        for addr in addresses:
            reason = self._check_address(host, addr)
            if reason is not None:
                return reason, []
        return None, addresses

    def _in_networks(self, addr: IPAddress) -> bool:
        return any(addr.version == net.version and addr in net for net in self._networks)

    def _check_host_listed(self, host: str) -> str | None:
        literal = _parse_ip(host)
        if literal is not None and self._in_networks(literal):
            return None
        if literal is None and host in self._names:
            return None
        return f"host {_shown(host)!r} is not on the allow-list {list(self.allow_hosts)!r}"

    def _check_address(self, host: str, addr: IPAddress) -> str | None:
        where = f"host {_shown(host)!r} resolves to {addr}"
        if addr.is_link_local:
            return f"{where}, a link-local address"
        if addr.is_multicast or addr.is_unspecified:
            return f"{where}, a multicast/unspecified address"
        if addr.is_loopback:
            if self.allow_private or any(addr.version == net.version and addr in net
                                         for net in self._loopback_networks):
                return None
            return f"{where}, a loopback address not on the allow-list"
        if addr.is_reserved:
            return f"{where}, a reserved address"
        if (addr.is_private or not addr.is_global) and not self.allow_private:
            return f"{where}, a private address (allow_private is off)"
        return None

    # ----------------------------------------------------------------- fetching

    def fetch(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> bytes:
        """GET ``url`` and return the body.

        Raises FetchRefused (off-policy, redirect), FetchTooLarge (body > max_bytes) or
        FetchFailed (network error, non-2xx, longer than ``timeout`` in total). The
        connection goes to the address that was vetted, never through a proxy, and
        redirects are never followed.
        """
        if not timeout > 0 or max_bytes < 0:
            raise ValueError(f"timeout must be > 0 and max_bytes >= 0, got {timeout!r}, {max_bytes!r}")
        watchdog, opener = self._pinned_opener(url, timeout)
        request = urllib.request.Request(url, method="GET", headers={"User-Agent": "modelslab-mock"})
        try:
            with watchdog, opener.open(request, timeout=timeout) as response:
                return _read_bounded(response, max_bytes, watchdog, url)
        except urllib.error.HTTPError as exc:
            raise _http_error(exc, url) from None
        except FetchError:
            raise
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            detail = "timed out" if watchdog.expired else _describe(exc)
            raise FetchFailed(f"fetching {url} failed: {detail}") from None


    def _pinned_opener(self, url: str, timeout: float) -> tuple["_Watchdog", urllib.request.OpenerDirector]:
        """Vet ``url`` (FetchRefused, nothing connected) and open only to the vetted address."""
        reason, addresses = self._vet(url)
        if reason is not None:
            raise FetchRefused(reason)
        watchdog = _Watchdog(timeout)
        return watchdog, _build_opener(str(addresses[0]), watchdog)

    def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        *,
        max_response_bytes: int = 64 * 1024,
    ) -> int:
        """POST ``body`` to ``url`` and return the HTTP status, whatever it is (3xx included).

        The same vetting as ``fetch`` happens first (raises FetchRefused, having connected to
        nothing); header names or values with control characters (CR/LF injection) are refused
        the same way. The connection goes to the vetted address, never through a proxy,
        redirects are not followed (the 3xx status is returned), at most
        ``max_response_bytes`` of the answer are read and the whole exchange is bounded by
        ``timeout`` (FetchFailed on a network error or when it runs out).
        """
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        sent = {"User-Agent": "modelslab-mock", **(headers or {})}
        for name, value in sent.items():
            if _UNSAFE_HEADER.search(str(name)) or _UNSAFE_HEADER.search(str(value)) or not str(name):
                raise FetchRefused(f"header {str(name)[:40]!r} has control characters; not sent")
        watchdog, opener = self._pinned_opener(url, timeout)
        request = urllib.request.Request(url, data=bytes(body), method="POST", headers=sent)
        try:
            with watchdog, opener.open(request, timeout=timeout) as response:
                response.read(max_response_bytes)
                if watchdog.expired:  # the answer was cut off at the deadline: no status to trust
                    raise FetchFailed(f"posting to {url} failed: timed out")
                return int(response.status)
        except urllib.error.HTTPError as exc:
            try:
                exc.close()
            except Exception:  # pragma: no cover - closing is best effort
                pass
            return int(exc.code)
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
            detail = "timed out" if watchdog.expired else _describe(exc)
            raise FetchFailed(f"posting to {url} failed: {detail}") from None


# --------------------------------------------------------------------- helpers

_UNSAFE_HEADER = re.compile(r"[\x00-\x1f\x7f]")


def _split_url(url: str) -> tuple[urllib.parse.SplitResult, str | None]:
    """Parse and sanity-check a URL; (parts, reason-or-None)."""
    if not isinstance(url, str) or not url:
        return urllib.parse.urlsplit(""), "empty URL"
    if len(url) > MAX_URL:  # decided by length first: nothing below reads a huge string
        return urllib.parse.urlsplit(""), f"URL is longer than {MAX_URL} characters"
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
        return urllib.parse.urlsplit(""), "URL contains whitespace, control characters or backslashes"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return urllib.parse.urlsplit(""), "URL cannot be parsed"
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return parts, f"scheme {scheme + '://' if scheme else '(none)'} is not allowed (only http and https)"
    if "@" in parts.netloc:
        return parts, "URLs with user information are not allowed"
    if not parts.hostname:
        return parts, "URL has no host"
    try:
        parts.port
    except ValueError:
        return parts, "URL has an invalid port"
    return parts, None


def _resolve(host: str, port: int | None) -> tuple[list[IPAddress], str | None]:
    """All addresses ``host`` resolves to (deduplicated, in resolver order)."""
    try:
        infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return [], f"host {_shown(host)!r} cannot be resolved"
    found: list[IPAddress] = []
    for info in infos:
        addr = _parse_ip(str(info[4][0]))
        if addr is None:
            return [], f"host {host!r} resolved to an unparseable address {info[4][0]!r}"
        if addr not in found:
            found.append(addr)
    if not found:
        return [], f"host {host!r} resolved to no address"
    return found, None


class _Watchdog:
    """Hard overall deadline for one fetch.

    Socket timeouts bound each read, but a server dripping one byte per second would
    never trip them; when the deadline passes the watchdog shuts the socket down so
    any blocked read returns at once.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return max(0.001, self.deadline - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if not self.expired:
                return
        _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _connect_pinned(pinned_ip: str, watchdog: _Watchdog, address, timeout=None, source_address=None):
    """socket.create_connection to the vetted IP instead of re-resolving the host."""
    if watchdog.expired:
        raise TimeoutError("deadline passed before connecting")
    connect_timeout = min(timeout or watchdog.timeout, watchdog.remaining())
    sock = socket.create_connection((pinned_ip, address[1]), connect_timeout, source_address)
    watchdog.watch(sock)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a pre-vetted IP, whatever the Host header says (no DNS rebinding)."""

    def __init__(self, *args, pinned_ip: str, watchdog: _Watchdog, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(_connect_pinned, pinned_ip, watchdog)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS twin of _PinnedHTTPConnection; SNI and certificate use the URL's host."""

    def __init__(self, *args, pinned_ip: str, watchdog: _Watchdog, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(_connect_pinned, pinned_ip, watchdog)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, pinned_ip: str, watchdog: _Watchdog) -> None:
        super().__init__()
        self._conn = functools.partial(_PinnedHTTPConnection, pinned_ip=pinned_ip, watchdog=watchdog)

    def http_open(self, req):
        return self.do_open(self._conn, req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, pinned_ip: str, watchdog: _Watchdog) -> None:
        super().__init__()
        self._conn = functools.partial(_PinnedHTTPSConnection, pinned_ip=pinned_ip, watchdog=watchdog)

    def https_open(self, req):
        return self.do_open(self._conn, req, context=self._context)


def _build_opener(pinned_ip: str, watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    """An opener with only pinned http/https handlers: no proxy, no redirect, no file://."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        _PinnedHTTPHandler(pinned_ip, watchdog),
        _PinnedHTTPSHandler(pinned_ip, watchdog),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _read_bounded(response, max_bytes: int, watchdog: _Watchdog, url: str) -> bytes:
    """Read at most max_bytes + 1 bytes, within the overall deadline."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
        raise FetchTooLarge(f"{url} declares {int(declared)} bytes, more than the limit of {max_bytes}")
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        chunk = response.read1(min(_CHUNK, max_bytes + 1 - total))
        if watchdog.expired:
            raise FetchFailed(f"fetching {url} failed: timed out")
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > max_bytes:
        raise FetchTooLarge(f"{url} sent more than the limit of {max_bytes} bytes")
    return b"".join(chunks)


def _http_error(exc: urllib.error.HTTPError, url: str) -> FetchError:
    """Map an HTTP error status to FetchRefused (3xx) or FetchFailed."""
    try:
        exc.close()
    except Exception:  # pragma: no cover - closing is best effort
        pass
    if 300 <= exc.code < 400:
        return FetchRefused(f"{url} answered {exc.code} (a redirect); redirects are not followed")
    return FetchFailed(f"{url} answered HTTP {exc.code}")


#: What every other failure is called. The exception's own text is never shown: it can quote
#: what the remote end sent (a service's banner), and which error it was (refused, reset, a TLS
#: alert) tells a port scanner what listens there.
FAILED_PHRASE = "no usable HTTP answer (connection failed, or the answer was not HTTP)"


def _describe(exc: BaseException) -> str:
    """A fixed phrase for a failed exchange: "timed out" or ``FAILED_PHRASE``."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    return FAILED_PHRASE


def _shown(host: str, limit: int = 80) -> str:
    return host if len(host) <= limit else host[: limit - 3] + "..."


def is_loopback_bind(host: str) -> bool:
    """Does binding to ``host`` keep the server to this machine? (``localhost``, 127/8, ``::1``)"""
    name = str(host).strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
