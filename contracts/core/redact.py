"""One redaction list for every sink: logs, the journal, reports, cassettes, failure text.

An API key must never leave the process it was sent to. Rather than each sink remembering
which fields are secret, they all pass data through ``redact`` (structured data) or
``redact_text`` (strings that may quote a body), which use the same list of secret field names
plus any secret values registered at run time (the key a test run uses).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Iterable

__all__ = ["MASK", "SECRET_FIELDS", "mask_registered", "redact", "redact_json_members", "redact_text",
           "register_secret"]

MASK = "***"

#: Field names whose values are secret wherever they appear (body, query, headers, meta).
SECRET_FIELDS = frozenset({"key", "api_key", "apikey", "authorization", "x-api-key", "token", "admin_token",
                           "x-mock-admin-token"})

_secrets: set[str] = set()
_lock = threading.Lock()
_NAMES = "|".join(re.escape(f) for f in sorted(SECRET_FIELDS, key=len, reverse=True))
_FIELD_RE = re.compile(
    r'(?P<prefix>["\']?\b(?:' + _NAMES + r')\b["\']?\s*[:=]\s*)'
    r'(?:"(?P<dq>(?:\\.|[^"\\])*)"|\'(?P<sq>(?:\\.|[^\'\\])*)\'|(?P<bare>[^"\'&,}\s]+))',
    re.IGNORECASE,
)
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',]+")
# One JSON string token, read the way a JSON reader does (a cut-off one runs to the end); the
# unrolled form is linear: no two branches can start on the same character.
_STRING_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)', re.S)
_MEMBER_COLON = re.compile(r"\s*:\s*")
_BARE_VALUE = re.compile(r"[^,}\]\s]*")
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_OTHER_ESCAPE = re.compile(r"\\(.)", re.S)


def register_secret(value: str | None) -> None:
    """Mask this exact value in every later ``redact_text`` (e.g. the key from MODELSLAB_API_KEY)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def _is_secret_name(name: Any) -> bool:
    return isinstance(name, str) and name.lower() in SECRET_FIELDS


def redact(data: Any) -> Any:
    """A copy of ``data`` with every secret field's value replaced by ``***``."""
    if isinstance(data, dict):
        return {k: (MASK if _is_secret_name(k) and v not in (None, "") else redact(v)) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact(v) for v in data]
    if isinstance(data, str):
        return redact_text(data) if _secrets else data
    return data


def _mask_match(match: re.Match[str]) -> str:
    if match["dq"] is not None:
        return f'{match["prefix"]}"{MASK}"' if match["dq"] else match[0]
    if match["sq"] is not None:
        return f"{match['prefix']}'{MASK}'" if match["sq"] else match[0]
    return f"{match['prefix']}{MASK}"


def _json_name(token: str) -> str:
    """The text of a JSON string token (quotes included), leniently: a bad escape is read as far as it goes."""
    inner = token[1:-1] if len(token) > 1 and token.endswith('"') else token[1:]
    try:
        return json.loads(f'"{inner}"')
    except ValueError:
        inner = _UNICODE_ESCAPE.sub(lambda m: chr(int(m[1], 16)), inner)
        return _OTHER_ESCAPE.sub(lambda m: m[1], inner)


def redact_json_members(text: str) -> str:
    """Mask the value of every member whose name is secret in any JSON spelling (``"\\u006bey"``,
    ``"K\\u0045Y"``), in text that may not parse at all (a trailing comma, cut short). String
    tokens are read in order, as a JSON reader would; a value cut short is masked to the end."""
    if '"' not in text:
        return text
    pieces: list[str] = []
    done = pos = 0
    while True:
        token = _STRING_TOKEN.search(text, pos)
        if token is None:
            break
        pos = token.end()
        colon = _MEMBER_COLON.match(text, pos)
        if colon is None or not _is_secret_name(_json_name(token[0])):
            continue
        start = colon.end()
        value = _STRING_TOKEN.match(text, start) if text.startswith('"', start) else _BARE_VALUE.match(text, start)
        end = value.end() if value is not None else start
        if end > start and text[start:end] != '""':
            pieces.append(text[done:start])
            pieces.append(f'"{MASK}"')
            done = end
        pos = max(pos, end)
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def redact_text(text: str, extra: Iterable[str] = ()) -> str:
    """Mask ``"key": "..."``-style pairs (the name in any JSON spelling) and every registered (or
    ``extra``) secret value."""
    if '"' in text:  # JSON-ish text: member names may be spelled with escapes, values cut short
        text = redact_json_members(text)
    text = _BEARER_RE.sub(lambda m: f"{m[1]} {MASK}", text)
    text = _FIELD_RE.sub(_mask_match, text)
    with _lock:
        values = sorted(set(_secrets).union(v for v in extra if v), key=len, reverse=True)
    for value in values:
        text = text.replace(value, MASK)
    return text


def mask_registered(text: str) -> str:
    """Mask only the registered secret values (for text where ``"key": ...`` pairs are not secrets)."""
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        text = text.replace(value, MASK)
    return text
