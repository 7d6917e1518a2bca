"""Patterns that cannot freeze a worker, and rules that cannot slow every request (issue 12, item 2).

A rule with ``matches: "^(\\w+\\s?)+$"`` and a 41-character prompt held the GIL in ``re`` for a
minute; ``/__mock/requests/find`` had the same exposure. Patterns now run on RE2 (linear time,
no backtracking); a pattern RE2 cannot run (backreferences, lookaround) is a 400 when the rule
is set. 10,000 rules slowed every POST from 2 ms to 120 ms and a 20 MB ``in`` list was accepted:
the number of rules, the size of ``in`` lists and of a rule are capped with 400s that say the
limit, and what is left costs well under 50 ms a request.
"""

from __future__ import annotations

import json
import statistics
import time

import pytest
import requests

from mockserver.control.rules import MAX_IN_ITEMS, MAX_PATTERNS, MAX_RULE_BYTES, MAX_RULES
from tests.live_mock import HTTP_TIMEOUT, mock_process

INPAINT = "/api/v6/images/inpaint"
EVIL = r"^(\w+\s?)+$"
PROMPT = "a" * 40 + "!"  # 41 characters: exponential for a backtracking engine


def test_a_catastrophic_rule_pattern_does_not_freeze_a_live_worker(valid_body):
    with mock_process("--store", "memory", "--processing-ratio", "0") as (url, _):  # answers at once
        added = requests.post(url + "/__mock/rules", json={"match": {"prompt": {"matches": EVIL}}, "variant": "failed"},
                              timeout=HTTP_TIMEOUT)
        assert added.status_code == 201
        started = time.monotonic()
        answer = requests.post(url + INPAINT, json=dict(valid_body, prompt=PROMPT), timeout=HTTP_TIMEOUT)
        assert answer.status_code == 200 and answer.json()["status"] == "success"  # "!" does not match
        matched = requests.post(url + INPAINT, json=dict(valid_body, prompt="a b c"), timeout=HTTP_TIMEOUT)
        assert matched.json()["status"] == "failed"
        assert time.monotonic() - started < 60  # a backtracking engine takes hours on 41 characters
        found = requests.post(url + "/__mock/requests/find", json={"match": {"prompt": {"matches": EVIL}}}, timeout=HTTP_TIMEOUT)
        assert found.status_code == 200 and found.json()["count"] == 1
        assert requests.get(url + "/__mock/health", timeout=HTTP_TIMEOUT).status_code == 200


def test_the_journal_matcher_runs_the_same_pattern_in_linear_time(client, valid_body):
    for _ in range(20):
        client.post(INPAINT, json=dict(valid_body, prompt=PROMPT))
    started = time.process_time()
    found = client.post("/__mock/requests/find", json={"match": {"prompt": {"matches": EVIL}}})
    assert found.status_code == 200 and found.json["count"] == 0
    assert time.process_time() - started < 1.0


@pytest.mark.parametrize("pattern", [r"(a)\1", r"foo(?=bar)", r"(?<!x)y", r"(?P<n>a)(?P=n)", r"a++", "(" * 300])
def test_a_pattern_re2_cannot_run_is_a_400(client, pattern):
    answer = client.post("/__mock/rules", json={"match": {"prompt": {"matches": pattern}}, "variant": "failed"})
    assert answer.status_code == 400 and "match.prompt.matches" in answer.json["message"]
    found = client.post("/__mock/requests/find", json={"match": {"prompt": {"matches": pattern}}})
    assert found.status_code == 400


def test_python_style_patterns_that_re2_shares_still_work(client, valid_body):
    rule = {"match": {"prompt": {"matches": r"(?i)^A\s+CAT\b.*bench$"}}, "variant": "failed"}
    assert client.post("/__mock/rules", json=rule).status_code == 201
    assert client.post(INPAINT, json=valid_body).json["status"] == "failed"
    assert client.post(INPAINT, json=dict(valid_body, prompt="a dog")).json["status"] == "success"


