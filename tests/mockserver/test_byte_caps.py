"""Bytes, not counts (issue 12, item 3).

Caps used to count entries: a 25 MiB prompt stored about 50 MiB (the prompt twice), a nested
5 MiB body became a 5.9 MiB journal entry, and ``GET /__mock/requests`` over 10,000 entries
returned 159 MiB and left the worker at 1,183 MiB RSS. Now a job keeps at most ``MAX_JOB_BYTES``
besides its init/mask images and a log entry at most ``MAX_ENTRY_BYTES`` (the head, the cut
marked), each log and all jobs have a byte budget (oldest dropped), listings are pages of at
most ``MAX_PAGE_BYTES`` (``next_since`` for the rest), and a worker stays under 120 MB RSS
whatever the admin API is asked.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import struct
import subprocess
import zlib

import pytest
import requests

from mockserver.state.jobs import MAX_JOB_BYTES, MAX_JOB_TEXT
from mockserver.state.journal import MAX_ENTRY_BYTES, MAX_PAGE_BYTES
from mockserver.web.context import mock_state
from tests.live_mock import mock_process

INPAINT = "/api/v6/images/inpaint"
MiB = 1024 * 1024


def nested_body(valid_body, width: int = 50, text: int = 400, keys: int = 3) -> dict:
    """A body `limit` (50 items a level, 300 characters a string) would still keep megabytes of."""
    return dict(valid_body, **{f"extra{i}": [[f"{i}-{j}-" + "x" * text for j in range(width)]] * width
                               for i in range(keys)})


def png_data_uri(size: int) -> str:
    """A data URI of about ``size`` bytes whose head is a small PNG (the POST checks only the head)."""
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    raw = b"\x89PNG\r\n\x1a\n" + chunk + b"\x00" * size
    return "data:image/png;base64," + base64.b64encode(raw).decode()


@pytest.fixture(params=["memory", "sqlite"])
def store_name(request, tmp_path):
    return "memory" if request.param == "memory" else f"sqlite:///{tmp_path}/mock.sqlite3"


def _sizes(client, path="/__mock/requests", key="requests", **query):
    """Every entry of a listing, following its pages; (entries, the bytes of each page)."""
    entries, pages, since = [], [], 0
    while True:
        answer = client.get(path, query_string={**query, "since": since})
        assert answer.status_code == 200
        pages.append(len(answer.get_data()))
        entries.extend(answer.json[key])
        if "next_since" not in answer.json:
            return entries, pages
        since = answer.json["next_since"]


def test_a_25_mib_prompt_is_kept_once_and_cut(make_app, valid_body, store_name):
    client = make_app(store=store_name, processing_ratio=0.0).test_client()
    prompt = "a cat on a bench " + "p" * (25 * MiB)
    answer = client.post(INPAINT, data=json.dumps(dict(valid_body, prompt=prompt)), content_type="application/json")
    assert answer.json["status"] == "success"
    shown = answer.json["meta"]["prompt"]
    assert shown.startswith("a cat on a bench ppp") and shown.endswith("chars)") and len(shown) < MAX_JOB_TEXT + 40
    fetched = client.post(f"/api/v6/images/fetch/{answer.json['id']}", json={"key": valid_body["key"]}).json
    assert fetched["meta"]["prompt"] == shown
    store = mock_state(client.application).store
    if store_name == "memory":
        job = store.get_job(answer.json["id"])
        assert len(json.dumps(job.to_dict())) < MAX_JOB_BYTES
    else:
        with sqlite3.connect(store.path) as db:
            [(size,)] = db.execute("SELECT length(data) FROM jobs WHERE id = ?", (answer.json["id"],)).fetchall()
        assert size < MAX_JOB_BYTES
    entry = client.get("/__mock/requests").json["requests"][0]
    assert len(json.dumps(entry)) <= MAX_ENTRY_BYTES
    assert client.get("/generations/" + answer.json["output"][0].rsplit("/", 1)[1]).status_code == 200


def test_a_nested_body_makes_an_entry_of_at_most_64_kib(make_app, valid_body, store_name):
    client = make_app(store=store_name, processing_ratio=0.0).test_client()
    body = json.dumps(nested_body(valid_body))
    assert len(body) > 2 * MiB
    client.post(INPAINT, data=body, content_type="application/json")
    [entry] = client.get("/__mock/requests").json["requests"]
    assert len(json.dumps(entry)) <= MAX_ENTRY_BYTES * 1.05
    assert "cut" in entry and entry["body"]["key"] == "***" and entry["body"]["prompt"] == valid_body["prompt"]


def test_each_log_keeps_to_its_byte_budget(make_app, valid_body, store_name):
    budget = 4 * MiB
    client = make_app(store=store_name, processing_ratio=0.0, max_log_bytes=budget).test_client()
    body = json.dumps(nested_body(valid_body, width=30, text=300, keys=2))
    for _ in range(150):  # about 9 MiB of entries
        client.post(INPAINT, data=body, content_type="application/json")
    entries, _ = _sizes(client)
    kept = sum(len(json.dumps(e)) for e in entries)
    assert kept <= budget * 1.1, f"{kept} bytes kept"
    assert entries[0]["seq"] > 1 and entries[-1]["seq"] == 150  # the oldest went, the newest stayed
    assert len(entries) > 40


def test_jobs_keep_to_the_store_byte_budget(make_app, valid_body, store_name):
    client = make_app(store=store_name, processing_ratio=0.0, max_store_bytes=8 * MiB).test_client()
    image = png_data_uri(MiB)
    ids = []
    for _ in range(12):  # each job keeps its ~1.4 MiB init image (twice: to render, and echoed in meta)
        answer = client.post(INPAINT, json=dict(valid_body, init_image=image)).json
        assert answer["status"] == "success", answer
        ids.append(answer["id"])
    fetch = lambda job_id: client.post(f"/api/v6/images/fetch/{job_id}", json={"key": valid_body["key"]}).json
    assert fetch(ids[-1])["status"] == "success"
    assert fetch(ids[0])["status"] == "error"  # the oldest went to keep the budget
    kept = [job_id for job_id in ids if fetch(job_id)["status"] == "success"]
    assert 2 <= len(kept) <= 8


def test_listings_are_pages_of_bounded_bytes(make_app, valid_body, store_name):
    client = make_app(store=store_name, processing_ratio=0.0).test_client()
    body = json.dumps(nested_body(valid_body, width=30, text=300, keys=2))
    for _ in range(100):  # about 6 MiB of entries: several pages
        client.post(INPAINT, data=body, content_type="application/json")
    first = client.get("/__mock/requests")
    assert len(first.get_data()) <= MAX_PAGE_BYTES * 1.05 and "next_since" in first.json
    entries, pages = _sizes(client)
    assert [e["seq"] for e in entries] == list(range(1, 101)) and len(pages) >= 2
    assert all(size <= MAX_PAGE_BYTES * 1.05 for size in pages)
    found = client.post("/__mock/requests/find", json={"match": {"prompt": valid_body["prompt"]}})
    assert found.json["count"] < 100 and found.json["next_since"]
    newest = client.get("/__mock/requests", query_string={"limit": 100_000})
    assert len(newest.get_data()) <= MAX_PAGE_BYTES * 1.05 and newest.json["requests"][-1]["seq"] == 100
    assert client.get("/__mock/requests/count").json["count"] == 100


# -- the worker's memory under any admin query ---------------------------------------------------------


def _rss_kb(pid: int) -> dict[str, int]:
    found = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    return found


def _processes(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    found = [pid]
    for child in children:
        found.extend(_processes(int(child)))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_the_worker_stays_under_120_mb_whatever_the_admin_api_is_asked(valid_body, tmp_path, store):
    args = ["--store", "memory"] if store == "memory" else ["--store", f"sqlite:///{tmp_path}/mock.sqlite3"]
    with mock_process(*args, "--processing-ratio", "0", "--quiet") as (url, proc):
        session = requests.Session()
        big = json.dumps(nested_body(valid_body, width=20, text=300, keys=2))
        for i in range(400):  # every entry at its 64 KiB cap: the journal fills its 16 MiB budget, then rolls
            session.post(url + INPAINT, data=big if i % 2 else json.dumps(dict(valid_body, track_id=f"t{i}")),
                         headers={"Content-Type": "application/json"}, timeout=30)
        session.post(url + "/__mock/rules", json={"match": {"prompt": {"matches": "(cat|dog)+"}}, "variant": "failed",
                                                  "times": 1}, timeout=30)
        queries = [
            ("get", "/__mock/requests", {}),
            ("get", "/__mock/requests", {"limit": "100000"}),
            ("get", "/__mock/requests", {"since": "0", "operation": "inpaint"}),
            ("post", "/__mock/requests/find", {"match": {"prompt": {"matches": ".*"}}}),
            ("post", "/__mock/requests/find", {"limit": 100000}),
            ("get", "/__mock/requests/count", {"expect": "1"}),
            ("post", "/__mock/requests/count", {"expect": 3, "match": {"prompt": {"contains": "zzz"}}}),
            ("get", "/__mock/rules", {}),
            ("get", "/__mock/webhooks", {"limit": "100000"}),
            ("get", "/__mock/requests/399/explain", {}),
        ]
        for method, path, params in queries * 3:
            if method == "get":
                answer = session.get(url + path, params=params, timeout=60)
            else:
                answer = session.post(url + path, json=params, timeout=60)
            assert answer.status_code in (200, 404), (path, answer.status_code, answer.text[:200])
            assert len(answer.content) <= MAX_PAGE_BYTES * 1.05, (path, len(answer.content))
        peaks = {pid: _rss_kb(pid) for pid in _processes(proc.pid)}
    worst = max(info["VmHWM"] for info in peaks.values()) / 1024
    assert worst < 120, f"peak RSS {worst:.0f} MB: {peaks}"
