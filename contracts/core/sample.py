"""Draw one random instance of a (dereferenced) JSON schema from a ``random.Random``.

This is Prism's ``Prefer: dynamic=true``: a body that is valid for the response schema but
otherwise arbitrary, cheap enough to make per request, and reproducible from a seed. For
property tests with shrinking use ``contracts.modelslab.strategies`` instead.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

__all__ = ["sample"]

_WORDS = ("cat", "bench", "sunset", "portrait", "forest", "neon", "city", "river")


_DIGITS = re.compile(r"\^\[0-9\]\{(\d+),(\d+)\}\$")


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    digits = _DIGITS.fullmatch(str(schema.get("pattern", "")))
    if digits:  # an id written as digits (^[0-9]{1,18}$)
        return "".join(rng.choice(string.digits) for _ in range(rng.randint(int(digits[1]), int(digits[2]))))
    if schema.get("format") == "uri":
        return f"https://example.com/generations/{rng.getrandbits(64):016x}.png"
    shortest = schema.get("minLength", 0)
    size = rng.randint(shortest, max(shortest, min(schema.get("maxLength", 12), 40)))
    if rng.random() < 0.5 and "pattern" not in schema:
        words = " ".join(rng.choice(_WORDS) for _ in range(max(1, size // 5)))[: max(size, 1)]
        return words + "".join(rng.choice(string.ascii_letters) for _ in range(shortest - len(words)))
    return "".join(rng.choice(string.ascii_letters) for _ in range(size))  # letters: what base64 patterns take


def _number(schema: dict[str, Any], rng: random.Random, integer: bool) -> float | int:
    lo = schema.get("minimum", 0)
    hi = schema.get("maximum", lo + 1000)
    if integer:
        step = int(schema.get("multipleOf", 1))
        first = -(-int(lo) // step) * step
        return first + step * rng.randint(0, max(0, (int(hi) - first) // step))
    return round(rng.uniform(lo, hi), 6)


def sample(schema: dict[str, Any], rng: random.Random, depth: int = 0) -> Any:
    """A random value valid for ``schema`` (objects get every required and some optional keys)."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:  # a branch keeps what its parent says beside it (``type: string``)
            parent = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
            return sample({**parent, **rng.choice(schema[combinator])}, rng, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "null":
        return None
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "number"):
        return _number(schema, rng, kind == "integer")
    if kind == "string":
        return _string(schema, rng)
    if kind == "array":
        count = rng.randint(schema.get("minItems", 0), min(schema.get("maxItems", 3), 4))
        return [sample(schema.get("items", {}), rng, depth + 1) for _ in range(count)]
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    out: dict[str, Any] = {}
    for name, sub in props.items():
        if name in required or (depth < 3 and rng.random() < 0.7):
            out[name] = sample(sub, rng, depth + 1)
    extra = schema.get("additionalProperties")
    if not props and isinstance(extra, dict) and depth < 3:
        for _ in range(rng.randint(1, 2)):
            out[rng.choice(_WORDS)] = sample(extra, rng, depth + 1)
    return out
