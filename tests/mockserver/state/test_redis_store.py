"""The Redis store: mocks on several machines share jobs, and a prefix keeps mocks apart.

The protocol itself is tested for every backend in test_stores.py; this file checks what Redis
is for: two mock apps (as on two machines behind a load balancer) answer for the same jobs,
every key carries the configured prefix, and jobs expire through Redis itself. Skipped with
the reason when no Redis is reachable (``MOCK_TEST_REDIS_URL``, default 127.0.0.1:6379/15).
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import pytest

from mockserver import MockConfig, create_app

REDIS_URL = os.environ.get("MOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
INPAINT = "/api/v6/images/inpaint"


@pytest.fixture
def redis_client():
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no Redis to test against
        pytest.skip(f"no Redis reachable at {REDIS_URL} ({type(exc).__name__}); "
                    "set MOCK_TEST_REDIS_URL or run: apt-get install -y redis-server")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client):
    name = f"mock-test-{uuid.uuid4().hex[:12]}:"
    yield name
    keys = list(redis_client.scan_iter(match=name + "*"))
    if keys:
        redis_client.delete(*keys)


def _app(prefix: str, **overrides):
    settings = {"seed": 1, "processing_ratio": 0.0, **overrides}
    return create_app(MockConfig(store=REDIS_URL, store_prefix=prefix, **settings))


def test_two_mocks_sharing_redis_answer_for_the_same_job(prefix, valid_body):
    one, two = _app(prefix).test_client(), _app(prefix, seed=2).test_client()
    made = one.post(INPAINT, json=valid_body, headers={"Prefer": "variant=processing, eta=30"}).get_json()
    assert two.post(f"/api/v6/images/fetch/{made['id']}", json={"key": valid_body["key"]}).get_json()["status"] == "processing"
    assert two.post("/__mock/clock", json={"advance": 31}).status_code == 200
    done = one.post("/api/v6/images/fetch", json={"key": valid_body["key"], "request_id": str(made["id"])}).get_json()
    assert done["status"] == "success"
    image = two.get(urlsplit(done["output"][0]).path)
    assert image.status_code == 200 and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    # Ids come from one counter, whichever mock answers.
    assert two.post(INPAINT, json=valid_body).get_json()["id"] == made["id"] + 1


def test_mocks_with_different_prefixes_do_not_see_each_other(prefix, valid_body):
    made = _app(prefix).test_client().post(INPAINT, json=valid_body).get_json()
    other = _app(prefix + "other:").test_client()
    answer = other.post(f"/api/v6/images/fetch/{made['id']}", json={"key": valid_body["key"]}).get_json()
    assert answer["status"] == "error"
    other.application.extensions["modelslab_mock"].store.reset()


def test_every_key_carries_the_prefix_and_jobs_carry_a_ttl(prefix, redis_client, valid_body):
    client = _app(prefix, job_ttl=600.0).test_client()
    made = client.post(INPAINT, json=valid_body).get_json()
    client.post("/__mock/clock", json={"advance": 1, "key": "k"})
    keys = {k.decode() for k in redis_client.scan_iter(match="*") if k.decode().startswith(prefix)}
    assert f"{prefix}job:{made['id']}" in keys
    assert 0 < redis_client.pttl(f"{prefix}job:{made['id']}") <= 600_000
    # a key outside the prefix, ours alone (other tests use the same database at the same time)
    neighbour = prefix.rstrip(":") + "-neighbour"
    redis_client.set(neighbour, "kept")
    try:
        client.post("/__mock/reset")
        after = {k.decode() for k in redis_client.scan_iter(match=prefix + "*")}
        assert not after
        assert redis_client.get(neighbour) == b"kept", "reset touched other keys"
    finally:
        redis_client.delete(neighbour)
