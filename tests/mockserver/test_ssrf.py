"""SSRF: the mock never becomes a way to reach what its host can reach.

``init_image``, ``mask_image`` and ``webhook`` are URLs chosen by whoever sends the request.
Every one pointing off the machine, at a metadata address, a private range, a non-HTTP scheme,
a name that resolves to such an address, or a loopback server that redirects there must be
refused *before any connection is made*. Each test installs a guard on
``socket.create_connection`` and ``socket.socket.connect`` that records every attempt and
lets only 127.0.0.1 through, and asserts nothing else was attempted; name resolution is
faked, so no real DNS query is sent either.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import threading
from contextlib import contextmanager

import pytest

from mockserver.images.netpolicy import FetchRefused, NetPolicy
from mockserver.control.receiver import WebhookReceiver

INPAINT = "/api/v6/images/inpaint"
_REAL_CONNECT = socket.socket.connect
_REAL_CREATE = socket.create_connection
_REAL_GETADDRINFO = socket.getaddrinfo

#: What the fake resolver answers; anything else is an error (no real DNS query is ever sent).
FAKE_DNS = {
    "metadata.test": "169.254.169.254",
    "intranet.test": "10.1.2.3",
    "corp.test": "172.16.5.4",
    "home.test": "192.168.1.1",
    "zero.test": "0.0.0.0",
    "linklocal6.test": "fe80::1",
    "mapped.test": "::ffff:169.254.169.254",
    "ula.test": "fd00::1",
    "good.test": "127.0.0.1",
}

TARGETS = [
    "file:///etc/passwd",
    "file://localhost/etc/shadow",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "ftp://127.0.0.1/pub/x.png",
    "dict://127.0.0.1:11211/stats",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254.nip.io/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[::ffff:169.254.169.254]/",
    "http://10.0.0.1/",
    "http://10.255.255.254:8080/admin",
    "http://172.16.0.1/",
    "http://172.31.255.1/",
    "http://192.168.0.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://2852039166/",  # 169.254.169.254 as one number
    "http://0xa9fea9fe/",
    "http://user:pass@127.0.0.1/",
    "http://127.0.0.1@169.254.169.254/",
    "http://metadata.test/",
    "http://intranet.test/",
    "http://corp.test/",
    "http://home.test/",
    "http://zero.test/",
    "http://linklocal6.test/",
    "http://mapped.test/",
    "http://ula.test/",
]


class Guard:
    """Records every connect and resolve; only loopback connects go through."""

    def __init__(self):
        self.connects: list[str] = []
        self.resolved: list[str] = []

    def _check(self, host: str) -> None:
        self.connects.append(host)
        try:
            loopback = ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise AssertionError(f"the mock tried to connect to {host}")

    def off_machine(self) -> list[str]:
        return [h for h in self.connects if not ipaddress.ip_address(str(h).split("%")[0]).is_loopback]


@pytest.fixture
def guard(monkeypatch):
    found = Guard()

    def connect(sock, address):
        found._check(address[0])
        return _REAL_CONNECT(sock, address)

    def create_connection(address, *args, **kwargs):
        found._check(address[0])
        return _REAL_CREATE(address, *args, **kwargs)

    def getaddrinfo(host, port, *args, **kwargs):
        found.resolved.append(host)
        name = str(host).lower().rstrip(".")
        if name in FAKE_DNS:
            address = FAKE_DNS[name]
        else:
            try:
                address = str(ipaddress.ip_address(name.strip("[]").split("%")[0]))
            except ValueError:
                if name != "localhost":
                    raise socket.gaierror(socket.EAI_NONAME, f"fake DNS knows no {host}")
                address = "127.0.0.1"
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 80))]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield found
    assert found.off_machine() == [], f"connections off the machine: {found.off_machine()}"


@contextmanager
def redirector(location: str):
    """A loopback server that answers every request with a 302 to ``location``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _redirect(self):
            self.server.hits += 1  # type: ignore[attr-defined]
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _redirect  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.hits = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _post(client, body, **headers):
    return client.post(INPAINT, data=json.dumps(body), content_type="application/json", headers=headers)


# --------------------------------------------------------------------- images

@pytest.mark.parametrize("field", ["init_image", "mask_image"])
@pytest.mark.parametrize("allow", ["default", "widest"])
def test_image_urls_off_the_machine_are_never_fetched(make_app, valid_body, guard, field, allow):
    # "widest" allows every name and every address on the list: the address checks still refuse
    extra = {} if allow == "default" else {"image_allow_hosts": ("0.0.0.0/0", "::/0", *FAKE_DNS)}
    client = make_app(processing_ratio=0.0, **extra).test_client()
    for target in TARGETS:
        answer = _post(client, dict(valid_body, **{field: target}), Prefer="variant=success")
        body = answer.json
        assert answer.status_code == 200 and body["status"] in ("success", "error"), (target, body)
        warnings = answer.headers.get("X-Mock-Warnings", "")
        if body["status"] == "success":  # a placeholder, and the user is told why
            assert field in warnings and ("placeholder" in warnings), (target, warnings)
        else:  # the only error allowed is a field error for a URL the spec calls invalid
            assert isinstance(body["message"], dict) and field in body["message"], (target, body)
        # the output renders from the placeholder: still no connection
        if body["status"] == "success":
            assert client.get("/generations/" + body["output"][0].rsplit("/", 1)[1]).status_code == 200
    if allow == "default":
        assert not (set(guard.resolved) & set(FAKE_DNS)), "off-list names must not even be resolved"


