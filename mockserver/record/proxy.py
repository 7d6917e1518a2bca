"""``mockserver record``: a proxy that forwards to the real API and writes each job as an episode.

A client pointed at the proxy reaches the upstream unchanged (same path, body and headers). On
the way it learns, from the spec's ``x-mock-behaviour``, which calls create jobs and which fetch
them, and keeps one episode per job: the submit, every poll with its offset, the final state,
webhooks delivered to ``/__record/webhook`` and what each output was. Keys are removed before
anything is written (``contracts.core.episodes``); generation calls stop after ``--budget``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from contracts.core.episodes import Cassette, Episode, RedactionError, match_key, redact_exchange
from contracts.core.routes import Route, routes_from_spec

__all__ = ["Recorder", "WEBHOOK_PATH"]

_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding"}
_BACK_DROP = _HOP | {"content-encoding", "server", "date"}
_MAX_OUTPUT = 32 * 1024 * 1024
_THUMB = 64
WEBHOOK_PATH = "/__record/webhook"
HEALTH_PATH = "/__record/health"


def _secrets_of(body: Any, headers: dict[str, str], query: str) -> list[str]:
    found = []
    if isinstance(body, dict) and isinstance(body.get("key"), str):
        found.append(body["key"])
    for name, value in headers.items():
        low = name.lower()
        if low in ("key", "x-api-key", "api-key"):
            found.append(value)
        elif low == "authorization":
            found.append(value.split(" ", 1)[-1])
    for name, values in parse_qs(query).items():
        if name.lower() in ("key", "api_key", "apikey"):
            found.extend(values)
    return [s.strip() for s in found if isinstance(s, str) and len(s.strip()) >= 4]


def _now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Recorder:
    """The proxy as a WSGI app. ``send`` does the upstream call (a ``requests.Session`` by default)."""

    def __init__(self, upstream: str, cassette: Cassette, document: dict[str, Any], budget: int = 5,
                 send: Callable[..., Any] | None = None, fetch_outputs: bool = True,
                 log: Callable[[str], None] | None = None):
        import requests

        self.upstream = upstream.rstrip("/")
        self.cassette = cassette
        self.routes = routes_from_spec(document)
        self.budget = budget
        self.spent = 0
        self.fetch_outputs = fetch_outputs
        self._session = requests.Session()
        self._send = send or self._session.request
        self._lock = threading.Lock()
        self._open: dict[str, tuple[Episode, float]] = {}  # job id -> (episode, monotonic submit time)
        self._secrets: set[str] = set()
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        cassette.create(self.upstream, _now_iso())

    # -- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "") or "/"
        query = environ.get("QUERY_STRING", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        if path.rstrip("/") == HEALTH_PATH:  # answered here: the upstream may be slow or down
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"status": "ok", "upstream": self.upstream, "budget": self.budget,
                                "spent": self.spent}).encode()]
        if method == "POST" and path.rstrip("/") == WEBHOOK_PATH:
            return self._webhook(raw, start_response)
        status, out_headers, body = self.forward(method, path, query, raw, headers)
        start_response(f"{status} {_reason(status)}", list(out_headers.items()))
        return [body]

    # -- the proxy -------------------------------------------------------------------------------

    def route(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            found = route.regex.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    def forward(self, method: str, path: str, query: str, raw: bytes,
                headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        secrets = _secrets_of(body, headers, query)
        with self._lock:
            self._secrets.update(secrets)
        route, params = self.route(path) if method == "POST" else (None, {})
        if route is not None and route.kind == "generate":
            with self._lock:
                if self.spent >= self.budget:
                    message = (f"mockserver record: the budget of {self.budget} generation calls is spent; "
                               f"nothing was forwarded (raise it with --budget)")
                    self.log(f"record: refused {path}: budget spent")
                    data = json.dumps({"status": "error", "message": message}).encode()
                    return 429, {"Content-Type": "application/json"}, data
                self.spent += 1
        url = self.upstream + path + (f"?{query}" if query else "")
        send_headers = {k: v for k, v in headers.items() if k.lower() not in _HOP}
        started = time.monotonic()
        try:
            answer = self._send(method, url, data=raw, headers=send_headers, timeout=120, allow_redirects=False)
        except Exception as exc:  # the upstream is down: say so as the gateway a client would meet
            self.log(f"record: {method} {path} -> upstream unreachable ({type(exc).__name__})")
            data = json.dumps({"status": "error", "message": f"mockserver record: upstream unreachable "
                                                             f"({type(exc).__name__})"}).encode()
            return 502, {"Content-Type": "application/json"}, data
        content = answer.content
        back = {k: v for k, v in answer.headers.items() if k.lower() not in _BACK_DROP}
        try:
            answer_body = json.loads(content) if content else None
        except ValueError:
            answer_body = content[:2000].decode("utf-8", "replace")
        self.log(f"record: {method} {path} -> {answer.status_code} "
                 f"{answer_body.get('status', '') if isinstance(answer_body, dict) else ''}".rstrip())
        if route is not None:
            try:
                self._remember(route, params, method, path + (f"?{query}" if query else ""), body, headers,
                               answer.status_code, dict(answer.headers), answer_body, started)
            except RedactionError as exc:
                self.log(f"record: NOT WRITTEN: {exc}")
                back["X-Mock-Record-Warning"] = str(exc)
        return answer.status_code, back, content

    def _remember(self, route: Route, params: dict[str, str], method: str, path: str, body: Any,
                  headers: dict[str, str], status: int, answer_headers: dict[str, str], answer: Any,
                  started: float) -> None:
        with self._lock:
            secrets = set(self._secrets)
        if route.kind == "generate":
            exchange = redact_exchange(method, path, status, answer, 0.0, body, answer_headers, headers)
            with self._lock:
                episode = Episode(id=self.cassette.next_id(), endpoint=path.split("?", 1)[0].rstrip("/"),
                                  operation=route.operation, match=match_key(path.split("?", 1)[0], body),
                                  submit=exchange, key_sent=bool(_secrets_of(body, headers, "")),
                                  recorded_at=_now_iso())
                if episode.job_id and not episode.finished:
                    self._open[episode.job_id] = (episode, started)
            self._finish_if_done(episode, secrets)
            self.cassette.write(episode, secrets)
            return
        if route.kind == "fetch":
            ident = params.get(route.id_name or "id") if route.id_in == "path" else \
                (body or {}).get(route.id_name or "request_id") if isinstance(body, dict) else None
            with self._lock:
                entry = self._open.get(str(ident)) if ident is not None else None
            if entry is None:
                return
            episode, submitted = entry
            episode.polls.append(redact_exchange(method, path, status, answer, time.monotonic() - submitted,
                                                 body, answer_headers, headers))
            if episode.finished:
                with self._lock:
                    self._open.pop(str(ident), None)
                self._finish_if_done(episode, secrets)
            self.cassette.write(episode, secrets)

    def _finish_if_done(self, episode: Episode, secrets: set[str]) -> None:
        if not episode.finished or episode.final_status != "success" or not self.fetch_outputs:
            return
        body = episode.last.body
        outputs = body.get("output") if isinstance(body, dict) else None
        if not isinstance(outputs, list):
            return
        for index, url in enumerate(outputs):
            if isinstance(url, str):
                episode.outputs.append(self._describe_output(episode.id, index, url))

    def _describe_output(self, episode_id: str, index: int, url: str) -> dict[str, Any]:
        """Type, size, dimensions, hash and a thumbnail: real output URLs expire, these do not."""
        info: dict[str, Any] = {"index": index}
        if not url.lower().startswith(("http://", "https://")):
            info["error"] = "not a URL (base64 output?)"
            return info
        try:
            answer = self._session.get(url, timeout=30, stream=True)
            data = answer.raw.read(_MAX_OUTPUT + 1, decode_content=True)
        except Exception as exc:
            info["error"] = f"could not download ({type(exc).__name__})"
            return info
        info.update(status=answer.status_code, content_type=answer.headers.get("Content-Type", ""),
                    size=len(data), sha256=hashlib.sha256(data).hexdigest())
        if len(data) > _MAX_OUTPUT:
            info["error"] = "larger than 32 MiB; not read whole"
            return info
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as image:
                info["width"], info["height"] = image.size
                image.thumbnail((_THUMB, _THUMB))
                out = io.BytesIO()
                image.convert("RGB").save(out, "PNG")
            info["thumbnail"] = self.cassette.write_thumb(f"{episode_id}-{index}.png", out.getvalue())
        except Exception as exc:  # not an image the proxy can read: the hash still says what it was
            info["error"] = f"not a readable image ({type(exc).__name__})"
        return info

    def _webhook(self, raw: bytes, start_response: Callable) -> Iterable[bytes]:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict):
            ident = str(body.get("id", ""))
            with self._lock:
                secrets = set(self._secrets)
                entry = self._open.get(ident)
                episode = entry[0] if entry else self._find_episode(ident, body.get("track_id"))
            if episode is not None:
                submitted = entry[1] if entry else None
                offset = round(time.monotonic() - submitted, 3) if submitted else None
                episode.webhooks.append({"offset": offset, "body": redact_exchange(
                    "POST", WEBHOOK_PATH, 200, body, 0, None, {}, {}).body})
                try:
                    self.cassette.write(episode, secrets)
                except RedactionError as exc:
                    self.log(f"record: NOT WRITTEN: {exc}")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status":"ok"}']

    def _find_episode(self, ident: str, track_id: Any) -> Episode | None:
        for episode in self.cassette.episodes():
            if ident and episode.job_id == ident:
                return episode
            sent = episode.submit.request_body
            if track_id is not None and isinstance(sent, dict) and sent.get("track_id") == track_id:
                return episode
        return None


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
