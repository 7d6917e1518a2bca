"""The client-fuzzing harness: scripted answers over real HTTP, and every kind of misbehaviour."""

from __future__ import annotations

import time

import pytest
import requests

from contracts.core.spec import PONY_SPEC_FILE
from contracts.modelslab.fuzz import ClientFailure, ScriptedAPI, fuzz_client, run_client

# The harness is exercised on the Pony spec's paths (its three operations under /api/v6/images).

SUCCESS = {"status": "success", "id": 5, "output": ["https://cdn.example.com/generations/a-0.png"]}
QUEUED = {"status": "processing", "id": 5, "eta": 3, "fetch_result": "https://modelslab.com/api/v6/images/fetch/5"}
FAILED = {"status": "failed", "id": 5, "message": "Failed, Try Again"}


@pytest.fixture
def api():
    with ScriptedAPI(poll_cap=10, spec=PONY_SPEC_FILE) as server:
        yield server


def post(api, path, body=None):
    return requests.post(api.base_url + path, json=body if body is not None else {"key": "k"}, timeout=5).json()


def test_answers_come_in_order_then_the_last_one_repeats(api):
    api.load([QUEUED, QUEUED, SUCCESS])
    seen = [post(api, "/inpaint")["status"]] + [post(api, "/fetch/5")["status"] for _ in range(4)]
    assert seen == ["processing", "processing", "success", "success", "success"]
    assert [s.operation for s in api.served] == ["inpaint"] + ["fetchById"] * 4


def test_urls_in_answers_point_back_at_the_scripted_server(api):
    served = api.load([QUEUED, SUCCESS])
    assert served[0]["fetch_result"] == f"{api.root_url}/api/v6/images/fetch/5"
    assert served[1]["output"] == [f"{api.root_url}/generations/a-0.png"]
    assert requests.get(served[1]["output"][0], timeout=5).content.startswith(b"\x89PNG")


def polite_client(api):
    """Polls while processing, stops on anything final; sleeps through time.sleep (patched)."""
    data = post(api, "/inpaint")
    while data["status"] == "processing":
        time.sleep(data.get("eta", 1))
        data = post(api, f"/fetch/{data['id']}")
    return data["status"]


def test_a_well_behaved_client_passes_and_never_really_sleeps(api):
    started = time.monotonic()
    assert run_client(api, [QUEUED, QUEUED, SUCCESS], lambda: polite_client(api)) == "success"
    assert time.monotonic() - started < 3  # the two 3 s etas were not slept


def test_a_client_that_polls_a_job_forever_is_stopped_by_the_poll_cap(api):
    with pytest.raises(ClientFailure) as caught:
        run_client(api, [QUEUED], lambda: polite_client(api))
    text = str(caught.value)
    assert "more than 10 API requests (poll cap)" in text
    assert "1. {\"status\": \"processing\"" in text and "POST /api/v6/images/fetch/5" in text


def test_calling_again_after_the_job_failed_is_a_failure(api):
    def stubborn(api=api):
        data = post(api, "/inpaint")
        while data["status"] != "success":
            time.sleep(1)
            data = post(api, "/fetch/5")

    with pytest.raises(ClientFailure, match="kept calling the API after the job had finished with status 'failed'"):
        run_client(api, [FAILED], stubborn)
    assert len(api.served) == 2  # stopped at the first sleep after the wrong call


def test_unexpected_exceptions_fail_documented_ones_pass(api):
    class ServiceError(Exception):
        pass

    def strict_client(api=api):
        data = post(api, "/inpaint")
        if data["status"] == "failed":
            raise ServiceError(data["message"])
        return data["output"][0]

    assert run_client(api, [FAILED], strict_client, expected=(ServiceError,)) is None
    with pytest.raises(ClientFailure, match="the client raised KeyError: 'output'"):
        run_client(api, [{"status": "success"}], strict_client, expected=(ServiceError,))


def test_calls_outside_the_spec_and_oracle_checks_fail(api):
    with pytest.raises(ClientFailure, match=r"outside the spec: POST /api/v6/images/text2img"):
        run_client(api, [SUCCESS], lambda: post(api, "/text2img"))

    def check(result, story):
        assert result == story[-1]["output"], f"returned {result!r}"

    with pytest.raises(ClientFailure, match="check failed: returned 'success'"):
        run_client(api, [SUCCESS], lambda: polite_client(api), check=check)


def test_fuzz_client_shrinks_to_the_smallest_story():
    """A client that crashes on an empty ``output`` is shrunk to one bare success."""

    def fragile(base_url):
        data = requests.post(base_url + "/inpaint", json={"key": "k"}, timeout=5).json()
        if data["status"] == "success":
            return data.get("output", ["?"])[0]
        return None

    with pytest.raises(ClientFailure) as caught:
        fuzz_client(fragile, max_examples=400, spec=PONY_SPEC_FILE)
    assert caught.value.story == [{"status": "success", "output": [], "id": 0}]
    assert "IndexError" in caught.value.problem
