"""One block per contract failure, printed once, with the request that reproduces it.

A failed property test reaches pytest as Hypothesis's exception group of Schemathesis failure
groups, whose default rendering repeats each failure three times (the group's summary, the
response with Schemathesis's curl, and each sub-exception with ours). ``failure_text`` flattens
that to one block per distinct failure: the semantic checks' own explanation (``[MLC101 ...]``
with expected, got and ``reproduce: curl ...``), or for Schemathesis's checks its title and
message plus the curl it attached. Anything else (a plain assertion, an error in the suite)
returns None and keeps pytest's usual report.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, Iterator

__all__ = ["failure_text"]

_CURL = re.compile(r"Reproduce with:\s*\n\s*\n?\s*(curl [^\n]+)")


def _leaves(exc: BaseException, curl: str | None = None) -> Iterator[tuple[BaseException, str | None]]:
    """Every non-group exception inside ``exc``, with the curl its nearest group attached."""
    texts = [str(note) for note in getattr(exc, "__notes__", None) or ()]
    if isinstance(exc, BaseExceptionGroup):
        texts.append(str(exc.message))  # Schemathesis puts its "Reproduce with: curl ..." in the group's message
    for text in texts:
        found = _CURL.search(text)
        if found:
            curl = found.group(1).strip()
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner, curl)
    else:
        yield exc, curl


def _essentials(message: str, max_lines: int = 12) -> str:
    """What went wrong, without the schema and value dumps (the curl reproduces the exchange; -v shows all)."""
    kept: list[str] = []
    for paragraph in message.strip().split("\n\n"):
        if paragraph.startswith(("Schema at ", "Schema:", "Value:")):
            kept.append("(schema and value shown with -v)")
            break
        kept.append(paragraph)
    lines = "\n\n".join(kept).splitlines()
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["..."]
    return "\n".join(lines).strip()


def _blocks(exc: BaseException, curl: str | None) -> list[str] | None:
    from contracts.modelslab.checks import ContractViolation

    if isinstance(exc, ContractViolation):
        return [v.explain().strip() for v in exc.violations]
    if getattr(exc, "check", None) is not None and getattr(exc, "message", None):  # our checks via Schemathesis
        return [str(exc.message).strip()]  # type: ignore[attr-defined]
    title = getattr(exc, "title", None)
    message = getattr(exc, "message", None)
    if title is None or message is None:
        return None  # not a check failure
    code = getattr(exc, "code", "") or type(exc).__name__
    lines = [f"[{code}] {title}"]
    body = _essentials(str(message))
    if body:
        lines.append(textwrap.indent(body, "  "))
    if curl:
        lines.append(f"  reproduce: {curl}")
    return ["\n".join(lines)]


def failure_text(exc: BaseException) -> str | None:
    """The failures inside ``exc``, each once; None when ``exc`` holds no contract failure."""
    blocks: list[str] = []
    for leaf, curl in _leaves(exc):
        found = _blocks(leaf, curl)
        if found is None:
            return None  # something other than a check failed: pytest's report says more
        blocks += [block for block in found if block not in blocks]
    if not blocks:
        return None
    count = len(blocks)
    return f"{count} contract failure{'s' if count > 1 else ''}:\n\n" + "\n\n".join(blocks)
