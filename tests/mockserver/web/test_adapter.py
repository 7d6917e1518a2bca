"""The one WSGI adapter: it reads a request exactly as werkzeug does, routes every spec route, and
refuses oversized bodies unread.

The adapter builds each ``Incoming`` by hand (no werkzeug request object on the hot path). The
property test checks that against a reference that reads the same request with werkzeug's
``Request`` (what the Flask views did before the adapter served every route) and hands it to an
identical engine: status, headers and bytes must be the same, and so must the journal.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request, Response

from mockserver import MockConfig, create_app
from mockserver.engine.context import Incoming
from mockserver.web.adapter import TOO_LARGE, Adapter, request_headers
from mockserver.web.context import mock_state
from mockserver.web.responses import encode

API = "/api/v6/images"
VALID = {"key": "fast-key", "model_id": "pony-realism", "prompt": "a cat", "width": 512, "height": 512,
         "init_image": "https://example.com/i.png", "mask_image": "https://example.com/m.png"}


def _werkzeug_reading(app):
    """The reference: the spec's routes read by werkzeug's ``Request`` and answered by the same
    engine; anything else goes to the app's Flask part."""
    state, flask = mock_state(app), app.wsgi_app.fallback

    def reference(environ: dict[str, Any], start_response):
        request = Request(environ)
        found = state.routes.match(request.method, request.path)
        if found.operation is None:
            return flask(environ, start_response)
        incoming = Incoming(
            operation=found.operation, body=request.get_data(cache=False), content_type=request.content_type,
            base_url=state.config.public_url or request.host_url.rstrip("/"), prefer=request.headers.get("Prefer"),
            path_params=found.params, method=request.method, path=request.full_path.rstrip("?"),
            headers=dict(request.headers), query=request.query_string.decode("latin-1"),
        )
        status, headers, data = encode(state.handle(incoming), environ)
        start_response(Response(status=status).status, [*headers.items(), ("Content-Length", str(len(data)))])
        return [data]

    return reference


def _pair(**overrides: Any) -> tuple[Client, Client]:
    """Two identical mocks (same seed, memory store): one through the adapter, one read by werkzeug."""
    overrides.setdefault("seed", 7)
    overrides.setdefault("store", "memory")
    adapted = create_app(MockConfig(**overrides))
    reference = create_app(MockConfig(**overrides))
    assert isinstance(adapted.wsgi_app, Adapter)
    # Both mocks read one frozen wall clock: a queued job's eta counts down with time, and the two
    # answers to a fetch are given some milliseconds (on a loaded machine, much more) apart.
    frozen = time.time()
    for app in (adapted, reference):
        mock_state(app).services.clock._wall = lambda: frozen
    return Client(adapted), Client(_werkzeug_reading(reference))


