"""The admin client: reset, clock, request counts and webhook waits, with explaining failures.

The journal (``GET /__mock/requests``) and the webhook log (``GET /__mock/webhooks``) are served
by the mock since the admin API landed; a mock without them makes the helpers say so clearly.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contracts.run.mock_admin import AdminEndpointMissing, MockAdmin, RequestCountMismatch, WebhookTimeout
from contracts.run.targets import Target, cheapest_inpaint_body
from contracts.core.transport import HttpResponse, WSGITransport


@pytest.fixture
def target(make_app):
    return Target.for_wsgi(make_app(processing_ratio=0.0), key="admin-test-key")


def _requires(admin: MockAdmin, what: str):
    try:
        getattr(admin, what)()
    except AdminEndpointMissing as exc:  # an older mock: the helper must say so, tests skip
        pytest.skip(str(exc))


def test_request_counts_by_operation_and_key(target):
    _requires(target.admin, "requests")
    target.post("/v6/images/inpaint", cheapest_inpaint_body())
    target.post("/v6/images/inpaint", {**cheapest_inpaint_body(), "track_id": "t-1"})
    target.post("/v6/images/fetch/1", {})
    admin = target.admin
    assert admin.count_requests(operation="inpaint", key=target.key) == 2
    assert admin.count_requests(track_id="t-1") == 1
    assert len(admin.assert_requests(2, operation="inpaint")) == 2
    admin.assert_requests(at_least=1, operation="fetch")


def test_a_count_mismatch_lists_what_was_recorded_instead(target):
    _requires(target.admin, "requests")
    target.post("/v6/images/inpaint", cheapest_inpaint_body())
    with pytest.raises(RequestCountMismatch) as caught:
        target.admin.assert_requests(3, operation="inpaint", key=target.key)
    text = str(caught.value)
    assert "expected exactly 3 request(s) matching operation='inpaint', key=***; got 1." in text
    assert "operation='v6ImagesInpaint'" in text.split("matching:", 1)[1]  # the journal names the operationId
    assert target.key not in text


def test_reset_forgets_this_keys_requests_and_the_clock_moves(target):
    _requires(target.admin, "requests")
    target.post("/v6/images/inpaint", cheapest_inpaint_body())
    target.reset()
    assert target.admin.count_requests(key=target.key) == 0
    assert target.admin.advance_clock(30, key=target.key)["offset"] >= 30


class _Receiver:
    def __init__(self):
        self.bodies = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_wait_for_webhook_returns_the_delivery_for_a_track_id(target):
    _requires(target.admin, "webhooks")
    receiver = _Receiver()
    try:
        body = {**cheapest_inpaint_body(), "webhook": receiver.url, "track_id": "track-42"}
        assert target.post("/v6/images/inpaint", body).json()["status"] == "success"
        deliveries = target.admin.wait_for_webhook("track-42", timeout=10)
        assert deliveries and all(str(d.get("track_id")) == "track-42" for d in deliveries)
        assert receiver.bodies and receiver.bodies[0]["track_id"] == "track-42"
    finally:
        receiver.stop()


def test_waiting_for_a_webhook_that_never_comes_times_out_with_what_was_seen(target):
    _requires(target.admin, "webhooks")
    clock = iter(range(100))
    admin = MockAdmin(target.root_url, target.transport, sleep=lambda s: None, monotonic=lambda: next(clock))
    with pytest.raises(WebhookTimeout, match="waited 3s for 1 webhook delivery with track_id='never'; got 0"):
        admin.wait_for_webhook("never", timeout=3)


def test_a_mock_without_the_journal_says_so():
    def old_mock(environ, start_response):
        if environ["PATH_INFO"] == "/__mock/health":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status": "ok", "strict": false}']
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"status": "error", "message": "Not Found"}']

    admin = MockAdmin("http://localhost", WSGITransport(old_mock))
    with pytest.raises(AdminEndpointMissing, match="GET /__mock/requests is not served"):
        admin.count_requests(operation="inpaint")
    with pytest.raises(AdminEndpointMissing, match="GET /__mock/webhooks is not served"):
        admin.wait_for_webhook("t")


def test_unexpected_admin_answers_are_quoted():
    class Broken:
        def request(self, method, url, **kwargs):
            return HttpResponse(500, {}, b"<html>boom</html>", url, method)

    with pytest.raises(Exception, match=r"answered HTTP 500: <html>boom</html>"):
        MockAdmin("http://localhost", Broken()).reset()


def test_requests_can_be_counted_by_what_the_operation_does(make_app):
    target = Target.for_wsgi(make_app(spec="modelslab.yaml", processing_ratio=0.0, models=("*",)),
                             key="kind-test-key", spec="modelslab.yaml")
    _requires(target.admin, "requests")
    target.post("/v6/realtime/text2img", {"prompt": "a cat"})
    target.post("/v6/images/text2img", {"prompt": "a cat", "model_id": "m"})
    target.post("/v6/realtime/fetch/1", {})
    target.post("/v6/images/fetch", {"request_id": "1"})
    admin = target.admin
    assert admin.count_requests(kind="generate") == 2 and admin.count_requests(kind="fetch") == 2
    assert admin.count_requests(kind="generate", family="realtime") == 1
    assert admin.count_requests(family="community", key=target.key) == 2
    with pytest.raises(RequestCountMismatch, match="kind='fetch', family='v7'") as caught:
        admin.assert_requests(1, kind="fetch", family="v7")
    assert "v6RealtimeFetchById" in str(caught.value), "what was recorded instead is listed"
    with pytest.raises(ValueError, match="kind must be generate or fetch"):
        admin.count_requests(kind="static")
    with pytest.raises(ValueError, match="not both"):
        admin.count_requests(operation="v6ImagesText2img", kind="generate")
