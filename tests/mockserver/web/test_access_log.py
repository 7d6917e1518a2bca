"""The console line per request: what the engine decided, never the key, colour only on a terminal."""

from __future__ import annotations

import io
import json

from werkzeug.test import Client
from werkzeug.wrappers import Response

from mockserver.engine.pipeline import owner_of
from mockserver.web import access_log
from mockserver.web.access_log import AccessLog

INPAINT = "/api/v6/images/inpaint"


class Console(io.StringIO):
    """What the log wrote, once its writer thread has caught up."""

    log: AccessLog

    def getvalue(self) -> str:
        self.log.drain()
        return super().getvalue()


class Tty(Console):
    def isatty(self) -> bool:
        return True


def logged(app, stream=None, fmt="text", colour=None):
    stream = stream if stream is not None else Console()
    log = AccessLog(app, stream, fmt, colour)
    stream.log = log
    return Client(log, Response), stream


def test_an_api_request_is_one_line_with_the_engines_verdict_and_no_key(app, docs_example):
    client, stream = logged(app)
    answer = client.post(INPAINT, data=docs_example, content_type="application/json")
    line = stream.getvalue()
    assert line.count("\n") == 1
    words = line.split()
    assert words[1:4] == ["POST", INPAINT, f"key=***({owner_of('your_api_key')[:8]})"]
    assert words[4:6] == [answer.json["status"], "200"] and words[6].endswith("ms")
    warnings = answer.headers["X-Mock-Warnings"].count("; ") + 1
    assert line.rstrip().endswith(f"{warnings} warnings") and "your_api_key" not in line


def test_errors_faults_and_requests_the_engine_did_not_answer(app, valid_body):
    client, stream = logged(app)
    client.post(INPAINT, json={**valid_body, "width": "wide"})
    client.post(INPAINT, json=valid_body, headers={"Prefer": "fault=outage"})
    client.get("/no/such/page")
    client.post(INPAINT, data=b"{", content_type="application/json")
    lines = stream.getvalue().splitlines()
    assert " error 200 " in lines[0]
    assert " fault 503 " in lines[1]
    assert "GET /no/such/page key=- - 404 " in lines[2]
    assert "key=- error 200" in lines[3]  # no key could be read from a broken body


def test_secret_query_values_are_masked_and_filters_shown(app):
    client, stream = logged(app)
    client.get("/__mock/requests?key=s3cret-key&operation=inpaint&limit=1&token=t0ken")
    line = stream.getvalue()
    assert "/__mock/requests?key=***&operation=inpaint&limit=1&token=*** " in line
    assert "s3cret" not in line and "t0ken" not in line


def test_a_key_in_an_unknown_path_is_not_printed(app, valid_body):
    client, stream = logged(app)
    client.get("/generations/sk-LEAKCANARY-7f3a9c2e41d8b6.png")
    client.post("/api/v6/images/sk-LEAKCANARY-7f3a9c2e41d8b6", json=valid_body)
    client.get("/api/v6/images/inpant")
    lines = stream.getvalue().splitlines()
    assert "GET /generations/*** key=- not_found 404 " in lines[0]
    assert "POST /api/v6/images/*** key=- - 404 " in lines[1]
    assert "GET /api/v6/images/inpant key=- - " in lines[2]  # a typo stays readable
    assert "LEAKCANARY" not in stream.getvalue()


def test_output_files_are_logged_as_images(app, valid_body):
    client, stream = logged(app)
    url = client.post(INPAINT, json=valid_body).json["output"][0]
    client.get(url.split("localhost", 1)[1])
    assert " image 200 " in stream.getvalue().splitlines()[1]


def test_json_lines(app, valid_body):
    client, stream = logged(app, fmt="json")
    client.post(INPAINT, json=valid_body)
    record = json.loads(stream.getvalue())
    assert record["method"] == "POST" and record["path"] == INPAINT and record["status"] == 200
    assert record["status_word"] == "success" and record["key"] == "***"
    assert record["owner"] == owner_of("test-key") and record["warnings"] == 0
    assert record["time"].endswith("Z") and isinstance(record["ms"], float)
    assert "test-key" not in stream.getvalue()


def test_colour_only_on_a_terminal(app, valid_body):
    client, stream = logged(app, stream=Tty())
    client.post(INPAINT, json=valid_body)
    assert "\x1b[32msuccess\x1b[0m" in stream.getvalue()
    client, stream = logged(app)
    client.post(INPAINT, json=valid_body)
    assert "\x1b[" not in stream.getvalue()


def test_no_colour_when_asked(app, valid_body, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    client, stream = logged(app, stream=Tty())
    client.post(INPAINT, json=valid_body)
    assert "\x1b[" not in stream.getvalue()


def test_a_closed_console_does_not_break_answers(app, valid_body):
    class Closed(Console):
        def write(self, text):
            raise BrokenPipeError

    client, console = logged(app, stream=Closed())
    assert client.post(INPAINT, json=valid_body).json["status"] == "success"
    assert console.getvalue() == "" and console.log._writer.broken
    assert client.post(INPAINT, json=valid_body).status_code == 200


def test_a_console_nobody_reads_never_holds_up_an_answer(app, valid_body):
    import os
    import threading
    import time

    read_end, write_end = os.pipe()  # a pipe with no reader: writes block once its buffer is full
    try:
        stream = os.fdopen(write_end, "w", closefd=False)
        log = AccessLog(app, stream)
        log._writer.size = 50
        client = Client(log, Response)
        started = time.monotonic()
        for _ in range(2000):  # far more than a 64 KiB pipe buffer holds
            assert client.post(INPAINT, json=valid_body).status_code == 200
        assert time.monotonic() - started < 60 and log._writer.dropped > 0
        assert any(t.name == "access-log" for t in threading.enumerate())
        os.read(read_end, 1 << 20)  # the console takes lines again: the drop count is reported
        log.drain()
        assert b"request line(s) dropped: the console did not keep up" in os.read(read_end, 1 << 20)
    finally:
        os.close(read_end)
        os.close(write_end)


def test_quiet_means_no_wrapper(app):
    from mockserver import MockConfig

    assert access_log.wrap(app, MockConfig(quiet=True)) is app
    wrapped = access_log.wrap(app, MockConfig(log_format="json"))
    assert isinstance(wrapped, AccessLog) and wrapped.fmt == "json"
    assert wrapped.url_map is app.url_map  # the wrapped app's attributes stay reachable
