"""Client fuzzing: run your client against answers drawn by Hypothesis, shrink what breaks it.

The mock answers like a well-behaved ModelsLab; clients break on the rest: a job that stays
``processing``, a ``failed`` job, ``message`` as an object, a success without ``output``, a
long run of polls. ``fuzz_client`` serves your client exactly such sequences, drawn from the
spec by ``contracts.modelslab.strategies.job_stories``, from a loopback HTTP server (``ScriptedAPI``), so
a client that makes real HTTP calls (``requests``, the official SDK, ...) needs no changes.
When the client misbehaves Hypothesis shrinks the sequence, and the failure lists the smallest
one, answer by answer.

A client misbehaves when it

* raises an exception that is not one of the ``expected`` ones (its documented errors),
* keeps calling the API after the job finished (``success`` or ``failed``),
* makes more than ``poll_cap`` requests (it would poll forever; the server then refuses, and
  ``time.sleep`` stops the client's loop),
* calls an endpoint the spec does not have, or sends a body that is not JSON,
* or fails your own ``check(result, story)``.

While the client runs, ``time.sleep`` is replaced by a recorder (no real waiting on ``eta``);
inject your client's sleep function or call ``time.sleep`` through the module for this to apply.
Every URL in a drawn answer is rewritten to the scripted server, so a client that follows
``fetch_result`` or downloads outputs never leaves the machine (``GET /generations/...``
answers a small PNG).
"""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence
from unittest import mock
from urllib.parse import urlsplit

from contracts.core.extras import require

require("hypothesis", "contracts.modelslab.fuzz")

from hypothesis import HealthCheck, Phase, given, settings as hyp_settings  # noqa: E402

from contracts.modelslab.checks import operation_for
from contracts.core.redact import redact
from contracts.core.spec import SPEC_FILE, load_document, relative_base_path
from contracts.modelslab.strategies import job_stories

__all__ = ["ClientFailure", "PollCapExceeded", "ScriptedAPI", "Served", "fuzz_client", "run_client"]

TERMINAL = ("success", "failed")


class PollCapExceeded(BaseException):
    """Raised from the patched ``time.sleep`` once the client is known to misbehave (poll cap hit,
    or calling again after the job finished), to end its loop early.

    A ``BaseException`` so that a client's ``except Exception`` cannot swallow it; the harness
    turns it into an ordinary ``ClientFailure``. Stopping at the first wrong call also keeps
    every shrinking attempt short.
    """


@dataclass
class Served:
    """One request the client made and the answer it got."""

    method: str
    path: str
    operation: str
    request_body: Any
    status: int
    answer: Any
    script_index: int | None


def _tiny_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


class ScriptedAPI:
    """A loopback server answering API calls from a script: answer i for request i, then the last."""

    def __init__(self, poll_cap: int = 50, spec: str = SPEC_FILE, host: str = "127.0.0.1"):
        self.poll_cap = poll_cap
        self.spec = spec
        self.base_path = relative_base_path(load_document(spec))
        self._script: list[Any] = []
        self.served: list[Served] = []
        self.off_spec: list[str] = []
        self.cap_exceeded = False
        self.stop_client = False
        self.allow_calls_after_finish = False
        self._lock = threading.Lock()
        self._png = _tiny_png()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Buffered: status line, headers and body leave in one write (no Nagle/delayed-ACK stall).
            wbufsize = -1

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: bytes, content_type: str, close: bool = False) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                if "/generations/" in self.path:
                    self._send(200, api._png, "image/png")
                else:
                    api._note_off_spec(f"GET {self.path}")
                    self._send(404, b'{"status":"error","message":"not an endpoint of the spec"}', "application/json")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, answer, close = api._answer("POST", self.path, raw, self.headers.get("Content-Type"))
                self._send(status, json.dumps(answer).encode("utf-8"), "application/json", close)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.root_url = f"http://{host}:{self._server.server_port}"
        self.base_url = self.root_url + self.base_path
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-api", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "ScriptedAPI":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "ScriptedAPI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the script ------------------------------------------------------------------------------

    def _local(self, value: Any) -> Any:
        """Point every absolute URL at this server, so following links never leaves the machine."""
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            return self.root_url + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if isinstance(value, list):
            return [self._local(v) for v in value]
        if isinstance(value, dict):
            return {k: self._local(v) for k, v in value.items()}
        return value

    def load(self, script: Sequence[Any], allow_calls_after_finish: bool = False) -> list[Any]:
        """Serve these answers from now on; returns them as served (URLs made local)."""
        if not script:
            raise ValueError("a script needs at least one answer")
        with self._lock:
            self._script = [self._local(answer) for answer in script]
            self.served = []
            self.off_spec = []
            self.cap_exceeded = False
            self.stop_client = False
            self.allow_calls_after_finish = allow_calls_after_finish
            return list(self._script)

    def _note_off_spec(self, what: str) -> None:
        with self._lock:
            self.off_spec.append(what)

    def _answer(self, method: str, path: str, raw: bytes, content_type: str | None) -> tuple[int, Any, bool]:
        operation, _params = operation_for(method, self.root_url + path, self.spec)
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        with self._lock:
            api_calls = sum(1 for s in self.served if s.operation)
            if not operation:
                self.off_spec.append(f"{method} {path} (not an operation of the spec)")
                answer: Any = {"status": "error", "message": "not an endpoint of the spec"}
                self.served.append(Served(method, path, "", body, 404, answer, None))
                return 404, answer, False
            if not isinstance(body, dict):
                self.off_spec.append(f"{method} {path} with a body that is not a JSON object: {raw[:80]!r}")
            if not self.allow_calls_after_finish and _terminal_at(self.served) is not None:
                self.stop_client = True
            if api_calls >= self.poll_cap:
                self.cap_exceeded = self.stop_client = True
                answer = {"status": "error", "message": f"contracts fuzz: poll cap of {self.poll_cap} requests reached"}
                self.served.append(Served(method, path, operation, body, 503, answer, None))
                return 503, answer, True
            index = min(api_calls, len(self._script) - 1)
            answer = self._script[index]
            self.served.append(Served(method, path, operation, body, 200, answer, index))
            return 200, answer, False


