"""Webhooks: delivered once per finished job, off the request thread, retried, bounded, recorded."""

from __future__ import annotations

import json
import socket

import pytest

from mockserver.control.receiver import WebhookReceiver
from mockserver.web.context import mock_state

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"
_REAL_CONNECT = socket.socket.connect


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def wait(client, timeout=10):
    answer = client.post("/__mock/webhooks/wait", json={"timeout": timeout}).json
    assert answer["idle"], answer
    return answer


def deliveries(client, **query):
    return client.get("/__mock/webhooks", query_string=query).json["deliveries"]


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def quick(make_app):
    """An app that queues nothing by itself and retries fast."""
    def build(**overrides):
        overrides.setdefault("processing_ratio", 0.0)
        overrides.setdefault("webhook_backoff", 0.01)
        return make_app(**overrides).test_client()
    return build


def test_a_finished_job_posts_its_fetch_body_plus_track_id_exactly_once(quick, hook, valid_body):
    client = quick()
    answer = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="order-7")).json
    assert answer["status"] == "success" and answer["webhook_status"] == "pending"
    [delivery] = hook.wait_for(1)
    wait(client)
    assert len(hook.deliveries) == 1, "exactly one delivery per job"
    sent = delivery.json
    assert sent["track_id"] == "order-7" and sent["id"] == answer["id"] and sent["status"] == "success"
    assert sent["output"] == answer["output"] and sent["meta"]["seed"] == answer["meta"]["seed"]
    assert delivery.headers["Content-Type"] == "application/json" and delivery.path == "/webhook"
    fetched = post(client, f"{FETCH}/{answer['id']}", {"key": valid_body["key"]}).json
    assert fetched["webhook_status"] == "success"
    [record] = deliveries(client, track_id="order-7")
    assert (record["outcome"], record["status_code"], record["attempt"], record["final"]) == ("success", 200, 1, True)
    assert record["job_id"] == answer["id"] and record["payload"]["track_id"] == "order-7"


def test_a_queued_job_calls_back_only_once_its_eta_has_passed_by_the_mock_clock(quick, hook, valid_body):
    client = quick()
    queued = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="q1"), Prefer="eta=60").json
    wait(client)
    assert hook.deliveries == [] and deliveries(client) == []
    client.post("/__mock/clock", json={"advance": 61, "key": valid_body["key"]})
    [delivery] = hook.wait_for(1)
    assert delivery.json["status"] == "success" and delivery.json["id"] == queued["id"]
    assert delivery.json["output"] == queued["future_links"]


def test_a_failed_job_is_announced_too(quick, hook, valid_body):
    client = quick()
    queued = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="f1"),
                  Prefer="eta=5, outcome=failed").json
    client.post("/__mock/clock", json={"advance": 6})
    [delivery] = hook.wait_for(1)
    assert delivery.json["status"] == "failed" and delivery.json["id"] == queued["id"]
    assert delivery.json["track_id"] == "f1" and delivery.json["message"] == "Failed, Try Again"


def test_failed_attempts_are_retried_with_every_attempt_recorded(quick, valid_body):
    client = quick(webhook_retries=3)
    with WebhookReceiver(statuses=[500, 503]) as hook:
        job = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="r1")).json["id"]
        hook.wait_for(3)
        wait(client)
    records = deliveries(client, job_id=job)
    assert [(r["attempt"], r["outcome"], r["status_code"], r["final"]) for r in records] == [
        (1, "failed", 500, False), (2, "failed", 503, False), (3, "success", 200, True)]
    assert all(d.json == hook.deliveries[0].json for d in hook.deliveries), "a retry sends the same body"
    assert [d.headers["X-Mock-Attempt"] for d in hook.deliveries] == ["1", "2", "3"]
    assert post(client, f"{FETCH}/{job}", {"key": valid_body["key"]}).json["webhook_status"] == "success"


def test_giving_up_after_the_configured_retries_marks_the_webhook_failed(quick, valid_body):
    client = quick(webhook_retries=1)
    with WebhookReceiver(default_status=500) as hook:
        job = post(client, INPAINT, dict(valid_body, webhook=hook.url)).json["id"]
        hook.wait_for(2)
        wait(client)
        assert len(hook.deliveries) == 2
    assert [r["final"] for r in deliveries(client, job_id=job)] == [False, True]
    assert post(client, f"{FETCH}/{job}", {"key": valid_body["key"]}).json["webhook_status"] == "failed"


def test_zero_retries_is_best_effort_like_the_real_service(quick, valid_body):
    client = quick(webhook_retries=0)
    with WebhookReceiver(default_status=502) as hook:
        post(client, INPAINT, dict(valid_body, webhook=hook.url))
        hook.wait_for(1)
        wait(client)
        assert len(hook.deliveries) == 1


def test_a_host_off_the_allow_list_is_never_contacted(quick, valid_body, monkeypatch):
    def guarded_connect(sock, address):
        assert address[0] in ("127.0.0.1", "::1"), f"the mock tried to connect to {address!r}"
        return _REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    client = quick()
    for url in ("https://example.com/hook", "http://169.254.169.254/latest", "http://10.0.0.1/x"):
        response = post(client, INPAINT, dict(valid_body, webhook=url, track_id=url))
        assert response.json["status"] == "success"
        assert "webhook: will not be called" in response.headers["X-Mock-Warnings"]
    wait(client)
    records = deliveries(client)
    assert len(records) == 3 and {r["outcome"] for r in records} == {"refused"}
    assert all(r["final"] and r["attempt"] == 1 for r in records), "a refusal is not retried"


