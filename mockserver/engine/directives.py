"""One ``Directive``: what a request asks the mock to do, from ``Prefer``, a scenario rule or the key table.

All three say the same things with the same words, and all three are checked here, once:

=========  ==============================================================  =========  =====  ====
word       value                                                           Prefer     rule   key
=========  ==============================================================  =========  =====  ====
variant    success | processing | error | failed                           yes        yes    yes
eta        seconds, 0 to ten years (``2``, ``0.5``, ``1500ms``, ``2s``):   yes        yes    yes
           queue the job that long (implies ``variant=processing``)
outcome    success | failed: what a queued job ends as                     yes        yes    yes
error      rate_limit | invalid_api_key | ... (implies ``variant=error``)  yes        yes    yes
code       an HTTP status; rules: 400 401 404 422 429 500                  yes        yes    -
example    the name of a response example in the spec                      yes        -      -
dynamic    true | false (a bare ``dynamic`` is true): a schema sample      yes        -      -
seed       a whole number: the seed of ``dynamic``                         yes        -      -
fault      rate_limit | outage | ... | reset | truncated                   yes        yes    -
delay      seconds >= 0, like eta; capped by ``max_delay``                 yes        yes    -
webhook    deliver | drop | duplicate                                      yes        yes    -
=========  ==============================================================  =========  =====  ====

A bad value raises ``DirectiveError``, whose message names where it came from, the word, the value
and what is accepted (``Prefer: variant must be one of success, processing, error, failed, not
'Success' (values are case-sensitive; did you mean 'success'?)``). The pipeline answers it with a
ModelsLab-style 400, the admin API refuses the rule, the config loader refuses the key table.

``Prefer`` follows RFC 7240: preferences are separated by commas; a preference NAME is
case-insensitive (``VARIANT=failed`` is ``variant=failed``); a value may be a quoted string; when a
preference is repeated the first one counts. Values are case-sensitive, exactly as rules, the key
table and the spec's enums spell them (``variant=FAILED`` is refused, with a hint), except the
booleans of ``dynamic`` (``true``/``false`` in any case). For compatibility with Prism-style
headers (``code=200; example=x``) a ``;`` parameter after one of the mock's words is read as another
of its words. The RFC 7240 preferences the mock does not own (``return``, ``respond-async``,
``wait``, ``handling``, and the other registered ones) are ignored, parameters included, as the
real service ignores them; any other word is an error, so that a typo does not pass silently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping

from mockserver.engine.durations import MAX_DURATION

__all__ = [
    "CHOICE_WORDS", "Directive", "DirectiveError", "FOREIGN_PREFERENCES", "KEY_WORDS", "OUTCOMES", "PREFER_WORDS",
    "RULE_CODES", "RULE_WORDS", "VARIANTS", "WEBHOOK_ACTIONS", "parse_duration_value", "parse_prefer",
]

VARIANTS = ("success", "processing", "error", "failed")
OUTCOMES = ("success", "failed")
WEBHOOK_ACTIONS = ("deliver", "drop", "duplicate")
#: Statuses a scenario rule may answer with (a 200 is a variant, not a code).
RULE_CODES = (400, 401, 404, 422, 429, 500)

#: Every word, in the order of the table above (and of ``Directive``'s fields).
PREFER_WORDS = ("variant", "eta", "outcome", "error", "code", "example", "dynamic", "seed", "fault", "delay", "webhook")
RULE_WORDS = ("variant", "eta", "outcome", "error", "fault", "delay", "code", "webhook")
KEY_WORDS = ("variant", "eta", "outcome", "error", "fault", "delay", "webhook")
#: Words that choose the answer themselves (scenario rules and random faults then stay out).
CHOICE_WORDS = frozenset({"code", "example", "dynamic", "variant", "eta", "outcome", "error"})

#: Registered HTTP preferences (IANA "HTTP Preferences") the mock does not act on: ignored.
FOREIGN_PREFERENCES = frozenset({"return", "respond-async", "wait", "handling", "safe", "depth-noroot"})

_DURATION_RE = re.compile(r"^\s*(?P<number>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>ms|s)?\s*$")
_CODE_RE = re.compile(r"^[1-5][0-9][0-9]$")
_SEED_RE = re.compile(r"^[+-]?[0-9]{1,20}$")
_SEED_RANGE = (-(2**63), 2**64)
_SHOWN = 40  # characters of a bad value shown in a message
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DURATION_HINT = "a duration in seconds >= 0 (e.g. 2, 0.5, 500ms, 2s)"


class DirectiveError(ValueError):
    """A value the mock cannot act on; the message names the source, the word, the value and what it accepts."""

    def __init__(self, message: str, word: str | None = None):
        super().__init__(message)
        self.word = word


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 4] + "...'"


def _fail(label: str, word: str, value: Any, expected: str) -> DirectiveError:
    return DirectiveError(f"{label} must be {expected}, not {_show(value)}", word)


def _one_of(label: str, word: str, value: Any, valid: Iterable[str]) -> str:
    valid = tuple(valid)
    if isinstance(value, str) and value in valid:
        return value
    hint = ""
    if isinstance(value, str):
        folded = [v for v in valid if v.lower() == value.strip().lower()]
        if folded:
            hint = f" (values are case-sensitive; did you mean {folded[0]!r}?)"
    raise DirectiveError(f"{label} must be one of {', '.join(valid)}, not {_show(value)}{hint}", word)


def parse_duration_value(value: Any, label: str, word: str = "delay") -> float:
    """``2`` / ``"2"`` / ``"2s"`` -> 2.0, ``"250ms"`` -> 0.25; finite and >= 0, else ``DirectiveError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _fail(label, word, value, _DURATION_HINT)
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match is None:
            raise _fail(label, word, value, _DURATION_HINT)
        number = float(match["number"]) / (1000.0 if match["unit"] == "ms" else 1.0)
    else:
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            number = math.inf
    if not math.isfinite(number) or number < 0:
        raise _fail(label, word, value, "a finite duration in seconds >= 0")
    if number > MAX_DURATION:
        raise _fail(label, word, value, f"at most {MAX_DURATION:.0f} seconds (ten years)")
    return number


