"""Bytes, not counts: cut JSON-like data to a byte budget, keeping its head and marking the cut.

Caps that count entries let one entry be as large as a client makes it (a 25 MiB prompt, a body
nested fifty wide and eight deep). ``fit`` walks data in order and keeps what fits in a budget
of JSON bytes: a string that does not fit keeps its head and ends in ``...(+N chars)``, an
object or list that does not fit keeps its first members and ends in a ``"..."`` marker saying
how many were cut. Sizes are counted as UTF-8 JSON (quotes, separators, escapes roughly), so
the result encodes to about the budget, never to much more.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["CUT_KEY", "cut_text", "encoded_size", "fit", "json_size"]

#: The member that marks an object whose tail was cut.
CUT_KEY = "..."
_MARK_ROOM = 48  # what a marker costs at most


def cut_text(text: str, limit: int) -> str:
    """``text`` when it has at most ``limit`` characters, else its head and ``...(+N chars)``."""
    if len(text) <= limit:
        return text
    return f"{text[:max(0, limit)]}...(+{len(text) - max(0, limit)} chars)"


def _text_size(text: str) -> int:
    if text.isascii():
        return len(text) + 2 + text.count('"') + text.count("\\")
    return len(text.encode("utf-8", "replace")) + 2


def json_size(data: Any) -> int:
    """About how many bytes ``data`` takes as compact JSON (never less than a few percent under)."""
    kind = type(data)
    if kind is str:
        return _text_size(data)
    if kind is dict or isinstance(data, dict):
        return 2 + sum(_text_size(str(k)) + 1 + json_size(v) + 1 for k, v in data.items())
    if kind in (list, tuple) or isinstance(data, (list, tuple)):
        return 2 + sum(json_size(v) + 1 for v in data)
    if data is None or kind is bool:
        return 5
    return len(repr(data))


def encoded_size(data: Any) -> int:
    """The exact size of ``data`` as compact JSON where orjson can encode it (microseconds, in C),
    else ``json_size``'s estimate (integers past 64 bits)."""
    try:
        return len(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS))
    except TypeError:
        return json_size(data)


def fit(data: Any, budget: int, max_text: int | None = None) -> Any:
    """``data`` cut to about ``budget`` bytes of JSON (strings also to ``max_text`` characters);
    unchanged (the same object) when it fits."""
    try:  # the common case, in C: no text is longer than the whole's JSON, so if that fits, all fits
        if len(orjson.dumps(data)) <= (budget if max_text is None else min(budget, max_text)):
            return data
    except TypeError:  # not plain JSON data (orjson.JSONEncodeError is a TypeError): walk it
        pass
    if max_text is None and json_size(data) <= budget:
        return data
    value, _ = _fit(data, max(budget, _MARK_ROOM), max_text)
    return value


def _fit(data: Any, room: int, max_text: int | None) -> tuple[Any, int]:
    kind = type(data)
    if kind is str:
        size = _text_size(data)
        if size <= room and (max_text is None or len(data) <= max_text):
            return data, size
        keep = max(0, min(len(data), room - _MARK_ROOM))
        if max_text is not None:
            keep = min(keep, max_text)
        if not data.isascii():  # bytes, not characters: a character may take four
            keep //= 4
        text = cut_text(data, keep)
        return text, _text_size(text)
    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        used = 2
        items = list(data.items())
        for index, (key, value) in enumerate(items):
            key_size = _text_size(str(key)) + 2
            if used + key_size + _MARK_ROOM * 2 > room:
                out[CUT_KEY] = f"+{len(items) - index} fields cut"
                used += _MARK_ROOM
                break
            fitted, size = _fit(value, room - used - key_size - _MARK_ROOM, max_text)
            out[key] = fitted
            used += key_size + size
        return out, used
    if isinstance(data, (list, tuple)):
        out_list: list[Any] = []
        used = 2
        for index, value in enumerate(data):
            if used + _MARK_ROOM * 2 > room:
                out_list.append(f"...(+{len(data) - index} items cut)")
                used += _MARK_ROOM
                break
            fitted, size = _fit(value, room - used - _MARK_ROOM, max_text)
            out_list.append(fitted)
            used += size + 1
        return out_list, used
    return data, json_size(data)
