"""Exposure: a mock reachable from other machines is no way into this one (issue 12, item 1).

On a non-loopback bind (``--host 0.0.0.0``) loopback leaves both default allow-lists (image URLs
and webhooks): a local service is not fetched, scanned or POSTed to unless the operator lists a
loopback address explicitly (a broad CIDR such as ``0.0.0.0/0`` does not count). Whatever the
bind, what a remote end said or how a connection failed (a service's banner, "connection
refused", a TLS error, a redirect target) never reaches a response, ``X-Mock-Warnings`` or the
webhook log: a fixed phrase stands in for it.
"""

from __future__ import annotations

import http.server
import io
import json
import socket
import threading
from contextlib import contextmanager

import pytest
from PIL import Image

from mockserver.control.receiver import WebhookReceiver
from mockserver.images.netpolicy import NetPolicy

INPAINT = "/api/v6/images/inpaint"
BANNER = "SSH-2.0-OpenSSH_9.6p1 topsecret-banner-7f3a"
LEAKS = ("topsecret", "OpenSSH", "Errno", "Error:", "refused", "SSL", "ssl", "WRONG_VERSION", "BadStatusLine",
         "RemoteDisconnected", "secret-location")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


@contextmanager
def image_server():
    """A loopback HTTP server serving one PNG and counting the requests it got."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.server.hits += 1  # type: ignore[attr-defined]
            data = _png()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            self.server.hits += 1  # type: ignore[attr-defined]
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

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


@contextmanager
def banner_server(reply: bytes = (BANNER + "\r\n").encode()):
    """A loopback TCP service that is not HTTP: it sends its banner and hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.sendall(reply)
                    conn.settimeout(0.2)
                    conn.recv(65536)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


@contextmanager
def redirector(location: str):
    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(client, body, **headers):
    return client.post(INPAINT, data=json.dumps(body), content_type="application/json", headers=headers)


def _deliveries(client, job_id):
    assert client.post("/__mock/webhooks/wait", json={"timeout": 10}).json["idle"]
    return client.get("/__mock/webhooks", query_string={"job_id": job_id}).json["deliveries"]


# -- a non-loopback bind: loopback leaves the default allow-lists ------------------------------------


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "192.0.2.10"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_public_bind_never_fetches_loopback_image_urls(make_app, valid_body, bind, host):
    client = make_app(host=bind, processing_ratio=0.0).test_client()
    with image_server() as server:
        url = f"http://{host}:{server.server_port}/init.png"
        answer = _post(client, dict(valid_body, init_image=url), Prefer="variant=success")
        assert answer.json["status"] == "success"
        assert "not reachable offline" in answer.headers["X-Mock-Warnings"]
        assert client.get("/generations/" + answer.json["output"][0].rsplit("/", 1)[1]).status_code == 200
        assert server.hits == 0, "a local service was fetched through a public mock"


def test_a_loopback_bind_keeps_fetching_loopback_image_urls(make_app, valid_body):
    client = make_app(host="127.0.0.1", processing_ratio=0.0).test_client()
    with image_server() as server:
        answer = _post(client, dict(valid_body, init_image=f"http://127.0.0.1:{server.server_port}/i.png"),
                       Prefer="variant=success")
        assert answer.json["status"] == "success" and server.hits == 1


@pytest.mark.parametrize("listed, host", [(("127.0.0.1",), "127.0.0.1"), (("127.0.0.0/8",), "127.0.0.1"),
                                          (("localhost", "127.0.0.1", "::1"), "localhost")])
def test_a_public_bind_fetches_loopback_only_when_listed_explicitly(make_app, valid_body, listed, host):
    client = make_app(host="0.0.0.0", processing_ratio=0.0, image_allow_hosts=listed).test_client()
    with image_server() as server:
        answer = _post(client, dict(valid_body, init_image=f"http://{host}:{server.server_port}/i.png"),
                       Prefer="variant=success")
        assert answer.json["status"] == "success" and server.hits == 1, answer.headers.get("X-Mock-Warnings")


@pytest.mark.parametrize("listed", [("0.0.0.0/0", "::/0"), ("0.0.0.0/1", "64.0.0.0/2", "127.0.0.0/7")])
def test_a_broad_cidr_does_not_list_loopback_on_a_public_bind(make_app, valid_body, listed):
    client = make_app(host="0.0.0.0", processing_ratio=0.0, image_allow_hosts=listed,
                      webhook_allow_hosts=listed).test_client()
    with image_server() as server:
        answer = _post(client, dict(valid_body, init_image=f"http://127.0.0.1:{server.server_port}/i.png",
                                    webhook=f"http://127.0.0.1:{server.server_port}/hook"), Prefer="variant=success")
        assert answer.json["status"] == "success"
        assert [r["outcome"] for r in _deliveries(client, answer.json["id"])] == ["refused"]
        assert server.hits == 0


