"""A ``curl`` line that reproduces a request, with every secret masked.

Failure messages end with the command that replays the request. It is built from the redacted
body and headers, so the API key can never leak through a failure text, a JUnit report or a CI
log; against a mock, ``***`` is itself an accepted key, so the line still works as printed.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, Mapping

from contracts.core.redact import redact, redact_text

__all__ = ["curl_command"]

_SKIP_HEADERS = {"content-length", "host", "user-agent", "accept-encoding", "connection", "accept",
                 "x-schemathesis-testcaseid"}


def curl_command(method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None,
                 raw_body: bytes | str | None = None) -> str:
    """``curl -X POST 'url' -H ... -d '...'`` with secrets replaced by ``***``."""
    parts = ["curl", "-X", method.upper(), shlex.quote(redact_text(url))]
    for name, value in (headers or {}).items():
        if name.lower() in _SKIP_HEADERS:
            continue
        safe = redact({name: value})[name]
        parts += ["-H", shlex.quote(f"{name}: {redact_text(str(safe))}")]
    if body is not None:
        if not any(k.lower() == "content-type" for k in (headers or {})):
            parts += ["-H", shlex.quote("Content-Type: application/json")]
        parts += ["-d", shlex.quote(json.dumps(redact(body), ensure_ascii=False))]
    elif raw_body:
        text = raw_body.decode("utf-8", "replace") if isinstance(raw_body, bytes) else raw_body
        parts += ["-d", shlex.quote(redact_text(text))]
    return " ".join(parts)
