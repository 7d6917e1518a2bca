"""NetPolicy: what may be fetched, and how a fetch is bounded.

Every socket connect in this module goes through a guard that only lets 127.0.0.1 / ::1
through, so a bug in the policy fails a test instead of sending traffic anywhere.
"""

from __future__ import annotations

import http.server
import ipaddress
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.images.netpolicy import (
    FAILED_PHRASE,
    MAX_URL,
    FetchFailed,
    FetchRefused,
    FetchTooLarge,
    NetPolicy,
)

_REAL_CONNECT = socket.socket.connect
_REAL_GETADDRINFO = socket.getaddrinfo
LOOPBACK = {"127.0.0.1", "::1"}
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56


# --------------------------------------------------------------------- fixtures


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        try:
            route = getattr(self, "route_" + self.path.strip("/").replace("-", "_"), None)
            if route is None:
                self.send_error(404)
            else:
                route()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status: int, body: bytes, length: bool = True, **headers: str) -> None:
        self.send_response(status)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def route_ok(self) -> None:
        self._send(200, PNG_BYTES, Content_Type="image/png")

    def route_text(self) -> None:
        self._send(200, b"<html>not an image</html>", Content_Type="text/html")

    def route_redirect(self) -> None:
        self._send(302, b"", Location="http://169.254.169.254/latest/meta-data/")

    def route_big(self) -> None:
        self._send(200, b"x" * 2000)

    def route_big_nolen(self) -> None:
        self._send(200, b"x" * 5000, length=False)

    def route_exact(self) -> None:
        self._send(200, b"y" * 1000)

    def route_slow(self) -> None:
        time.sleep(1.5)
        self._send(200, PNG_BYTES)

    def route_drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "200")
        self.end_headers()
        for _ in range(200):
            self.wfile.write(b"z")
            self.wfile.flush()
            time.sleep(0.02)

    def route_server_error(self) -> None:
        self._send(500, b"boom")

    def route_ua(self) -> None:
        self._send(200, self.headers.get("User-Agent", "").encode())

    def _chunks(self, *sizes: int) -> None:
        """A body without Content-Length, written in separate pieces (one read each)."""
        self.send_response(200)
        self.end_headers()
        for size in sizes:
            self.wfile.write(b"c" * size)
            self.wfile.flush()
            time.sleep(0.05)

    def route_chunks_at_limit(self) -> None:
        self._chunks(1000, 1000, 1000)

    def route_chunks_over_limit(self) -> None:
        self._chunks(1000, 1000, 1000, 1)

    def route_chunks_each_small(self) -> None:
        self._chunks(900, 900, 900, 900)

    def route_stall(self) -> None:
        """Headers and a byte at once, one more byte at 0.8 s, then nothing for 5 s."""
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for pause in (0.8, 5.0):
            self.wfile.write(b"s")
            self.wfile.flush()
            time.sleep(pause)

    def route_drip_headers(self) -> None:
        self._drip_headers()

    def _drip_headers(self) -> None:
        """A status line, then a header line every 0.1 s for 5 s: no single read ever waits long."""
        self.wfile.write(b"HTTP/1.0 200 OK\r\n")
        for i in range(50):
            self.wfile.write(f"X-Line-{i}: x\r\n".encode())
            self.wfile.flush()
            time.sleep(0.1)

    def route_hang_up(self) -> None:
        self.close_connection = True  # no status line at all: the client sees the connection close

    def route_multiple_choices(self) -> None:
        self._send(300, b"")  # a 3xx without Location

    def route_odd_redirect(self) -> None:
        self._send(399, b"", Location="/elsewhere")

    def route_bad_request(self) -> None:
        self._send(400, b"no")

    posts: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        _Handler.posts.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        try:
            if self.path == "/hook":
                self._send(204, b"")
            elif self.path == "/hook-redirect":
                self._send(302, b"", Location="http://169.254.169.254/")
            elif self.path == "/hook-error":
                self._send(500, b"down")
            elif self.path == "/hook-slow":
                time.sleep(1.5)
                self._send(200, b"late")
            elif self.path == "/hook-drip-headers":
                self._drip_headers()
            elif self.path == "/hook-endless":
                self.send_response(200)
                self.end_headers()
                while True:  # until the client hangs up
                    self.wfile.write(b"e" * 65536)
            else:
                self._send(404, b"")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any connect to an address other than loopback; record all connects."""
    connects: list[tuple] = []

    def guarded_connect(sock, address):
        connects.append(address)
        assert address[0] in LOOPBACK, f"test tried to connect to {address!r}"
        return _REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    return connects


@pytest.fixture
def no_network(monkeypatch):
    """Any connect at all fails the test."""

    def forbidden(sock, address):
        raise AssertionError(f"connect attempted to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: forbidden(None, a[0]))


def fake_dns(monkeypatch, table: dict[str, list[str]]) -> list[str]:
    """Resolve names in ``table`` to the given addresses; others as usual. Returns lookups."""
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        if host in table:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 80))
                for a in table[host]
            ]
        return _REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


EVERYWHERE = ("0.0.0.0/0", "::/0")

# --------------------------------------------------------------------- check()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_hello",
        "ftp://127.0.0.1/file.png",
        "dict://127.0.0.1:11211/stat",
        "data:image/png;base64,AAAA",
        "127.0.0.1/no-scheme.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x.png",
        "http://192.168.1.1/x.png",
        "http://example.com/x.png",
        "http://127.0.0.1@example.com/x.png",
        "http://example.com#@127.0.0.1/",
        "http://2130706433/",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1\\@example.com/",
        "http:///nohost",
        "http://[::1/broken",
        "http://[zzz]/",
        "http://127.0.0.1 /",
        "",
    ],
)
def test_refused_by_default_without_connecting(url, no_network):
    policy = NetPolicy()
    reason = policy.check(url)
    assert reason, url
    with pytest.raises(FetchRefused) as info:
        policy.fetch(url)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1/x.png",
        "http://192.168.1.1/x.png",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[fc00::1]/",
    ],
)
def test_non_public_addresses_refused_even_when_listed(url, no_network):
    reason = NetPolicy(allow_hosts=EVERYWHERE).check(url)
    assert reason and "resolves to" in reason
    with pytest.raises(FetchRefused):
        NetPolicy(allow_hosts=EVERYWHERE).fetch(url)


def test_allow_private_opens_private_but_never_link_local(no_network):
    policy = NetPolicy(allow_hosts=EVERYWHERE, allow_private=True)
    assert policy.check("http://10.0.0.1/x.png") is None
    assert policy.check("http://192.168.1.1/x.png") is None
    assert "link-local" in policy.check("http://169.254.169.254/")
    assert "link-local" in policy.check("http://[fe80::1]/")


def test_hostname_resolving_to_private_address_refused(monkeypatch, no_network):
    lookups = fake_dns(monkeypatch, {"intranet.test": ["10.1.2.3"]})
    policy = NetPolicy(allow_hosts=["intranet.test"])
    reason = policy.check("http://intranet.test/img.png")
    assert "10.1.2.3" in reason and "private" in reason
    assert lookups == ["intranet.test"]
    with pytest.raises(FetchRefused):
        policy.fetch("http://intranet.test/img.png")


def test_any_bad_resolved_address_refuses(monkeypatch, no_network):
    fake_dns(monkeypatch, {"mixed.test": ["127.0.0.1", "169.254.169.254"]})
    reason = NetPolicy(allow_hosts=["mixed.test", "127.0.0.0/8"]).check("http://mixed.test/")
    assert "169.254.169.254" in reason


def test_loopback_name_needs_loopback_on_the_list(monkeypatch, no_network):
    fake_dns(monkeypatch, {"dev.test": ["127.0.0.1"]})
    assert "loopback" in NetPolicy(allow_hosts=["dev.test"]).check("http://dev.test/")
    assert NetPolicy(allow_hosts=["dev.test", "127.0.0.0/8"]).check("http://dev.test/") is None


def test_off_list_names_are_not_even_resolved(monkeypatch, no_network):
    lookups = fake_dns(monkeypatch, {})
    assert NetPolicy().check("http://metadata.google.internal/") is not None
    assert lookups == []


def test_unresolvable_name_refused(monkeypatch, no_network):
    def failing(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    assert "cannot be resolved" in NetPolicy(allow_hosts=["gone.test"]).check("http://gone.test/")


def test_default_allows_loopback_forms(no_network):
    policy = NetPolicy()
    for url in ("http://127.0.0.1:8080/a.png", "https://localhost/a.png", "http://[::1]:9/a.png", "HTTP://LOCALHOST./"):
        assert policy.check(url) is None, url
    assert policy.check("http://127.0.0.2/") is not None  # only the exact host is listed
    assert NetPolicy(allow_hosts=["127.0.0.0/8"]).check("http://127.0.0.2/") is None


def test_empty_allow_list_refuses_everything(no_network):
    assert NetPolicy(allow_hosts=()).check("http://127.0.0.1/") is not None


@settings(max_examples=150, deadline=None)
@given(st.ip_addresses(v=4))
def test_property_permissive_list_admits_only_public_or_loopback(addr):
    policy = NetPolicy(allow_hosts=EVERYWHERE)
    reason = policy.check(f"http://{addr}/x.png")
    if addr.is_link_local or addr.is_multicast or addr.is_unspecified or addr.is_reserved:
        assert reason is not None
    elif addr.is_loopback or addr.is_global:
        assert reason is None
    else:
        assert reason is not None


@settings(max_examples=100, deadline=None)
@given(st.ip_addresses(v=4, network="169.254.0.0/16") | st.ip_addresses(v=6, network="fe80::/10"))
def test_property_link_local_never_allowed(addr):
    host = f"[{addr}]" if isinstance(addr, ipaddress.IPv6Address) else str(addr)
    assert NetPolicy(allow_hosts=EVERYWHERE, allow_private=True).check(f"http://{host}/") is not None


# --------------------------------------------------------------------- fetch()


def test_fetch_ok(server, loopback_only):
    assert NetPolicy().fetch(server + "/ok") == PNG_BYTES
    assert loopback_only and all(a[0] == "127.0.0.1" for a in loopback_only)


def test_fetch_returns_non_image_bytes_unchanged(server):
    assert NetPolicy().fetch(server + "/text") == b"<html>not an image</html>"


def test_redirect_refused_not_followed(server, loopback_only):
    with pytest.raises(FetchRefused) as info:
        NetPolicy().fetch(server + "/redirect")
    # the status, never the Location: what a remote end says is not echoed (issue 12)
    assert "302" in info.value.reason and "169.254.169.254" not in info.value.reason
    assert all(a[0] == "127.0.0.1" for a in loopback_only)


def test_size_cap_with_content_length(server):
    with pytest.raises(FetchTooLarge) as info:
        NetPolicy().fetch(server + "/big", max_bytes=1000)
    assert "1000" in info.value.reason
    assert isinstance(info.value, FetchRefused)


def test_size_cap_without_content_length(server):
    with pytest.raises(FetchTooLarge):
        NetPolicy().fetch(server + "/big-nolen", max_bytes=1000)


def test_body_of_exactly_max_bytes_is_fine(server):
    assert NetPolicy().fetch(server + "/exact", max_bytes=1000) == b"y" * 1000


def test_timeout_waiting_for_headers(server):
    start = time.monotonic()
    with pytest.raises(FetchFailed) as info:
        NetPolicy().fetch(server + "/slow", timeout=0.3)
    assert "timed out" in info.value.reason
    assert time.monotonic() - start < 1.2


def test_overall_deadline_beats_a_dripping_server(server):
    # Each byte arrives well within the socket timeout; only the overall deadline stops it.
    start = time.monotonic()
    with pytest.raises(FetchFailed) as info:
        NetPolicy().fetch(server + "/drip", timeout=0.5)
    assert "timed out" in info.value.reason
    assert time.monotonic() - start < 1.5


@pytest.mark.parametrize("path, code", [("/missing", "404"), ("/server-error", "500")])
def test_non_2xx_fails(server, path, code):
    with pytest.raises(FetchFailed) as info:
        NetPolicy().fetch(server + path)
    assert code in info.value.reason


def test_connection_refused_fails_cleanly():
    with socket.socket() as sock:  # a port that is certainly closed: bind, never listen
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(FetchFailed):
            NetPolicy().fetch(f"http://127.0.0.1:{port}/x")


def test_proxy_environment_is_ignored(server, monkeypatch, loopback_only):
    monkeypatch.setenv("http_proxy", "http://10.9.9.9:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    assert NetPolicy().fetch(server + "/ok") == PNG_BYTES


def test_connection_is_pinned_to_the_vetted_address(server, monkeypatch, loopback_only):
    """DNS rebinding: the name resolves to loopback when vetted, elsewhere afterwards."""
    answers = iter([["127.0.0.1"]])
    port = server.rsplit(":", 1)[1]

    def rebinding(host, p, *args, **kwargs):
        if host == "rebind.test":
            addrs = next(answers, ["10.66.66.66"])
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, p)) for a in addrs]
        return _REAL_GETADDRINFO(host, p, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    policy = NetPolicy(allow_hosts=["rebind.test", "127.0.0.1"])
    assert policy.fetch(f"http://rebind.test:{port}/ok") == PNG_BYTES
    assert [a[0] for a in loopback_only] == ["127.0.0.1"]


def test_exceptions_carry_reason():
    exc = FetchFailed("because")
    assert exc.reason == "because" and str(exc) == "because"


# --------------------------------------------------------------------- why a URL is refused


@pytest.mark.parametrize("url, reason", [
    ("", "empty URL"),
    (None, "empty URL"),
    ("ftp://127.0.0.1/x.png", "scheme ftp:// is not allowed (only http and https)"),
    ("127.0.0.1/x.png", "scheme (none) is not allowed (only http and https)"),
    ("http://user:pass@127.0.0.1/x.png", "URLs with user information are not allowed"),
    ("http:///x.png", "URL has no host"),
    ("http://127.0.0.1:99999/", "URL has an invalid port"),
    ("http://[::1/", "URL cannot be parsed"),
    ("http://127.0.0.1/" + "a" * MAX_URL, f"URL is longer than {MAX_URL} characters"),
    ("http://127.0.0.1 /", "URL contains whitespace, control characters or backslashes"),
    ("http://127.0.0.1\t/", "URL contains whitespace, control characters or backslashes"),
    ("http://127.0.0.1\u3000/", "URL contains whitespace, control characters or backslashes"),
    ("http://127.0.0.1\x01/", "URL contains whitespace, control characters or backslashes"),
    ("http://127.0.0.1\\@example.com/", "URL contains whitespace, control characters or backslashes"),
])
def test_a_refusal_says_why_in_plain_words(url, reason, no_network):
    """The reason reaches the client (X-Mock-Warnings, the webhook log), so it names the rule."""
    assert NetPolicy().check(url) == reason


def test_user_information_is_refused_even_for_an_allowed_host(no_network):
    assert NetPolicy().check("http://user:pass@127.0.0.1/x.png") == "URLs with user information are not allowed"


def test_address_refusals_name_the_host_and_the_address(monkeypatch, no_network):
    fake_dns(monkeypatch, {"intranet.test": ["10.1.2.3"], "odd.test": ["not-an-address"]})
    policy = NetPolicy(allow_hosts=["intranet.test", "odd.test"])
    assert policy.check("http://intranet.test/") == (
        "host 'intranet.test' resolves to 10.1.2.3, a private address (allow_private is off)")
    assert policy.check("http://odd.test/") == "host 'odd.test' resolved to an unparseable address 'not-an-address'"
    assert NetPolicy().check("http://example.test/") == (
        "host 'example.test' is not on the allow-list ['127.0.0.1', 'localhost', '::1']")


def test_one_host_given_as_a_string_is_a_list_of_one(no_network):
    policy = NetPolicy(allow_hosts="localhost")
    assert policy.allow_hosts == ("localhost",)
    assert policy.check("http://localhost/") is not None, "localhost resolves to loopback, not listed as an IP"
    assert NetPolicy(allow_hosts="127.0.0.1").check("http://127.0.0.1/") is None


def test_allow_list_entries_are_read_leniently(monkeypatch, no_network):
    """Brackets, a trailing dot, case, blank entries and host bits in a CIDR are all fine."""
    fake_dns(monkeypatch, {"cdn.example.test": ["93.184.216.34"]})
    policy = NetPolicy(allow_hosts=["", "  ", "[::1]", "CDN.Example.Test.", "10.9.8.7/8"], allow_private=True)
    assert policy.check("http://[::1]:9/") is None
    assert policy.check("http://cdn.example.test/a.png") is None
    assert policy.check("http://10.200.0.1/") is None, "10.9.8.7/8 is read as 10.0.0.0/8"
    assert policy.check("http://11.0.0.1/") is not None


# --------------------------------------------------------------------- fetch(): sizes and failures


def test_a_streamed_body_is_capped_across_several_chunks(server):
    """No Content-Length: the cap counts every chunk, not only the last one."""
    with pytest.raises(FetchTooLarge) as info:
        NetPolicy().fetch(server + "/chunks-each-small", max_bytes=2000)
    assert info.value.reason == f"{server}/chunks-each-small sent more than the limit of 2000 bytes"


def test_a_streamed_body_one_byte_over_the_cap_is_refused_not_truncated(server):
    with pytest.raises(FetchTooLarge):
        NetPolicy().fetch(server + "/chunks-over-limit", max_bytes=3000)


def test_a_streamed_body_exactly_at_the_cap_arrives_whole(server):
    assert NetPolicy().fetch(server + "/chunks-at-limit", max_bytes=3000) == b"c" * 3000


def test_a_declared_length_over_the_cap_is_refused_before_reading(server):
    with pytest.raises(FetchTooLarge) as info:
        NetPolicy().fetch(server + "/big", max_bytes=1000)
    assert info.value.reason == f"{server}/big declares 2000 bytes, more than the limit of 1000"


def test_a_zero_byte_cap_is_a_cap_not_a_mistake(server):
    with pytest.raises(FetchTooLarge):
        NetPolicy().fetch(server + "/ok", max_bytes=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"timeout": 0}, "timeout must be > 0 and max_bytes >= 0, got 0, 10485760"),
    ({"max_bytes": -1}, "timeout must be > 0 and max_bytes >= 0, got 2.0, -1"),
])
def test_nonsense_limits_are_a_programming_error(kwargs, message, no_network):
    with pytest.raises(ValueError) as info:
        NetPolicy().fetch("http://127.0.0.1/x", **kwargs)
    assert str(info.value) == message


def test_the_mock_says_who_it_is(server):
    assert NetPolicy().fetch(server + "/ua") == b"modelslab-mock"


@pytest.mark.parametrize("path, status", [("/multiple-choices", 300), ("/odd-redirect", 399)])
def test_every_3xx_is_a_refused_redirect(server, path, status):
    with pytest.raises(FetchRefused) as info:
        NetPolicy().fetch(server + path)
    assert info.value.reason == f"{server}{path} answered {status} (a redirect); redirects are not followed"


def test_a_400_is_a_failure_not_a_redirect(server):
    with pytest.raises(FetchFailed) as info:
        NetPolicy().fetch(server + "/bad-request")
    assert type(info.value) is FetchFailed
    assert info.value.reason == f"{server}/bad-request answered HTTP 400"


def test_a_refused_connection_fails_with_the_fixed_phrase(server):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/x"
        with pytest.raises(FetchFailed) as info:
            NetPolicy().fetch(url)
    assert info.value.reason == f"fetching {url} failed: {FAILED_PHRASE}"


def test_waiting_for_headers_past_the_deadline_says_timed_out(server):
    with pytest.raises(FetchFailed) as info:
        NetPolicy().fetch(server + "/slow", timeout=0.3)
    assert info.value.reason == f"fetching {server}/slow failed: timed out"


def test_the_deadline_cuts_a_read_that_is_already_waiting(server):
    """A byte at 0.8 s restarts the socket timeout; only the watchdog ends the wait at 1 s."""
    start = time.monotonic()
    with pytest.raises(FetchFailed) as info:
        NetPolicy().fetch(server + "/stall", timeout=1.0)
    assert info.value.reason == f"fetching {server}/stall failed: timed out"
    assert time.monotonic() - start < 1.6


def test_connecting_gets_the_time_that_is_left(server, monkeypatch):
    seen: list = []
    real = socket.create_connection

    def recording(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
        seen.append(timeout)
        return real(address, timeout, source_address, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    NetPolicy().fetch(server + "/ok", timeout=1.0)
    [timeout] = seen
    assert 0.5 < timeout <= 1.0


def test_the_watchdog_shuts_sockets_when_it_fires_and_any_opened_after():
    from mockserver.images.netpolicy import _Watchdog

    watchdog = _Watchdog(60)
    early, early_peer = socket.socketpair()
    late, late_peer = socket.socketpair()
    with early, early_peer, late, late_peer:
        for sock in (early, late):
            sock.settimeout(2)
        watchdog.watch(early)
        watchdog._expire()
        assert watchdog.expired and early.recv(1) == b"", "shut down: the blocked read returns at once"
        watchdog.watch(late)
        assert late.recv(1) == b""


# --------------------------------------------------------------------- HTTPS


TLS = Path(__file__).with_name("tls")


@pytest.fixture
def https_server(monkeypatch):
    """An HTTPS server for images.test on 127.0.0.2, trusted through SSL_CERT_FILE."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS / "images-test-cert.pem", TLS / "images-test-key.pem")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.2", 0), _Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    connects: list[tuple] = []

    def guarded_connect(sock, address):
        connects.append(address)
        assert address[0] == "127.0.0.2", f"test tried to connect to {address!r}"
        return _REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "images-test-cert.pem"))
    fake_dns(monkeypatch, {"images.test": ["127.0.0.2"], "other.test": ["127.0.0.2"]})
    yield httpd.server_address[1], connects
    httpd.shutdown()
    httpd.server_close()


