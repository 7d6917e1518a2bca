"""The ``uri`` format, decided in time linear in the length (issue 12, item 8).

jsonschema (and so openapi-core) checks ``format: uri`` with rfc3986-validator's one large regular
expression: correct, but about 120 ns a character, so a 30 MB data URI or webhook URL held the
GIL for seconds, twice (the mock's fast validator, then openapi-core). ``is_uri`` gives the same
verdict as RFC 3986's ``URI`` rule and is decided by length first: a short string goes to
rfc3986-validator as before; in a long one only the head (scheme and authority, which must be
short) is, and the rest (path, query, fragment) is one character-class scan, which is what the
grammar asks of it. One deliberate difference: an authority (host, port, user info) longer than
2,048 characters is refused (no host name is longer than 253). The mock's validator and
openapi-core (``contracts.core.spec``) both use it, so they still agree.
"""

from __future__ import annotations

import re
from typing import Any, Callable

__all__ = ["SHORT_URI", "format_validators", "is_uri"]

#: Up to this length the full grammar runs as it is (a few microseconds).
SHORT_URI = 2048

_HEAD = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:(//[^/?#\n]*)?")  # no "\n": see the "$" note below
_PCHAR = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%"
_PATH = _PCHAR + b"/"
_QUERY = _PATH + b"?"  # a fragment takes the same characters
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _rfc3986() -> Callable[[str], bool]:
    try:
        from rfc3986_validator import validate_rfc3986
    except ImportError:  # jsonschema then does not check the format at all
        return lambda value: True
    return lambda value: bool(validate_rfc3986(value, rule="URI"))


_full_grammar = _rfc3986()


def is_uri(value: Any) -> bool:
    """RFC 3986's ``URI`` (as rfc3986-validator reads it), in linear time; non-strings pass (as in jsonschema)."""
    if not isinstance(value, str):
        return True
    if len(value) <= SHORT_URI:
        return _full_grammar(value)
    if value.endswith("\n"):  # rfc3986-validator's pattern ends in "$", which also matches before one "\n"
        value = value[:-1]
    head = _HEAD.match(value)
    if head is None or head.end() > SHORT_URI or not _full_grammar(head.group()):
        return False  # no scheme, or an authority longer than any real host name
    try:
        rest = value[head.end():].encode("ascii")
    except UnicodeEncodeError:
        return False  # a URI is ASCII (an IRI is another format)
    rest, hash_sign, fragment = rest.partition(b"#")
    path, question, query = rest.partition(b"?")
    if path.translate(None, _PATH) or query.translate(None, _QUERY) or fragment.translate(None, _QUERY):
        return False  # a character the grammar does not allow there (deleting the allowed ones leaves it)
    return _BAD_PERCENT.search(path) is None and _BAD_PERCENT.search(query) is None \
        and _BAD_PERCENT.search(fragment) is None


def format_validators() -> dict[str, Callable[[Any], bool]]:
    """Format checks that replace jsonschema's own (for openapi-core's ``extra_format_validators``)."""
    return {"uri": is_uri}