def _answer(client: Client, path: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    response = client.post(path, data=data, headers=headers)
    return response.status_code, dict(response.headers), response.get_data()


_BODIES = st.one_of(
    st.just(json.dumps(VALID).encode()),
    st.builds(lambda extra: json.dumps({**VALID, **extra}).encode(),
              st.dictionaries(st.sampled_from(["width", "samples", "prompt", "key", "track_id", "seed", "strength"]),
                              st.one_of(st.integers(-5, 2000), st.text(max_size=8), st.none(), st.floats(0, 2)),
                              max_size=3)),
    st.sampled_from([b"", b"{", b"[]", b'{"key": "fast-key"}', b'{"key": ""}', b"\xff\xfe", b'{"a": NaN}']),
)
_HEADERS = st.fixed_dictionaries({}, optional={
    "Content-Type": st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8"]),
    "Prefer": st.sampled_from(["variant=processing", "code=429", "fault=outage", "fault=truncated",
                               "example=nope", "variant=error, error=rate_limit", "delay=abc", "dynamic=true"]),
    "X-Extra": st.sampled_from(["1", "two words"]),
})
_PATHS = st.sampled_from([f"{API}/inpaint", f"{API}/fetch", f"{API}/fetch/130000001", f"{API}/fetch/130000001?x=1",
                          f"{API}/inpaint?key=fast-key", f"{API}/inpaint?", f"{API}/inpaint?a=b??"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(st.tuples(_PATHS, _BODIES, _HEADERS), min_size=1, max_size=6))
def test_the_adapter_reads_requests_exactly_as_werkzeug(requests: list[tuple[str, bytes, dict[str, str]]]) -> None:
    fast, flask = _pair(processing_ratio=0.0)
    for path, data, headers in requests:
        assert _answer(fast, path, data, headers) == _answer(flask, path, data, headers)


def test_journal_entries_are_the_same_as_werkzeug_reading() -> None:
    fast, flask = _pair()
    data = json.dumps({**VALID, "track_id": "t-1"}).encode()
    for client in (fast, flask):
        client.post(f"{API}/inpaint?a=b", data=data, headers={"Content-Type": "application/json",
                                                              "Authorization": "Bearer fast-key"})
    journals = []
    for client in (fast, flask):
        entry = client.get("/__mock/requests").get_json()["requests"][-1]
        for volatile in ("time", "duration_ms", "seq"):
            entry.pop(volatile, None)
        journals.append(entry)
    assert journals[0] == journals[1]
    assert journals[0]["path"] == f"{API}/inpaint?a=b"
    for client in (fast, flask):
        client.post(f"{API}/inpaint?a=b??", data=data, headers={"Content-Type": "application/json"})
    paths = [client.get("/__mock/requests").get_json()["requests"][-1]["path"] for client in (fast, flask)]
    assert paths == [f"{API}/inpaint?a=b"] * 2
    assert "fast-key" not in json.dumps(journals[0])


def test_base_url_comes_from_the_host_header_or_public_url() -> None:
    fast, _ = _pair(processing_ratio=0.0)
    body = fast.post(f"{API}/inpaint", json=VALID, headers={"Host": "mock.test:9000"}).get_json()
    assert body["output"][0].startswith("http://mock.test:9000/")
    fixed, _ = _pair(processing_ratio=0.0, public_url="https://mock.example/")
    body = fixed.post(f"{API}/inpaint", json=VALID, headers={"Host": "other:1"}).get_json()
    assert body["output"][0].startswith("https://mock.example/")


class _Untouchable(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the oversized body was read")

    readinto = read  # type: ignore[assignment]


def _call(app, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: list[Any] = []
    chunks = app(environ, lambda status, headers, exc_info=None: seen.append((status, dict(headers))))
    return seen[0][0], seen[0][1], b"".join(chunks)


@pytest.mark.parametrize("path", [f"{API}/inpaint", f"{API}/fetch/130000001", "/__mock/rules"])
def test_a_body_over_max_body_bytes_is_refused_with_413_without_reading_it(path: str) -> None:
    app = create_app(MockConfig(store="memory", seed=1, max_body_bytes=1000))
    environ = EnvironBuilder(path=path, method="POST", content_type="application/json").get_environ()
    environ.update({"CONTENT_LENGTH": "1001", "wsgi.input": _Untouchable()})
    status, headers, data = _call(app, environ)
    assert status.startswith("413")
    assert json.loads(data) == TOO_LARGE
    assert headers["Content-Type"] == "application/json"


def test_a_streamed_body_is_cut_off_at_the_limit() -> None:
    app = create_app(MockConfig(store="memory", seed=1, max_body_bytes=1000))
    environ = EnvironBuilder(path=f"{API}/inpaint", method="POST", content_type="application/json").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    stream = io.BytesIO(b'{"key": "' + b"x" * 5000 + b'"}')
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True, "wsgi.input": stream})
    status, headers, data = _call(app, environ)
    assert status.startswith("413") and json.loads(data) == TOO_LARGE
    assert headers["Connection"] == "close"
    assert stream.tell() <= 1001 + 64 * 1024  # read no further than one chunk past the limit


def test_a_body_at_the_limit_is_served() -> None:
    data = json.dumps(VALID).encode()
    app = create_app(MockConfig(store="memory", seed=1, processing_ratio=0.0, max_body_bytes=len(data)))
    answer = app.test_client().post(f"{API}/inpaint", data=data, content_type="application/json")
    assert answer.status_code == 200 and answer.get_json()["status"] == "success"


def test_two_data_uri_images_of_the_largest_accepted_size_fit_the_default_limit() -> None:
    config = MockConfig()
    assert config.max_body_bytes >= 2 * (config.image_max_bytes * 4 // 3 + 100) + 4096


def test_other_methods_are_405_and_unknown_paths_404_as_json() -> None:
    fast, _ = _pair()
    wrong = fast.get(f"{API}/inpaint")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert wrong.get_json() == {"status": "error", "message": "Method Not Allowed", "code": 405}
    assert fast.post(f"{API}/fetch/abc", json={"key": "k"}).get_json()["status"] == "error"
    assert fast.post(f"{API}/inpaint/", json=VALID).get_json()["status"] == "success"  # a trailing slash is served
    for path in (f"{API}/inpaint/x", f"{API}/inpaint//", f"{API}/nothing", "/elsewhere"):
        missing = fast.post(path, json=VALID)
        assert missing.status_code == 404 and missing.get_json() == {"status": "error", "message": "Not Found",
                                                                     "code": 404}


def test_a_path_parameter_of_any_form_is_routed_to_its_operation() -> None:
    """The route is the spec's template, not a digits pattern: any id reaches the fetch operation,
    which answers for it (tests/mockserver/behaviours/test_family_endpoints.py: even an empty one)."""
    fast, _ = _pair()
    for raw, shown in (("%C3%A9t%C3%A9", "été"), ("130000001", "130000001"), ("abc", "abc")):
        body = fast.post(f"{API}/fetch/{raw}", json={"key": "k"}).get_json()
        assert body == {"status": "error", "message": f"Request not found: {shown}"}, raw


def test_request_headers_match_werkzeug() -> None:
    from werkzeug.datastructures import EnvironHeaders

    environ = EnvironBuilder(path="/", method="POST", data=b"{}", content_type="application/json",
                             headers={"X-Thing_Two": "a", "Prefer": "b", "Content-Length": "2"}).get_environ()
    assert request_headers(environ) == dict(EnvironHeaders(environ))


def test_status_lines_are_werkzeugs() -> None:
    from werkzeug.wrappers import Response

    from mockserver.web.adapter import status_line

    for code in (200, 400, 401, 404, 405, 413, 418, 422, 429, 500, 502, 503, 504, 524, 599):
        assert status_line(code) == Response(status=code).status


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(["http", "https"]),
       host=st.one_of(st.none(), st.text(max_size=30),
                      st.from_regex(r"[a-zA-Z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True),
                      st.sampled_from(["xn--bcher-kva.example", "127.0.0.1:80", "h:443", "[::1]:8080", "a%41b",
                                       "xn--", "xn--a", "XN--A.example:8080", "xn--bcher-kva.xn--", "a.xn--:443"])))
def test_host_url_is_werkzeugs(scheme: str, host: str | None) -> None:
    from werkzeug.wrappers import Request

    from mockserver.web.adapter import host_url

    environ = EnvironBuilder(path="/", base_url=f"{scheme}://placeholder:8123/").get_environ()
    if host is None:
        environ.pop("HTTP_HOST", None)
    else:
        environ["HTTP_HOST"] = host
    try:
        expected = Request(environ).host_url.rstrip("/")
    except UnicodeError:
        # A label that is not valid punycode ("xn--", "xn--a"; any client can send it): werkzeug
        # means to keep it as sent, but on Python < 3.13 the idna codec raises an error werkzeug
        # does not catch. The mock answers what werkzeug means: valid labels decoded, the rest kept.
        assert host is not None and "xn--" in host.lower()
        name, _, port = host.lower().rpartition(":") if ":" in host else (host.lower(), "", "")
        default = {"http": "80", "https": "443"}[scheme]
        expected = f"{scheme}://{'.'.join(_decoded_label(label) for label in name.split('.'))}"
        expected += f":{port}" if port and port != default else ""
    assert host_url(environ) == expected


def _decoded_label(label: str) -> str:
    try:
        return label.encode().decode("idna")
    except UnicodeError:
        return label


@pytest.mark.parametrize("host", ["xn--", "xn--a", "a.xn--:8080", "xn--bcher-kva.xn--"])
def test_a_host_header_that_is_not_valid_punycode_is_answered_not_a_500(host: str) -> None:
    app = create_app(MockConfig(store="memory", seed=1, processing_ratio=0.0))
    for path, body in [(f"{API}/inpaint", VALID), (f"{API}/fetch/130000001", {"key": "fast-key"}),
                       (f"{API}/fetch", {"key": "fast-key", "request_id": 130000001})]:
        environ = EnvironBuilder(path=path, method="POST", data=json.dumps(body),
                                 content_type="application/json").get_environ()
        environ["HTTP_HOST"] = host
        status, _, data = _call(app, environ)
        assert status.startswith("200"), (path, status, data)
        assert "mock bug" not in data.decode()
    answer = json.loads(_call(app, {**environ, "PATH_INFO": f"{API}/inpaint",
                                    "wsgi.input": io.BytesIO(json.dumps(VALID).encode()),
                                    "CONTENT_LENGTH": str(len(json.dumps(VALID)))})[2])
    assert answer["status"] == "success"
    assert answer["output"][0].startswith(f"http://{host.split(':')[0].replace('xn--bcher-kva', 'bücher')}")


class _ClientGone(io.RawIOBase):
    """What gunicorn's body reader does when the client hangs up mid-body (NoMoreData)."""

    def read(self, size: int = -1) -> bytes:
        raise EOFError("No more data")


def test_a_client_that_hangs_up_mid_body_is_not_logged_as_a_mock_bug(caplog) -> None:
    app = create_app(MockConfig(store="memory", seed=1))
    environ = EnvironBuilder(path=f"{API}/inpaint", method="POST", content_type="application/json").get_environ()
    environ.update({"CONTENT_LENGTH": "100", "wsgi.input": _ClientGone()})
    status, headers, data = _call(app, environ)
    assert status.startswith("400") and json.loads(data)["message"] == "Invalid API Request"
    assert headers["Connection"] == "close"
    assert "mock bug" not in caplog.text
