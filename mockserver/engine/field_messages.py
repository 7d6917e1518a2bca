"""Turn JSON-schema validation errors into the Laravel sentences ModelsLab sends.

The real service validates with Laravel, so a missing field reads
``{"init_image": ["The init image field is required."]}``. openapi-core reports jsonschema
``ValidationError`` objects; this module is the one translation between the two.
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["laravel_messages"]

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _words(name: str) -> str:
    return name.replace("_", " ")


def _type_phrase(expected: Any) -> str:
    if isinstance(expected, list):
        return " or ".join(_TYPE_WORDS.get(t, t) for t in expected if t != "null") or "null"
    return _TYPE_WORDS.get(expected, str(expected))


def _sentence(field: str, error: Any) -> str:
    w, kind, value = _words(field), error.validator, error.validator_value
    if kind == "type":
        return f"The {w} field must be {_type_phrase(value)}."
    if kind in ("oneOf", "anyOf"):
        specific = [e for e in (getattr(error, "context", None) or []) if e.validator != "type"]
        if specific:  # a branch of the right type rejected the value: that reason is the useful one
            return _sentence(field, specific[0])
        types = [s.get("type") for s in value if isinstance(s, dict) and s.get("type")]
        return f"The {w} field must be {_type_phrase(types) if types else 'valid'}."
    if kind == "minimum":
        return f"The {w} field must be at least {value}."
    if kind == "maximum":
        return f"The {w} field must not be greater than {value}."
    if kind == "exclusiveMinimum":
        return f"The {w} field must be greater than {value}."
    if kind == "exclusiveMaximum":
        return f"The {w} field must be less than {value}."
    if kind == "multipleOf":
        return f"The {w} field must be a multiple of {value}."
    if kind == "enum":
        return f"The selected {w} is invalid."
    if kind == "format":
        return f"The {w} field must be a valid URL." if value in ("uri", "url") else f"The {w} field format is invalid."
    if kind == "pattern":
        return f"The {w} field format is invalid."
    if kind == "minLength":
        return f"The {w} field must be at least {value} characters."
    if kind == "maxLength":
        return f"The {w} field must not be greater than {value} characters."
    return f"The {w} field is invalid."


def _entries(error: Any) -> Iterable[tuple[str, str]]:
    path = list(error.absolute_path) if hasattr(error, "absolute_path") else list(error.path)
    instance = error.instance
    if not path and error.validator == "required" and isinstance(instance, dict):
        for name in error.validator_value:
            if name not in instance:
                yield name, f"The {_words(name)} field is required."
        return
    if not path and error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        for name in instance:
            if name not in allowed:
                yield str(name), f"The {_words(str(name))} field is prohibited."
        return
    if not path:
        yield "body", "The body is invalid."
        return
    yield str(path[0]), _sentence(str(path[0]), error)


def laravel_messages(errors: Iterable[Any]) -> dict[str, list[str]]:
    """Field -> sentences, fields in the order the errors name them, no sentence twice."""
    messages: dict[str, list[str]] = {}
    for error in errors:
        for name, sentence in _entries(error):
            bucket = messages.setdefault(name, [])
            if sentence not in bucket:
                bucket.append(sentence)
    return messages
