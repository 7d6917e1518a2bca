"""``mockserver record`` against a second mock as the upstream: episodes written, keys nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import requests
from live_mock import HTTP_TIMEOUT, free_port, mock_process

from contracts.core.episodes import Cassette
from contracts.core.spec import docs_example_bytes

KEY = "sk-record-test-0123456789"
API = "/api/v6/images"


@contextmanager
def recorder(upstream: str, cassette: Path, *args: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "record", "--upstream", upstream,
                             "--cassette", str(cassette), "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(url + "/__record/health", timeout=HTTP_TIMEOUT)
                break
            except requests.RequestException:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else "recorder died"
                assert time.monotonic() < deadline, "the recorder did not come up"
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def body(**changes):
    data = json.loads(docs_example_bytes())
    data.update({"key": KEY, **changes})
    return data


def poll(url: str, job_id: int, limit: float = 15) -> dict:
    deadline = time.monotonic() + limit
    while True:
        answer = requests.post(f"{url}{API}/fetch/{job_id}", json={"key": KEY}, timeout=HTTP_TIMEOUT).json()
        if answer["status"] != "processing" or time.monotonic() > deadline:
            return answer
        time.sleep(0.25)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A success, a queued job polled to success and an invalid-key error, recorded once."""
    cassette = tmp_path_factory.mktemp("cassette")
    answers = []
    with mock_process("--http-errors", "--seed", "3") as (upstream, _proc):
        with recorder(upstream, cassette) as url:
            answers.append(requests.post(url + API + "/inpaint", json=body(), timeout=HTTP_TIMEOUT))
            queued = requests.post(url + API + "/inpaint", json=body(prompt="a queued cat"), timeout=HTTP_TIMEOUT,
                                   headers={"Prefer": "variant=processing, eta=1", "key": KEY,
                                            "Authorization": f"Bearer {KEY}"})
            answers.append(queued)
            answers.append(poll(url, queued.json()["id"]))
            answers.append(requests.post(url + API + "/inpaint", json=body(key=""), timeout=HTTP_TIMEOUT))
    return cassette, answers


def test_the_client_gets_the_upstream_answers_unchanged(recorded):
    _cassette, answers = recorded
    success, queued, final, invalid = answers
    assert success.status_code == 200 and success.json()["status"] == "success"
    assert queued.json()["status"] == "processing"
    assert final["status"] == "success"
    assert invalid.status_code == 401 and invalid.json()["message"] == "Invalid Api Key"


def test_each_job_is_one_episode_with_its_polls_offsets_and_outputs(recorded):
    cassette, _answers = recorded
    episodes = Cassette(cassette).episodes()
    assert [e.final_status for e in episodes] == ["success", "success", "error"]
    at_once, queued, invalid = episodes
    assert at_once.polls == [] and at_once.ready_after == 0
    assert queued.submit.body["status"] == "processing"
    assert queued.polls and queued.polls[-1].body["status"] == "success"
    assert 0.9 <= queued.ready_after < 10  # the upstream's eta of 1 s, seen by the polls
    assert all(a.offset <= b.offset for a, b in zip(queued.polls, queued.polls[1:]))
    for episode in (at_once, queued):
        assert len(episode.outputs) == 1
        output = episode.outputs[0]
        assert output["content_type"] == "image/png" and output["size"] > 100 and len(output["sha256"]) == 64
        assert (output["width"], output["height"]) == (512, 512)
        assert (cassette / output["thumbnail"]).is_file()
    assert invalid.submit.status == 401 and not invalid.key_sent
    assert at_once.match != queued.match  # the prompt differs


def test_the_key_is_in_no_file_of_the_cassette(recorded):
    cassette, _answers = recorded
    files = [p for p in cassette.rglob("*") if p.is_file()]
    assert len(files) >= 6
    for path in files:
        data = path.read_bytes()
        assert KEY.encode() not in data, path
        assert json.dumps(KEY).encode() not in data, path
    episode = json.loads((cassette / "episodes" / "0002.json").read_text())
    assert episode["submit"]["request_body"]["key"] == "***"
    assert episode["submit"]["request_headers"]["key"] == "***"
    assert episode["submit"]["request_headers"]["authorization"] == "***"


