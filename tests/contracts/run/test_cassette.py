"""Cassettes: every exchange recorded in vcrpy's shape, and the key never written anywhere."""

from __future__ import annotations

import yaml

from contracts.run.cassette import Cassette, RecordingTransport
from contracts.core.redact import register_secret
from contracts.run.targets import Target, cheapest_inpaint_body

SECRET = "sk-cassette-9f8e7d6c"


def test_the_key_is_gone_from_bodies_headers_urls_and_answers(make_app, tmp_path):
    register_secret(SECRET)
    target = Target.for_wsgi(make_app(processing_ratio=0.0), key=SECRET)
    cassette = Cassette()
    target.transport = RecordingTransport(target.transport, cassette)
    target.post("/v6/images/inpaint", {**cheapest_inpaint_body(), "prompt": f"echo {SECRET} please"},
                prefer="variant=success")
    target.transport.request("GET", f"http://localhost/__mock/health?key={SECRET}",
                             headers={"Authorization": f"Bearer {SECRET}", "X-Note": SECRET})
    path = cassette.write(tmp_path / "run.yaml")
    text = path.read_text()
    assert SECRET not in text
    data = yaml.safe_load(text)
    first = data["interactions"][0]
    assert first["request"]["method"] == "POST" and first["request"]["uri"].endswith("/api/v6/images/inpaint")
    assert '"key": "***"' in first["request"]["body"]
    assert first["response"]["status"]["code"] == 200 and '"status": "success"' in first["response"]["body"]["string"]
    second = data["interactions"][1]
    assert second["request"]["headers"]["Authorization"] == ["***"] and "***" in second["request"]["uri"]


def test_images_are_summarised_not_dumped(make_app, tmp_path):
    target = Target.for_wsgi(make_app(processing_ratio=0.0))
    cassette = Cassette()
    target.transport = RecordingTransport(target.transport, cassette)
    output = target.post("/v6/images/inpaint", cheapest_inpaint_body()).json()["output"][0]
    target.transport.request("GET", output)
    body = yaml.safe_load(cassette.dump())["interactions"][1]["response"]["body"]["string"]
    assert body.startswith("<") and "bytes of image/png>" in body
