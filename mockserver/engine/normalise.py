"""Compat mode: accept what real clients send, and say what was changed; both modes: read the
body the way the service does.

The documentation's own example sends ``"width": "512"`` and ``"negative_prompt": null``; the
official SDK sends ``num_inference_steps``; others send booleans for yes/no flags; form tools
send ``""`` for what is not set. The real service takes all of these, so in compat mode the mock
rewrites them into the strict form the spec describes and records one warning per change
(``Normaliser.normalise``). The field knowledge comes from the body schema, read once per
operation (``$ref`` siblings already merged by ``contracts.core.spec.deref``).

Whatever the mode, a body the spec accepts is then read as the service reads it
(``Normaliser.canonical``): ``7.0`` in an integer field is the integer 7 (JSON Schema calls it an
integer, so strict mode lets it through), an on/off flag sent as a boolean is ``"yes"``/``"no"``
(what ``meta`` echoes), and a value above an ``x-mock-clamp`` bound is used as the bound, with
a warning (the service caps such values instead of refusing them). ``effective_params`` fills in
the spec's defaults and the step count the job uses (``steps`` wins over ``num_inference_steps``).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["CLAMP", "FieldRules", "Normaliser", "effective_params"]

#: The extension that marks a bound the service caps instead of refusing: ``{maximum: N}`` / ``{minimum: N}``.
CLAMP = "x-mock-clamp"

_INT_RE = re.compile(r"^\s*[+-]?\d{1,18}\s*$")
_NUM_RE = re.compile(r"^\s*[+-]?(\d{1,18}(\.\d{0,18})?|\.\d{1,18})([eE][+-]?\d{1,3})?\s*$")
_TRUE = {"yes", "true", "1", "on"}
_FALSE = {"no", "false", "0", "off"}
#: Two names for one setting; when a body sends both, ``steps`` is the one used.
_ALIASES = {"num_inference_steps": "steps", "steps": "num_inference_steps"}
_STEPS_WIN = "steps"
_B64_RE = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}$")
_FLAG_WORDS = frozenset({"yes", "no"})
_INT_LIMIT = 2**63  # integral floats beyond any integer field's bounds stay floats (validation names them)


@dataclass(frozen=True)
class FieldRules:
    """What the schema says about one field, reduced to what coercion needs."""

    types: frozenset[str]
    enum: tuple[Any, ...] | None
    fmt: str | None
    required: bool
    clamp_min: int | float | None = None
    clamp_max: int | float | None = None

    @classmethod
    def from_schema(cls, schema: dict[str, Any], required: bool) -> "FieldRules":
        types: set[str] = set()
        for branch in [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]:
            t = branch.get("type") if isinstance(branch, dict) else None
            types.update(t if isinstance(t, list) else [t] if t else [])
        enum = tuple(schema["enum"]) if isinstance(schema.get("enum"), list) else None
        clamp = schema.get(CLAMP) if isinstance(schema.get(CLAMP), dict) else {}
        bound = lambda name: clamp.get(name) if _is_number(clamp.get(name)) else None  # noqa: E731
        return cls(frozenset(types), enum, schema.get("format"), required, bound("minimum"), bound("maximum"))

    @property
    def is_yes_no(self) -> bool:
        """An on/off option: an enum of "yes"/"no", perhaps with the booleans too (the family's
        YesNoFlag)."""
        if self.enum is None:
            return False
        words = {v for v in self.enum if isinstance(v, str)}
        others = [v for v in self.enum if not isinstance(v, str)]
        return words == _FLAG_WORDS and all(isinstance(v, bool) for v in others)

    @property
    def takes_booleans(self) -> bool:
        return self.is_yes_no and any(v is True for v in self.enum or ()) and any(v is False for v in self.enum or ())

    @property
    def integer_only(self) -> bool:
        return "integer" in self.types and "number" not in self.types


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _describe(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 40 else text[:37] + "..."


def _flag(value: bool) -> str:
    return "yes" if value else "no"


class Normaliser:
    """Rewrites a parsed body into the spec's strict form; built once per operation.

    ``images`` names the body fields holding input images (the operation's ``x-mock-behaviour``
    ``images``); raw base64 in one of them is turned into a data URI only where the schema wants a
    URI (``format: uri``), never where it takes base64 itself. Without ``images``, every field
    with ``format: uri`` is a candidate (the Pony spec's image fields).
    """

    def __init__(self, body_schema: dict[str, Any], images: Iterable[str] | None = None):
        required = set(body_schema.get("required", []))
        properties = body_schema.get("properties", {})
        self.rules = {name: FieldRules.from_schema(sub, name in required) for name, sub in properties.items()
                      if isinstance(sub, dict)}
        self.images = frozenset(images) if images is not None else None
        #: False when the schema says ``additionalProperties: false``: unknown fields are dropped (compat).
        self.keeps_unknown = body_schema.get("additionalProperties", True) is not False
        self._both_steps = "steps" in self.rules and "num_inference_steps" in self.rules
        self._defaults: dict[str, Any] = {}
        for name, sub in properties.items():
            if isinstance(sub, dict) and "default" in sub:
                default = sub["default"]
                if isinstance(default, bool) and self.rules[name].is_yes_no:
                    default = _flag(default)
                self._defaults[name] = default
        self._clamped = {name: rules for name, rules in self.rules.items()
                         if rules.clamp_min is not None or rules.clamp_max is not None}
        self._integers = frozenset(name for name, rules in self.rules.items() if rules.integer_only)
        self._flags = frozenset(name for name, rules in self.rules.items() if rules.takes_booleans)

    # -- compat: sloppy forms into the strict form -------------------------------------------------

    def normalise(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """(normalised body, warnings); the input is not modified."""
        out: dict[str, Any] = {}
        warnings: list[str] = []
        steps_sent = body.get(_STEPS_WIN) is not None
        for name, value in body.items():
            if name != _STEPS_WIN and _ALIASES.get(name) is not None and steps_sent and not self._both_steps \
                    and (name in self.rules or _ALIASES[name] in self.rules):
                warnings.append(f"{name}: ignored, {_STEPS_WIN} was also sent")
                continue
            target = _ALIASES.get(name)
            if target in self.rules and name not in self.rules:
                warnings.append(f"{name}: read as {target}")
                name = target
            rules = self.rules.get(name)
            if rules is None:
                if not self.keeps_unknown:
                    warnings.append(f"{name}: unknown field ignored")
                    continue
                out[name] = value  # the schema takes fields it does not list (v7): kept as sent
                continue
            if isinstance(value, str) and not rules.required and not value.strip():
                if "null" in rules.types:
                    warnings.append(f"{name}: {_describe(value)} treated as null")
                    out[name] = None
                else:
                    warnings.append(f"{name}: {_describe(value)} treated as absent")
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
            if rules.is_yes_no and not rules.takes_booleans:
                new = _flag(value)
                return new, f"{name}: {_describe(value)} read as \"{new}\""
            return value, None  # a flag that takes booleans: read by ``canonical``, no change to report
        if isinstance(value, str):
            lowered = value.strip().lower()
            if rules.is_yes_no and value not in _FLAG_WORDS and (lowered in _TRUE or lowered in _FALSE):
                new = "yes" if lowered in _TRUE else "no"
                return new, f"{name}: {_describe(value)} read as \"{new}\""
            if "integer" in types and "string" not in types and _INT_RE.match(value):
                new_int = int(value)
                return new_int, f"{name}: {_describe(value)} read as {new_int}"
            if "number" in types and "string" not in types and _NUM_RE.match(value):
                number = float(value)
                new_num: int | float = int(number) if number.is_integer() and "." not in value else number
                return new_num, f"{name}: {_describe(value)} read as {new_num}"
            if rules.integer_only and "string" not in types and _NUM_RE.match(value):
                number = float(value)
                if number.is_integer() and abs(number) < _INT_LIMIT:
                    return int(number), f"{name}: {_describe(value)} read as {int(number)}"
            if rules.fmt == "uri" and (self.images is None or name in self.images) and _looks_like_raw_base64(value):
                return f"data:image/png;base64,{value.strip()}", f"{name}: raw base64 read as a data URI"
            return value, None
        if isinstance(value, int) and rules.is_yes_no and value in (0, 1):
            new = _flag(bool(value))
            return new, f"{name}: {_describe(value)} read as \"{new}\""
        if isinstance(value, float) and rules.integer_only and value.is_integer():
            return int(value), f"{name}: {_describe(value)} read as {int(value)}"
        if isinstance(value, (int, float)) and "string" in types and not types & {"integer", "number"}:
            return str(value), f"{name}: {_describe(value)} read as \"{value}\""
        return value, None

    # -- both modes: the valid body as the service reads it ----------------------------------------

    def canonical(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """(body as the service reads it, warnings) for a body the spec accepts: integral floats in
        integer fields as integers, flags sent as booleans as "yes"/"no" (silently: both are what the
        spec allows), values beyond an ``x-mock-clamp`` bound as the bound (with a warning). The
        input is not modified; a body needing nothing is returned as it is."""
        changes: dict[str, Any] = {}
        warnings: list[str] = []
        for name in self._integers.intersection(body):
            value = body[name]
            if isinstance(value, float) and value.is_integer() and abs(value) < _INT_LIMIT:
                changes[name] = int(value)
        for name in self._flags.intersection(body):
            if isinstance(body[name], bool):
                changes[name] = _flag(body[name])
        for name in [name for name in body if name in self._clamped]:  # body order: warnings replay the same
            value = changes.get(name, body[name])
            if not _is_number(value):
                continue
            rules = self._clamped[name]
            if rules.clamp_max is not None and value > rules.clamp_max:
                changes[name] = rules.clamp_max
                warnings.append(f"{name}: {_describe(value)} is above the maximum {rules.clamp_max}; "
                                f"used as {rules.clamp_max}")
            elif rules.clamp_min is not None and value < rules.clamp_min:
                changes[name] = rules.clamp_min
                warnings.append(f"{name}: {_describe(value)} is below the minimum {rules.clamp_min}; "
                                f"used as {rules.clamp_min}")
        if not changes:
            return body, warnings
        return {**body, **changes}, warnings

    def effective_params(self, body: dict[str, Any]) -> dict[str, Any]:
        """The (canonical) request with the schema's defaults filled in: what the service would use.
        ``steps`` is the step count the job runs: ``steps`` when sent, else ``num_inference_steps``
        when sent, else the default of ``steps``, else that of ``num_inference_steps``."""
        params = dict(self._defaults)
        params.update({k: v for k, v in body.items() if v is not None or k not in params})
        if body.get("steps") is None:
            sent = body.get("num_inference_steps")
            if sent is not None:
                params["steps"] = sent
            elif params.get("steps") is None and params.get("num_inference_steps") is not None:
                params["steps"] = params["num_inference_steps"]
        return params


def _looks_like_raw_base64(value: str) -> bool:
    if len(value) < 64 or ":" in value[:16] or not _B64_RE.match(value[:4096]):
        return False
    try:
        head = base64.b64decode(value[:64].strip() + "=" * (-len(value[:64].strip()) % 4))
    except (binascii.Error, ValueError):
        return False
    return head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8"))


_BY_SCHEMA: dict[int, tuple[dict[str, Any], Normaliser]] = {}


def effective_params(body: dict[str, Any], body_schema: dict[str, Any]) -> dict[str, Any]:
    """``Normaliser(body_schema).effective_params(body)``, the normaliser kept per schema object."""
    known = _BY_SCHEMA.get(id(body_schema))
    if known is None or known[0] is not body_schema:
        if len(_BY_SCHEMA) >= 64:
            _BY_SCHEMA.clear()
        known = _BY_SCHEMA[id(body_schema)] = (body_schema, Normaliser(body_schema))
    return known[1].effective_params(body)
