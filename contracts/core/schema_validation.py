"""Validate a value against a schema of the spec and say where it breaks, as JSON pointers.

The lint, the checks ("was this request really invalid?") and the strategies' own tests all
ask the same question, so they share one answer: the OpenAPI dialect validator of the spec's
version (3.1 is JSON Schema 2020-12; 3.0 has ``nullable``) with format checking on, and each
problem reported with the pointer of the offending value and of the schema rule it broke.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

import openapi_schema_validator as osv

from contracts.core.spec import deref

__all__ = ["Problem", "json_pointer", "problems", "schema_for_pointer"]


@dataclass(frozen=True)
class Problem:
    """One contradiction: where the value is, what is wrong, which schema rule says so."""

    pointer: str
    message: str
    schema_pointer: str
    value: Any = None

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


def _escape(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def json_pointer(parts: Iterable[Any]) -> str:
    """RFC 6901 pointer for a path of keys and indexes (``""`` is the whole document)."""
    return "".join("/" + _escape(p) for p in parts)


def _validator_class(openapi_version: str):
    if str(openapi_version).startswith("3.0"):
        return osv.OAS30Validator, osv.oas30_format_checker
    return osv.OAS31Validator, osv.oas31_format_checker


_compiled: dict[tuple[int, int, str], tuple[Any, Any, Any]] = {}


def _validator(schema: dict[str, Any], document: dict[str, Any] | None, openapi_version: str):
    """One compiled validator per (schema, document) object pair; the pair is kept alive with it."""
    key = (id(schema), id(document), openapi_version)
    hit = _compiled.get(key)
    if hit is not None and hit[0] is schema and hit[1] is document:
        return hit[2]
    resolved = deref(schema, document) if document is not None else schema
    cls, checker = _validator_class(openapi_version)
    validator = cls(resolved, format_checker=checker)
    if len(_compiled) > 256:
        _compiled.clear()
    _compiled[key] = (schema, document, validator)
    return validator


def _leaf_errors(error) -> list:
    """For ``oneOf``/``anyOf`` failures, the branch errors that explain the most (deepest first)."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        deepest = max(len(e.absolute_path) for e in error.context)
        if deepest > len(error.absolute_path):
            return [e for e in error.context if len(e.absolute_path) == deepest]
    return [error]


def _json_message(error) -> str:
    """jsonschema quotes values as Python (``None``, ``'512'``); readers of a JSON spec expect JSON."""
    text = repr(error.instance)
    if error.message.startswith(text):
        try:
            return json.dumps(error.instance, ensure_ascii=False) + error.message[len(text):]
        except (TypeError, ValueError):
            pass
    return error.message


def problems(instance: Any, schema: dict[str, Any], *, document: dict[str, Any] | None = None,
             schema_origin: str = "", openapi_version: str = "3.1", base_pointer: str = "") -> list[Problem]:
    """Every way ``instance`` breaks ``schema`` (``$ref``s resolved against ``document``)."""
    validator = _validator(schema, document, openapi_version)
    found: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
        for leaf in _leaf_errors(error):
            pointer = base_pointer + json_pointer(leaf.absolute_path)
            schema_pointer = schema_origin + json_pointer(leaf.absolute_schema_path)
            message = _json_message(leaf)
            if (pointer, message) in seen:
                continue
            seen.add((pointer, message))
            found.append(Problem(pointer, message, schema_pointer, leaf.instance))
    return found


def schema_for_pointer(document: dict[str, Any], pointer: str) -> Any:
    """The node of ``document`` a ``#/...`` pointer names."""
    node: Any = document
    for part in pointer.lstrip("#").split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node
