"""Read a request body into a JSON object, or say why it is not one.

The real service answers anything that is not a JSON object sent as ``application/json`` with
"Invalid API Request". Python's json module is lenient where that would hurt a mock: it takes
``NaN``, turns ``1e999`` into infinity and lets a duplicate key silently win. This parser
refuses all three, and bytes that are not UTF-8, without ever raising past its caller.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["BodyError", "is_json_content_type", "parse_json", "parse_object"]


class BodyError(ValueError):
    """The body is not a JSON object; the message says what is wrong (for warnings and the journal)."""


def is_json_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _no_constants(name: str) -> Any:
    raise BodyError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyError(f"number {text[:20]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise BodyError(f"duplicate key {name[:40]!r}")
        result[name] = value
    return result


def parse_object(raw: bytes) -> dict[str, Any]:
    """The body as a dict; ``BodyError`` for anything else."""
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise BodyError(f"body is a JSON {type(value).__name__}, not an object")
    return value


def parse_json(raw: bytes) -> Any:
    """Any JSON value, as strictly as ``parse_object`` reads one; ``BodyError`` when it is not JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyError("body is not UTF-8") from None
    try:
        value = json.loads(
            text,
            parse_constant=_no_constants,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except BodyError:
        raise
    except RecursionError:
        raise BodyError("body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int() past the digit limit
        raise BodyError(f"body is not valid JSON: {str(exc)[:80]}") from None
    return value
