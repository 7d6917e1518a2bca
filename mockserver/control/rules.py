"""Scenario rules: "the next two inpaints of this key get Rate limit exceeded", set over HTTP.

A rule matches on the operation, the API key (its namespace) and body fields, and answers with a
variant, an eta, a named error, a fault, a delay or a webhook behaviour, optionally only the
next N times (WireMock's stubs, simpler). Rules live in the store, so every worker of one mock
sees them, and ``times`` is used up atomically (``Store.consume_rule``).

One rule answers a request: the first match by ``priority`` (1 = first, default 5), the newest
first among equals. Rules that answer with an error or a fault (``error``, ``fault``, ``code``,
``variant: error``) act before the body is validated, like a rate limiter in front of the real
service; the others (``variant``, ``eta``, ``outcome``, ``delay``, ``webhook``) act on valid
requests only, and only those use them up.

A rule never stores the API key it is scoped to, only the key's namespace (``owner_of``).

Rules are checked on every request, so what they may cost is bounded: ``matches`` patterns run
on RE2 (linear time: no pattern can backtrack for a minute; one RE2 cannot run, with
backreferences or lookaround, is refused when the rule is set), ``matches`` and ``contains`` read
the first ``MATCH_WINDOW`` characters of a field, and the number of rules, their size and the
length of ``in`` lists are capped (``MAX_RULES``, ``MAX_RULE_BYTES``, ``MAX_RULES_BYTES``,
``MAX_IN_ITEMS``, ``MAX_PATTERNS``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

import orjson
import re2

from mockserver.engine.directives import RULE_CODES, RULE_WORDS, Directive, DirectiveError
from mockserver.state.matching import MATCH_WINDOW, compile_pattern, field_matches  # noqa: F401 (re-exported)

__all__ = ["MATCH_WINDOW", "MAX_IN_ITEMS", "MAX_PATTERNS", "MAX_RULES", "MAX_RULES_BYTES", "MAX_RULE_BYTES",
           "RuleBook", "RuleError", "check_matcher", "compile_pattern", "field_matches", "is_gate",
           "parse_rule", "rule_matches"]

_RESPOND = RULE_WORDS
_TOP = ("id", "key", "operation", "match", "times", "priority", "respond", "description")
_OPERATORS = ("equals", "contains", "matches", "in", "present", "absent")
_MAX_PATTERN = 500
_MAX_ID = 100
MAX_RULES = 1000  # rules in a store
MAX_RULE_BYTES = 16 * 1024  # one rule, as JSON
MAX_RULES_BYTES = 1024 * 1024  # all rules of a store together (each request reads them)
MAX_IN_ITEMS = 1000  # values in one "in" list
MAX_PATTERNS = 100  # rules with a "matches" pattern in a store



class RuleError(ValueError):
    """A rule the mock cannot use; the message names the field and what it accepts."""


def _fail(message: str) -> None:
    raise RuleError(message)


def _operations(value: Any, names: Any) -> list[str]:
    """The operationIds a rule's ``operation`` names: anything ``names`` (the spec's
    ``OperationNames``) expands, read against the loaded spec's behaviours."""
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if not isinstance(item, str):
            _fail("operation must be a string or a list of strings")
        expanded = names.expand(item)
        if expanded is None:
            _fail(f"operation {item[:100]!r} is unknown; use {names.words()}")
        found.extend(n for n in expanded if n not in found)
    if not found:
        _fail("operation must name at least one operation")
    return found


def check_matcher(field: str, spec: Any) -> Any:
    """Check one body matcher; a plain value means equality."""
    if not isinstance(spec, dict):
        return spec
    if len(spec) != 1 or next(iter(spec)) not in _OPERATORS:
        _fail(f"match.{field}: use a value, or one of {{{', '.join(f'{o!r}: ...' for o in _OPERATORS)}}}")
    op, arg = next(iter(spec.items()))
    if op == "matches":
        if not isinstance(arg, str) or len(arg) > _MAX_PATTERN:
            _fail(f"match.{field}.matches must be a regular expression of at most {_MAX_PATTERN} characters")
        try:
            compile_pattern(arg)
        except re2.error as exc:
            reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            _fail(f"match.{field}.matches is not a pattern RE2 can run ({str(reason)[:120]}); patterns run in "
                  f"linear time: no backreferences, lookaround or possessive quantifiers")
    if op == "contains" and not isinstance(arg, (str, int, float)):
        _fail(f"match.{field}.contains must be a string or a number")
    if op == "in" and not isinstance(arg, list):
        _fail(f"match.{field}.in must be a list of values")
    if op == "in" and len(arg) > MAX_IN_ITEMS:
        _fail(f"match.{field}.in has {len(arg)} values; at most {MAX_IN_ITEMS}")
    if op in ("present", "absent") and not isinstance(arg, bool):
        _fail(f"match.{field}.{op} must be true or false")
    return spec


