"""Many clients at once: nothing lost, nothing duplicated, no thread held hostage by a webhook.

The server runs as users run it (``mockserver run --workers 2`` on a SQLite file in a temporary
folder, a real loopback socket); 32 client threads send 1,000 jobs, some finished at once and
some queued. Every answer must be a job with an id no other answer has, every id must be
fetchable (queued ones finish once the mock clock is advanced), and the journal must hold one
entry per request. A second part points webhooks at receivers that hang or refuse and checks
that requests are still answered while every delivery thread is stuck, that the delivery queue
stays within its cap, and that memory does not grow with the number of jobs.
"""

from __future__ import annotations

import gc
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from mockserver.control.receiver import WebhookReceiver
from mockserver.images.netpolicy import FAILED_PHRASE

from live_mock import HTTP_TIMEOUT, free_port, mock_process

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"
CLIENTS = 32
JOBS = 1000


server = mock_process


def _session() -> requests.Session:
    local = _SESSIONS.__dict__
    if "session" not in local:
        local["session"] = requests.Session()
    return local["session"]


_SESSIONS = threading.local()


def _make(url: str, body: dict, index: int) -> dict:
    prefer = "variant=processing, eta=60" if index % 3 == 0 else "variant=success"
    answer = _session().post(url + INPAINT, json=dict(body, track_id=f"job-{index}"),
                             headers={"Prefer": prefer}, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _fetch(url: str, key: str, job_id: int) -> dict:
    answer = _session().post(f"{url}{FETCH}/{job_id}", json={"key": key}, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.slow
def test_a_thousand_jobs_from_32_clients_over_2_workers_lose_nothing(tmp_path, valid_body):
    store = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    with server("--workers", "2", "--store", store, "--seed", "3") as (url, _):
        with ThreadPoolExecutor(CLIENTS) as pool:
            made = list(pool.map(lambda i: _make(url, valid_body, i), range(JOBS)))
        ids = [answer["id"] for answer in made]
        assert all(answer["status"] in ("success", "processing") for answer in made)
        assert len(set(ids)) == JOBS, "two answers share an id"
        queued = [a["id"] for a in made if a["status"] == "processing"]
        assert len(queued) == len(range(0, JOBS, 3))
        names = {link for answer in made for link in answer.get("output") or answer.get("future_links")}
        assert len(names) == JOBS, "two jobs share an output file name"

        with ThreadPoolExecutor(CLIENTS) as pool:
            before = list(pool.map(lambda i: _fetch(url, valid_body["key"], i), queued))
        assert {a["status"] for a in before} == {"processing"}
        assert requests.post(url + "/__mock/clock", json={"advance": 61}, timeout=HTTP_TIMEOUT).status_code == 200
        with ThreadPoolExecutor(CLIENTS) as pool:
            after = list(pool.map(lambda i: _fetch(url, valid_body["key"], i), ids))
        assert [a["id"] for a in after] == ids and {a["status"] for a in after} == {"success"}
        by_id = {a["id"]: a for a in made}
        for fetched in after[::50]:
            assert fetched["output"] == (by_id[fetched["id"]].get("output") or by_id[fetched["id"]]["future_links"])

        journal = requests.get(url + "/__mock/requests/count", params={"operation": "inpaint"}, timeout=HTTP_TIMEOUT).json()
        assert journal["count"] == JOBS
        tracked = requests.get(url + "/__mock/requests", params={"operation": "inpaint", "track_id": "job-777"},
                               timeout=HTTP_TIMEOUT).json()["requests"]
        assert [e["job_id"] for e in tracked] == [made[777]["id"]]


# --------------------------------------------------------------------- webhooks that hang or refuse

def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: connection refused


def test_hanging_and_refusing_webhook_receivers_block_no_request_and_stay_within_the_queue_cap(make_app, valid_body):
    workers, queue_size, jobs = 2, 20, 600
    # jobs and logs capped small too, so what is measured is what the webhook machinery keeps
    app = make_app(processing_ratio=0.0, webhook_workers=workers, webhook_queue_size=queue_size,
                   webhook_timeout=60, webhook_retries=0, journal=False, max_jobs=50, max_log_entries=100)
    client = app.test_client()
    state = app.extensions["modelslab_mock"]
    with WebhookReceiver(hold=True) as hanging:
        # Every delivery thread gets stuck on the hanging receiver first (one key per thread: a key
        # alone never holds all of them, see test_fair_webhooks.py).
        for i in range(workers):
            client.post(INPAINT, json=dict(valid_body, key=f"hang-key-{i}", webhook=hanging.url, track_id=f"hang-{i}"))
        deadline = time.monotonic() + 120  # generous: a loaded machine may be slow to start the threads
        while len(hanging.deliveries) < workers:
            assert time.monotonic() < deadline, "the deliveries never reached the hanging receiver"
            time.sleep(0.01)
        tracemalloc.start()
        try:
            for i in range(jobs):  # answered while no delivery thread is free: nothing waits on them
                if i == jobs // 2:  # by now every cap is reached: from here on memory must stay flat
                    gc.collect()
                    base, _ = tracemalloc.get_traced_memory()
                target = hanging.url if i % 2 else _closed_port_url()
                answer = client.post(INPAINT, json=dict(valid_body, webhook=target, track_id=f"t-{i}"))
                assert answer.json["status"] == "success"
                stats = state.webhooks.stats()
                assert stats["queued"] <= queue_size and stats["waiting_for_jobs"] <= queue_size
                assert stats["workers"] <= workers
            gc.collect()
            grown, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(hanging.deliveries) == workers, "only the stuck threads reached the receiver"
        records = client.get("/__mock/webhooks", query_string={"outcome": "queue_full"}).json["deliveries"]
        # the overflow is recorded (in a log capped at 100 entries), not kept waiting
        assert len(records) == 100 and all(r["final"] for r in records)
        # what stays in memory is bounded by the queue, not by the number of jobs sent
        # (a delivery kept per job would be its payload alone, well over a kilobyte)
        per_job = (grown - base) / (jobs - jobs // 2)
        assert per_job < 128, f"{per_job:.0f} bytes kept per job"
        hanging.release()
        deadline = time.monotonic() + 120  # the wait endpoint waits 30 s at most a call
        while not client.post("/__mock/webhooks/wait", json={"timeout": 30}).json["idle"]:
            assert time.monotonic() < deadline, "the deliveries never finished"
    refused = client.get("/__mock/webhooks", query_string={"outcome": "failed"}).json["deliveries"]
    # a closed port is a failed connection, named by the fixed phrase (the exception's own text could
    # tell a port scanner what listens where), never a time-out or a policy refusal
    assert refused and {r["error"] for r in refused} == {FAILED_PHRASE}
    assert all(int(r["track_id"].removeprefix("t-")) % 2 == 0 for r in refused), "only closed ports fail"