def test_https_goes_to_the_vetted_address_and_checks_the_certificate_for_the_url_host(https_server):
    port, connects = https_server
    policy = NetPolicy(allow_hosts=["images.test", "other.test", "127.0.0.0/8"])
    assert policy.fetch(f"https://images.test:{port}/ok") == PNG_BYTES
    assert [a[0] for a in connects] == ["127.0.0.2"]
    with pytest.raises(FetchFailed) as info:
        policy.fetch(f"https://other.test:{port}/ok")  # same address, a name the certificate is not for
    assert info.value.reason == f"fetching https://other.test:{port}/ok failed: {FAILED_PHRASE}"


def test_https_post_is_pinned_too(https_server):
    port, connects = https_server
    policy = NetPolicy(allow_hosts=["images.test", "127.0.0.0/8"])
    assert policy.post(f"https://images.test:{port}/hook", b"{}") == 204
    assert [a[0] for a in connects] == ["127.0.0.2"]


# --------------------------------------------------------------------- post()


@pytest.fixture
def posts():
    _Handler.posts.clear()
    yield _Handler.posts
    _Handler.posts.clear()


def test_post_sends_the_body_and_headers_and_returns_the_status(server, posts, loopback_only):
    status = NetPolicy().post(server + "/hook", b'{"status": "success"}',
                              {"Content-Type": "application/json", "X-Trace": "t-1"})
    assert status == 204
    [seen] = posts
    assert seen["body"] == b'{"status": "success"}' and seen["path"] == "/hook"
    assert seen["headers"]["Content-Type"] == "application/json" and seen["headers"]["X-Trace"] == "t-1"
    assert seen["headers"]["User-Agent"] == "modelslab-mock"
    assert all(a[0] == "127.0.0.1" for a in loopback_only)


