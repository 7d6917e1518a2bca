"""``mockserver run --replay DIR``: answer requests with the episodes a cassette recorded.

A request is matched to an episode by its endpoint and the fields that shape a job (model id,
sizes, samples, prompt, hashes of the init and mask images; ``contracts.core.episodes.match_key``),
never by key, webhook or track_id. Identical requests take the recorded episodes in turn, and
start again after the last (a client that asks twice for the same thing gets what the service
gave the second time). What an episode turns into is a ``Replay``: the recorded error as it was,
or a job that stays ``processing`` until the recorded offset on the mock's clock and then ends as
the recorded final state, with fresh ids and output URLs of the recorded size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.core.episodes import Cassette, Episode, match_key

__all__ = ["ON_MISS", "Replay", "ReplayLibrary"]

ON_MISS = ("generate", "error")


@dataclass(frozen=True)
class Replay:
    """What one recorded episode means for a new request."""

    episode: str
    variant: str  # success | processing | error | failed
    eta: float = 0.0
    outcome: str = "success"  # how a processing job ends
    status: int = 200  # the HTTP status of a recorded error
    body: Any = None  # the recorded error body
    headers: tuple[tuple[str, str], ...] = ()
    samples: int | None = None
    width: int | None = None
    height: int | None = None

    @property
    def warning(self) -> str:
        return f"replayed recorded episode {self.episode}"


def _replay_of(episode: Episode) -> Replay:
    submit = episode.submit.body if isinstance(episode.submit.body, dict) else {}
    word = str(submit.get("status", "error"))
    sizes = [(o.get("width"), o.get("height")) for o in episode.outputs if o.get("width")]
    width, height = sizes[0] if sizes else (None, None)
    samples = len(episode.outputs) or None
    if word == "processing":
        final = episode.final_status if episode.finished else "success"
        outcome = "failed" if final in ("failed", "error") else "success"
        return Replay(episode.id, "processing", eta=max(episode.ready_after, 0.0), outcome=outcome,
                      samples=samples, width=width, height=height)
    if word == "success":
        return Replay(episode.id, "success", samples=samples, width=width, height=height)
    if word == "failed":
        return Replay(episode.id, "failed")
    headers = tuple((k.title(), str(v)) for k, v in episode.submit.headers.items()
                    if k in ("retry-after", "x-ratelimit-reset"))
    return Replay(episode.id, "error", status=episode.submit.status, body=episode.submit.body, headers=headers)


class ReplayLibrary:
    """The episodes of one cassette, by match key; ``find`` is safe from several threads."""

    def __init__(self, folder: str | Path, on_miss: str = "generate"):
        if on_miss not in ON_MISS:
            raise ValueError(f"on_miss must be one of {', '.join(ON_MISS)}, not {on_miss!r}")
        self.folder = Path(folder)
        self.on_miss = on_miss
        self._by_key: dict[str, list[Replay]] = {}
        self._turn: dict[str, int] = {}
        self._lock = threading.Lock()
        self._by_id: dict[str, Replay] = {}
        self._examples: dict[str, tuple[int, Any]] = {}
        for episode in Cassette(self.folder).episodes():
            self._examples[f"episode-{episode.id}"] = (episode.submit.status, episode.submit.body)
            if episode.polls:
                self._examples[f"episode-{episode.id}-final"] = (episode.last.status, episode.last.body)
            replay = _replay_of(episode)
            self._by_key.setdefault(episode.match, []).append(replay)
            self._by_id[episode.id] = replay

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_key.values())

    def find(self, endpoint: str, body: Any) -> Replay | None:
        key = match_key(endpoint, body)
        found = self._by_key.get(key)
        if not found:
            return None
        with self._lock:
            turn = self._turn.get(key, 0)
            self._turn[key] = turn + 1
        return found[turn % len(found)]

    def example(self, name: str) -> tuple[int, Any] | None:
        """A recorded answer by name, for ``Prefer: example=``: ``episode-0002`` is the submit's answer,
        ``episode-0002-final`` the last poll's (HTTP status, body), exactly as recorded."""
        return self._examples.get(name)

    def example_names(self) -> list[str]:
        return sorted(self._examples)

    def shape_job(self, job: Any, source: str) -> None:
        """Give a new job the recorded output count and size (``source`` is ``replay:NNNN``)."""
        replay = self._by_id.get(source.removeprefix("replay:"))
        if replay is None:
            return
        if replay.samples:
            job.samples = replay.samples
        if replay.width and replay.height:
            job.width, job.height = replay.width, replay.height

    def reset(self) -> None:
        with self._lock:
            self._turn.clear()
