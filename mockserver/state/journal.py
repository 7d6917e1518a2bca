"""The request journal: what each API call sent and got, for tests to inspect and verify.

Every API request (and every output-file GET) leaves one entry in the store's ``requests`` log:
method, path, operation, the body as sent (redacted), the validation result, warnings, the
variant, the HTTP status, the job id and ``track_id``, the scenario rule or fault that applied,
and timing. The log is capped by ``max_log_entries`` (the oldest go first) and each string in an
entry is shortened, so a client sending megabytes of base64 cannot exhaust memory.

Entries carry the namespace (``owner``) of the API key, never the key: bodies and headers go
through ``contracts.core.redact`` (the one redaction list), and any other place the key was echoed
is masked too. Filters: ``operation`` (an operationId, or a name the spec's ``OperationNames``
expands: ``fetch`` = every fetch operation, ``generate``, ``realtime``, ``inpaint``...), ``key``, ``track_id``,
``job_id``, ``status``, ``variant``, ``method``, ``path``, ``fault``, ``rule``, ``since`` and
body-field matchers (the scenario rules' ``match`` syntax).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import orjson

from contracts.core.redact import MASK, redact, redact_text, registered_secrets
from mockserver.state.matching import field_matches
from mockserver.state.budget import encoded_size, fit, json_size

__all__ = ["Journal", "MAX_ENTRY_BYTES", "MAX_PAGE_BYTES", "REQUESTS_LOG", "Page", "cap_entry", "iter_log", "limit",
           "mask_values", "scrub", "scrub_text"]

REQUESTS_LOG = "requests"
MAX_STRING = 300
MAX_ITEMS = 50
#: Bytes of JSON one log entry keeps (a journal entry, a webhook record): the head of what did not fit.
MAX_ENTRY_BYTES = 64 * 1024
#: Bytes of entries one admin listing returns; the rest is on the next page (``next_since``).
MAX_PAGE_BYTES = 2 * 1024 * 1024


_SCALARS = (bool, int, float, type(None))


_INT_RANGE = (-(2**63), 2**64 - 1)  # what JSON encoders (orjson, the stores) accept


def _clean_text(text: str) -> bool:
    """Short and encodable as UTF-8 (a lone surrogate from a JSON escape is not)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _needs_limit(data: dict[str, Any], max_string: int) -> bool:
    if len(data) > MAX_ITEMS:
        return True
    for key, value in data.items():
        kind = type(value)
        if kind is str:
            if len(value) > max_string or not _clean_text(value):
                return True
        elif kind is int:
            if not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
                return True
        elif kind not in _SCALARS:
            return True
        if type(key) is not str or len(key) > max_string or not _clean_text(key):
            return True
    return False


def _text(value: Any, max_string: int) -> str:
    text = value if isinstance(value, str) else str(value)
    if not _clean_text(text):
        text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) <= max_string:
        return text
    return f"{text[:max_string]}...(+{len(text) - max_string} chars)"