def test_post_lets_the_caller_name_the_user_agent(server, posts):
    NetPolicy().post(server + "/hook", b"", {"User-Agent": "hook-tester"})
    assert posts[0]["headers"]["User-Agent"] == "hook-tester"


@pytest.mark.parametrize("path, status", [("/hook-redirect", 302), ("/hook-error", 500), ("/nowhere", 404)])
def test_post_returns_any_status_and_never_follows_a_redirect(server, posts, path, status, loopback_only):
    assert NetPolicy().post(server + path, b"x") == status
    assert [p["path"] for p in posts] == [path]
    assert all(a[0] == "127.0.0.1" for a in loopback_only)


def test_post_reads_only_the_start_of_an_endless_answer(server, posts):
    start = time.monotonic()
    assert NetPolicy().post(server + "/hook-endless", b"x", timeout=2.0) == 200
    assert time.monotonic() - start < 1.5


def test_post_to_a_refused_url_connects_to_nothing(no_network):
    with pytest.raises(FetchRefused) as info:
        NetPolicy(allow_hosts=EVERYWHERE).post("http://169.254.169.254/hook", b"x")
    assert info.value.reason == "host '169.254.169.254' resolves to 169.254.169.254, a link-local address"


@pytest.mark.parametrize("headers", [{"X-A": "1\r\nX-Injected: 1"}, {"X-B\n": "1"}, {"": "1"}, {"X-C": "\x00"}])
def test_post_refuses_header_injection(headers, no_network):
    with pytest.raises(FetchRefused) as info:
        NetPolicy().post("http://127.0.0.1/hook", b"x", headers)
    name = next(iter(headers))
    assert info.value.reason == f"header {name[:40]!r} has control characters; not sent"