def test_the_budget_stops_generation_calls_but_not_fetches(tmp_path):
    with mock_process("--seed", "4") as (upstream, _proc):
        with recorder(upstream, tmp_path, "--budget", "1") as url:
            first = requests.post(url + API + "/inpaint", json=body(), timeout=HTTP_TIMEOUT,
                                  headers={"Prefer": "variant=processing, eta=30"})
            second = requests.post(url + API + "/inpaint", json=body(), timeout=HTTP_TIMEOUT)
            fetched = requests.post(f"{url}{API}/fetch/{first.json()['id']}", json={"key": KEY}, timeout=HTTP_TIMEOUT)
    assert first.json()["status"] == "processing"
    assert second.status_code == 429
    assert "budget of 1 generation calls is spent" in second.json()["message"]
    assert fetched.status_code == 200 and fetched.json()["status"] == "processing"
    assert len(Cassette(tmp_path).episodes()) == 1


def test_bad_flags_are_one_line_and_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mockserver", "record", "--upstream", "ftp://x",
                             "--cassette", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--upstream must be an http(s) URL" in result.stderr and "Traceback" not in result.stderr


def drift(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "contracts", "drift", *args], capture_output=True, text=True,
                          timeout=120)


def test_drift_names_the_injected_difference_then_a_baseline_accepts_it(recorded, tmp_path):
    cassette, _answers = recorded
    report = tmp_path / "drift.json"
    first = drift(str(cassette), "--json", str(report), "--junit", str(tmp_path / "drift.xml"))
    assert first.returncode == 1, first.stdout + first.stderr
    # the upstream ran with --http-errors: its key error is HTTP 401 where a default mock says 200
    assert "submit /: HTTP status: real 401, mock 200 (episode 0003)" in first.stdout
    data = json.loads(report.read_text())
    assert {d["episode"] for d in data["drift"]} == {"0003"}, first.stdout  # the successes match the mock
    assert "note: jobs queued: real 1/3" in first.stdout
    assert "<failure" in (tmp_path / "drift.xml").read_text()
    accepted = drift(str(cassette), "--accept")
    assert accepted.returncode == 0 and (cassette / "drift-baseline.json").is_file()
    again = drift(str(cassette))
    assert again.returncode == 0, again.stdout
    assert f"{len(data['drift'])} accepted by the baseline" in again.stdout
    (cassette / "drift-baseline.json").unlink()


def test_drift_cannot_run_without_a_cassette(tmp_path):
    result = drift(str(tmp_path / "nothing"))
    assert result.returncode == 2
    assert "is not a cassette" in result.stderr and "Traceback" not in result.stderr


def test_lint_reads_the_requests_a_recording_saw_accepted(recorded, tmp_path):
    """A request the real service accepted but the spec rejects is a contradiction of the spec."""
    import shutil

    cassette, _answers = recorded
    copy = tmp_path / "cassette"
    shutil.copytree(cassette, copy)
    def lint() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "contracts", "lint", "modelslab-pony-inpaint.yaml",
                               "--no-docs-example", "--cassette", str(copy)], capture_output=True, text=True,
                              timeout=60)

    first = lint()
    # the recordings sent the docs' example, which the service accepts with "512" for an integer
    assert first.returncode == 1
    assert "0001.json#/width: \"512\" is not of type 'integer'" in first.stdout
    assert "0003.json" not in first.stdout  # the refused request says nothing against the spec
    assert "is greater than the maximum" not in first.stdout
    path = copy / "episodes" / "0001.json"
    episode = json.loads(path.read_text())
    episode["submit"]["request_body"]["samples"] = 9  # accepted upstream, above the spec's maximum
    path.write_text(json.dumps(episode))
    assert "0001.json#/samples: 9 is greater than the maximum of 4" in lint().stdout


def warnings_of(answer: requests.Response) -> str:
    return answer.headers.get("X-Mock-Warnings", "")


