"""Draw one random instance of a (dereferenced) JSON schema from a ``random.Random``.

This is Prism's ``Prefer: dynamic=true``: a body that is valid for the response schema but
otherwise arbitrary, cheap enough to make per request, and reproducible from a seed. For
property tests with shrinking use ``contracts.modelslab.strategies`` instead.
"""

from __future__ import annotations

import base64
import random
import re
import string
import uuid
from typing import Any

__all__ = ["sample"]

_WORDS = ("cat", "bench", "sunset", "portrait", "forest", "neon", "city", "river")


_DIGITS = re.compile(r"\^\[0-9\]\{(\d+),(\d+)\}\$")


def _moment(rng: random.Random) -> tuple[int, ...]:
    return (rng.randint(2020, 2030), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
            rng.randint(0, 59))


#: Strings of the formats specs use most, as Prism's generator gives them (valid for the format).
_FORMATS = {
    "uri": lambda r: f"https://example.com/generations/{r.getrandbits(64):016x}.png",
    "url": lambda r: f"https://example.com/{r.choice(_WORDS)}/{r.getrandbits(32):08x}",
    "uri-reference": lambda r: f"/{r.choice(_WORDS)}/{r.getrandbits(32):08x}",
    "iri": lambda r: f"https://example.com/{r.choice(_WORDS)}",
    "uuid": lambda r: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "date-time": lambda r: "%04d-%02d-%02dT%02d:%02d:%02dZ" % _moment(r),
    "date": lambda r: "%04d-%02d-%02d" % _moment(r)[:3],
    "time": lambda r: "%02d:%02d:%02d" % _moment(r)[3:],
    "email": lambda r: f"{r.choice(_WORDS)}.{r.randint(1, 999)}@example.com",
    "hostname": lambda r: f"{r.choice(_WORDS)}-{r.randint(1, 99)}.example.com",
    "ipv4": lambda r: ".".join(str(r.randint(1, 254)) for _ in range(4)),
    "ipv6": lambda r: ":".join(f"{r.getrandbits(16):x}" for _ in range(8)),
    "byte": lambda r: base64.b64encode(bytes(r.getrandbits(8) for _ in range(r.randint(3, 12)))).decode(),
}


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    digits = _DIGITS.fullmatch(str(schema.get("pattern", "")))
    if digits:  # an id written as digits (^[0-9]{1,18}$)
        return "".join(rng.choice(string.digits) for _ in range(rng.randint(int(digits[1]), int(digits[2]))))
    made = _FORMATS.get(str(schema.get("format", "")).lower())
    if made is not None and "pattern" not in schema:
        return made(rng)
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