def test_post_timeout_and_refused_connection_are_failures(server):
    with pytest.raises(FetchFailed) as info:
        NetPolicy().post(server + "/hook-slow", b"x", timeout=0.3)
    assert info.value.reason == f"posting to {server}/hook-slow failed: timed out"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        with pytest.raises(FetchFailed) as info:
            NetPolicy().post(url, b"x")
    assert info.value.reason == f"posting to {url} failed: {FAILED_PHRASE}"


def test_post_needs_a_positive_timeout(no_network):
    with pytest.raises(ValueError, match=r"^timeout must be > 0, got 0$"):
        NetPolicy().post("http://127.0.0.1/hook", b"x", timeout=0)


def test_headers_that_never_end_are_cut_by_the_deadline(server):
    """Every header line comes within the socket timeout; only the overall deadline ends the wait."""
    with pytest.raises(FetchFailed) as info:
        NetPolicy().fetch(server + "/drip-headers", timeout=0.5)
    assert info.value.reason == f"fetching {server}/drip-headers failed: timed out"
    with pytest.raises(FetchFailed) as info:
        NetPolicy().post(server + "/hook-drip-headers", b"x", timeout=0.5)
    assert info.value.reason == f"posting to {server}/hook-drip-headers failed: timed out"


def test_a_url_of_exactly_the_length_limit_is_read():
    url = "http://127.0.0.1/" + "a" * (MAX_URL - len("http://127.0.0.1/"))
    assert len(url) == MAX_URL and NetPolicy().check(url) is None
    assert NetPolicy().check(url + "a") == f"URL is longer than {MAX_URL} characters"


