"""Recorded episodes: one real job per file, from its submit to its final state.

A cassette is a folder written by ``mockserver record`` and read by ``mockserver run --replay``
and ``contracts drift``::

    DIR/cassette.json          format, upstream, when it was recorded
    DIR/episodes/0001.json     one job: submit, every poll with its time offset, final state,
                               webhook deliveries, what each output was (type, size, hash)
    DIR/thumbs/0001-0.png      a small thumbnail of each output (real output URLs expire)

Why one file per job and not a list of HTTP exchanges (VCR): replaying a polling loop from a
list serves the same answer forever or runs out; an episode knows *when* its job finished, so a
replay can follow the clock. The key never reaches a file: ``Episode.dump`` refuses to write text
that still holds any secret it was told about.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from contracts.core.redact import MASK, SECRET_FIELDS

__all__ = ["FORMAT", "MATCH_FIELDS", "Cassette", "Episode", "RedactionError", "Exchange", "match_key",
           "redact_exchange", "strip_secrets"]

FORMAT = "modelslab-mock-cassette/1"
#: The request fields that decide which episode answers a request (besides the endpoint).
MATCH_FIELDS = ("model_id", "width", "height", "samples", "prompt", "negative_prompt")
#: Image inputs are matched by a hash of the string sent (a URL or base64), never stored whole.
IMAGE_FIELDS = ("init_image", "mask_image")
#: Headers worth keeping: what a client reads or what says what the body is.
KEPT_HEADERS = ("content-type", "retry-after", "x-ratelimit-reset", "x-ratelimit-limit", "x-ratelimit-remaining",
                "user-agent", "prefer")
_SECRET_HEADERS = {"key", "authorization", "x-api-key", "api-key", "x-mock-admin-token", "cookie", "set-cookie"}


class RedactionError(RuntimeError):
    """A secret was still in the text about to be written: nothing was written."""


def strip_secrets(data: Any) -> Any:
    """A copy with every secret field (``key``, ``api_key``, ...) replaced by ``***``, at any depth."""
    if isinstance(data, dict):
        return {k: (MASK if isinstance(k, str) and k.lower() in SECRET_FIELDS and v not in (None, "")
                    else strip_secrets(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [strip_secrets(v) for v in data]
    return data


def _keep_headers(headers: dict[str, str]) -> dict[str, str]:
    kept = {}
    for name, value in headers.items():
        low = name.lower()
        if low in _SECRET_HEADERS:
            kept[low] = MASK
        elif low in KEPT_HEADERS:
            kept[low] = value
    return kept


def _image_hash(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def match_key(endpoint: str, body: Any) -> str:
    """What makes two requests "the same" for replay: endpoint plus the fields that shape the job."""
    body = body if isinstance(body, dict) else {}
    parts: dict[str, Any] = {"endpoint": endpoint.rstrip("/")}
    for name in MATCH_FIELDS:
        value = body.get(name)
        if value is not None and value != "":
            parts[name] = str(value)  # "512" and 512 are one request, as the service reads them
    for name in IMAGE_FIELDS:
        digest = _image_hash(body.get(name))
        if digest:
            parts[name] = digest
    return json.dumps(parts, sort_keys=True, ensure_ascii=False)


@dataclass
class Exchange:
    """One HTTP exchange of an episode, already redacted; ``offset`` is seconds since the submit."""

    method: str
    path: str
    status: int
    body: Any
    offset: float = 0.0
    request_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)


def redact_exchange(method: str, path: str, status: int, body: Any, offset: float, request_body: Any,
                    headers: dict[str, str], request_headers: dict[str, str]) -> Exchange:
    """An exchange with keys removed from the body, headers and query string."""
    return Exchange(method=method, path=_strip_query_secrets(path), status=status, body=strip_secrets(body),
                    offset=round(offset, 3), request_body=strip_secrets(request_body),
                    headers=_keep_headers(headers), request_headers=_keep_headers(request_headers))


_QUERY_SECRET = re.compile(r"(?i)([?&](?:key|api_key|apikey|token)=)[^&#]*")


def _strip_query_secrets(path: str) -> str:
    return _QUERY_SECRET.sub(lambda m: m[1] + MASK, path)


@dataclass
class Episode:
    """One job as the upstream lived it."""

    id: str
    endpoint: str
    operation: str | None
    match: str
    submit: Exchange
    polls: list[Exchange] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    key_sent: bool = True
    recorded_at: str = ""

    # -- what the replay and the drift report need to know ---------------------------------------

    @property
    def job_id(self) -> str | None:
        body = self.submit.body
        return str(body["id"]) if isinstance(body, dict) and body.get("id") not in (None, "") else None

    @property
    def last(self) -> Exchange:
        return self.polls[-1] if self.polls else self.submit

    @property
    def final_status(self) -> str:
        body = self.last.body
        return str(body.get("status", "")) if isinstance(body, dict) else ""

    @property
    def finished(self) -> bool:
        return self.final_status in ("success", "failed", "error")

    @property
    def ready_after(self) -> float:
        """Seconds from the submit until the first answer that was final (0 for an at-once answer)."""
        for exchange in [self.submit, *self.polls]:
            body = exchange.body
            if isinstance(body, dict) and body.get("status") in ("success", "failed", "error"):
                return exchange.offset
        return self.last.offset

    # -- files -------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Episode":
        data = dict(data)
        data["submit"] = Exchange(**data["submit"])
        data["polls"] = [Exchange(**p) for p in data.get("polls", [])]
        return cls(**data)

    def dump(self, secrets: Iterable[str] = ()) -> str:
        """The episode as JSON text; raises ``RedactionError`` if any secret value is still in it."""
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=True)
        check_clean(text, secrets)
        return text


def check_clean(text: str, secrets: Iterable[str]) -> None:
    """Refuse text holding a secret (or its JSON-escaped form): nothing is better than a leak."""
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        escaped = json.dumps(secret, ensure_ascii=True)[1:-1]
        if secret in text or escaped in text:
            raise RedactionError("a key is still in the episode after redaction; nothing was written")


class Cassette:
    """A cassette folder: read every episode, or write one (atomically, redaction checked)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    @property
    def episodes_dir(self) -> Path:
        return self.folder / "episodes"

    @property
    def thumbs_dir(self) -> Path:
        return self.folder / "thumbs"

    def create(self, upstream: str, recorded_at: str) -> None:
        self.episodes_dir.mkdir(parents=True, exist_ok=True)
        self.thumbs_dir.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "cassette.json"
        if not meta.exists():
            meta.write_text(json.dumps({"format": FORMAT, "upstream": upstream, "recorded_at": recorded_at},
                                       indent=2) + "\n")

    def meta(self) -> dict[str, Any]:
        path = self.folder / "cassette.json"
        if not path.is_file():
            raise FileNotFoundError(f"{self.folder} is not a cassette (no cassette.json)")
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: format {data.get('format')!r} is not {FORMAT!r}")
        return data

    def next_id(self) -> str:
        taken = [int(p.stem) for p in self.episodes_dir.glob("*.json") if p.stem.isdigit()]
        return f"{max(taken, default=0) + 1:04d}"

    def write(self, episode: Episode, secrets: Iterable[str] = ()) -> Path:
        text = episode.dump(secrets)
        path = self.episodes_dir / f"{episode.id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(path)
        return path

    def write_thumb(self, name: str, data: bytes) -> str:
        path = self.thumbs_dir / name
        path.write_bytes(data)
        return f"thumbs/{name}"

    def episodes(self) -> list[Episode]:
        self.meta()
        found = []
        for path in sorted(self.episodes_dir.glob("*.json")):
            try:
                found.append(Episode.from_dict(json.loads(path.read_text())))
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"{path}: not an episode ({exc})") from None
        return found
