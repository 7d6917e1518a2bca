"""``contracts drift``: where the spec, the real service and the mock disagree, from a cassette.

Two comparisons, one list of findings:

* **spec vs real**: every recorded answer checked against the spec's schema for its route and
  HTTP status (violations by JSON pointer), plus fields the schema does not name (the legacy
  ``messege``, ``retry_after``) and HTTP statuses it does not document;
* **mock vs real**: every recorded request sent again to a fresh mock, and the answers compared
  by *shape*, not value: fields and their JSON types, status words, the HTTP status, the wording
  of errors, the headers clients read (``Retry-After``, ``X-RateLimit-Reset``); a queued job is
  followed to its end on the mock's clock and compared with the recorded polls. Ids, times,
  URLs and seeds differ on every run and are compared by type only.

Each finding has a stable fingerprint; ``--accept`` writes them to ``DIR/drift-baseline.json``
so that known drift stops failing while anything new still does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable
from xml.sax.saxutils import escape

from contracts.core.episodes import Cassette, Episode, Exchange
from contracts.core.routes import Route, find_route, routes_from_spec
from contracts.core.schema_validation import problems as schema_problems
from contracts.core.spec import deref

__all__ = ["BASELINE", "DriftReport", "Finding", "compare_shapes", "mock_vs_real", "shape", "spec_vs_real"]

BASELINE = "drift-baseline.json"
#: Headers a client reads: a difference here changes what a client does.
CLIENT_HEADERS = ("retry-after", "x-ratelimit-reset")
TEST_KEY = "sk-contracts-drift-0000"


@dataclass(frozen=True)
class Finding:
    """One difference: which comparison, which episode and exchange, where, and what."""

    kind: str  # spec-vs-real | mock-vs-real
    episode: str
    endpoint: str
    phase: str  # submit | poll | final | webhook
    pointer: str
    message: str

    @property
    def fingerprint(self) -> str:
        return f"{self.kind}|{self.endpoint}|{self.phase}|{self.pointer}|{self.message}"

    def __str__(self) -> str:
        return f"[{self.kind}] {self.endpoint} {self.phase} {self.pointer or '/'}: {self.message} (episode {self.episode})"


@dataclass
class DriftReport:
    findings: list[Finding] = field(default_factory=list)
    accepted: list[Finding] = field(default_factory=list)
    episodes: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def new(self) -> list[Finding]:
        known = {f.fingerprint for f in self.accepted}
        return [f for f in self.findings if f.fingerprint not in known]

    def to_json(self) -> dict[str, Any]:
        return {"episodes": self.episodes, "drift": [asdict(f) | {"fingerprint": f.fingerprint} for f in self.new],
                "accepted": [f.fingerprint for f in self.accepted], "notes": self.notes}

    def junit(self) -> str:
        cases = []
        by_episode: dict[str, list[Finding]] = {}
        for finding in self.new:
            by_episode.setdefault(f"{finding.episode} {finding.endpoint}", []).append(finding)
        for name, found in sorted(by_episode.items()):
            text = escape("\n".join(str(f) for f in found))
            cases.append(f'  <testcase classname="drift" name="{escape(name)}">'
                         f'<failure message="{len(found)} difference(s)">{text}</failure></testcase>')
        if not cases:
            cases.append('  <testcase classname="drift" name="no drift"/>')
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="contracts-drift" tests="{len(cases)}" '
                f'failures="{len(by_episode)}">\n' + "\n".join(cases) + "\n</testsuite>\n")


# -- shapes ------------------------------------------------------------------------------------------

def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shape(value: Any, pointer: str = "") -> dict[str, str]:
    """JSON pointer -> JSON type of every value; array items share one pointer (``/*``)."""
    found = {pointer: _type(value)}
    if isinstance(value, dict):
        for name, item in value.items():
            found.update(shape(item, f"{pointer}/{str(name).replace('~', '~0').replace('/', '~1')}"))
    elif isinstance(value, list):
        for item in value:
            for where, kind in shape(item, f"{pointer}/*").items():
                found.setdefault(where, kind)
    return found


def compare_shapes(real: Any, mock: Any) -> list[tuple[str, str]]:
    """(pointer, message) for each field present in only one, or with another type."""
    real_shape, mock_shape = shape(real), shape(mock)
    out = []
    for pointer in sorted(real_shape.keys() | mock_shape.keys()):
        parent = pointer.rsplit("/", 1)[0]
        if parent != pointer and (parent not in real_shape or parent not in mock_shape
                                  or real_shape[parent] != mock_shape[parent]):
            continue  # the parent already differs: one finding, not one per child
        if pointer not in mock_shape:
            out.append((pointer, f"field only in the real answer ({real_shape[pointer]})"))
        elif pointer not in real_shape:
            out.append((pointer, f"field only in the mock's answer ({mock_shape[pointer]})"))
        elif real_shape[pointer] != mock_shape[pointer]:
            out.append((pointer, f"type: real {real_shape[pointer]}, mock {mock_shape[pointer]}"))
    return out


# -- spec vs real ------------------------------------------------------------------------------------

def _operation(document: dict[str, Any], route: Route) -> dict[str, Any] | None:
    for item in (document.get("paths") or {}).values():
        for method, raw in item.items():
            if isinstance(raw, dict) and method.lower() == "post" and raw.get("operationId") == route.operation:
                return raw
    return None


def _response_schema(document: dict[str, Any], route: Route, status: int) -> tuple[dict[str, Any] | None, bool]:
    """(schema of the JSON answer for this status, whether the status is documented at all)."""
    op = _operation(document, route)
    if op is None:
        return None, False
    responses = deref(op.get("responses", {}), document)
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if response is None:
        return None, False
    schema = (response.get("content") or {}).get("application/json", {}).get("schema")
    return (deref(schema, document) if schema is not None else None), True


def _undocumented(value: Any, schema: Any, pointer: str = "") -> list[str]:
    """Pointers of object members that no applicable schema names."""
    if not isinstance(schema, dict):
        return []
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches:
        fitting = [b for b in branches if not schema_problems(value, b)]
        candidates = fitting or branches
        if isinstance(value, dict) and not fitting and "status" in value:  # pick the branch of this status word
            named = [b for b in branches if _allows_status(b, value["status"])]
            candidates = named or candidates
        results = [_undocumented(value, b, pointer) for b in candidates]
        return min(results, key=len) if results else []
    found: list[str] = []
    for part in schema.get("allOf", []):
        found.extend(_undocumented(value, part, pointer))
    if isinstance(value, dict) and "properties" in schema:  # a free-form object documents any member
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            where = f"{pointer}/{name}"
            if name in props:
                found.extend(_undocumented(item, props[name], where))
            elif isinstance(extra, dict):
                found.extend(_undocumented(item, extra, where))
            elif extra is not False and not schema.get("allOf"):
                found.append(where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value[:20]):
            found.extend(_undocumented(item, schema["items"], f"{pointer}/{index}"))
    return sorted(set(found))


def _allows_status(schema: dict[str, Any], word: Any) -> bool:
    status = (schema.get("properties") or {}).get("status", {})
    return status.get("const") == word or word in (status.get("enum") or [])


def _check_against_spec(document: dict[str, Any], routes: list[Route], episode: Episode, exchange: Exchange,
                        phase: str) -> list[Finding]:
    route, _params = find_route(routes, exchange.path)
    make = lambda pointer, message: Finding("spec-vs-real", episode.id, episode.endpoint, phase, pointer, message)
    if route is None:
        return [make("", f"{exchange.path.split('?')[0]} is not a route of the spec")]
    schema, documented = _response_schema(document, route, exchange.status)
    if not documented:
        return [make("", f"HTTP {exchange.status} is not documented for {route.operation}")]
    if schema is None or not isinstance(exchange.body, (dict, list)):
        return []
    found = [make(p.pointer, p.message) for p in schema_problems(exchange.body, schema, document=document)]
    found += [make(pointer, "undocumented field") for pointer in _undocumented(exchange.body, schema)]
    return found


def spec_vs_real(document: dict[str, Any], episodes: list[Episode]) -> list[Finding]:
    routes = routes_from_spec(document)
    found: list[Finding] = []
    for episode in episodes:
        found += _check_against_spec(document, routes, episode, episode.submit, "submit")
        for index, poll in enumerate(episode.polls):
            phase = "final" if index == len(episode.polls) - 1 and episode.finished else "poll"
            found += _check_against_spec(document, routes, episode, poll, phase)
    return _unique(found)


# -- mock vs real ------------------------------------------------------------------------------------

#: ``send(method, url, json_body, headers) -> (status, headers, body)``; ``advance(seconds)``.
Send = Callable[[str, str, Any, dict[str, str]], tuple[int, dict[str, str], Any]]


def _mock_request(episode: Episode) -> tuple[Any, dict[str, str]]:
    body = episode.submit.request_body
    body = dict(body) if isinstance(body, dict) else body
    if isinstance(body, dict):
        if episode.key_sent:
            body["key"] = TEST_KEY
        else:
            body.pop("key", None)
    headers = {"Content-Type": episode.submit.request_headers.get("content-type", "application/json")}
    return body, headers


def _word(body: Any) -> str | None:
    return str(body.get("status")) if isinstance(body, dict) and "status" in body else None


def _compare(episode: Episode, phase: str, real: Exchange, status: int, headers: dict[str, str],
             body: Any) -> list[Finding]:
    make = lambda pointer, message: Finding("mock-vs-real", episode.id, episode.endpoint, phase, pointer, message)
    found = []
    if real.status != status:
        found.append(make("", f"HTTP status: real {real.status}, mock {status}"))
    if _word(real.body) != _word(body):
        found.append(make("/status", f"status word: real {_word(real.body)!r}, mock {_word(body)!r}"))
    elif _word(real.body) in ("error", "failed"):
        real_msg = real.body.get("message", real.body.get("messege"))
        mock_msg = body.get("message", body.get("messege")) if isinstance(body, dict) else None
        if isinstance(real_msg, str) and isinstance(mock_msg, str) and real_msg != mock_msg:
            found.append(make("/message", f"error wording: real {real_msg!r}, mock {mock_msg!r}"))
    lower = {k.lower(): v for k, v in headers.items()}
    for name in CLIENT_HEADERS:
        if (name in real.headers) != (name in lower):
            where = "real" if name in real.headers else "mock"
            found.append(make(f"header {name}", f"header only in the {where} answer"))
    if _word(real.body) == _word(body):
        found += [make(pointer, message) for pointer, message in compare_shapes(real.body, body)]
    return found


def mock_vs_real(episodes: list[Episode], send: Send, advance: Callable[[float], None],
                 mock_url: str) -> tuple[list[Finding], list[str]]:
    """Send each recorded request to the mock; follow queued jobs to their end on its clock."""
    found: list[Finding] = []
    notes: list[str] = []
    queued_real = sum(1 for e in episodes if _word(e.submit.body) == "processing")
    etas_real = [e.submit.body.get("eta") for e in episodes if _word(e.submit.body) == "processing"
                 and isinstance(e.submit.body.get("eta"), (int, float))]
    queued_mock = 0
    for episode in episodes:
        body, headers = _mock_request(episode)
        url = mock_url + episode.endpoint
        # first as the mock would answer on its own: how often jobs queue
        status, answer_headers, answer = send("POST", url, body, headers)
        queued_mock += _word(answer) == "processing"
        word = _word(episode.submit.body)
        if word in ("processing", "success", "failed") and _word(answer) != word and _word(answer) != "error":
            # compare shapes of the same variant: ask the mock for the state the real service was in
            status, answer_headers, answer = send("POST", url, body, {**headers, "Prefer": f"variant={word}"})
        found += _compare(episode, "submit", episode.submit, status, answer_headers, answer)
        if word == "processing" and _word(answer) == "processing" and episode.polls:
            fetch_url = answer.get("fetch_result") if isinstance(answer, dict) else None
            if isinstance(fetch_url, str) and fetch_url.startswith(("http://", "https://")):
                fetch_body = {"key": TEST_KEY}
                first = next((p for p in episode.polls if _word(p.body) == "processing"), None)
                if first is not None:
                    found += _compare(episode, "poll", first, *send("POST", fetch_url, fetch_body, headers))
                advance(max(episode.ready_after, 1.0) + 3600)
                found += _compare(episode, "final", episode.polls[-1], *send("POST", fetch_url, fetch_body, headers))
    if episodes:
        notes.append(f"jobs queued: real {queued_real}/{len(episodes)}, mock {queued_mock}/{len(episodes)}")
    if etas_real:
        notes.append(f"real eta range: {min(etas_real):g}-{max(etas_real):g} s")
    return _unique(found), notes


def _unique(found: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for finding in found:
        if finding.fingerprint not in seen:
            seen.add(finding.fingerprint)
            out.append(finding)
    return out


# -- the whole report --------------------------------------------------------------------------------

def load_baseline(folder: Path) -> set[str]:
    path = folder / BASELINE
    if not path.is_file():
        return set()
    return set(json.loads(path.read_text()).get("accepted", []))


def write_baseline(folder: Path, report: DriftReport) -> Path:
    path = folder / BASELINE
    path.write_text(json.dumps({"accepted": sorted(f.fingerprint for f in report.findings)}, indent=2) + "\n")
    return path


def build_report(folder: Path, document: dict[str, Any], send: Send | None,
                 advance: Callable[[float], None] | None, mock_url: str | None) -> DriftReport:
    episodes = Cassette(folder).episodes()
    report = DriftReport(episodes=len(episodes))
    report.findings = spec_vs_real(document, episodes)
    if send is not None and advance is not None and mock_url is not None:
        found, notes = mock_vs_real(episodes, send, advance, mock_url)
        report.findings += found
        report.notes += notes
    baseline = load_baseline(folder)
    report.accepted = [f for f in report.findings if f.fingerprint in baseline]
    return report