def test_an_allowed_host_can_be_added(quick, hook, valid_body):
    client = quick(webhook_allow_hosts=("127.0.0.1",))
    post(client, INPAINT, dict(valid_body, webhook=hook.url))
    hook.wait_for(1)
    refused = post(client, INPAINT, dict(valid_body, webhook=hook.url.replace("127.0.0.1", "localhost")))
    assert "webhook: will not be called" in refused.headers["X-Mock-Warnings"]


def test_injected_duplicates_arrive_twice_with_the_same_body(quick, hook, valid_body):
    client = quick(webhook_duplicate_ratio=1.0)
    job = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="d1")).json["id"]
    first, second = hook.wait_for(2)
    wait(client)
    assert len(hook.deliveries) == 2 and first.json == second.json and first.json["id"] == job
    assert {d.headers["X-Mock-Delivery"] for d in hook.deliveries} == {f"{job}-1", f"{job}-2"}
    assert sorted(r["copy"] for r in deliveries(client, track_id="d1")) == [1, 2]


def test_prefer_can_ask_for_a_duplicate_or_a_drop_per_request(quick, hook, valid_body):
    client = quick()
    post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="dup"), Prefer="webhook=duplicate")
    dropped = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="drop"), Prefer="webhook=drop").json
    hook.wait_for(2)
    wait(client)
    assert sorted(d.json["track_id"] for d in hook.deliveries) == ["dup", "dup"]
    [record] = deliveries(client, track_id="drop")
    assert record["outcome"] == "dropped" and record["status_code"] is None
    fetched = post(client, f"{FETCH}/{dropped['id']}", {"key": valid_body["key"]}).json
    assert fetched["webhook_status"] == "dropped"


def test_drop_ratio_one_sends_nothing(quick, hook, valid_body):
    client = quick(webhook_drop_ratio=1.0)
    for _ in range(3):
        post(client, INPAINT, dict(valid_body, webhook=hook.url))
    wait(client)
    assert hook.deliveries == []
    assert [r["outcome"] for r in deliveries(client)] == ["dropped"] * 3


def test_an_injected_delay_still_delivers(quick, hook, valid_body):
    client = quick(webhook_delay="fixed:0.05")
    post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="late"))
    [delivery] = hook.wait_for(1)
    assert delivery.json["track_id"] == "late"


def test_a_hanging_receiver_never_holds_up_the_api(quick, valid_body):
    client = quick(webhook_timeout=0.3, webhook_retries=0)
    with WebhookReceiver(hold=True) as hook:
        first = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="h1"))
        hook.wait_for(1)  # the receiver now holds its answer; the API must still answer
        second = post(client, INPAINT, dict(valid_body, track_id="h2"))
        assert first.json["status"] == second.json["status"] == "success"
        wait(client)
        hook.release()
    [record] = deliveries(client, track_id="h1")
    assert record["outcome"] == "failed" and "timed out" in record["error"]


def test_the_queue_is_bounded_and_overflow_is_recorded(quick, valid_body):
    client = quick(webhook_queue_size=1)
    with WebhookReceiver() as hook:
        first = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="a"), Prefer="eta=100").json
        second = post(client, INPAINT, dict(valid_body, webhook=hook.url, track_id="b"), Prefer="eta=100").json
        [overflow] = deliveries(client, track_id="b")
        assert overflow["outcome"] == "queue_full"
        assert post(client, f"{FETCH}/{second['id']}", {"key": valid_body["key"]}).json["webhook_status"] == "failed"
        client.post("/__mock/clock", json={"advance": 101})
        [delivery] = hook.wait_for(1)
        assert delivery.json["id"] == first["id"]


def test_reset_of_a_key_cancels_its_pending_webhooks_only(quick, hook, valid_body):
    client = quick()
    post(client, INPAINT, dict(valid_body, key="alice", webhook=hook.url, track_id="alice"), Prefer="eta=10")
    post(client, INPAINT, dict(valid_body, key="bob", webhook=hook.url, track_id="bob"), Prefer="eta=10")
    client.post("/__mock/reset", json={"key": "alice"})
    client.post("/__mock/clock", json={"advance": 11})
    [delivery] = hook.wait_for(1)
    wait(client)
    assert [d.json["track_id"] for d in hook.deliveries] == ["bob"] == [delivery.json["track_id"]]


def test_deliveries_are_filtered_by_key_and_never_hold_the_key(quick, hook, valid_body):
    client = quick()
    post(client, INPAINT, dict(valid_body, key="secret-key-1", webhook=hook.url + "?token=abc", track_id="k1"))
    post(client, INPAINT, dict(valid_body, key="secret-key-2", webhook=hook.url, track_id="k2"))
    hook.wait_for(2)
    wait(client)
    mine = client.get("/__mock/webhooks", query_string={"key": "secret-key-1"}).json["deliveries"]
    assert [r["track_id"] for r in mine] == ["k1"]
    everything = client.get("/__mock/webhooks").data.decode()
    assert "secret-key-1" not in everything and "secret-key-2" not in everything
    assert "token=abc" not in everything, "a token in the webhook URL is redacted in the log"


def test_the_dispatcher_threads_are_started_on_demand(make_app, valid_body):
    app = make_app(processing_ratio=0.0)
    dispatcher = mock_state(app).webhooks
    post(app.test_client(), INPAINT, valid_body)
    assert dispatcher.stats()["workers"] == 0 and dispatcher._scheduler is None, "no webhook, no threads"
