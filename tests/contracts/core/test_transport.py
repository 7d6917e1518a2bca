"""Transports: the same request through a WSGI app and through a socket gives the same answer."""

from __future__ import annotations

import socket

import pytest

from contracts.core.transport import RequestsTransport, TransportError, WSGITransport


def _body():
    return {"key": "k", "model_id": "pony-realism", "init_image": "https://a.test/i.png",
            "mask_image": "https://a.test/m.png"}


def test_wsgi_and_http_transports_agree(make_app, serve_wsgi):
    app = make_app(processing_ratio=0.0)
    served = serve_wsgi(app)
    in_process = WSGITransport(app).request("POST", "http://localhost/api/v6/images/inpaint", json_body=_body(),
                                            headers={"Prefer": "variant=error, error=rate_limit"})
    over_http = RequestsTransport().request("POST", served.url + "/api/v6/images/inpaint", json_body=_body(),
                                            headers={"Prefer": "variant=error, error=rate_limit"})
    for answer in (in_process, over_http):
        assert answer.status == 200
        assert answer.json()["message"] == "Rate limit exceeded"
        assert answer.header("x-mock-variant") == "error"
        assert answer.method == "POST" and b'"key": "k"' in answer.request_body


def test_wsgi_transport_passes_query_strings_and_raw_bodies(make_app):
    transport = WSGITransport(make_app())
    answer = transport.request("POST", "http://localhost/api/v6/images/inpaint", data=b"{not json",
                               headers={"Content-Type": "application/json"})
    assert answer.json()["message"] == "Invalid API Request"
    health = transport.request("GET", "http://localhost/__mock/health?x=1")
    assert health.status == 200 and health.json()["status"] == "ok"


def test_a_closed_port_is_a_transport_error_naming_the_request():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError, match=f"POST http://127.0.0.1:{port}/x"):
        RequestsTransport().request("POST", f"http://127.0.0.1:{port}/x", json_body={}, timeout=2)
