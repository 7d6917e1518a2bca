"""Compat mode: accept what real clients send, and say what was changed.

The documentation's own example sends ``"width": "512"`` and ``"negative_prompt": null``; the
official SDK sends ``num_inference_steps``; others send booleans for yes/no flags. The real
service takes all of these, so in compat mode the mock rewrites them into the strict form the
spec describes and records one warning per change. The field knowledge comes from the body
schema, read once per operation.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldRules", "Normaliser", "effective_params"]

_INT_RE = re.compile(r"^\s*[+-]?\d{1,18}\s*$")
_NUM_RE = re.compile(r"^\s*[+-]?(\d{1,18}(\.\d{0,18})?|\.\d{1,18})([eE][+-]?\d{1,3})?\s*$")
_TRUE = {"yes", "true", "1", "on"}
_FALSE = {"no", "false", "0", "off"}
_ALIASES = {"num_inference_steps": "steps"}
_B64_RE = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}$")


@dataclass(frozen=True)
class FieldRules:
    """What the schema says about one field, reduced to what coercion needs."""

    types: frozenset[str]
    enum: tuple[Any, ...] | None
    fmt: str | None
    required: bool

    @classmethod
    def from_schema(cls, schema: dict[str, Any], required: bool) -> "FieldRules":
        types: set[str] = set()
        for branch in schema.get("oneOf", schema.get("anyOf", [schema])):
            t = branch.get("type")
            types.update(t if isinstance(t, list) else [t] if t else [])
        enum = tuple(schema["enum"]) if "enum" in schema else None
        return cls(frozenset(types), enum, schema.get("format"), required)

    @property
    def is_yes_no(self) -> bool:
        return self.enum is not None and set(self.enum) == {"yes", "no"}


def _describe(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 40 else text[:37] + "..."


class Normaliser:
    """Rewrites a parsed body into the spec's strict form; built once per operation."""

    def __init__(self, body_schema: dict[str, Any]):
        required = set(body_schema.get("required", []))
        self.rules = {
            name: FieldRules.from_schema(sub, name in required)
            for name, sub in body_schema.get("properties", {}).items()
        }

    def normalise(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """(normalised body, warnings); the input is not modified."""
        out: dict[str, Any] = {}
        warnings: list[str] = []
        for name, value in body.items():
            target = _ALIASES.get(name)
            if target in self.rules and name not in self.rules:
                if body.get(target) is not None:
                    warnings.append(f"{name}: ignored, {target} was also sent")
                    continue
                warnings.append(f"{name}: read as {target}")
                name = target
            rules = self.rules.get(name)
            if rules is None:
                warnings.append(f"{name}: unknown field ignored")
                continue
            if value is None and "null" not in rules.types and not rules.required:
                warnings.append(f"{name}: null treated as absent")
                continue
            new, note = self._coerce(name, value, rules)
            if note:
                warnings.append(note)
            out[name] = new
        return out, warnings

    def _coerce(self, name: str, value: Any, rules: FieldRules) -> tuple[Any, str | None]:
        types = rules.types
        if isinstance(value, bool):
            if rules.is_yes_no:
                new = "yes" if value else "no"
                return new, f"{name}: {_describe(value)} read as \"{new}\""
            return value, None
        if isinstance(value, str):
            lowered = value.strip().lower()
            if rules.is_yes_no and value not in rules.enum and (lowered in _TRUE or lowered in _FALSE):
                new = "yes" if lowered in _TRUE else "no"
                return new, f"{name}: {_describe(value)} read as \"{new}\""
            if "integer" in types and "string" not in types and _INT_RE.match(value):
                new_int = int(value)
                return new_int, f"{name}: {_describe(value)} read as {new_int}"
            if "number" in types and "string" not in types and _NUM_RE.match(value):
                number = float(value)
                new_num: int | float = int(number) if number.is_integer() and "." not in value else number
                return new_num, f"{name}: {_describe(value)} read as {new_num}"
            if rules.fmt == "uri" and _looks_like_raw_base64(value):
                return f"data:image/png;base64,{value.strip()}", f"{name}: raw base64 read as a data URI"
            return value, None
        if isinstance(value, float) and "integer" in types and "number" not in types and value.is_integer():
            return int(value), f"{name}: {_describe(value)} read as {int(value)}"
        if isinstance(value, (int, float)) and "string" in types and not types & {"integer", "number"}:
            return str(value), f"{name}: {_describe(value)} read as \"{value}\""
        return value, None


def _looks_like_raw_base64(value: str) -> bool:
    if len(value) < 64 or ":" in value[:16] or not _B64_RE.match(value[:4096]):
        return False
    try:
        head = base64.b64decode(value[:64].strip() + "=" * (-len(value[:64].strip()) % 4))
    except (binascii.Error, ValueError):
        return False
    return head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8"))


def effective_params(body: dict[str, Any], body_schema: dict[str, Any]) -> dict[str, Any]:
    """The request with the schema's defaults filled in: what the service would use."""
    params = {
        name: sub["default"]
        for name, sub in body_schema.get("properties", {}).items()
        if "default" in sub
    }
    params.update({k: v for k, v in body.items() if v is not None or k not in params})
    return params
