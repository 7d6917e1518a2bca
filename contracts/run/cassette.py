"""Record a run's HTTP exchanges as a VCR-style cassette, redacted before anything is written.

Schemathesis's own VCR and HAR writers put request bodies in verbatim, API key included. A
contract run records through this class instead: every request and response is passed through
``contracts.core.redact`` as it is recorded, so the key is gone before the data reaches memory that
will be written, and the file is checked once more after writing. The format is vcrpy's
(``interactions: [{request: ..., response: ...}]``), readable by humans and tools.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import yaml

from contracts.core.redact import Redactor, current_redactor
from contracts.core.transport import HttpResponse

__all__ = ["Cassette", "RecordingTransport"]


def _text(data: bytes | str | None, redactor: Redactor) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    try:
        return json.dumps(redactor.redact(json.loads(data)), ensure_ascii=False)
    except ValueError:
        return redactor.text(data)


def _headers(headers: Any, redactor: Redactor) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in dict(headers or {}).items():
        values = value if isinstance(value, list) else [value]
        safe = redactor.redact({name: values})[name]
        out[name] = [redactor.text(str(v)) for v in (safe if isinstance(safe, list) else [safe])]
    return out


class Cassette:
    """The exchanges of one run, redacted with that run's ``Redactor`` (default: the one active
    when the cassette is made)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.interactions: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.redactor = redactor or current_redactor() or Redactor()

    def _add(self, method: str, uri: str, req_headers: Any, req_body: Any, status: int, resp_headers: Any,
             resp_body: Any) -> None:
        content_type = str(dict(resp_headers or {}).get("Content-Type", dict(resp_headers or {}).get("content-type", "")))
        if isinstance(content_type, list):
            content_type = content_type[0] if content_type else ""
        is_binary = "image" in content_type or "octet-stream" in content_type
        r = self.redactor
        body_text = f"<{len(resp_body or b'')} bytes of {content_type}>" if is_binary else _text(resp_body, r)
        entry = {
            "request": {"method": method.upper(), "uri": r.text(uri), "headers": _headers(req_headers, r),
                        "body": _text(req_body, r)},
            "response": {"status": {"code": status}, "headers": _headers(resp_headers, r),
                         "body": {"string": body_text}},
        }
        with self._lock:
            self.interactions.append(entry)

    def record(self, answer: HttpResponse) -> None:
        self._add(answer.method, answer.url, answer.request_headers, answer.request_body, answer.status,
                  answer.headers, answer.content)

    def record_schemathesis(self, response: Any) -> None:
        request = response.request
        headers = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in dict(response.headers).items()}
        self._add(str(request.method), str(request.url), dict(request.headers), request.body,
                  response.status_code, headers, response.content)

    def dump(self) -> str:
        with self._lock:
            return yaml.safe_dump({"version": 1, "interactions": list(self.interactions)}, sort_keys=False,
                                  allow_unicode=True)

    def write(self, path: str | Path) -> Path:
        """Write the cassette; registered secrets are masked once more on the way out (belt and braces:
        everything was redacted field by field when recorded; a text pass must not break the YAML)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.redactor.mask(self.dump()), encoding="utf-8")
        return target

    def __len__(self) -> int:
        return len(self.interactions)


class RecordingTransport:
    """Wraps a transport so that every exchange through it lands in a cassette."""

    def __init__(self, inner: Any, cassette: Cassette):
        self.inner = inner
        self.cassette = cassette

    def request(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        answer = self.inner.request(method, url, **kwargs)
        self.cassette.record(answer)
        return answer