def _respond(data: dict[str, Any]) -> dict[str, Any]:
    """The words of a ``Prefer`` header, checked by the same code (mockserver/engine/directives.py)."""
    try:
        out = Directive.from_mapping(data, "respond.", RULE_WORDS, codes=RULE_CODES).as_respond()
    except DirectiveError as exc:
        _fail(str(exc))
    if not out:
        _fail(f"a rule must say what to answer: one or more of {', '.join(_RESPOND)}")
    return out


def _json_safe(value: Any, where: str, depth: int = 0) -> None:
    """What every store can keep: 64-bit integers, UTF-8 text, modest nesting."""
    if depth > 8:
        _fail(f"{where} is nested too deeply")
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            _fail(f"{where}: the number {str(value)[:30]} is out of range")
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            _fail(f"{where} is not valid UTF-8 text")
    elif isinstance(value, list):
        for item in value:
            _json_safe(item, where, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _json_safe(key, where, depth + 1)
            _json_safe(item, f"{where}.{key}" if depth < 3 else where, depth + 1)


def parse_rule(data: Any, owner_of: Callable[[str], str], now: Callable[[], float] = time.time, *,
               names: Any) -> dict[str, Any]:
    """Check a rule sent to the admin API and turn it into the stored form (no API key in it).
    ``names``: the spec's ``OperationNames`` (``operation`` is then read against the spec)."""
    if not isinstance(data, dict):
        _fail("a rule is a JSON object")
    _json_safe(data, "rule")
    size = _size(data)
    if size > MAX_RULE_BYTES:
        _fail(f"a rule is at most {MAX_RULE_BYTES} bytes as JSON; this one has {size}")
    unknown = sorted(set(data) - set(_TOP) - set(_RESPOND))
    if unknown:
        _fail(f"unknown rule field(s) {', '.join(unknown)}; known: {', '.join(_TOP + _RESPOND)}")
    respond_in = data.get("respond", {})
    if not isinstance(respond_in, dict):
        _fail("respond must be an object")
    flat = {k: data[k] for k in _RESPOND if k in data}
    clash = sorted(set(flat) & set(respond_in))
    if clash:
        _fail(f"{', '.join(clash)} given both at the top level and in respond")
    unknown = sorted(set(respond_in) - set(_RESPOND))
    if unknown:
        _fail(f"unknown respond field(s) {', '.join(unknown)}; known: {', '.join(_RESPOND)}")
    respond = _respond({**respond_in, **flat})
    rule_id = data.get("id")
    if rule_id is None:
        rule_id = "rule-" + uuid.uuid4().hex[:12]
    if not isinstance(rule_id, str) or not rule_id or len(rule_id) > _MAX_ID or not rule_id.isprintable():
        _fail(f"id must be a printable string of 1-{_MAX_ID} characters")
    key = data.get("key")
    if key is not None and (not isinstance(key, str) or not key):
        _fail("key must be a non-empty string (the API key whose requests the rule applies to)")
    match = data.get("match", {})
    if not isinstance(match, dict):
        _fail("match must be an object of body field -> value or {operator: value}")
    if "key" in match:
        _fail('match on the API key with the rule\'s "key" field, not match.key')
    times = data.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 10**9):
        _fail("times must be a whole number from 1 to 10^9 (leave it out for a rule that never runs out)")
    priority = data.get("priority", 5)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 1000:
        _fail("priority must be a whole number from 1 (first) to 1000")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        _fail("description must be a string")
    stamp = now()
    return {
        "id": rule_id,
        "owner": owner_of(key) if key else "",
        "operation": _operations(data.get("operation", "*"), names),
        "match": {str(f): check_matcher(str(f), spec) for f, spec in match.items()},
        "respond": respond,
        "times": times,
        "limit": times,
        "priority": priority,
        "description": description,
        "created": stamp,
        "order": time.time_ns(),
    }


