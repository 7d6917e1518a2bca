"""Bounds: every store of data the mock keeps has a cap, and the caps hold under load.

A mock left running in CI or on a laptop receives an unbounded number of requests; what it
keeps must not grow with them. The caps are the job store (``max_jobs``), the journal and the
webhook log (``max_log_entries``), the rendered-image cache (``image_cache_bytes``) and the
webhook queue (``webhook_queue_size``). Here they are set small and the server, run as users
run it (2 workers on a SQLite file, 32 client threads), gets five times more of
everything than they allow: jobs, image renders and webhooks to a receiver that never answers.
The SQLite file is then read directly, each worker's counters through ``/__mock/health``, and
the workers' resident memory is compared before and after (loosely: it must not grow with
the load).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from mockserver.web import serve
from mockserver.control.receiver import WebhookReceiver

from live_mock import HTTP_TIMEOUT, mock_process

INPAINT = "/api/v6/images/inpaint"
CAPS = {"max_jobs": 150, "max_log_entries": 200, "image_cache_bytes": 1_000_000, "webhook_queue_size": 10}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def workers_of(master: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{master}/task"):
        with open(f"/proc/{master}/task/{task}/children") as handle:
            found.extend(int(pid) for pid in handle.read().split())
    return sorted(found)


_LOCAL = threading.local()


def _session() -> requests.Session:
    if not hasattr(_LOCAL, "session"):
        _LOCAL.session = requests.Session()
    return _LOCAL.session


def _round(url: str, body: dict, start: int, count: int, render_every: int) -> None:
    evicted: list[int] = []
    def one(i: int) -> None:
        answer = _session().post(url + INPAINT, json=dict(body, track_id=f"b-{i}", prompt=f"load {i} " + "x" * 500),
                                 headers={"Prefer": "variant=success"}, timeout=HTTP_TIMEOUT).json()
        assert answer["status"] == "success", answer
        if i % render_every == 0:  # each render is a new image of 512x512 for the cache
            image = _session().get(url + urlsplit(answer["output"][0]).path, timeout=HTTP_TIMEOUT)
            if image.status_code == 404 and "is ready" in image.json().get("message", ""):
                # the job cap is working: 32 clients made max_jobs newer jobs before this one's
                # client came back for its image (a loaded machine starves a thread that long)
                evicted.append(i)
                return
            assert image.status_code == 200 and image.content[:4] == b"\x89PNG"

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(start, start + count)))
    renders = len(range(start, start + count, render_every))
    assert len(evicted) <= renders // 2, f"{len(evicted)} of {renders} images gone before their client asked"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads worker memory through /proc")
def test_every_cap_holds_under_32_concurrent_clients(tmp_path, valid_body):
    path = tmp_path / "state.sqlite3"
    env = {f"MOCKSERVER_{name.upper()}": str(value) for name, value in CAPS.items()}
    env.update(MOCKSERVER_WEBHOOK_TIMEOUT="30", MOCKSERVER_WEBHOOK_RETRIES="0", MOCKSERVER_WEBHOOK_WORKERS="2")
    with WebhookReceiver(hold=True) as hanging, \
            mock_process("--workers", "2", "--store", f"sqlite:///{path}", env=env) as (url, proc):
        body = dict(valid_body, webhook=hanging.url)
        _round(url, body, 0, 150, render_every=5)  # warm up: caches and caps reach their limits
        for _ in range(8):  # an invalid body makes each worker load openapi-core (for its messages) now
            requests.post(url + INPAINT, json=dict(body, width=3), headers={"Connection": "close"}, timeout=HTTP_TIMEOUT)
        time.sleep(serve.WARM_UP_DELAY + 0.5)  # and the background warm-up of both workers is over
        _round(url, body, 150, 150, render_every=5)
        workers = workers_of(proc.pid)
        assert len(workers) == 2
        before = {pid: rss_kib(pid) for pid in workers}
        _round(url, body, 300, 750, render_every=5)  # five times the job cap, 150 more renders
        after = {pid: rss_kib(pid) for pid in workers}
        health = [requests.get(url + "/__mock/health", headers={"Connection": "close"}, timeout=HTTP_TIMEOUT).json()
                  for _ in range(12)]
        # Read while the server runs (WAL: readers do not block it). A writer killed between its
        # insert and its trim can leave one entry over a cap until the next write trims it.
        with sqlite3.connect(path) as db:
            jobs = db.execute("SELECT count(*) FROM jobs").fetchone()[0]
            logs = dict(db.execute("SELECT log, count(*) FROM logs GROUP BY log").fetchall())
        hanging.release()

    assert jobs <= CAPS["max_jobs"], f"{jobs} jobs kept, the cap is {CAPS['max_jobs']}"
    assert logs.get("requests", 0) <= CAPS["max_log_entries"] and logs.get("webhooks", 0) <= CAPS["max_log_entries"]
    assert logs.get("requests") == CAPS["max_log_entries"], "the journal is full, and no fuller"
    for state in health:
        cache = state["image_cache"]
        assert cache["bytes"] <= cache["max_bytes"] == CAPS["image_cache_bytes"], cache
        hooks = state["webhooks"]
        assert hooks["queued"] <= CAPS["webhook_queue_size"] and hooks["waiting_for_jobs"] <= CAPS["webhook_queue_size"]
        assert hooks["workers"] <= 2
    assert any(state["image_cache"]["evictions"] > 0 for state in health), "the cache never had to evict"
    grown_mib = {pid: (after[pid] - before[pid]) / 1024 for pid in workers}
    # Loose, as memory measurements must be: the counters above are the real check (the rendered
    # images are small PNGs, so even an uncapped cache grows only a few MiB in this run).
    assert all(grown < 16 for grown in grown_mib.values()), f"worker memory grew (MiB): {grown_mib}"
