"""Issue 3's "done when", tried as a new user would: one live mock, a real socket, a real receiver."""

from __future__ import annotations

import io
import json

import requests
from PIL import Image, ImageChops

from mockserver.images import samples as sample_images
from mockserver.control.receiver import WebhookReceiver

INPAINT = "/api/v6/images/inpaint"
KEY = "e2e-secret-key-42"


def test_the_issue_story_end_to_end(live_server, docs_example):
    server = live_server(seed=7, processing_ratio=0.0, webhook_backoff=0.01)
    api = requests.Session()
    with WebhookReceiver() as hook:
        # 1. The documentation's own example (strings for numbers, nulls) with its CompVis images.
        body = json.loads(docs_example)
        body.update(key=KEY, webhook=hook.url, track_id="docs-1")
        done = api.post(server.url + INPAINT, json=body, timeout=10).json()
        assert done["status"] == "success" and done["webhook_status"] == "pending"
        picture = api.get(done["output"][0], timeout=10)
        assert picture.headers["Content-Type"] == "image/png"
        out = Image.open(io.BytesIO(picture.content)).convert("RGB")
        assert out.size == (512, 512)
        keep = sample_images.overture_mask().point(lambda v: 255 if v < 128 else 0)
        changed = ImageChops.difference(out, sample_images.overture()).convert("L").point(lambda v: 255 if v else 0)
        assert ImageChops.multiply(changed, keep).getbbox() is None, "unmasked pixels equal the init image"
        assert ImageChops.multiply(changed, ImageChops.invert(keep)).getbbox(), "the masked area differs"

        # 2. A queued job: future_links 404 before the eta, the image after (the clock moves, nobody sleeps).
        queued = api.post(server.url + INPAINT, json=dict(body, track_id="queued-1"),
                          headers={"Prefer": "eta=45"}, timeout=10).json()
        assert queued["status"] == "processing"
        assert api.get(queued["future_links"][0], timeout=10).status_code == 404
        api.post(server.url + "/__mock/clock", json={"advance": 46, "key": KEY}, timeout=10)
        later = api.get(queued["future_links"][0], timeout=10)
        assert later.status_code == 200 and later.headers["Content-Type"] == "image/png"

        # 3. Exactly one success delivery per job, with the right track_id; an injected duplicate twice.
        twice = api.post(server.url + INPAINT, json=dict(body, track_id="dup-1"),
                         headers={"Prefer": "webhook=duplicate"}, timeout=10).json()
        hook.wait_for(4)
        assert api.post(server.url + "/__mock/webhooks/wait", json={"timeout": 10}, timeout=15).json()["idle"]
        by_track = sorted((d.json["track_id"], d.json["id"], d.json["status"]) for d in hook.deliveries)
        assert by_track == sorted([("docs-1", done["id"], "success"), ("queued-1", queued["id"], "success"),
                                   ("dup-1", twice["id"], "success"), ("dup-1", twice["id"], "success")])
        log = api.get(server.url + "/__mock/webhooks", params={"key": KEY}, timeout=10).json()["deliveries"]
        assert sorted(r["track_id"] for r in log if r["outcome"] == "success") == ["docs-1", "dup-1", "dup-1",
                                                                                   "queued-1"]

    # 4. A rule: the next two requests of this key are rate limited, the third succeeds.
    rule = api.post(server.url + "/__mock/rules", timeout=10, json={
        "key": KEY, "operation": "inpaint", "times": 2, "respond": {"error": "rate_limit"}}).json()["rule"]
    plain = dict(body, webhook=None, track_id="after-rule")
    answers = [api.post(server.url + INPAINT, json=plain, timeout=10).json() for _ in range(3)]
    assert [a.get("message") for a in answers[:2]] == ["Rate limit exceeded"] * 2
    assert answers[2]["status"] == "success"
    other = api.post(server.url + INPAINT, json=dict(plain, key="another-worker"), timeout=10).json()
    assert other["status"] == "success", "another key is not affected"

    # 5. The journal shows all of it, with the key redacted.
    raw = api.get(server.url + "/__mock/requests", params={"key": KEY}, timeout=10)
    assert KEY not in raw.text
    entries = raw.json()["requests"]
    assert [(e["operation"], e["variant"]) for e in entries] == [
        ("v6ImagesInpaint", "success"), ("image", "image"), ("v6ImagesInpaint", "processing"), ("image", "not_found"),
        ("image", "image"), ("v6ImagesInpaint", "success"), ("v6ImagesInpaint", "error"), ("v6ImagesInpaint", "error"),
        ("v6ImagesInpaint", "success")]
    assert all(e["body"] is None or e["body"]["key"] == "***" for e in entries)
    assert [e["rule"] for e in entries if e["variant"] == "error"] == [rule["id"]] * 2
    assert entries[0]["warnings"] and entries[0]["validation"] == {"valid": True}
    count = api.post(server.url + "/__mock/requests/count", timeout=10, json={
        "key": KEY, "operation": "inpaint", "track_id": "after-rule", "expect": 3}).json()
    assert count == {"count": 3, "expected": 3, "ok": True}
    assert api.get(server.url + "/__mock/rules/" + rule["id"], timeout=10).json()["rule"]["matched"] == 2
