"""One redaction list for every sink: logs, the journal, reports, cassettes, failure text.

An API key must never leave the process it was sent to. Rather than each sink remembering
which fields are secret, they all pass data through ``redact`` (structured data) or
``redact_text`` (strings that may quote a body), which use the same list of secret field names
plus any secret values registered at run time (the key a test run uses).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable

__all__ = ["MASK", "SECRET_FIELDS", "mask_registered", "register_secret", "redact", "redact_text"]

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


def redact_text(text: str, extra: Iterable[str] = ()) -> str:
    """Mask ``"key": "..."``-style pairs and every registered (or ``extra``) secret value."""
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
