"""Deliver webhooks the way the real service does: when the job is done, off the request thread.

When a job with a ``webhook`` URL finishes (success or failed), the fetch-style body plus
``track_id`` is POSTed to the URL. A queued job is due when its eta has passed by the mock clock,
so a test that advances the clock gets its webhook without sleeping. Only the process that
created a job delivers its webhook (one scheduler thread per process), so several workers never
send duplicates unless asked to.

Delivery is bounded everywhere: a bounded queue of attempts, a few worker threads, a timeout
per attempt (a receiver that hangs costs one worker for at most ``webhook_timeout``), retries
with doubling backoff (``webhook_retries``; the real service promises best effort only), and the
same network policy as images (loopback only by default; no redirects, no private ranges).
Injected faults: a duplicate copy, a drop (never sent), an extra delay. Every attempt is recorded
in the store's ``webhooks`` log (redacted), and the job's ``webhook_status`` says what happened:
``pending`` -> ``success`` (a 2xx arrived) | ``failed`` (no 2xx after every attempt, refused by
the allow-list, or no room in the queue) | ``dropped`` (an injected drop).

Keys (owners) share fairly, so one key's dead receiver cannot delay or drop another key's
webhooks: when the waiting list or the delivery queue is full, the key holding the most entries
gives up its newest one (recorded ``queue_full``) to a key holding fewer; workers take due
deliveries from the keys in turn, and while others wait no key holds more than its share of
the delivery threads (alone, all but one of them).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable

import orjson

from contracts.core.redact import redact_text
from mockserver.state.journal import cap_entry, limit, mask_values, scrub
from mockserver.state.jobs import Job
from mockserver.images.netpolicy import FetchError, FetchRefused, NetPolicy

__all__ = ["WEBHOOKS_LOG", "WebhookDispatcher"]

log = logging.getLogger("mockserver.control.webhooks")

WEBHOOKS_LOG = "webhooks"
USER_AGENT = "modelslab-mock-webhook/1"
_MAX_RESPONSE = 64 * 1024
_POLL = 0.5  # seconds between looks at the clock when another process may have moved it
_IDLE = 5.0  # seconds an idle thread waits before it exits (started again on demand)


@dataclass
class _Pending:
    job_id: int
    owner: str
    ready_at: float
    url: str
    base_url: str
    copies: int
    drop: bool
    delay: float
    epoch: tuple[int, int]


@dataclass(order=True)
class _Attempt:
    due: float
    seq: int
    job_id: int = field(compare=False)
    owner: str = field(compare=False)
    url: str = field(compare=False)
    track_id: Any = field(compare=False)
    copy: int = field(compare=False)
    attempt: int = field(compare=False)
    payload: bytes = field(compare=False)
    epoch: tuple[int, int] = field(compare=False)


def _failure(reason: str) -> str:
    """The short cause of a failed attempt ("timed out", "ConnectionRefusedError: ..."), as before."""
    _, sep, detail = reason.partition(" failed: ")
    return detail if sep else reason


def _redact_strings(data: Any) -> Any:
    """Secrets inside strings too (``?token=`` in the echoed webhook URL): the log is a sink."""
    if isinstance(data, str):
        return redact_text(data) if ("=" in data or ":" in data) else data
    if isinstance(data, dict):
        return {k: _redact_strings(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_redact_strings(v) for v in data]
    return data


class WebhookDispatcher:
    """Schedules, sends, retries and records the webhooks of the jobs this process created."""

    def __init__(self, *, store: Any, clock: Any, build_body: Callable[[Job, str], dict[str, Any]],
                 policy: NetPolicy | None = None, timeout: float = 5.0, retries: int = 2, backoff: float = 1.0,
                 workers: int = 4, queue_size: int = 1000):
        self.store = store
        self.clock = clock
        self.build_body = build_body
        self.policy = policy or NetPolicy()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_workers = workers
        self.queue_size = queue_size
        self._cond = threading.Condition()
        self._pending: dict[int, _Pending] = {}
        self._retries: list[_Attempt] = []
        self._ready: OrderedDict[str, deque[_Attempt]] = OrderedDict()  # owner -> due attempts; order = turns
        self._ready_count = 0
        self._busy: dict[str, int] = {}  # owner -> attempts being delivered now
        self._in_flight = 0
        self._handoff = 0  # taken off the pending list or the retry heap, not yet queued
        self._open: dict[int, list[Any]] = {}  # job id -> [copies left, copies delivered, owner]
        self._secrets: dict[int, tuple[str, ...]] = {}  # job id -> values to mask in its records (in flight only)
        self._seq = itertools.count()
        self._scheduler: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._poked = False
        self._stopped = False
        self._epoch_all = 0
        self._epochs: dict[str, int] = {}

    # -- what the pipeline and the admin API call -------------------------------------------------

    def schedule(self, job: Job, base_url: str, copies: int = 1, drop: bool = False, delay: float = 0.0,
                 secrets: tuple[str, ...] = ()) -> None:
        """Deliver ``job``'s webhook when it is done (never blocks on the network). ``secrets`` (the
        API key) are masked wherever the delivery log would otherwise echo them (track_id, URL, body)."""
        evicted: _Pending | None = None
        with self._cond:
            full = len(self._pending) >= self.queue_size
            if full:
                evicted = self._pending_victim(job.owner)
                if evicted is not None:
                    del self._pending[evicted.job_id]
                    self._secrets.pop(evicted.job_id, None)
                    full = False
            if not full:
                wanted = tuple(s for s in secrets if isinstance(s, str) and len(s) >= 4)
                if wanted:
                    self._secrets[job.id] = wanted
                self._pending[job.id] = _Pending(job.id, job.owner, job.ready_at, str(job.webhook), base_url,
                                                 max(1, copies), drop, max(0.0, delay), self._epoch(job.owner))
                self._poked = True
                self._ensure_scheduler()
                self._cond.notify_all()
        if evicted is not None:
            gone = self.store.get_job(evicted.job_id)
            self._record(evicted.job_id, evicted.owner, gone.track_id if gone else None, evicted.url, 1, 1,
                         "queue_full", None, f"more than {self.queue_size} webhooks are waiting; this key had "
                         f"the most of them and gave its newest up to another key", 0.0, True, None)
            self._set_status(evicted.job_id, "failed")
        if full:
            self._record(job.id, job.owner, job.track_id, str(job.webhook), 1, 1, "queue_full", None,
                         f"more than {self.queue_size} webhooks are waiting", 0.0, True, None)
            self._set_status(job.id, "failed")

    def _pending_victim(self, owner: str) -> _Pending | None:
        """(Under the lock, the waiting list full.) The newest entry of the key holding the most, when
        that key holds more than ``owner`` would with one more; None when ``owner`` must wait its turn."""
        counts: dict[str, int] = {}
        newest: dict[str, _Pending] = {}
        for item in self._pending.values():
            counts[item.owner] = counts.get(item.owner, 0) + 1
            newest[item.owner] = item
        hog = max(counts, key=counts.__getitem__)
        if counts[hog] > counts.get(owner, 0) + 1:
            return newest[hog]
        return None

    def poke(self) -> None:
        """Look at the clock now (a test advanced it)."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()

    def reset(self, owner: str | None = None) -> None:
        """Forget pending deliveries of everyone, or of one namespace."""
        with self._cond:
            if owner is None:
                self._epoch_all += 1
                self._epochs.clear()
                self._pending.clear()
                self._retries.clear()
                self._open.clear()
                self._secrets.clear()
            else:
                self._epochs[owner] = self._epochs.get(owner, 0) + 1
                for job_id in [j for j, p in self._pending.items() if p.owner == owner]:
                    del self._pending[job_id]
                    self._secrets.pop(job_id, None)
                self._retries = [a for a in self._retries if a.owner != owner]
                heapq.heapify(self._retries)
                for job_id in [j for j, counts in self._open.items() if counts[2] == owner]:
                    del self._open[job_id]
                    self._secrets.pop(job_id, None)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every webhook that is due has been delivered (or given up); False on timeout."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            with self._cond:
                pending = list(self._pending.values())
                busy = (self._in_flight > 0 or self._handoff > 0 or bool(self._retries)
                        or self._ready_count > 0)
            if not busy and not any(self._is_due(p) for p in pending):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._cond:
                self._cond.wait(min(remaining, 0.02))

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"waiting_for_jobs": len(self._pending), "retrying": len(self._retries),
                    "queued": self._ready_count, "in_flight": self._in_flight,
                    "workers": sum(t.is_alive() for t in self._workers)}

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # -- scheduling ----------------------------------------------------------------------------------

    def _epoch(self, owner: str) -> tuple[int, int]:
        return self._epoch_all, self._epochs.get(owner, 0)

    def _is_due(self, pending: _Pending) -> bool:
        return self.clock.now(pending.owner) >= pending.ready_at

    def _ensure_scheduler(self) -> None:
        if self._scheduler is None or not self._scheduler.is_alive():
            self._scheduler = threading.Thread(target=self._schedule_loop, name="mock-webhook-scheduler", daemon=True)
            self._scheduler.start()

    def _schedule_loop(self) -> None:
        idle_since = time.monotonic()
        while True:
            with self._cond:
                if self._stopped:
                    self._scheduler = None
                    return
                pending = list(self._pending.values())
            due: list[_Pending] = []
            wait = _POLL
            nows: dict[str, float] = {}
            for item in pending:
                now = nows[item.owner] if item.owner in nows else nows.setdefault(item.owner, self.clock.now(item.owner))
                if now >= item.ready_at:
                    due.append(item)
                else:
                    wait = min(wait, item.ready_at - now)
            ready: list[_Attempt] = []
            with self._cond:
                started = [p for p in due if self._pending.pop(p.job_id, None) is p]
                mono = time.monotonic()
                while self._retries and self._retries[0].due <= mono:
                    ready.append(heapq.heappop(self._retries))
                self._handoff += len(started) + len(ready)
                if self._retries:
                    wait = min(wait, self._retries[0].due - mono)
                if started or ready or self._pending or self._retries:
                    idle_since = mono
                elif mono - idle_since >= _IDLE:
                    self._scheduler = None
                    return
                else:
                    wait = _IDLE - (mono - idle_since)
            for item in started:
                try:
                    self._start(item)
                except Exception:  # a store error must not stop every later webhook
                    log.exception("could not start the webhook of job %s", item.job_id)
                finally:
                    self._done_handoff()
            for attempt in ready:
                try:
                    self._enqueue(attempt)
                finally:
                    self._done_handoff()
            with self._cond:
                if not self._poked and not self._stopped:
                    self._cond.wait(max(0.001, wait))
                self._poked = False

    def _done_handoff(self) -> None:
        with self._cond:
            self._handoff -= 1
            self._cond.notify_all()

    def _start(self, item: _Pending) -> None:
        job = self.store.get_job(item.job_id)
        if job is None or job.owner != item.owner:
            with self._cond:
                self._secrets.pop(item.job_id, None)
            return  # forgotten (reset, or dropped by the store's cap): nothing to announce
        body = self.build_body(job, item.base_url)
        try:
            payload = orjson.dumps(body)
        except TypeError:  # an integer past 64 bits a client sent (meta echoes it): the standard library's JSON
            payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        if item.drop:
            self._record(job.id, job.owner, job.track_id, item.url, 1, 0, "dropped", None,
                         "dropped on purpose (webhook_drop_ratio, a rule or Prefer: webhook=drop)", 0.0, True, body)
            self._set_status(job.id, "dropped")
            with self._cond:
                self._secrets.pop(job.id, None)
            return
        with self._cond:
            self._open[job.id] = [item.copies, 0, job.owner]
        due = time.monotonic() + item.delay
        for copy in range(1, item.copies + 1):
            attempt = _Attempt(due, next(self._seq), job.id, job.owner, item.url, job.track_id, copy, 1, payload,
                               item.epoch)
            if item.delay > 0:
                with self._cond:
                    heapq.heappush(self._retries, attempt)
            else:
                self._enqueue(attempt)

    def _enqueue(self, attempt: _Attempt) -> None:
        evicted: _Attempt | None = None
        with self._cond:
            if attempt.epoch != self._epoch(attempt.owner):
                return
            full = self._ready_count >= self.queue_size
            if full:
                mine = len(self._ready.get(attempt.owner, ()))
                hog = max(self._ready, key=lambda owner: len(self._ready[owner]))
                if len(self._ready[hog]) > mine + 1:  # the key holding the most gives its newest up
                    evicted = self._ready[hog].pop()
                    self._ready_count -= 1
                    self._in_flight -= 1
                    full = False
            if not full:
                self._ready.setdefault(attempt.owner, deque()).append(attempt)
                self._ready_count += 1
                self._in_flight += 1
                self._ensure_workers()
                self._cond.notify_all()
        if evicted is not None:
            self._record(evicted.job_id, evicted.owner, evicted.track_id, evicted.url, evicted.copy, evicted.attempt,
                         "queue_full", None, f"more than {self.queue_size} deliveries are queued; this key had the "
                         f"most of them and gave its newest up to another key", 0.0, True, None)
            self._finish_copy(evicted, ok=False)
        if full:
            self._record(attempt.job_id, attempt.owner, attempt.track_id, attempt.url, attempt.copy, attempt.attempt,
                         "queue_full", None, f"more than {self.queue_size} deliveries are queued", 0.0, True, None)
            self._finish_copy(attempt, ok=False)

    def _share(self, owner: str) -> int:
        """(Under the lock.) How many delivery threads ``owner`` may hold now: all but one while it is
        the only key with work (one stays free for whoever comes next), else an even share."""
        active = sum(1 for o in set(self._ready) | {o for o, n in self._busy.items() if n} if o != owner) + 1
        if active == 1:
            return max(1, self.max_workers - 1)
        return max(1, self.max_workers // active)

    def _take(self) -> _Attempt | None:
        """(Under the lock.) The next due attempt, keys in turn, skipping keys at their share."""
        for owner in list(self._ready):
            if self._busy.get(owner, 0) >= self._share(owner):
                continue
            waiting = self._ready[owner]
            attempt = waiting.popleft()
            self._ready_count -= 1
            if waiting:
                self._ready.move_to_end(owner)  # the next turn is another key's
            else:
                del self._ready[owner]
            self._busy[owner] = self._busy.get(owner, 0) + 1
            return attempt
        return None

    # -- delivering ----------------------------------------------------------------------------------

    def _ensure_workers(self) -> None:
        """(Under the lock.) One more thread while there is work for it, up to ``webhook_workers``."""
        self._workers = [t for t in self._workers if t.is_alive()]
        busy = sum(self._busy.values())
        if len(self._workers) < self.max_workers and len(self._workers) < self._ready_count + busy:
            worker = threading.Thread(target=self._work_loop, name="mock-webhook-worker", daemon=True)
            self._workers.append(worker)
            worker.start()

    def _work_loop(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                idle_until = time.monotonic() + _IDLE
                while True:
                    attempt = None if self._stopped else self._take()
                    if attempt is not None:
                        break
                    remaining = idle_until - time.monotonic()
                    if self._stopped or (remaining <= 0 and not self._ready_count):
                        if me in self._workers:
                            self._workers.remove(me)
                        return
                    self._cond.wait(max(0.01, min(remaining, _POLL)))
            try:
                with self._cond:
                    current = attempt.epoch == self._epoch(attempt.owner)
                if current:
                    self._deliver(attempt)
            except Exception:  # a bug here must not kill the worker or hang wait_idle
                log.exception("webhook delivery failed unexpectedly")
            finally:
                with self._cond:
                    self._in_flight -= 1
                    left = self._busy.get(attempt.owner, 1) - 1
                    if left > 0:
                        self._busy[attempt.owner] = left
                    else:
                        self._busy.pop(attempt.owner, None)
                    self._cond.notify_all()

    def _deliver(self, attempt: _Attempt) -> None:
        started = time.perf_counter()
        status, error, refused = self._post(attempt)
        duration = (time.perf_counter() - started) * 1000.0
        ok = status is not None and 200 <= status < 300
        final = ok or refused or attempt.attempt > self.retries
        with self._cond:
            if attempt.epoch != self._epoch(attempt.owner):
                return  # reset while this attempt was on the wire: forget it, like everything else
        outcome = "success" if ok else ("refused" if refused else "failed")
        body = orjson.loads(attempt.payload) if attempt.attempt == 1 else None
        self._record(attempt.job_id, attempt.owner, attempt.track_id, attempt.url, attempt.copy, attempt.attempt,
                     outcome, status, error, duration, final, body)
        if final:
            self._finish_copy(attempt, ok)
            return
        retry = _Attempt(time.monotonic() + self.backoff * 2 ** (attempt.attempt - 1), next(self._seq),
                         attempt.job_id, attempt.owner, attempt.url, attempt.track_id, attempt.copy,
                         attempt.attempt + 1, attempt.payload, attempt.epoch)
        with self._cond:
            heapq.heappush(self._retries, retry)
            self._poked = True
            self._ensure_scheduler()
            self._cond.notify_all()

    def _post(self, attempt: _Attempt) -> tuple[int | None, str | None, bool]:
        """(HTTP status or None, error or None, refused by the policy)."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Mock-Delivery": f"{attempt.job_id}-{attempt.copy}",
            "X-Mock-Attempt": str(attempt.attempt),
        }
        try:
            code = self.policy.post(attempt.url, attempt.payload, headers, self.timeout,
                                    max_response_bytes=_MAX_RESPONSE)
        except FetchRefused as exc:
            return None, exc.reason, True
        except FetchError as exc:
            return None, _failure(exc.reason), False
        if 200 <= code < 300:
            return code, None, False
        if 300 <= code < 400:
            return code, f"answered {code}; redirects are not followed", False
        return code, f"answered HTTP {code}", False

    def _finish_copy(self, attempt: _Attempt, ok: bool) -> None:
        with self._cond:
            counts = self._open.get(attempt.job_id)
            if counts is None:
                counts = [1, 0, attempt.owner]
            counts[0] -= 1
            counts[1] += 1 if ok else 0
            done = counts[0] <= 0
            if done:
                self._open.pop(attempt.job_id, None)
            else:
                self._open[attempt.job_id] = counts
        if done:
            self._set_status(attempt.job_id, "success" if counts[1] else "failed")
            with self._cond:
                self._secrets.pop(attempt.job_id, None)

    # -- records ---------------------------------------------------------------------------------------

    def _set_status(self, job_id: int, status: str) -> None:
        job = self.store.get_job(job_id)
        if job is not None and job.webhook_status != status:
            job.webhook_status = status
            self.store.put_job(job)

    def _record(self, job_id: int, owner: str, track_id: Any, url: str, copy: int, attempt: int, outcome: str,
                status: int | None, error: str | None, duration_ms: float, final: bool,
                body: dict[str, Any] | None) -> None:
        entry: dict[str, Any] = {
            "owner": owner,
            "job_id": job_id,
            "track_id": track_id,
            "url": redact_text(url),
            "delivery": f"{job_id}-{copy}",
            "copy": copy,
            "attempt": attempt,
            "outcome": outcome,
            "status_code": status,
            "error": redact_text(error) if error else None,
            "final": final,
            "duration_ms": round(duration_ms, 3),
            "time": time.time(),
        }
        if body is not None:
            entry["payload"] = _redact_strings(limit(scrub(body)))
        with self._cond:
            secrets = self._secrets.get(job_id, ())
        if secrets:
            entry = mask_values(entry, secrets)
        self.store.append(WEBHOOKS_LOG, cap_entry(entry))
