"""Body-field matchers: the ``match`` syntax shared by scenario rules, the journal and the admin API.

A matcher is a plain value (equality, loose about ``"512"`` vs ``512``) or one operator:
``equals``, ``contains`` (a substring, any case; an item of a list), ``matches`` (an RE2 pattern:
linear time, no catastrophic backtracking), ``in`` (one of a list), ``present`` / ``absent``.
``matches`` and ``contains`` read the first ``MATCH_WINDOW`` characters of a field. Checking a
matcher (and refusing a bad one) is the rules' business (``mockserver.control.rules.check_matcher``).
"""

from __future__ import annotations

import functools
from typing import Any

import re2

__all__ = ["MATCH_WINDOW", "compile_pattern", "field_matches"]

MATCH_WINDOW = 16 * 1024  # characters of a field that "matches" and "contains" read
_PATTERN_CACHE = 200
_IN_CACHE = 4000

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the client's 400, not a line on stderr
_RE2_OPTIONS.max_mem = 4 << 20


@functools.lru_cache(maxsize=_PATTERN_CACHE)
def compile_pattern(pattern: str) -> Any:
    """The RE2 program for a pattern (``re2.error`` when RE2 cannot run it); compiled once."""
    return re2.compile(pattern, _RE2_OPTIONS)


def _loose_equal(value: Any, expected: Any) -> bool:
    if value == expected and type(value) is not bool and type(expected) is not bool:
        return True
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    if isinstance(value, (int, float, str)) and isinstance(expected, (int, float, str)) and type(value) is not type(expected):
        return str(value).strip() == str(expected).strip()
    return False


@functools.lru_cache(maxsize=_IN_CACHE)
def _in_sets(items: tuple[Any, ...]) -> tuple[frozenset, frozenset, frozenset, frozenset, frozenset]:
    """What ``_loose_equal`` compares, by type: strings, numbers, the text of each, booleans."""
    strs = frozenset(i for i in items if type(i) is str)
    nums = frozenset(i for i in items if type(i) in (int, float))
    return (strs, nums, frozenset(str(i).strip() for i in nums), frozenset(i.strip() for i in strs),
            frozenset(i for i in items if type(i) is bool))


def _in_list(value: Any, items: list[Any], memo: dict[Any, str] | None) -> bool:
    """``any(_loose_equal(value, item) for item in items)`` with set lookups (a list is read once per
    process, not once per request): a thousand rules with long lists cost microseconds."""
    kind = type(value)
    if kind in (str, int, float, bool):
        try:
            strs, nums, num_texts, str_texts, bools = _in_sets(tuple(items))
        except TypeError:  # a list or object among the items: compare one by one
            return any(_loose_equal(value, item) for item in items)
        if kind is bool:
            return value in bools
        if kind is str:
            return value in strs or bool(num_texts) and _stripped(value, memo) in num_texts
        return value in nums or str(value).strip() in str_texts
    return any(_loose_equal(value, item) for item in items)


def _stripped(value: str, memo: dict[Any, str] | None) -> str:
    key = (id(value), "strip")
    if memo is None:
        return value.strip()
    if key not in memo:
        memo[key] = value.strip()
    return memo[key]


def _window(value: Any, memo: dict[Any, str] | None, lower: bool = False) -> str:
    """The first MATCH_WINDOW characters of a field as text (lower-cased for ``contains``), once per request."""
    key = (id(value), lower)
    if memo is not None and key in memo:
        return memo[key]
    text = (value if isinstance(value, str) else str(value))[:MATCH_WINDOW]
    if lower:
        text = text.lower()
    if memo is not None:
        memo[key] = text
    return text


def field_matches(body: dict[str, Any], field: str, spec: Any, memo: dict[Any, str] | None = None) -> bool:
    """Does ``body[field]`` satisfy one matcher? ``memo`` (one dict per request) keeps the texts that
    several rules read, so a thousand rules lower-case a long prompt once."""
    present = field in body and body[field] is not None
    if not isinstance(spec, dict):
        return present and _loose_equal(body[field], spec)
    op, arg = next(iter(spec.items()))
    if op == "present":
        return present is arg
    if op == "absent":
        return (not present) is arg
    if not present:
        return False
    value = body[field]
    if op == "equals":
        return _loose_equal(value, arg)
    if op == "in":
        return _in_list(value, arg, memo)
    if op == "contains":
        if isinstance(value, list):
            return any(_loose_equal(v, arg) for v in value)
        return str(arg).lower() in _window(value, memo, lower=True)
    return compile_pattern(arg).search(_window(value, memo)) is not None