# -- running a client against one story ------------------------------------------------------------


class ClientFailure(AssertionError):
    """The client misbehaved on a story; the message shows the story and what the client did."""

    def __init__(self, problem: str, story: list[Any], served: list[Served], result: Any = None):
        self.problem = problem
        self.story = story
        self.served = served
        self.result = result
        super().__init__(self._explain())

    def _explain(self) -> str:
        lines = [f"client failure: {self.problem}", "", f"responses drawn for this run ({len(self.story)}; "
                 "after the last one the job stays as it is):"]
        for index, answer in enumerate(self.story, 1):
            lines.append(f"  {index}. {json.dumps(redact(answer), ensure_ascii=False)}")
        lines.append("")
        lines.append(f"what the client did ({len(self.served)} request(s)):")
        total = len(self.served)
        for position, item in enumerate(self.served, 1):
            if total > 12 and 6 < position <= total - 4:
                if position == 7:
                    lines.append(f"     ... {total - 10} more ...")
                continue
            answered = f"answer {item.script_index + 1}" if item.script_index is not None else f"HTTP {item.status}"
            lines.append(f"  {position}. {item.method} {item.path} -> {answered}")
        return "\n".join(lines)


def _terminal_at(served: list[Served]) -> int | None:
    for position, item in enumerate(served):
        if item.operation and isinstance(item.answer, dict) and item.answer.get("status") in TERMINAL:
            return position
    return None


def run_client(api: ScriptedAPI, story: Sequence[Any], call: Callable[[], Any], *,
               expected: tuple[type[BaseException], ...] = (), check: Callable[[Any, list[Any]], None] | None = None,
               patch_sleep: bool = True, allow_calls_after_finish: bool = False) -> Any:
    """Serve ``story`` and run ``call()``; raise ``ClientFailure`` if the client misbehaved."""
    served_story = api.load(story, allow_calls_after_finish)
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        if isinstance(seconds, (int, float)) and seconds < 0:
            raise ValueError("sleep length must be non-negative")
        slept.append(seconds)
        if api.stop_client:
            raise PollCapExceeded()

    result: Any = None
    problem: str | None = None
    patcher = mock.patch.object(time, "sleep", fake_sleep) if patch_sleep else None
    if patcher is not None:
        patcher.start()
    try:
        result = call()
    except PollCapExceeded:
        pass  # the reason is in the log, judged below
    except expected:
        result = None
    except Exception as exc:  # anything else is a crash of the client on a legal answer
        problem = f"the client raised {type(exc).__name__}: {exc}"
    finally:
        if patcher is not None:
            patcher.stop()
    served = list(api.served)
    if api.cap_exceeded:  # whatever the client did with the refusals, the runaway loop is the bug
        problem = f"the client kept polling: it made more than {api.poll_cap} API requests (poll cap)"
    if problem is None and api.off_spec:
        problem = "the client called outside the spec: " + "; ".join(api.off_spec[:3])
    if problem is None and not allow_calls_after_finish:
        finished = _terminal_at(served)
        later = [s for s in served[finished + 1:] if s.operation] if finished is not None else []
        if later:
            status = served[finished].answer.get("status")
            problem = (f"the client kept calling the API after the job had finished with status {status!r} "
                       f"(answer to request {finished + 1}); it called again {len(later)} time(s) before it "
                       "was stopped")
    if problem is None and check is not None:
        try:
            check(result, served_story)
        except AssertionError as exc:
            problem = f"check failed: {exc}"
    if problem is not None:
        raise ClientFailure(problem, served_story, served, result)
    return result


def fuzz_client(call: Callable[[str], Any], *, expected: tuple[type[BaseException], ...] = (),
                check: Callable[[Any, list[Any]], None] | None = None, max_examples: int = 200,
                level: str = "spec", max_polls: int = 8, poll_cap: int = 50, settings: Any = None,
                allow_calls_after_finish: bool = False, spec: str = SPEC_FILE) -> None:
    """Fuzz ``call(base_url)`` (your client doing one inpaint job) with drawn response sequences.

    Raises the shrunk ``ClientFailure`` (Hypothesis also prints the falsifying story).
    """
    chosen = settings or hyp_settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                                      report_multiple_bugs=False,
                                      phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
    with ScriptedAPI(poll_cap=poll_cap, spec=spec) as api:
        @chosen
        @given(story=job_stories(level=level, max_polls=max_polls))  # type: ignore[arg-type]
        def client_survives(story: list[Any]) -> None:
            run_client(api, story, lambda: call(api.base_url), expected=expected, check=check,
                       allow_calls_after_finish=allow_calls_after_finish)

        client_survives()

