"""One line per request on the console: what ``mockserver run`` prints while it serves.

``AccessLog`` wraps the WSGI app callable, whatever serves it. The engine already knows what
each answer was; the HTTP layer hands the ``Outcome`` over through the WSGI environ (``note``,
called by ``mockserver.web.responses.encode``), so the line costs no second look at the body.

    12:00:01.042 POST /api/v6/images/inpaint key=***(3f2a9c1e) success 200 4.1ms 8 warnings

Fields: local time, method, path (query values other than the admin API's filters masked, and
in a 404 that no job owns, path segments of 16 characters or more, which could be a key), the
key as ``***`` with the owner in brackets (the hash state is filed under, as in the journal and
the admin API; never the key), the status word (the engine's variant: ``success``,
``processing``, ``error``, ``failed``, ``fault``, ``image``, ``not_found``...; ``-`` for
requests the engine did not answer, such as the admin API), the HTTP status, milliseconds
until the body was handed to the server, and the number of ``X-Mock-Warnings``. Colours only
when the stream is a terminal (and ``NO_COLOR`` is unset). ``--log-format json`` prints the same
fields as one JSON object per line; ``--quiet`` prints none.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from typing import Any, Callable, Iterable, TextIO

import orjson

from contracts.core.redact import redact_path

__all__ = ["AccessLog", "ENVIRON_KEY", "format_json", "format_text", "note", "wrap"]

#: Where the HTTP layer leaves the engine's Outcome for this request.
ENVIRON_KEY = "mockserver.outcome"

_COLOURS = {"success": "32", "processing": "36", "image": "32", "error": "31", "failed": "35",
            "fault": "31;1", "not_found": "33"}


def note(environ: Any, outcome: Any) -> None:
    """Called by the HTTP layer with the Outcome it is about to send (cheap: one dict store)."""
    if environ is not None:
        try:
            environ[ENVIRON_KEY] = outcome
        except TypeError:  # a read-only mapping: nobody is logging
            pass


#: Query parameters whose values are shown (the admin API's filters); every other value is ``***``.
_SHOWN_PARAMS = frozenset({"operation", "track_id", "job_id", "status", "variant", "method", "path", "fault",
                           "rule", "since", "limit", "outcome"})


def _path(environ: dict[str, Any], unknown: bool = False) -> str:
    path = environ.get("PATH_INFO", "") or "/"
    query = environ.get("QUERY_STRING", "")
    if query:
        path = f"{path}?{query}"
    # WSGI gives latin-1 decoded bytes; show them as the client sent them, masked as in every sink
    text = path.encode("latin-1", "replace").decode("utf-8", "replace")
    text = redact_path(text, unowned=unknown, shown_params=_SHOWN_PARAMS)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 200 else text[:197] + "..."


def _fields(environ: dict[str, Any], status: int, elapsed_ms: float) -> dict[str, Any]:
    outcome = environ.get(ENVIRON_KEY)
    owner = getattr(outcome, "owner", None)
    return {
        "time": time.time(),
        "method": str(environ.get("REQUEST_METHOD", "-"))[:16],
        "path": _path(environ, unknown=status == 404 and not owner),
        "key": "***" if owner else None,
        "owner": owner,
        "status_word": getattr(outcome, "variant", None),
        "status": status,
        "ms": round(elapsed_ms, 1),
        "warnings": len(getattr(outcome, "warnings", None) or ()),
    }


def format_text(fields: dict[str, Any], colour: bool = False) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(fields["time"]))
    stamp += f".{int(fields['time'] * 1000) % 1000:03d}"
    key = f"key=***({fields['owner'][:8]})" if fields["owner"] else "key=-"
    word = fields["status_word"] or "-"
    status = str(fields["status"])
    if colour:
        code = _COLOURS.get(word)
        if code:
            word = f"\x1b[{code}m{word}\x1b[0m"
        if fields["status"] >= 500:
            status = f"\x1b[31;1m{status}\x1b[0m"
        stamp = f"\x1b[2m{stamp}\x1b[0m"
    warnings = fields["warnings"]
    tail = f" {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
    return f"{stamp} {fields['method']} {fields['path']} {key} {word} {status} {fields['ms']:.1f}ms{tail}"


def format_json(fields: dict[str, Any]) -> str:
    record = dict(fields)
    record["time"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(fields["time"])) + \
        f".{int(fields['time'] * 1000) % 1000:03d}Z"
    return orjson.dumps(record).decode()


class _Writer:
    """Writes lines from a bounded queue on a thread of its own, so a slow or full console (a pipe
    nobody reads) never holds up an answer: when the queue is full, lines are dropped and counted,
    and the count is printed once the console takes lines again. Started lazily in each process
    (a forked server worker gets its own)."""

    def __init__(self, stream: TextIO, size: int = 10_000):
        self.stream = stream
        try:
            self.fd: int | None = stream.fileno()  # os.write: no Python buffer a blocked write could hold
        except (AttributeError, OSError, ValueError):
            self.fd = None
        self.size = size
        self.pid = -1
        self.queue: queue.Queue[str] = queue.Queue(size)
        self.dropped = 0
        self.broken = False
        self.starting = threading.Lock()

    def put(self, line: str) -> None:
        if self.broken:
            return
        if self.pid != os.getpid():  # first line in this process: a fresh queue and thread
            with self.starting:
                if self.pid != os.getpid():
                    self.queue = queue.Queue(self.size)
                    threading.Thread(target=self._run, name="access-log", daemon=True).start()
                    self.pid = os.getpid()
        try:
            self.queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        lines = self.queue
        while True:
            line = lines.get()
            try:
                if self.dropped:
                    dropped, self.dropped = self.dropped, 0
                    line = f"({dropped} request line(s) dropped: the console did not keep up)\n{line}"
                if self.fd is not None:
                    data = line.encode("utf-8", "replace")
                    while data:
                        data = data[os.write(self.fd, data):]
                else:
                    self.stream.write(line)
                    self.stream.flush()
            except (OSError, ValueError):  # the console went away (closed pipe): keep serving, stop logging
                self.broken = True
            finally:
                lines.task_done()
            if self.broken:
                return

    def drain(self) -> None:
        """Wait until every queued line is written (tests)."""
        if self.pid == os.getpid():
            self.queue.join()


class AccessLog:
    """WSGI middleware: call ``app``, then queue one line for the answer to ``stream``."""

    def __init__(self, app: Callable, stream: TextIO | None = None, fmt: str = "text",
                 colour: bool | None = None):
        if fmt not in ("text", "json"):
            raise ValueError(f"log format must be text or json, not {fmt!r}")
        self.app = app
        self.stream = stream if stream is not None else sys.stdout
        self.fmt = fmt
        if colour is None:
            isatty = getattr(self.stream, "isatty", None)
            colour = bool(isatty and isatty()) and not os.environ.get("NO_COLOR")
        self.colour = colour and fmt == "text"
        self._writer = _Writer(self.stream)

    def __getattr__(self, name: str) -> Any:  # the wrapped app's attributes (e.g. Adapter.fallback)
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: list[int] = []

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            try:
                seen.append(int(status.split(" ", 1)[0]))
            except ValueError:
                seen.append(0)
            return start_response(status, headers, exc_info) if exc_info is not None else start_response(status, headers)

        try:
            result = self.app(environ, recording_start_response)
        except BaseException:
            self._write(environ, 500, started)
            raise
        self._write(environ, seen[-1] if seen else 0, started)
        return result

    def _write(self, environ: dict[str, Any], status: int, started: float) -> None:
        if self._writer.broken:
            return
        fields = _fields(environ, status, (time.perf_counter() - started) * 1000.0)
        line = format_json(fields) if self.fmt == "json" else format_text(fields, self.colour)
        self._writer.put(line + "\n")

    def drain(self) -> None:
        """Wait until every line so far is on the console."""
        self._writer.drain()


def wrap(app: Callable, config: Any, stream: TextIO | None = None) -> Callable:
    """``app`` with the access log the config asks for (``quiet``: none)."""
    if getattr(config, "quiet", False):
        return app
    return AccessLog(app, stream, getattr(config, "log_format", "text"))