def test_replay_serves_the_recorded_episodes_offline_on_the_mock_clock(recorded):
    """The upstream is gone; the episodes answer, the queued one finishes when the clock says so."""
    cassette, _answers = recorded
    other_key = "sk-replay-user-42"
    with mock_process("--replay", str(cassette), "--seed", "9") as (url, _proc):
        at_once = requests.post(url + API + "/inpaint", json=body(key=other_key), timeout=HTTP_TIMEOUT)
        assert at_once.json()["status"] == "success"
        assert "replayed recorded episode 0001" in warnings_of(at_once)
        image = requests.get(at_once.json()["output"][0], timeout=HTTP_TIMEOUT)
        assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"

        queued = requests.post(url + API + "/inpaint", json=body(key=other_key, prompt="a queued cat",
                                                                 track_id="ignored-42"), timeout=HTTP_TIMEOUT)
        job = queued.json()
        assert job["status"] == "processing" and "replayed recorded episode 0002" in warnings_of(queued)
        assert 0.9 <= job["eta"] < 10
        fetch = f"{url}{API}/fetch/{job['id']}"
        assert requests.post(fetch, json={"key": other_key}, timeout=HTTP_TIMEOUT).json()["status"] == "processing"
        moved = requests.post(url + "/__mock/clock", json={"advance": 30, "key": other_key}, timeout=HTTP_TIMEOUT)
        assert moved.status_code == 200
        done = requests.post(fetch, json={"key": other_key}, timeout=HTTP_TIMEOUT).json()
        assert done["status"] == "success" and len(done["output"]) == 1

        missed = requests.post(url + API + "/inpaint", json=body(key=other_key, prompt="never recorded"),
                               timeout=HTTP_TIMEOUT)
        assert missed.json()["status"] in ("success", "processing")
        assert "no recorded episode matches this request; generated as usual" in warnings_of(missed)


def test_replay_on_miss_error_answers_an_error(recorded):
    cassette, _answers = recorded
    with mock_process("--replay", str(cassette), "--on-miss", "error") as (url, _proc):
        missed = requests.post(url + API + "/inpaint", json=body(prompt="never recorded"), timeout=HTTP_TIMEOUT).json()
        hit = requests.post(url + API + "/inpaint", json=body(), timeout=HTTP_TIMEOUT).json()
    assert missed == {"status": "error", "message": "No recorded episode matches this request",
                      "tip": "record it with mockserver record, or run with --on-miss generate"}
    assert hit["status"] == "success"


def test_recorded_answers_are_named_examples_under_replay(recorded):
    cassette, _answers = recorded
    with mock_process("--replay", str(cassette)) as (url, _proc):
        final = requests.post(url + API + "/inpaint", json=body(prompt="anything"), timeout=HTTP_TIMEOUT,
                              headers={"Prefer": "example=episode-0002-final"})
        submit = requests.post(url + API + "/inpaint", json=body(), timeout=HTTP_TIMEOUT,
                               headers={"Prefer": "example=episode-0002"})
        unknown = requests.post(url + API + "/inpaint", json=body(), timeout=HTTP_TIMEOUT,
                                headers={"Prefer": "example=episode-9999"})
    recorded_final = json.loads((cassette / "episodes" / "0002.json").read_text())["polls"][-1]["body"]
    assert final.status_code == 200 and final.json() == recorded_final
    assert submit.json()["status"] == "processing"
    assert unknown.status_code == 400 and "episode-0001" in unknown.json()["message"]


def test_webhooks_sent_to_the_proxy_are_recorded_with_their_episode(tmp_path):
    with mock_process("--seed", "5") as (upstream, _proc):
        with recorder(upstream, tmp_path) as url:
            hook = url + "/__record/webhook"
            made = requests.post(url + API + "/inpaint", json=body(webhook=hook, track_id="t-1"), timeout=HTTP_TIMEOUT,
                                 headers={"Prefer": "variant=processing, eta=1"}).json()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                episode = Cassette(tmp_path).episodes()[0]
                if episode.webhooks:
                    break
                time.sleep(0.2)
    assert episode.job_id == str(made["id"])
    delivered = episode.webhooks[0]["body"]
    assert delivered["status"] == "success" and delivered["track_id"] == "t-1"
    assert KEY.encode() not in (tmp_path / "episodes" / "0001.json").read_bytes()