def _size(rule: Any) -> int:
    try:
        return len(orjson.dumps(rule))
    except TypeError:  # only what _json_safe let through, e.g. 64-bit unsigned integers
        return len(str(rule).encode("utf-8", "replace"))


def _has_pattern(rule: dict[str, Any]) -> bool:
    return any(isinstance(spec, dict) and "matches" in spec for spec in rule.get("match", {}).values())


def is_gate(respond: dict[str, Any]) -> bool:
    """Rules answering with an error or a fault act before validation."""
    return bool(respond.get("fault") or respond.get("code") or respond.get("variant") == "error")


def rule_matches(rule: dict[str, Any], operation: str, owner: str, body: dict[str, Any],
                 memo: dict[Any, str] | None = None, *, generates: bool) -> bool:
    """``generates``: whether ``operation`` makes jobs (its behaviour's kind is ``generate``)."""
    if rule.get("owner") and rule["owner"] != owner:
        return False
    if operation not in rule.get("operation", ()):
        return False
    times = rule.get("times")
    if times is not None and times <= 0:
        return False
    respond = rule.get("respond", {})
    if not generates and not is_gate(respond) and "delay" not in respond:
        return False  # variants, etas and webhooks mean nothing to a fetch
    return all(field_matches(body, f, spec, memo) for f, spec in rule.get("match", {}).items())


class RuleBook:
    """The rules in a store: add, list, delete, and find the ones a request matches."""

    def __init__(self, store: Any, owner_of: Callable[[str], str], names: Any):
        self.store = store
        self.owner_of = owner_of
        self.names = names  # the spec's OperationNames: what a rule's operation names, what generates

    def add(self, data: Any) -> dict[str, Any]:
        return self.add_all([data])[0]

    def add_all(self, items: list[Any]) -> list[dict[str, Any]]:
        """Check every rule and the store's caps, then store them all (or none: ``RuleError``)."""
        parsed = [parse_rule(item, self.owner_of, names=self.names) for item in items]
        present = {r["id"]: r for r in self.store.rules() if not r.get("deleted")}
        for rule in parsed:
            present[rule["id"]] = rule  # an id given again replaces its rule
        if len(present) > MAX_RULES:
            _fail(f"a mock holds at most {MAX_RULES} rules ({len(present)} with these); delete some first "
                  f"(DELETE /__mock/rules)")
        patterns = sum(_has_pattern(r) for r in present.values())
        if patterns > MAX_PATTERNS:
            _fail(f"at most {MAX_PATTERNS} rules may use matches patterns ({patterns} with these)")
        total = sum(_size(r) for r in present.values())
        if total > MAX_RULES_BYTES:
            _fail(f"all rules together are at most {MAX_RULES_BYTES} bytes as JSON ({total} with these)")
        for rule in parsed:
            self.store.put_rule(rule)
        return parsed

    def all(self, owner: str | None = None) -> list[dict[str, Any]]:
        rules = [r for r in self.store.rules() if not r.get("deleted")]
        if owner is not None:
            rules = [r for r in rules if r.get("owner", "") == owner]
        return sorted(rules, key=lambda r: (r.get("priority", 5), -r.get("order", 0)))

    def get(self, rule_id: str) -> dict[str, Any] | None:
        return next((r for r in self.all() if r["id"] == rule_id), None)

    def delete(self, rule_id: str) -> bool:
        rule = self.get(rule_id)
        if rule is None:
            return False
        delete_one = getattr(self.store, "delete_rule", None)
        if delete_one is not None:
            return bool(delete_one(rule_id))
        self.store.put_rule(dict(rule, deleted=True, times=0))  # a store without delete_rule: tombstone
        return True

    def delete_all(self, owner: str | None = None) -> int:
        rules = self.all(owner)
        if owner is None:
            self.store.delete_rules()
            return len(rules)
        return sum(self.delete(r["id"]) for r in rules)

    def candidates(self, operation: str, owner: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Rules this request matches, best first (cheap when there are none)."""
        rules = self.store.rules()
        if not rules:
            return []
        memo: dict[Any, str] = {}
        generates = self.names.generates(operation)
        found = [r for r in rules
                 if not r.get("deleted") and rule_matches(r, operation, owner, body, memo, generates=generates)]
        found.sort(key=lambda r: (r.get("priority", 5), -r.get("order", 0)))
        return found

    def consume(self, rule: dict[str, Any]) -> bool:
        """Use a rule once (atomic in the store); False if another request used its last time."""
        return bool(self.store.consume_rule(str(rule["id"])))