@dataclass(frozen=True, slots=True)
class Directive:
    """What one source asks for; ``None`` means "not said". Build it with ``parse_prefer`` or ``from_mapping``."""

    variant: str | None = None
    eta: float | None = None
    outcome: str | None = None
    error: str | None = None
    code: int | None = None
    example: str | None = None
    dynamic: bool | None = None
    seed: int | None = None
    fault: str | None = None
    delay: float | None = None
    webhook: str | None = None

    # -- reading ------------------------------------------------------------------------------

    @property
    def words(self) -> frozenset[str]:
        """The words this directive says something about."""
        return frozenset(f.name for f in fields(self) if getattr(self, f.name) is not None)

    @property
    def chooses(self) -> bool:
        """True when it picks the answer itself (then rules and random faults stay out)."""
        return any(getattr(self, word) is not None for word in CHOICE_WORDS)

    @property
    def is_gate(self) -> bool:
        """True when it answers before validation, like a gateway: an error, a status code or a fault."""
        return bool(self.fault or self.code or self.implied_variant == "error")

    @property
    def implied_variant(self) -> str | None:
        """The variant said, else the one implied: ``error=`` -> error, ``eta=`` -> processing."""
        if self.variant is not None:
            return self.variant
        if self.error is not None:
            return "error"
        if self.eta is not None:
            return "processing"
        return None

    def as_respond(self) -> dict[str, Any]:
        """The stored ``respond`` of a rule: only what was said, the variant made explicit, an error named."""
        out: dict[str, Any] = {}
        variant = self.implied_variant
        if variant is not None:
            out["variant"] = variant
        for word in PREFER_WORDS:
            value = getattr(self, word)
            if value is not None and word != "variant":
                out[word] = value
        if variant == "error" and "error" not in out:
            out["error"] = "rate_limit"
        return out

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str, words: Iterable[str] = PREFER_WORDS,
                     codes: tuple[int, ...] | None = None) -> "Directive":
        """A rule's ``respond`` or a key-table entry (JSON/TOML values: numbers may be numbers).

        ``where`` prefixes every message (``respond.`` -> ``respond.variant must be ...``); a word
        outside ``words`` is refused by name; ``codes`` narrows ``code`` (rules: ``RULE_CODES``).
        ``None`` values count as not given.
        """
        allowed = tuple(words)
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise DirectiveError(f"{where.rstrip('.')}: unknown field(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(allowed)}", unknown[0])
        values: dict[str, Any] = {}
        for word in allowed:
            value = data.get(word)
            if value is not None:
                values[word] = _typed(word, value, f"{where}{word}", codes)
        return cls(**values)