@pytest.mark.parametrize("field", ["init_image", "mask_image"])
@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
                                      "file:///etc/passwd", "http://metadata.test/"])
def test_a_loopback_image_url_that_redirects_off_the_machine_is_not_followed(make_app, valid_body, guard,
                                                                             field, location):
    client = make_app(processing_ratio=0.0).test_client()
    with redirector(location) as server:
        url = f"http://127.0.0.1:{server.server_port}/image.png"
        answer = _post(client, dict(valid_body, **{field: url}), Prefer="variant=success")
        assert server.hits == 1, "the loopback URL itself is allowed and asked once"
        body = answer.json
        assert body["status"] == "success" and "redirect" in answer.headers["X-Mock-Warnings"], body
        assert client.get("/generations/" + body["output"][0].rsplit("/", 1)[1]).status_code == 200
    assert guard.connects and set(guard.connects) <= {"127.0.0.1"}


# --------------------------------------------------------------------- webhooks

def _deliveries(client, job_id):
    assert client.post("/__mock/webhooks/wait", json={"timeout": 10}).json["idle"]
    return client.get("/__mock/webhooks", query_string={"job_id": job_id}).json["deliveries"]


@pytest.mark.parametrize("allow", ["default", "widest"])
def test_webhook_urls_off_the_machine_are_refused_and_recorded_without_connecting(make_app, valid_body, guard,
                                                                                  allow):
    extra = {} if allow == "default" else {"webhook_allow_hosts": ("0.0.0.0/0", "::/0", *FAKE_DNS)}
    client = make_app(processing_ratio=0.0, webhook_backoff=0.01, **extra).test_client()
    for target in TARGETS:
        answer = _post(client, dict(valid_body, webhook=target, track_id="ssrf"), Prefer="variant=success")
        body = answer.json
        if body["status"] == "error":  # not a URL by the spec's format: never scheduled at all
            assert isinstance(body["message"], dict) and "webhook" in body["message"], (target, body)
            continue
        assert "webhook: will not be called" in answer.headers.get("X-Mock-Warnings", ""), target
        records = _deliveries(client, body["id"])
        assert [r["outcome"] for r in records] == ["refused"], (target, records)
        fetched = client.post(f"/api/v6/images/fetch/{body['id']}", json={"key": valid_body["key"]}).json
        assert fetched["webhook_status"] == "failed"


@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/", "http://192.168.1.1/hook",
                                      "http://metadata.test/"])
def test_a_webhook_receiver_that_redirects_off_the_machine_is_not_followed(make_app, valid_body, guard, location):
    client = make_app(processing_ratio=0.0, webhook_backoff=0.01, webhook_retries=1).test_client()
    with redirector(location) as server:
        body = _post(client, dict(valid_body, webhook=f"http://127.0.0.1:{server.server_port}/hook"),
                     Prefer="variant=success").json
        records = _deliveries(client, body["id"])
        assert server.hits == 2  # the first attempt and one retry, both to loopback only
    assert [r["status_code"] for r in records] == [302, 302]
    assert all("redirects are not followed" in r["error"] for r in records)
    assert set(guard.connects) == {"127.0.0.1"}


# --------------------------------------------------------------------- NetPolicy.post itself

@pytest.mark.parametrize("target", TARGETS)
def test_post_refuses_off_machine_targets_before_connecting(guard, target):
    with pytest.raises(FetchRefused):
        NetPolicy(("0.0.0.0/0", "::/0", *FAKE_DNS)).post(target, b"{}", {"Content-Type": "application/json"}, 1.0)
    assert guard.connects == []


@pytest.mark.parametrize("headers", [{"X-A": "1\r\nX-Evil: 2"}, {"X-A\r\nX-Evil": "2"}, {"X-A": "1\n"},
                                     {"X-A": "\x00"}, {"": "x"}])
def test_post_refuses_header_injection_before_connecting(guard, headers):
    with WebhookReceiver() as hook:
        with pytest.raises(FetchRefused):
            NetPolicy().post(hook.url, b"{}", headers, 1.0)
        assert hook.deliveries == []
    assert guard.connects == []


def test_post_delivers_to_loopback_and_reports_any_status_without_following_redirects(guard):
    with WebhookReceiver(statuses=[201, 503]) as hook:
        policy = NetPolicy()
        assert policy.post(hook.url, b'{"a": 1}', {"Content-Type": "application/json"}, 2.0) == 201
        assert policy.post(hook.url, b"{}", {}, 2.0) == 503
        assert hook.deliveries[0].json == {"a": 1} and hook.deliveries[0].method == "POST"
    with redirector("http://169.254.169.254/") as server:
        assert NetPolicy().post(f"http://127.0.0.1:{server.server_port}/", b"{}", {}, 2.0) == 302
    assert set(guard.connects) == {"127.0.0.1"}


def test_post_to_a_name_that_resolves_to_metadata_is_refused_even_when_the_name_is_allowed(guard):
    with pytest.raises(FetchRefused, match="link-local"):
        NetPolicy(("metadata.test",)).post("http://metadata.test/hook", b"{}", {}, 1.0)
    assert guard.resolved == ["metadata.test"] and guard.connects == []


def test_the_guard_itself_stops_a_connection_off_the_machine_before_it_is_made(guard):
    for target in (("169.254.169.254", 80), ("10.0.0.1", 80), ("fe80::1", 80)):
        with pytest.raises(AssertionError, match="tried to connect"):
            socket.create_connection(target, timeout=0.01)
    assert len(guard.off_machine()) == 3
    guard.connects.clear()  # seen and stopped; the fixture's own check would fail otherwise
