"""One redaction list for every sink: logs, the journal, reports, cassettes, failure text.

An API key must never leave the process it was sent to. Rather than each sink remembering
which fields are secret, they all pass data through ``redact`` (structured data) or
``redact_text`` (strings that may quote a body), which use the same list of secret field names
plus the secret values of the current run (the key a test run uses, an admin token).

Those values belong to one ``Redactor`` per run, never to the process: a run (``contracts run``,
a pytest session with the ``modelslab_mock`` plugin) makes one and activates it for its
duration (``with Redactor() as redactor:``); it is held in a ``ContextVar``, so two runs in one
process (or two threads, each with its own) never see each other's secrets, and nothing is left
behind when a run ends. ``register_secret`` adds to the active one; outside any run the first
registration starts one for the current context (thread or task). Sinks may also take a
``Redactor`` explicitly (``redactor.text(...)``).
"""

from __future__ import annotations

import json
import re
import threading
from contextvars import ContextVar, Token
from typing import Any, Iterable

__all__ = ["MASK", "SECRET_FIELDS", "Redactor", "current_redactor", "mask_registered", "redact",
           "redact_json_members", "redact_path", "redact_text", "register_secret", "registered_secrets",
           "unowned_segments"]

MASK = "***"

#: Field names whose values are secret wherever they appear (body, query, headers, meta).
SECRET_FIELDS = frozenset({"key", "api_key", "apikey", "authorization", "x-api-key", "token", "admin_token",
                           "x-mock-admin-token"})

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


class Redactor:
    """The secret values of one run, masked (with the shared field-name list) in every sink.

    ``with Redactor() as redactor:`` makes it the current one for this context; ``register``
    adds a value (4 characters or more: shorter ones would mask ordinary text).
    """

    def __init__(self, values: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset(v for v in values if isinstance(v, str) and len(v) >= 4)
        self._tokens: list[Token[Redactor | None]] = []

    def register(self, value: str | None) -> None:
        """Mask this exact value from now on (e.g. the key from MODELSLAB_API_KEY)."""
        if isinstance(value, str) and len(value) >= 4 and value not in self._values:
            with self._lock:
                self._values = self._values | {value}

    @property
    def values(self) -> frozenset[str]:
        """The registered values (an immutable snapshot: usable as a cache key)."""
        return self._values

    def redact(self, data: Any) -> Any:
        """A copy of ``data`` with every secret field's value, and every registered value, masked."""
        return _redact(data, self._values)

    def text(self, text: str, extra: Iterable[str] = ()) -> str:
        """``redact_text`` with this run's values."""
        return _redact_text(text, self._values, extra)

    def mask(self, text: str) -> str:
        """Only the registered values (for text where ``"key": ...`` pairs are not secrets)."""
        return _mask_values(text, self._values)

    def __enter__(self) -> "Redactor":
        self._tokens.append(_CURRENT.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._tokens.pop())


_CURRENT: ContextVar[Redactor | None] = ContextVar("contracts_redactor", default=None)


def current_redactor() -> Redactor | None:
    """The redactor of the run this code runs in (None outside any run)."""
    return _CURRENT.get()


def registered_secrets() -> frozenset[str]:
    """The current run's registered values (empty outside a run)."""
    redactor = _CURRENT.get()
    return redactor.values if redactor is not None else frozenset()


def register_secret(value: str | None) -> None:
    """Mask this exact value in every later ``redact_text`` of the current run; outside a run,
    the first registration starts a redactor for the current context."""
    if not (isinstance(value, str) and len(value) >= 4):
        return
    redactor = _CURRENT.get()
    if redactor is None:
        redactor = Redactor()
        _CURRENT.set(redactor)
    redactor.register(value)


def _is_secret_name(name: Any) -> bool:
    return isinstance(name, str) and name.lower() in SECRET_FIELDS


def redact(data: Any) -> Any:
    """A copy of ``data`` with every secret field's value replaced by ``***`` (and the current
    run's registered values masked in strings)."""
    return _redact(data, registered_secrets())


def _redact(data: Any, values: frozenset[str]) -> Any:
    if isinstance(data, dict):
        return {k: (MASK if _is_secret_name(k) and v not in (None, "") else _redact(v, values))
                for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_redact(v, values) for v in data]
    if isinstance(data, str):
        return _redact_text(data, values) if values else data
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
    """Mask ``"key": "..."``-style pairs (the name in any JSON spelling), every value registered
    in the current run and every ``extra`` secret value."""
    return _redact_text(text, registered_secrets(), extra)


def _redact_text(text: str, values: frozenset[str], extra: Iterable[str] = ()) -> str:
    if '"' in text:  # JSON-ish text: member names may be spelled with escapes, values cut short
        text = redact_json_members(text)
    text = _BEARER_RE.sub(lambda m: f"{m[1]} {MASK}", text)
    text = _FIELD_RE.sub(_mask_match, text)
    return _mask_values(text, values.union(v for v in extra if v))


#: A path segment this long in a request nothing answered could be a key sent in the URL.
_LONG_SEGMENT = re.compile(r"[^/]{16,}")


def unowned_segments(path: str) -> list[str]:
    """The segments of a path (before any ``?``) long enough to be a key: in a request nothing
    answered (a 404 no job or key owns) they are masked in every sink."""
    return _LONG_SEGMENT.findall(path.partition("?")[0])


def redact_path(path: str, unowned: bool = False, shown_params: Iterable[str] | None = None,
                extra: Iterable[str] = ()) -> str:
    """A request path (with its query) as every sink shows it: the console line, the journal (and
    so the inspector, the explain answer and its curl line). Query values of secret names
    (``key=``...) are masked, and with ``shown_params`` every value but those parameters'; in a
    request nothing answered (``unowned``) segments of 16 characters or more, which could be a
    key, are masked; registered and ``extra`` secret values are masked wherever they are."""
    head, sep, query = path.partition("?")
    if unowned:
        head = _LONG_SEGMENT.sub(MASK, head)
    if query and shown_params is not None:
        shown = frozenset(shown_params)
        items = (item.partition("=") for item in query.split("&"))
        query = "&".join(name + eq + (value if not eq or name in shown else MASK) for name, eq, value in items)
    return redact_text(head + sep + query, extra=extra)


def _mask_values(text: str, values: Iterable[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def mask_registered(text: str) -> str:
    """Mask only the current run's registered values (for text where ``"key": ...`` pairs are not secrets)."""
    return _mask_values(text, registered_secrets())