@pytest.mark.parametrize("bind", ["0.0.0.0", "::"])
def test_a_public_bind_never_posts_webhooks_to_loopback(make_app, valid_body, bind):
    client = make_app(host=bind, processing_ratio=0.0, webhook_backoff=0.01).test_client()
    with WebhookReceiver() as hook:
        answer = _post(client, dict(valid_body, webhook=hook.url), Prefer="variant=success")
        assert "webhook: will not be called" in answer.headers["X-Mock-Warnings"]
        assert [r["outcome"] for r in _deliveries(client, answer.json["id"])] == ["refused"]
        assert hook.deliveries == []


def test_a_public_bind_posts_webhooks_to_an_explicitly_listed_loopback(make_app, valid_body):
    client = make_app(host="0.0.0.0", processing_ratio=0.0, webhook_allow_hosts=("127.0.0.1",)).test_client()
    with WebhookReceiver() as hook:
        answer = _post(client, dict(valid_body, webhook=hook.url), Prefer="variant=success")
        assert [r["outcome"] for r in _deliveries(client, answer.json["id"])] == ["success"]
        assert len(hook.deliveries) == 1


def test_net_policy_for_bind():
    default = NetPolicy.for_bind(("127.0.0.1", "localhost", "::1"), "0.0.0.0", default=True)
    assert default.check("http://127.0.0.1:9/x") is not None
    assert NetPolicy.for_bind(("127.0.0.1",), "0.0.0.0").check("http://127.0.0.1:9/x") is None
    assert NetPolicy.for_bind(("0.0.0.0/0",), "0.0.0.0").check("http://127.0.0.1:9/x") is not None
    assert NetPolicy.for_bind(("0.0.0.0/0",), "127.0.0.1").check("http://127.0.0.1:9/x") is None
    assert NetPolicy.for_bind(("127.0.0.1", "localhost", "::1"), "localhost", default=True) \
        .check("http://127.0.0.1:9/x") is None


# -- exception details never reach a response -----------------------------------------------------


def _no_leak(text: str) -> None:
    found = [word for word in LEAKS if word in text]
    assert not found, f"exception details leaked ({found}): {text[:400]}"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_banner_never_reaches_the_answer_or_its_warnings(make_app, valid_body, scheme):
    client = make_app(processing_ratio=0.0).test_client()
    with banner_server() as port:
        answer = _post(client, dict(valid_body, init_image=f"{scheme}://127.0.0.1:{port}/"), Prefer="variant=success")
    assert answer.json["status"] == "error"  # the real service's "Unable to fetch image" answer
    warnings = answer.headers.get("X-Mock-Warnings", "")
    assert "init_image" in warnings
    _no_leak(warnings + answer.get_data(as_text=True))
    _no_leak(json.dumps(client.get("/__mock/requests").json))


def test_a_refused_connection_and_a_tls_error_are_fixed_phrases(make_app, valid_body):
    client = make_app(processing_ratio=0.0).test_client()
    with image_server() as server:
        targets = [f"http://127.0.0.1:{closed_port()}/x.png", f"https://127.0.0.1:{server.server_port}/x.png"]
        for target in targets:
            answer = _post(client, dict(valid_body, init_image=target), Prefer="variant=success")
            warnings = answer.headers.get("X-Mock-Warnings", "")
            assert answer.json["status"] == "error" and "init_image" in warnings, target
            _no_leak(warnings + answer.get_data(as_text=True))


def test_a_redirect_target_is_not_echoed(make_app, valid_body):
    client = make_app(processing_ratio=0.0).test_client()
    with redirector("http://secret-location.internal/admin?token=x") as port:
        answer = _post(client, dict(valid_body, init_image=f"http://127.0.0.1:{port}/i.png"), Prefer="variant=success")
    assert "redirect" in answer.headers["X-Mock-Warnings"]
    _no_leak(answer.headers["X-Mock-Warnings"])


@pytest.mark.parametrize("kind", ["banner", "closed", "tls", "redirect"])
def test_the_webhook_log_names_no_exception_details(make_app, valid_body, kind):
    client = make_app(processing_ratio=0.0, webhook_retries=0).test_client()
    with banner_server() as banner_port, image_server() as http_server, \
            redirector("http://secret-location.internal/") as redirect_port:
        url = {"banner": f"http://127.0.0.1:{banner_port}/hook", "closed": f"http://127.0.0.1:{closed_port()}/hook",
               "tls": f"https://127.0.0.1:{http_server.server_port}/hook",
               "redirect": f"http://127.0.0.1:{redirect_port}/hook"}[kind]
        answer = _post(client, dict(valid_body, webhook=url), Prefer="variant=success")
        records = _deliveries(client, answer.json["id"])
    assert [r["outcome"] for r in records] == ["failed"]
    assert records[0]["error"]
    _no_leak(json.dumps(records))


def test_unresolvable_names_are_a_fixed_phrase():
    reason = NetPolicy(allow_hosts=["gone.invalid"]).check("http://gone.invalid/")
    assert reason is not None and "cannot be resolved" in reason and "Errno" not in reason and "[" not in reason