def test_a_long_host_name_is_cut_short_in_the_reason(no_network):
    allowed = "['127.0.0.1', 'localhost', '::1']"
    whole = "h" * 75 + ".test"  # 80 characters: shown whole
    assert NetPolicy().check(f"http://{whole}/") == f"host {whole!r} is not on the allow-list {allowed}"
    long = "h" * 95 + ".test"
    assert NetPolicy().check(f"http://{long}/") == f"host {'h' * 77 + '...'!r} is not on the allow-list {allowed}"


def test_a_long_header_name_is_cut_short_in_the_refusal(no_network):
    name = "X-" + "n" * 50 + "\n"
    with pytest.raises(FetchRefused) as info:
        NetPolicy().post("http://127.0.0.1/hook", b"x", {name: "1"})
    assert info.value.reason == f"header {name[:40]!r} has control characters; not sent"


def test_loopback_needs_a_loopback_entry_not_just_any_network(monkeypatch, no_network):
    fake_dns(monkeypatch, {"dev.test": ["127.0.0.1"]})
    reason = NetPolicy(allow_hosts=["dev.test", "10.0.0.0/8"]).check("http://dev.test/")
    assert reason == "host 'dev.test' resolves to 127.0.0.1, a loopback address not on the allow-list"


@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("LOCALHOST", True), (" [::1] ", True), ("127.0.0.2", True), ("::1%lo", True),
    ("0.0.0.0", False), ("10.0.0.1", False), ("example.com", False), ("", False),
])
def test_which_binds_keep_the_mock_to_this_machine(host, loopback):
    from mockserver.images.netpolicy import is_loopback_bind

    assert is_loopback_bind(host) is loopback


