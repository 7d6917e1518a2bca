"""Where the mock's state lives, behind one small interface.

Jobs (by id, or by the file prefix their output URLs carry), a fresh integer id, the clock
offset tests move, append-only logs (the request journal, webhook deliveries) and scenario
rules that may be used a limited number of times. ``MemoryStore`` keeps them in this process;
persistent backends (SQLite for several workers, Redis for several machines) implement the
same methods, so every worker sees every job, rule and journal entry.

Every collection is capped, by count and by bytes: the oldest entries go first, so the store
never grows without bound however long a mock runs. ``DEFAULT_MAX_LOG_BYTES`` is the budget of
each log (its entries as JSON), ``DEFAULT_MAX_STORE_BYTES`` that of all jobs together.
Logs are read a batch at a time (``iter_entries``), so a listing never holds a whole log.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from typing import Any, Iterator, Protocol

import orjson

from mockserver.state.jobs import Job

__all__ = ["DEFAULT_MAX_LOG_BYTES", "DEFAULT_MAX_STORE_BYTES", "FIRST_JOB_ID", "MemoryStore", "Store",
           "StoreUnavailable", "decode_doc", "decode_rule", "encode_doc", "job_bytes"]

#: Real ids are 8-9 digit integers (MODELSLAB-FACTS §3.1); the mock counts up from here.
FIRST_JOB_ID = 130_000_000

#: Bytes each log (the journal, the webhook log) may hold, as JSON; the oldest entries go first.
DEFAULT_MAX_LOG_BYTES = 16 * 1024 * 1024
#: Bytes all jobs together may hold (their init/mask images included); the oldest jobs go first.
DEFAULT_MAX_STORE_BYTES = 256 * 1024 * 1024
#: Entries a store reads at once when a log is walked.
LOG_BATCH = 64


def job_bytes(job: Job) -> int:
    """About how many bytes a job takes (its texts and images; a few hundred for the rest)."""
    size = 512
    for part in (job.meta, job.render):
        for value in part.values():
            if isinstance(value, str):
                size += len(value)
            elif isinstance(value, (list, dict)):
                size += len(str(value))
    return size


class StoreUnavailable(RuntimeError):
    """The store cannot be read or written now (a file gone or read-only, a full disk, Redis down).

    The message is what a client gets in a 503: ``state store unavailable: <reason>``. Stores
    raise it instead of their own errors, and try again on the next call (no restart needed)."""

    def __init__(self, reason: str):
        super().__init__(f"state store unavailable: {reason}")
        self.reason = reason


_WIDE = b"\x00"  # marks documents orjson cannot hold exactly (integers wider than 64 bits)


def encode_doc(doc: Any) -> bytes:
    """Bytes for a job (a dataclass) or a dict, for stores that keep state outside the process."""
    try:
        return orjson.dumps(doc)
    except TypeError:  # a client's integer past 64 bits (e.g. a huge seed) must survive exactly
        data = doc.to_dict() if isinstance(doc, Job) else doc
        return _WIDE + json.dumps(data, separators=(",", ":")).encode()


def decode_doc(raw: bytes) -> Any:
    if raw[:1] == _WIDE:
        return json.loads(raw[1:])
    return orjson.loads(raw)


_RULE_DOCS: dict[bytes, Any] = {}
_RULE_DOCS_LIMIT = 4096
_RULE_DOCS_LOCK = threading.Lock()


def decode_rule(raw: bytes) -> dict[str, Any]:
    """A stored rule, decoded once per process: every request reads every rule, and decoding a
    full rule book (up to a MiB) on each one cost tens of milliseconds. A fresh top-level dict
    each time; what is nested inside is shared and must not be changed."""
    found = _RULE_DOCS.get(raw)
    if found is None:
        found = decode_doc(raw)
        with _RULE_DOCS_LOCK:
            if len(_RULE_DOCS) >= _RULE_DOCS_LIMIT:
                _RULE_DOCS.clear()
            _RULE_DOCS[raw] = found
    return dict(found)


class Store(Protocol):
    def next_id(self) -> int: ...

    def put_job(self, job: Job) -> None: ...

    def get_job(self, job_id: int) -> Job | None: ...

    def get_job_by_prefix(self, file_prefix: str) -> Job | None: ...

    def clock_offset(self, owner: str = "") -> float:
        """Seconds the clock of a namespace (an API key's owner; "" = everyone) was moved on."""
        ...

    def set_clock_offset(self, offset: float, owner: str = "") -> None: ...

    def append(self, log: str, entry: dict[str, Any]) -> int:
        """Add an entry to a named log; returns its sequence number (1, 2, ...)."""
        ...

    def entries(self, log: str, since: int = 0) -> list[dict[str, Any]]:
        """A log's entries with a sequence number above ``since``, oldest first."""
        ...

    def iter_entries(self, log: str, since: int = 0) -> Iterator[dict[str, Any]]:
        """The same entries, read ``LOG_BATCH`` at a time."""
        ...

    def queue_add(self, owner: str, job_id: int, ready_at: float, now: float) -> None:
        """Remember a queued job of a namespace until ``ready_at`` (its owner's clock); entries
        already done at ``now`` may be forgotten. The queue limit per key counts these."""
        ...

    def queue_count(self, owner: str, now: float) -> tuple[int, float | None]:
        """How many of a namespace's jobs are still queued at ``now``, and the earliest ``ready_at``
        among them (None when there is none)."""
        ...

    def put_rule(self, rule: dict[str, Any]) -> None:
        """Add or replace a scenario rule (a dict with at least ``id``; ``times`` = uses left or None)."""
        ...

    def rules(self) -> list[dict[str, Any]]:
        """Rules in the order they were added."""
        ...

    def consume_rule(self, rule_id: str) -> bool:
        """Use a rule once, atomically: False when it has no uses left (or is gone)."""
        ...

    def delete_rules(self) -> None: ...

    def delete_rule(self, rule_id: str) -> bool:
        """Remove one rule; False if there was none with that id."""
        ...

    def reset(self, owner: str | None = None) -> None:
        """Forget everything, or only what belongs to one namespace (jobs, log entries, rules, clock)."""
        ...

    def close(self) -> None:
        """Release connections (a no-op for stores that hold none)."""
        ...

    def check_writable(self) -> None:
        """Write something small now: ``StoreUnavailable`` when the store cannot be written (health)."""
        ...


class MemoryStore:
    """In-process store with a cap on jobs (oldest dropped first) and an optional job TTL.

    ``job_ttl`` counts real seconds since a job was last stored (0 = keep until the cap); the
    mock clock that tests advance does not expire jobs, so finishing a queue never loses one.
    """

    def __init__(self, max_jobs: int = 100_000, max_log_entries: int = 10_000,
                 job_ttl: float = 0.0, wall=time.time, max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
                 max_store_bytes: int = DEFAULT_MAX_STORE_BYTES):
        self.max_jobs = max_jobs
        self.max_log_entries = max_log_entries
        self.max_log_bytes = max_log_bytes
        self.max_store_bytes = max_store_bytes
        self.job_ttl = job_ttl
        self._job_sizes: dict[int, int] = {}
        self._jobs_bytes = 0
        self._log_bytes: dict[str, int] = {}
        self._wall = wall
        self._lock = threading.Lock()
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self._stored_at: dict[int, float] = {}
        self._by_prefix: dict[str, int] = {}
        self._next = FIRST_JOB_ID
        self._offsets: dict[str, float] = {}
        # entries kept as their JSON: what the byte budget counts is what they take
        self._logs: dict[str, deque[tuple[int, str | None, bytes]]] = {}
        self._seq: dict[str, int] = {}
        self._rules: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._queues: dict[str, dict[int, float]] = {}  # owner -> queued job id -> ready_at

    def next_id(self) -> int:
        with self._lock:
            self._next += 1
            return self._next

    def put_job(self, job: Job) -> None:
        with self._lock:
            now = self._wall()
            self._jobs[job.id] = job
            self._jobs.move_to_end(job.id)
            self._stored_at[job.id] = now
            self._by_prefix[job.file_prefix] = job.id
            size = job_bytes(job)
            self._jobs_bytes += size - self._job_sizes.get(job.id, 0)
            self._job_sizes[job.id] = size
            while len(self._jobs) > self.max_jobs or (self._jobs_bytes > self.max_store_bytes and len(self._jobs) > 1):
                self._drop_oldest()
            if self.job_ttl:
                while self._jobs and self._stored_at[next(iter(self._jobs))] <= now - self.job_ttl:
                    self._drop_oldest()

    def _drop_oldest(self) -> None:
        job_id, dropped = self._jobs.popitem(last=False)
        self._stored_at.pop(job_id, None)
        self._jobs_bytes -= self._job_sizes.pop(job_id, 0)
        if self._by_prefix.get(dropped.file_prefix) == job_id:
            del self._by_prefix[dropped.file_prefix]

    def _live(self, job_id: int | None) -> Job | None:
        if job_id is None:
            return None
        job = self._jobs.get(job_id)
        if job is not None and self.job_ttl and self._stored_at.get(job_id, 0.0) <= self._wall() - self.job_ttl:
            return None
        return job

    def get_job(self, job_id: int) -> Job | None:
        return self._live(job_id)

    def get_job_by_prefix(self, file_prefix: str) -> Job | None:
        return self._live(self._by_prefix.get(file_prefix))

    def clock_offset(self, owner: str = "") -> float:
        return self._offsets.get(owner, 0.0)

    def set_clock_offset(self, offset: float, owner: str = "") -> None:
        self._offsets[owner] = float(offset)

    def append(self, log: str, entry: dict[str, Any]) -> int:
        # a copy of exactly its size: orjson's own bytes keep the room it grew into (8 KiB for 900 bytes)
        data = memoryview(encode_doc(entry)).tobytes()
        owner = entry.get("owner")
        with self._lock:
            seq = self._seq.get(log, 0) + 1
            self._seq[log] = seq
            kept = self._logs.setdefault(log, deque())
            kept.append((seq, owner if isinstance(owner, str) else None, data))
            total = self._log_bytes.get(log, 0) + len(data)
            while len(kept) > self.max_log_entries or (total > self.max_log_bytes and len(kept) > 1):
                total -= len(kept.popleft()[2])
            self._log_bytes[log] = total
            return seq

    def entries(self, log: str, since: int = 0) -> list[dict[str, Any]]:
        return list(self.iter_entries(log, since))

    def iter_entries(self, log: str, since: int = 0) -> Iterator[dict[str, Any]]:
        with self._lock:
            kept = list(self._logs.get(log, ()))  # references: the bytes are shared, not copied
        start = len(kept)
        low, high = 0, len(kept)
        while low < high:  # sequence numbers increase: the first one above since
            middle = (low + high) // 2
            if kept[middle][0] > since:
                high = middle
            else:
                low = middle + 1
        start = low
        for seq, _, data in kept[start:]:
            yield dict(decode_doc(data), seq=seq)

    def queue_add(self, owner: str, job_id: int, ready_at: float, now: float) -> None:
        with self._lock:
            queue = self._queues.setdefault(owner, {})
            for done in [i for i, ready in queue.items() if ready <= now]:
                del queue[done]
            queue[job_id] = ready_at

    def queue_count(self, owner: str, now: float) -> tuple[int, float | None]:
        with self._lock:
            waiting = [ready for ready in self._queues.get(owner, {}).values() if ready > now]
        return len(waiting), min(waiting, default=None)

    def put_rule(self, rule: dict[str, Any]) -> None:
        with self._lock:
            self._rules[str(rule["id"])] = dict(rule)

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(rule) for rule in self._rules.values()]

    def consume_rule(self, rule_id: str) -> bool:
        with self._lock:
            rule = self._rules.get(rule_id)
            if rule is None:
                return False
            times = rule.get("times")
            if times is None:
                return True
            if times <= 0:
                return False
            rule["times"] = times - 1
            return True

    def delete_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def delete_rule(self, rule_id: str) -> bool:
        with self._lock:
            return self._rules.pop(rule_id, None) is not None

    def reset(self, owner: str | None = None) -> None:
        with self._lock:
            if owner is None:
                self._jobs.clear()
                self._stored_at.clear()
                self._by_prefix.clear()
                self._next = FIRST_JOB_ID
                self._offsets.clear()
                self._logs.clear()
                self._log_bytes.clear()
                self._seq.clear()
                self._rules.clear()
                self._job_sizes.clear()
                self._jobs_bytes = 0
                self._queues.clear()
                return
            self._queues.pop(owner, None)
            for job_id in [i for i, job in self._jobs.items() if job.owner == owner]:
                self._stored_at.pop(job_id, None)
                self._jobs_bytes -= self._job_sizes.pop(job_id, 0)
                self._by_prefix.pop(self._jobs.pop(job_id).file_prefix, None)
            for name, log in self._logs.items():
                self._logs[name] = deque(item for item in log if item[1] != owner)
                self._log_bytes[name] = sum(len(item[2]) for item in self._logs[name])
            for rule_id in [i for i, rule in self._rules.items() if rule.get("owner") == owner]:
                del self._rules[rule_id]
            self._offsets.pop(owner, None)

    def close(self) -> None:
        pass

    def check_writable(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._jobs)