def _typed(word: str, value: Any, label: str, codes: tuple[int, ...] | None = None) -> Any:
    """One word's value, checked and converted; strings from a header and JSON/TOML values alike."""
    if word == "variant":
        return _one_of(label, word, value, VARIANTS)
    if word == "outcome":
        return _one_of(label, word, value, OUTCOMES)
    if word == "webhook":
        return _one_of(label, word, value, WEBHOOK_ACTIONS)
    if word == "error":
        from mockserver.engine.errors import ERROR_NAMES

        return _one_of(label, word, value, sorted(ERROR_NAMES))
    if word == "fault":
        from mockserver.engine.errors import FAULTS

        return _one_of(label, word, value, FAULTS)
    if word in ("eta", "delay"):
        return parse_duration_value(value, label, word)
    if word == "code":
        if codes is not None:  # a rule: JSON numbers only, as the admin spec says
            if isinstance(value, bool) or not isinstance(value, int) or value not in codes:
                raise _fail(label, word, value, f"one of {', '.join(map(str, codes))} (use variant for 200 answers)")
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
        if isinstance(value, str) and _CODE_RE.match(value):
            return int(value)
        raise _fail(label, word, value, "an HTTP status (three digits, 100-599)")
    if word == "example":
        if not isinstance(value, str) or not value:
            raise _fail(label, word, value, "the name of a response example in the spec")
        return value
    if word == "dynamic":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _fail(label, word, value, "one of true, false")
    if word == "seed":
        if isinstance(value, str) and _SEED_RE.match(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not _SEED_RANGE[0] <= value < _SEED_RANGE[1]:
            raise _fail(label, word, value, "a whole number (-2^63 to 2^64)")
        return value
    raise DirectiveError(f"{label}: unknown word", word)  # pragma: no cover - words are checked before


# -- the Prefer header --------------------------------------------------------------------------

def _split(header: str) -> list[tuple[str, str | None, bool]]:
    """RFC 7240 items: (name, value or None, is_parameter), honouring quoted strings."""
    items: list[tuple[str, str | None, bool]] = []
    i, n = 0, len(header)
    parameter = False
    while i < n:
        # one "name[=value]" up to the next unquoted , or ;
        start = i
        while i < n and header[i] not in ",;=":
            i += 1
        name = header[start:i].strip()
        value: str | None = None
        if i < n and header[i] == "=":
            i += 1
            while i < n and header[i] in " \t":
                i += 1
            if i < n and header[i] == '"':
                i += 1
                chars = []
                while i < n and header[i] != '"':
                    if header[i] == "\\" and i + 1 < n:
                        i += 1
                    chars.append(header[i])
                    i += 1
                i += 1  # the closing quote (or the end)
                value = "".join(chars)
                while i < n and header[i] not in ",;":  # anything after a quoted string belongs to it
                    i += 1
            else:
                start = i
                while i < n and header[i] not in ",;":
                    i += 1
                value = header[start:i].strip()
        if name or value is not None:
            items.append((name, value, parameter))
        if i < n:
            parameter = header[i] == ";"
            i += 1
    return items


def parse_prefer(header: str | None) -> Directive:
    """``Prefer: code=404, variant=processing, eta=3`` -> ``Directive``; a bad value -> ``DirectiveError``."""
    if not header:
        return Directive()
    values: dict[str, Any] = {}
    owner_is_foreign = False
    for raw_name, value, is_parameter in _split(header):
        name = raw_name.lower()
        if is_parameter and owner_is_foreign:
            continue  # a parameter of a preference we ignore is ignored with it
        if name in FOREIGN_PREFERENCES:
            owner_is_foreign = True
            continue
        owner_is_foreign = False
        if name not in PREFER_WORDS:
            shown = _show(raw_name) if raw_name else "''"
            raise DirectiveError(
                f"Prefer: unknown preference {shown}; the mock's: {', '.join(sorted(PREFER_WORDS))}; "
                f"ignored (RFC 7240): {', '.join(sorted(FOREIGN_PREFERENCES))}", raw_name)
        if name in values:
            continue  # RFC 7240: the first of a repeated preference counts
        if value is None or value == "":  # RFC 7240: an empty value is no value
            value = "true" if name == "dynamic" else ""
        values[name] = _typed(name, value, f"Prefer: {name}")
    return Directive(**values)

