"""A job's life as its client saw it, and what the client did wrong: the inspector's timeline.

Built from what is already stored: the job (mock-clock ``created_at`` / ``ready_at``), the journal
entries about it (the submit, each fetch, each output download) and its webhook attempts. Times
are seconds after the submit by the mock clock. A fetch answered ``processing`` carries the eta
left, so its time is exact even when a test moved the clock; a later answer's time is the wall
time since the submit, but never before the eta (the clock may have been moved in between).

Flags, each with the figures in its message (``GET /__mock/jobs/<id>/timeline``):

* ``polls_too_fast``: two or more fetches, while the job was queued, came less than
  ``max(1 s, eta / 4)`` after the previous call (the answer says "Try to fetch request after
  seconds estimated").
* ``gave_up_before_eta``: the client fetched, every answer was ``processing``, the job is done
  and no fetch came for ``max(10 s, twice the client's longest gap)`` after it was.
* ``never_fetched``: a queued job without a webhook that nobody fetched (nor downloaded its
  ``future_links``) within 10 s after it was ready.

A job with a ``webhook`` is never flagged for stopping or not fetching: the webhook brings the
result.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from mockserver.state.jobs import Job

__all__ = ["GRACE", "build_timeline", "is_fetch", "min_poll_gap"]

#: Seconds after a job is ready before not fetching it counts as giving up.
GRACE = 10.0
_DONE = ("success", "failed")


def is_fetch(operation: Any) -> bool:
    """Fetch operations, by name: ``fetchById``, ``v6ImagesFetch``, ``v7ImagesFetchById``, any operation
    of any spec whose id says ``fetch`` (the journal keeps the operationId, not the behaviour)."""
    return isinstance(operation, str) and "fetch" in operation.lower()


def min_poll_gap(eta: float) -> float:
    """The shortest gap between polls that an eta of ``eta`` seconds warrants."""
    return max(1.0, eta / 4.0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _round(value: float) -> float:
    return round(value, 3)


def build_timeline(job: Job, entries: Iterable[dict[str, Any]], deliveries: Iterable[dict[str, Any]],
                   now: float) -> dict[str, Any]:
    """The events of ``job`` and the flags on its client; ``now`` is the job owner's mock time."""
    entries = sorted(entries, key=lambda e: e.get("seq") or 0)
    eta = max(0.0, job.ready_at - job.created_at)
    queued = eta > 0
    submit = next((e for e in entries if e.get("operation") != "image" and not is_fetch(e.get("operation"))), None)
    base_wall = _number(submit.get("time")) if submit else None

    def wall_t(entry: dict[str, Any]) -> float | None:
        when = _number(entry.get("time"))
        return None if when is None or base_wall is None else when - base_wall

    events: list[dict[str, Any]] = []
    if submit is not None:
        events.append({"kind": "submit", "t": 0.0, "seq": submit.get("seq"), "status": submit.get("status"),
                       "variant": submit.get("variant"), "eta": _round(eta) if queued else None})
    if queued:
        events.append({"kind": "processing", "t": 0.0, "until": _round(eta)})

    polls: list[dict[str, Any]] = []
    downloads: list[dict[str, Any]] = []
    for entry in entries:
        operation = entry.get("operation")
        if entry is submit or not (is_fetch(operation) or operation == "image"):
            continue
        response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
        variant = entry.get("variant")
        left = _number(response.get("eta"))
        t = wall_t(entry)
        if variant == "processing" and left is not None:
            t = eta - left  # exact: the answer said how long was left by the mock clock
        elif variant in _DONE or variant == "image":
            t = max(eta, t if t is not None else eta)
        elif t is None:
            t = 0.0
        event = {"kind": "poll" if is_fetch(operation) else "download", "t": _round(max(0.0, t)),
                 "seq": entry.get("seq"), "status": entry.get("status"), "variant": variant}
        if event["kind"] == "poll":
            event["early"] = variant == "processing"
            if left is not None:
                event["eta_left"] = _round(left)
            polls.append(event)
        else:
            downloads.append(event)
        events.append(event)

    done = now >= job.ready_at
    events.append({"kind": job.outcome if done else "ready", "t": _round(eta), "reached": done,
                   "planned": not done})

    attempts = []
    for delivery in deliveries:
        when = _number(delivery.get("time"))
        t = max(eta, when - base_wall) if when is not None and base_wall is not None else eta
        attempt = {"kind": "webhook", "t": _round(t), "attempt": delivery.get("attempt"),
                   "copy": delivery.get("copy"), "outcome": delivery.get("outcome"),
                   "status_code": delivery.get("status_code"), "error": delivery.get("error"),
                   "final": delivery.get("final"), "duration_ms": delivery.get("duration_ms")}
        attempts.append(attempt)
        events.append(attempt)
    first = {"submit": 0, "processing": 1, "ready": 2, "success": 2, "failed": 2}
    events.sort(key=lambda e: (e["t"], first.get(e["kind"], 3)))  # stable: polls stay in their order

    flags = _flags(job, eta, queued, polls, downloads, now)
    status = "processing" if not done else job.outcome
    return {
        "job_id": job.id,
        "track_id": None,  # the caller fills it in from the journal (where a key in it was masked)
        "status": status,
        "eta": _round(eta),
        "eta_left": _round(max(0.0, job.ready_at - now)),
        "elapsed": _round(max(0.0, now - job.created_at)),
        "submitted_wall": base_wall,
        "webhook": bool(job.webhook),
        "webhook_status": job.webhook_status,
        "polls": len(polls),
        "downloads": len(downloads),
        "events": events,
        "flags": flags,
    }


def _flags(job: Job, eta: float, queued: bool, polls: list[dict[str, Any]], downloads: list[dict[str, Any]],
           now: float) -> list[dict[str, str]]:
    flags: list[dict[str, str]] = []
    if not queued:
        return flags
    since_ready = now - job.ready_at
    early = [p for p in polls if p["early"]]
    gap_floor = min_poll_gap(eta)
    previous = 0.0
    hasty = 0
    for poll in early:
        if poll["t"] - previous < gap_floor:
            hasty += 1
        previous = poll["t"]
    if hasty >= 2:
        span = early[-1]["t"]
        flags.append({"code": "polls_too_fast", "message": (
            f"{len(early)} fetches before the eta of {eta:.1f} s had passed (the last at {span:.1f} s), "
            f"{hasty} of them less than {gap_floor:.1f} s after the previous call; the answer said to fetch "
            f"again after the eta")})
    if job.webhook:
        return flags
    answered = any(p["variant"] in _DONE for p in polls)
    if polls and not answered and polls[-1]["variant"] == "processing":
        times = [0.0] + [p["t"] for p in polls]
        longest = max(b - a for a, b in zip(times, times[1:]))
        grace = max(GRACE, 2 * longest)
        if since_ready > grace:
            last = polls[-1]
            flags.append({"code": "gave_up_before_eta", "message": (
                f"the last fetch (at {last['t']:.1f} s, fetch {len(polls)} of {len(polls)}) still answered "
                f"processing; the job was ready at {eta:.1f} s and no fetch came in the {since_ready:.0f} s since")})
    elif not polls and not downloads and since_ready > GRACE:
        flags.append({"code": "never_fetched", "message": (
            f"the job was queued for {eta:.1f} s and it was never fetched (nor its output downloaded) in the "
            f"{since_ready:.0f} s since it was ready; the client needs to poll the fetch endpoint or send a webhook")})
    return flags