def test_the_number_of_rules_is_capped(client):
    batch = [{"variant": "failed", "match": {"prompt": f"p{i}"}} for i in range(MAX_RULES)]
    assert client.post("/__mock/rules", json={"rules": batch}).status_code == 201
    one_more = client.post("/__mock/rules", json={"variant": "failed"})
    assert one_more.status_code == 400 and str(MAX_RULES) in one_more.json["message"]
    assert client.post("/__mock/rules", json={"rules": [{"variant": "failed"}]}).status_code == 400
    assert len(client.get("/__mock/rules").json["rules"]) == MAX_RULES
    assert client.delete("/__mock/rules").status_code == 200
    assert client.post("/__mock/rules", json={"variant": "failed"}).status_code == 201


def test_a_batch_past_the_cap_is_refused_whole(client):
    batch = [{"variant": "failed"} for _ in range(MAX_RULES + 1)]
    answer = client.post("/__mock/rules", json={"rules": batch})
    assert answer.status_code == 400 and str(MAX_RULES) in answer.json["message"]
    assert client.get("/__mock/rules").json["rules"] == []


def test_an_in_list_is_capped(client):
    too_many = client.post("/__mock/rules", json={"match": {"prompt": {"in": list(range(MAX_IN_ITEMS + 1))}},
                                                  "variant": "failed"})
    assert too_many.status_code == 400 and str(MAX_IN_ITEMS) in too_many.json["message"]
    found = client.post("/__mock/requests/find", json={"match": {"prompt": {"in": list(range(MAX_IN_ITEMS + 1))}}})
    assert found.status_code == 400
    assert client.post("/__mock/rules", json={"match": {"prompt": {"in": list(range(MAX_IN_ITEMS))}},
                                              "variant": "failed"}).status_code == 201


def test_a_20_megabyte_in_list_is_refused_quickly(client):
    body = json.dumps({"match": {"prompt": {"in": ["x" * 1000] * 20_000}}, "variant": "failed"})
    started = time.process_time()
    answer = client.post("/__mock/rules", data=body, content_type="application/json")
    assert answer.status_code == 400
    assert time.process_time() - started < 2.0
    assert client.get("/__mock/rules").json["rules"] == []


@pytest.mark.parametrize("field", ["description", "id-ish"])
def test_a_rule_is_capped_in_bytes(client, field):
    if field == "description":
        rule = {"variant": "failed", "description": "d" * (MAX_RULE_BYTES + 1)}
    else:
        rule = {"variant": "failed", "match": {f"f{i}": "v" * 200 for i in range(MAX_RULE_BYTES // 200 + 1)}}
    answer = client.post("/__mock/rules", json=rule)
    assert answer.status_code == 400 and str(MAX_RULE_BYTES) in answer.json["message"]


def _cpu_per_post(client, body, n=30) -> float:
    times = []
    for _ in range(n):
        started = time.process_time()
        assert client.post(INPAINT, json=body).status_code == 200
        times.append(time.process_time() - started)
    return statistics.median(times)


@pytest.mark.slow
@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_full_rule_book_costs_a_request_well_under_50_ms(make_app, valid_body, tmp_path, store):
    """The worst rule book the caps allow: MAX_RULES rules, all for this key and operation, none matching,
    every kind of matcher, a long prompt; what they add to a POST is well under the 50 ms budget."""
    name = "memory" if store == "memory" else f"sqlite:///{tmp_path}/mock.sqlite3"
    client = make_app(store=name, processing_ratio=0.0).test_client()
    body = dict(valid_body, prompt="a cat " * 20_000)  # 120 KB of prompt for every pattern to read
    baseline = _cpu_per_post(client, body)
    def match(i: int) -> dict:
        if i < MAX_PATTERNS:  # as many patterns as the cap allows, each reading the whole window
            return {"prompt": {"matches": rf"(\w+\s?)+zz{i}$"}}
        if i % 2:  # in-lists as long as the byte budget of all rules allows
            return {"prompt": {"in": [f"no-{i}-{j}" for j in range(120)]}}
        return {"prompt": {"contains": f"absent-{i}"}, "model_id": {"in": [f"model-{i}", i]}}

    rules = [{"key": valid_body["key"], "operation": "inpaint", "variant": "failed", "match": match(i)}
             for i in range(MAX_RULES)]
    for start in range(0, MAX_RULES, 100):
        assert client.post("/__mock/rules", json={"rules": rules[start:start + 100]}).status_code == 201
    loaded = _cpu_per_post(client, body)
    assert client.post(INPAINT, json=body).json["status"] == "success"
    assert loaded - baseline < 0.025, f"{(loaded - baseline) * 1000:.1f} ms of CPU per request for the rules"