def test_a_public_bind_drops_the_built_in_list_and_keeps_loopback_to_loopback_entries(no_network):
    from mockserver.config import LOOPBACK_HOSTS

    assert NetPolicy.for_bind(LOOPBACK_HOSTS, "0.0.0.0").allow_hosts == ()
    assert NetPolicy.for_bind(LOOPBACK_HOSTS, "127.0.0.1").allow_hosts == LOOPBACK_HOSTS
    listed = NetPolicy.for_bind(("127.0.0.1", "93.184.216.0/24"), "0.0.0.0")
    assert listed.allow_hosts == ("127.0.0.1", "93.184.216.0/24")
    assert listed.check("http://127.0.0.1:9/") is None and listed.check("http://93.184.216.34/") is None
    broad = NetPolicy.for_bind(("0.0.0.0/1",), "0.0.0.0")  # holds 127/8, but is no loopback entry
    assert broad.check("http://127.0.0.1:9/") is not None and broad.check("http://93.184.216.34/") is None


def test_a_server_that_hangs_up_without_answering_is_a_failure_not_a_crash(server):
    with pytest.raises(FetchFailed) as info:
        NetPolicy().fetch(server + "/hang-up")
    assert info.value.reason == f"fetching {server}/hang-up failed: {FAILED_PHRASE}"
