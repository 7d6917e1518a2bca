"""Fair webhooks (issue 12, item 7): one key's dead receiver cannot delay or drop another key's.

A key whose receiver never answers used to fill the shared queue (the next key's webhook was
recorded ``queue_full``) and hold every delivery thread for ``webhook_timeout``. Now each key
(owner) gets its share: when the queue is full, the key holding the most entries gives up its
newest one to a key that holds fewer; one key never holds all the delivery threads, and keys
take turns.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager

from mockserver.control.receiver import WebhookReceiver

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"


@contextmanager
def silent_receiver():
    """Accepts connections and never answers (a dead receiver: each attempt waits for the timeout)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", held
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def post(client, body, **headers):
    return client.post(INPAINT, data=json.dumps(body), content_type="application/json", headers=headers)


def records(client, key):
    return client.get("/__mock/webhooks", query_string={"key": key}).json["deliveries"]


def test_a_dead_receiver_cannot_delay_another_keys_delivery(make_app, valid_body):
    # A dead attempt hangs for 30 s, so a live key that waited behind one takes 30 s; one that did
    # not is delivered in well under 10 s even on a loaded machine.
    client = make_app(processing_ratio=0.0, webhook_workers=4, webhook_timeout=30.0, webhook_retries=0).test_client()
    with silent_receiver() as (dead, held), WebhookReceiver() as alive:
        for i in range(8):  # more than every thread: each attempt hangs for webhook_timeout
            post(client, dict(valid_body, key="key-with-dead-receiver", webhook=dead, track_id=f"dead-{i}"))
        deadline = time.monotonic() + 60
        while len(held) < 3:  # the dead key holds all the threads it may
            assert time.monotonic() < deadline, f"only {len(held)} attempts reached the dead receiver"
            time.sleep(0.01)
        started = time.monotonic()
        answer = post(client, dict(valid_body, key="key-with-live-receiver", webhook=alive.url, track_id="alive")).json
        [delivery] = alive.wait_for(1, timeout=20)
        took = time.monotonic() - started
        assert delivery.json["id"] == answer["id"]
        assert took < 10, f"the live key waited {took:.1f} s behind the dead one (timeout 30 s)"
        assert len(held) < 4, "one key held every delivery thread"


def test_a_dead_receiver_cannot_drop_another_keys_delivery(make_app, valid_body):
    client = make_app(processing_ratio=0.0, webhook_workers=2, webhook_timeout=3.0, webhook_retries=0,
                      webhook_queue_size=10).test_client()
    with silent_receiver() as (dead, _), WebhookReceiver() as alive:
        # queued jobs: their webhooks wait in the queue until the clock says they are done
        for i in range(30):
            post(client, dict(valid_body, key="hog", webhook=dead, track_id=f"hog-{i}"), Prefer="eta=100")
        hog = records(client, "hog")
        assert len([r for r in hog if r["outcome"] == "queue_full"]) == 20  # the queue holds 10
        answer = post(client, dict(valid_body, key="polite", webhook=alive.url, track_id="polite"),
                      Prefer="eta=100").json
        assert [r["outcome"] for r in records(client, "polite")] == [], "the other key's webhook was refused"
        assert len([r for r in records(client, "hog") if r["outcome"] == "queue_full"]) == 21  # the hog's newest
        client.post("/__mock/clock", json={"advance": 101})
        [delivery] = alive.wait_for(1, timeout=10)
        assert delivery.json["id"] == answer["id"]
        fetched = client.post(f"{FETCH}/{answer['id']}", json={"key": "polite"}).json
        assert fetched["webhook_status"] in ("pending", "success")


def test_ready_deliveries_are_shared_fairly_too(make_app, valid_body):
    """Deliveries that are due and wait for a thread: a full queue gives way to a key with fewer."""
    client = make_app(processing_ratio=0.0, webhook_workers=1, webhook_timeout=3.0, webhook_retries=0,
                      webhook_queue_size=5).test_client()
    with silent_receiver() as (dead, _), WebhookReceiver() as alive:
        for i in range(12):
            post(client, dict(valid_body, key="hog", webhook=dead, track_id=f"hog-{i}"))
        time.sleep(0.3)
        answer = post(client, dict(valid_body, key="polite", webhook=alive.url)).json
        [delivery] = alive.wait_for(1, timeout=10)
        assert delivery.json["id"] == answer["id"]
        assert all(r["outcome"] != "queue_full" for r in records(client, "polite"))


def test_one_key_alone_still_uses_the_threads(make_app, valid_body):
    client = make_app(processing_ratio=0.0, webhook_workers=4, webhook_retries=0).test_client()
    with WebhookReceiver() as hook:
        for i in range(20):
            post(client, dict(valid_body, webhook=hook.url, track_id=f"t{i}"))
        assert len(hook.wait_for(20, timeout=10)) == 20
        assert client.post("/__mock/webhooks/wait", json={"timeout": 10}).json["idle"]