def limit(data: Any, max_string: int = MAX_STRING, _depth: int = 0) -> Any:
    """JSON-like data made safe to keep: long strings and lists shortened, deep nesting cut, integers
    beyond 64 bits and text that is not UTF-8 (lone surrogates) turned into plain strings."""
    kind = type(data)
    if kind is dict:
        if not _needs_limit(data, max_string):
            return data  # the common case: a flat body of short fields, nothing to copy
        if _depth > 8:
            return "...(nested too deeply)"
        items = list(data.items())
        out = {_text(k, max_string): limit(v, max_string, _depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["..."] = f"+{len(items) - MAX_ITEMS} fields"
        return out
    if isinstance(data, str):
        return data if len(data) <= max_string and _clean_text(data) else _text(data, max_string)
    if isinstance(data, int) and not isinstance(data, bool) and not _INT_RANGE[0] <= data <= _INT_RANGE[1]:
        return _text(data, max_string)
    if isinstance(data, (list, tuple)):
        if _depth > 8:
            return "...(nested too deeply)"
        out_list = [limit(v, max_string, _depth + 1) for v in data[:MAX_ITEMS]]
        if len(data) > MAX_ITEMS:
            out_list.append(f"...(+{len(data) - MAX_ITEMS} items)")
        return out_list
    if isinstance(data, dict):  # a dict subclass
        return limit(dict(data), max_string, _depth)
    return data


def _replace_secret(data: Any, secret: str) -> Any:
    if isinstance(data, str):
        return data.replace(secret, MASK)
    if isinstance(data, dict):
        return {k: _replace_secret(v, secret) for k, v in data.items()}
    if isinstance(data, list):
        return [_replace_secret(v, secret) for v in data]
    return data


def mask_values(data: Any, secrets: Iterable[str]) -> Any:
    """Mask these exact values (an API key echoed in a prompt, a header, a URL) anywhere in ``data``."""
    wanted = [s for s in secrets if isinstance(s, str) and len(s) >= 4]
    if not wanted:
        return data
    dumped = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS, default=str)
    for secret in wanted:
        if secret.encode("utf-8", "replace") in dumped or orjson.dumps(secret)[1:-1] in dumped:
            data = _replace_secret(data, secret)
    return data


def scrub(data: Any, secrets: Iterable[str] = ()) -> Any:
    """Redact secret fields (``contracts.core.redact``), then mask these exact values anywhere."""
    return mask_values(redact(data), secrets)


_SCRUBBED: dict[tuple[str, tuple[str, ...], frozenset[str]], str] = {}
_SCRUBBED_LIMIT = 4096


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``redact_text`` with these secrets too; remembered for short texts (the same warnings come
    back on every request). The answer also depends on the values registered in the current
    run (``contracts.core.redact``): that (immutable) set is part of the key."""
    extra = tuple(s for s in secrets if isinstance(s, str) and len(s) >= 4)
    if len(text) > 1024:
        return redact_text(text, extra=extra)
    key = (text, extra, registered_secrets())
    found = _SCRUBBED.get(key)
    if found is None:
        found = redact_text(text, extra=extra)
        if len(_SCRUBBED) >= _SCRUBBED_LIMIT:
            _SCRUBBED.clear()
        _SCRUBBED[key] = found
    return found


def cap_entry(entry: dict[str, Any], max_bytes: int = MAX_ENTRY_BYTES) -> dict[str, Any]:
    """A log entry within ``max_bytes`` of JSON: the entry itself when it fits (the usual case),
    else its small fields whole and its large ones (body, headers, payload...) cut to their head,
    with ``cut`` saying how large it was."""
    try:  # the usual case, measured in C (a walk of every entry cost about 15 us per request)
        if len(orjson.dumps(entry)) <= max_bytes:
            return entry
    except TypeError:  # not plain JSON data (orjson.JSONEncodeError is a TypeError): measure it below
        pass
    size = json_size(entry)
    if size <= max_bytes:
        return entry
    small = {k: v for k, v in entry.items() if json_size(v) <= 1024}
    room = max_bytes - json_size(small) - 100
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key in small:
            out[key] = value
            continue
        out[key] = fit(value, max(256, room))
        room -= json_size(out[key])
    out["cut"] = f"this entry had about {size} bytes; what did not fit in {max_bytes} was cut"
    return out


@dataclass
class Page:
    """One page of a listing: the entries, and where the next page starts when there is one."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    next_since: int | None = None  # pass as ``since`` for the rest; None when this was the last page
    bytes: int = 0


class Journal:
    """Writes and queries the ``requests`` log of a store."""

    def __init__(self, store: Any, enabled: bool = True, names: Any = None):
        self.store = store
        self.enabled = enabled
        self.names = names  # the spec's OperationNames: filters may say fetch, generate, inpaint, ... (None: ids only)

    def record(self, entry: dict[str, Any]) -> None:
        if self.enabled:
            self.store.append(REQUESTS_LOG, cap_entry(entry))

    def record_with_job(self, job: Any, entry: dict[str, Any]) -> None:
        """Store a new job and its request's entry: one transaction where the store offers it
        (SQLite: one write lock instead of two), else one after the other."""
        together = getattr(self.store, "put_job_and_append", None)
        if self.enabled and together is not None:
            together(job, REQUESTS_LOG, cap_entry(entry))
            return
        self.store.put_job(job)
        self.record(entry)

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        return self.store.entries(REQUESTS_LOG, since)

    def iter_entries(self, since: int = 0) -> Iterator[dict[str, Any]]:
        """The entries one batch at a time (memory bounded by a batch, not by the log)."""
        return iter_log(self.store, REQUESTS_LOG, since)

    def matching(self, owner: str | None = None, operation: str | None = None, track_id: str | None = None,
                 job_id: int | None = None, status: int | None = None, variant: str | None = None,
                 method: str | None = None, path: str | None = None, fault: str | None = None,
                 rule: str | None = None, since: int = 0, match: dict[str, Any] | None = None,
                 limit_to: int | None = None) -> Iterator[dict[str, Any]]:
        """Entries matching every filter given, oldest first, read a batch at a time (``limit_to`` is
        for ``query`` and ``page``; here it is ignored)."""
        operations = None
        if operation:
            operations = set()
            for name in operation.split(","):
                name = name.strip()
                expanded = self.names.expand(name) if self.names is not None else None
                operations.update(expanded or (name,))
        for entry in self.iter_entries(since):
            if owner is not None and entry.get("owner") != owner:
                continue
            if operations is not None and entry.get("operation") not in operations:
                continue
            if track_id is not None and str(entry.get("track_id")) != str(track_id):
                continue
            if job_id is not None and entry.get("job_id") != job_id:
                continue
            if status is not None and entry.get("status") != status:
                continue
            if variant is not None and entry.get("variant") != variant:
                continue
            if method is not None and str(entry.get("method", "")).upper() != method.upper():
                continue
            if path is not None and entry.get("path") != path:
                continue
            if fault is not None and entry.get("fault") != fault:
                continue
            if rule is not None and entry.get("rule") != rule:
                continue
            if match:
                body = entry.get("body")
                if not isinstance(body, dict) or not all(field_matches(body, f, s) for f, s in match.items()):
                    continue
            yield entry

    def query(self, limit_to: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Entries matching every filter given, oldest first (``limit_to``: only the newest N).
        The whole answer is in memory: admin listings use ``page``."""
        found = list(self.matching(**filters))
        if limit_to is not None:
            found = found[-limit_to:] if limit_to > 0 else []
        return found

    def count(self, limit_to: int | None = None, **filters: Any) -> int:
        """How many entries match (one batch in memory at a time)."""
        return sum(1 for _ in self.matching(**filters))

    def page(self, limit_to: int | None = None, max_bytes: int = MAX_PAGE_BYTES, **filters: Any) -> Page:
        """At most ``max_bytes`` of matching entries: the oldest from ``since`` on (``next_since`` says
        where the rest begins), or with ``limit_to`` the newest N that fit."""
        page = Page()
        if limit_to is not None:
            if limit_to <= 0:
                return page
            newest: deque[tuple[dict[str, Any], int]] = deque()
            for entry in self.matching(**filters):
                size = encoded_size(entry)
                newest.append((entry, size))
                page.bytes += size
                while len(newest) > limit_to or (page.bytes > max_bytes and len(newest) > 1):
                    page.bytes -= newest.popleft()[1]
            page.entries = [entry for entry, _ in newest]
            return page
        for entry in self.matching(**filters):
            size = encoded_size(entry)
            if page.entries and page.bytes + size > max_bytes:
                page.next_since = page.entries[-1].get("seq")
                break
            page.entries.append(entry)
            page.bytes += size
        return page


def iter_log(store: Any, log: str, since: int = 0) -> Iterator[dict[str, Any]]:
    """A log's entries from ``since`` on, a batch at a time where the store can (all stores here can)."""
    reader = getattr(store, "iter_entries", None)
    if reader is not None:
        return reader(log, since)
    return iter(store.entries(log, since))
