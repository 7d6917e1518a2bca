"""The inspector's server side: the page and its token, why a request got its answer, a job's
timeline with its flags, and the job's images (without a browser; tests/mockserver/web/test_ui_browser.py
drives the page in Chromium)."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser

import pytest
from PIL import Image

from mockserver.config import KeyRule
from mockserver.engine.pipeline import owner_of
from mockserver.web.ui_timeline import min_poll_gap

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"
TOKEN = "s3cret-admin-token"
KEY = "sk-live-0123456789abcdef"


def post(client, path, body, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def png_bytes(size=(64, 48), color=(10, 200, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def explain(client, seq, **headers):
    answer = client.get(f"/__mock/requests/{seq}/explain", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def timeline(client, job_id):
    answer = client.get(f"/__mock/jobs/{job_id}/timeline")
    assert answer.status_code == 200, answer.json
    return answer.json


def flag_codes(client, job_id):
    return [f["code"] for f in timeline(client, job_id)["flags"]]


# -- the page and the token ------------------------------------------------------------------------


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.refs += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_page_and_its_code_are_served_with_a_same_origin_policy(client):
    page = client.get("/__mock/ui")
    assert page.status_code == 200 and page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    parser = _Refs()
    parser.feed(page.get_data(as_text=True))
    assert sorted(parser.refs) == ["/__mock/ui/inspector.css", "/__mock/ui/inspector.js", "data:,"], \
        "the page's own code, and an empty icon (no favicon request)"
    for ref in (r for r in parser.refs if r != "data:,"):
        asset = client.get(ref)
        assert asset.status_code == 200 and asset.headers["Content-Security-Policy"] == csp
        text = asset.get_data(as_text=True)
        assert "://" not in text, f"{ref} names another host"
        if ref.endswith(".css"):
            assert "url(" not in text and "@import" not in text and "@font-face" not in text
    assert client.get("/__mock/ui/secrets.txt").status_code == 404
    assert client.get("/__mock/ui/..%2Fadmin.py").status_code == 404


def test_with_an_admin_token_the_page_needs_it_once_and_everything_it_reads_needs_it(make_app, valid_body):
    client = make_app(admin_token=TOKEN, processing_ratio=0.0).test_client()
    job = post(client, INPAINT, valid_body).json["id"]
    refused = client.get("/__mock/ui")
    assert refused.status_code == 401 and b"Admin token needed" in refused.data and TOKEN.encode() not in refused.data
    assert client.get("/__mock/ui?token=wrong").status_code == 401
    assert client.get(f"/__mock/ui?token={TOKEN}").status_code == 200
    assert client.get("/__mock/ui", headers={"X-Mock-Admin-Token": TOKEN}).status_code == 200
    assert client.get("/__mock/ui/inspector.js").status_code == 200, "the page's code holds no data"
    for path in ("/__mock/requests/1/explain", f"/__mock/jobs/{job}", f"/__mock/jobs/{job}/timeline",
                 f"/__mock/jobs/{job}/images/output-0", f"/__mock/requests/1/explain?token={TOKEN}"):
        assert client.get(path).status_code == 401, path
        assert client.get(path.split("?")[0], headers={"X-Mock-Admin-Token": TOKEN}).status_code == 200, path


def test_the_script_sends_the_token_as_a_header_and_drops_it_from_the_address_bar():
    from importlib import resources

    script = resources.files("mockserver.web").joinpath("ui_static", "inspector.js").read_text()
    assert 'searchParams.get("token")' in script and "sessionStorage.setItem" in script
    assert "replaceState" in script and '"X-Mock-Admin-Token"' in script
    assert "innerHTML" not in script, "client text must reach the page as text only"


# -- why a request got its answer ----------------------------------------------------------------------


def test_each_source_of_an_answer_is_explained(make_app, valid_body):
    client = make_app(processing_ratio=0.0, keys={"table-key": KeyRule(variant="processing", eta=7, outcome="failed")},
                      error_ratio=0.0).test_client()
    post(client, INPAINT, valid_body, Prefer="variant=processing, eta=12")
    client.post("/__mock/rules", json={"id": "slow-dragons", "match": {"prompt": {"contains": "dragon"}},
                                       "respond": {"eta": 30}, "description": "dragons queue"})
    post(client, INPAINT, dict(valid_body, prompt="a dragon"))
    post(client, INPAINT, dict(valid_body, key="table-key"))
    post(client, INPAINT, valid_body)
    post(client, INPAINT, dict(valid_body, width=3, height="x"))
    post(client, INPAINT, dict(valid_body, key=""))
    post(client, INPAINT, valid_body, Prefer="fault=outage")
    client.post("/__mock/rules", json={"id": "limited", "key": "limited-key", "times": 1, "respond": {"error": "rate_limit"}})
    post(client, INPAINT, dict(valid_body, key="limited-key"))
    first = client.get("/__mock/requests?operation=inpaint&variant=processing").json["requests"]
    post(client, f"{FETCH}/{first[0]['job_id']}", {"key": valid_body["key"]})
    post(client, f"{FETCH}/999", {"key": valid_body["key"]})

    reasons = [explain(client, seq)["reason"] for seq in range(1, 11)]
    assert [r["source"] for r in reasons] == ["prefer", "rule", "key", "ratio", "validation", "refused", "prefer",
                                              "rule", "job", "job"]
    prefer, rule, key, ratio, invalid, refused, fault, gate, fetched, missing = reasons
    assert prefer["details"]["prefer"] == "variant=processing, eta=12"
    assert rule["details"]["stored"]["description"] == "dragons queue" and rule["details"]["exists"] is True
    assert key["details"]["key_table_entry"] == {"valid": True, "variant": "processing", "eta": 7, "outcome": "failed",
                                                 "error": None}
    assert key["details"]["owner"] == owner_of("table-key")
    assert "table-key" not in json.dumps(explain(client, 3)), "the key table entry is found by hash, never shown by key"
    assert ratio["details"]["seed"] == 1234 and ratio["details"]["processing_ratio"] == 0.0
    assert "--seed 1234" in ratio["summary"]
    assert "width" in invalid["summary"] and "height" in invalid["summary"]
    assert "key is missing or empty" in refused["summary"]
    assert "outage" in fault["summary"] and "Prefer" in fault["summary"]
    assert "limited" in gate["summary"]
    assert re.fullmatch(r"job \d+ was processing by the mock clock", fetched["summary"])
    assert "no such job" in missing["summary"]


def test_a_deleted_rule_is_still_named(client, valid_body):
    client.post("/__mock/rules", json={"id": "gone-soon", "respond": {"variant": "failed"}})
    post(client, INPAINT, valid_body)
    client.delete("/__mock/rules/gone-soon")
    details = explain(client, 1)["reason"]["details"]
    assert details == {"rule": "gone-soon", "exists": False}


def test_field_errors_come_field_by_field(client, valid_body):
    post(client, INPAINT, dict(valid_body, width=3))
    [width] = explain(client, 1)["errors"]
    assert width["field"] == "width" and "The width field must be at least 512." in width["messages"]


def test_warnings_and_the_delay_are_part_of_the_explanation(client, valid_body):
    post(client, INPAINT, dict(valid_body, width="512"), Prefer="delay=0.01")
    found = explain(client, 1)
    assert found["warnings"] == ['width: "512" read as 512']
    assert found["reason"]["delay"] == "waited 0.01 s before answering (Prefer: delay)"


def test_copy_as_curl_masks_the_key_and_replays_the_same_answer(client, valid_body):
    body = dict(valid_body, key=KEY, prompt=f"my key {KEY} in a prompt", track_id="t-9")
    post(client, INPAINT, body, Prefer="variant=failed", Authorization=f"Bearer {KEY}")
    found = explain(client, 1)
    command = found["curl"]["command"]
    assert KEY not in json.dumps(found) and found["curl"]["complete"] is True
    assert command.startswith("curl -X POST http://localhost/api/v6/images/inpaint ")
    assert "-H 'Prefer: variant=failed'" in command and '"key": "***"' in command and "Authorization" not in command
    sent = json.loads(re.search(r"-d '(.*)'$", command)[1])
    again = post(client, INPAINT, sent, Prefer="variant=failed")
    assert again.json["status"] == "failed", "*** is an accepted key: the line works as printed"


def test_a_shortened_body_says_its_curl_is_not_the_whole_request(client, valid_body):
    post(client, INPAINT, dict(valid_body, init_image=data_uri(png_bytes((300, 300)))))
    assert explain(client, 1)["curl"]["complete"] is False


def test_an_unknown_entry_is_a_clear_404(client):
    answer = client.get("/__mock/requests/77/explain")
    assert answer.status_code == 404 and "no journal entry 77" in answer.json["message"]


# -- the timeline and its flags ------------------------------------------------------------------------


def queued_job(client, body, eta, **extra):
    return post(client, INPAINT, dict(body, **extra), Prefer=f"eta={eta}").json["id"]


def fetch(client, job_id, key="test-key"):
    return post(client, f"{FETCH}/{job_id}", {"key": key}).json


def test_a_timeline_has_the_submit_each_poll_the_end_and_downloads(client, valid_body):
    job = queued_job(client, valid_body, 20)
    fetch(client, job)
    client.post("/__mock/clock", json={"advance": 8})
    fetch(client, job)
    client.post("/__mock/clock", json={"advance": 15})
    done = fetch(client, job)
    client.get(done["output"][0].replace("http://localhost", ""))
    found = timeline(client, job)
    kinds = [e["kind"] for e in found["events"]]
    assert kinds == ["submit", "processing", "poll", "poll", "success", "poll", "download"]
    submit, band, first, second, ready, last, download = found["events"]
    assert submit["eta"] == 20 and band["until"] == 20
    assert first["early"] and first["t"] == pytest.approx(0, abs=0.5) and first["eta_left"] == pytest.approx(20, abs=0.5)
    assert second["t"] == pytest.approx(8, abs=0.5), "a processing answer dates the poll by the mock clock"
    assert ready["t"] == 20 and ready["reached"] is True
    assert not last["early"] and last["t"] >= 20 and last["variant"] == "success"
    assert download["status"] == 200
    assert found["status"] == "success" and found["polls"] == 3 and found["downloads"] == 1
    assert found["flags"] == []


def test_a_client_that_polls_much_faster_than_the_eta_is_flagged(client, valid_body):
    job = queued_job(client, valid_body, 30)
    for _ in range(5):
        fetch(client, job)
    [flag] = timeline(client, job)["flags"]
    assert flag["code"] == "polls_too_fast"
    assert "5 fetches before the eta of 30.0 s" in flag["message"] and f"{min_poll_gap(30):.1f} s" in flag["message"]


def test_one_early_poll_and_polls_spaced_by_the_eta_are_fine(client, valid_body):
    job = queued_job(client, valid_body, 20)
    fetch(client, job)
    for _ in range(3):
        client.post("/__mock/clock", json={"advance": 6})
        fetch(client, job)
    client.post("/__mock/clock", json={"advance": 6})
    assert fetch(client, job)["status"] == "success"
    assert flag_codes(client, job) == []


def test_a_client_that_stops_polling_before_the_job_is_done_is_flagged(client, valid_body):
    job = queued_job(client, valid_body, 10)
    fetch(client, job)
    client.post("/__mock/clock", json={"advance": 12})
    assert flag_codes(client, job) == [], "just after the eta the client may still come back"
    client.post("/__mock/clock", json={"advance": 30})
    [flag] = timeline(client, job)["flags"]
    assert flag["code"] == "gave_up_before_eta" and "still answered processing" in flag["message"]


def test_a_queued_job_nobody_fetches_is_flagged_unless_a_webhook_brings_it(client, valid_body):
    silent = queued_job(client, valid_body, 5)
    hooked = queued_job(client, valid_body, 5, webhook="http://127.0.0.1:9/hook")
    at_once = post(client, INPAINT, valid_body).json["id"]
    assert flag_codes(client, silent) == []
    client.post("/__mock/clock", json={"advance": 60})
    assert flag_codes(client, silent) == ["never_fetched"]
    assert flag_codes(client, hooked) == [] and flag_codes(client, at_once) == []


def test_webhook_attempts_are_on_the_timeline(make_app, valid_body):
    client = make_app(processing_ratio=0.0, webhook_retries=0).test_client()
    job = post(client, INPAINT, dict(valid_body, webhook="http://example.invalid/hook")).json["id"]
    client.post("/__mock/webhooks/wait", json={"timeout": 5})
    [attempt] = [e for e in timeline(client, job)["events"] if e["kind"] == "webhook"]
    assert attempt["outcome"] == "refused" and attempt["error"] and attempt["final"] is True


def test_timelines_and_jobs_are_scoped_by_key_and_unknown_jobs_are_404(client, valid_body):
    job = post(client, INPAINT, valid_body).json["id"]
    assert client.get(f"/__mock/jobs/{job}/timeline?key=someone-else").status_code == 404
    assert client.get(f"/__mock/jobs/{job}/timeline?key={valid_body['key']}").status_code == 200
    assert client.get("/__mock/jobs/424242").status_code == 404
    assert client.get("/__mock/jobs/424242/timeline").json["message"] == "no job 424242"


# -- images ----------------------------------------------------------------------------------------------


def image_of(client, job, which):
    answer = client.get(f"/__mock/jobs/{job}/images/{which}")
    assert answer.status_code == 200, answer.get_json()
    assert answer.mimetype == "image/png" and answer.headers["X-Content-Type-Options"] == "nosniff"
    return Image.open(io.BytesIO(answer.data)), answer.headers["X-Image-Size"]


def test_a_job_shows_its_inputs_the_mask_over_them_and_its_outputs(client, valid_body):
    init = png_bytes((80, 60), (0, 0, 255))
    mask = Image.new("L", (80, 60), 0)
    mask.paste(255, (0, 0, 40, 60))  # the left half is masked
    out = io.BytesIO()
    mask.save(out, "PNG")
    job = post(client, INPAINT, dict(valid_body, init_image=data_uri(init), mask_image=data_uri(out.getvalue()),
                                     samples=2)).json["id"]
    summary = client.get(f"/__mock/jobs/{job}").json
    assert summary["inputs"] == {"init_image": {"kind": "data URI", "chars": len(data_uri(init))},
                                 "mask_image": {"kind": "data URI", "chars": len(data_uri(out.getvalue()))}}
    assert summary["images"]["outputs"] == ["images/output-0", "images/output-1"] and summary["prompt"]
    got, size = image_of(client, job, "init_image")
    assert size == "80x60" and got.convert("RGB").getpixel((70, 30)) == (0, 0, 255)
    overlay, _ = image_of(client, job, "overlay")
    left, right = overlay.convert("RGB").getpixel((10, 30)), overlay.convert("RGB").getpixel((70, 30))
    assert left[0] > 100 and right == (0, 0, 255), "the masked half is tinted red, the rest is the init image"
    for index in (0, 1):
        output, size = image_of(client, job, f"output-{index}")
        assert output.size == (512, 512) and size == "512x512"
    assert client.get(f"/__mock/jobs/{job}/images/output-2").status_code == 404
    assert client.get(f"/__mock/jobs/{job}/images/anything").status_code == 404


def test_the_documentation_urls_resolve_to_the_built_in_images(client, valid_body):
    job = post(client, INPAINT, valid_body).json["id"]
    init, size = image_of(client, job, "init_image")
    assert size == "512x512" and init.size == (512, 512)
    mask, _ = image_of(client, job, "mask_image")
    assert mask.size == (512, 512)


def test_looking_at_images_fetches_nothing_and_adds_nothing_to_the_journal(client, valid_body, monkeypatch):
    from mockserver.images.netpolicy import NetPolicy

    job = post(client, INPAINT, dict(valid_body, init_image="https://images.example.com/cat.png")).json["id"]

    def no_fetch(*args, **kwargs):
        raise AssertionError("the inspector fetched a URL")

    monkeypatch.setattr(NetPolicy, "fetch", no_fetch)
    before = client.get("/__mock/requests").json["count"]
    answer = client.get(f"/__mock/jobs/{job}/images/init_image")
    assert answer.status_code == 404 and "never fetches a URL" in answer.json["message"]
    assert client.get(f"/__mock/jobs/{job}/images/overlay").status_code == 404
    assert client.get(f"/__mock/jobs/{job}/images/output-0").status_code == 200
    assert client.get("/__mock/requests").json["count"] == before


def test_a_loopback_url_fetched_at_the_post_is_shown_from_the_kept_bytes(make_app, valid_body, monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from mockserver.images.netpolicy import NetPolicy

    served = png_bytes((33, 22), (200, 100, 0))
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(served)))
            self.end_headers()
            self.wfile.write(served)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = make_app(processing_ratio=0.0).test_client()
        url = f"http://127.0.0.1:{server.server_port}/init.png"
        job = post(client, INPAINT, dict(valid_body, init_image=url)).json["id"]
        assert hits == ["/init.png"]
        monkeypatch.setattr(NetPolicy, "fetch", lambda *a, **k: (_ for _ in ()).throw(AssertionError("fetched")))
        image, size = image_of(client, job, "init_image")
        assert size == "33x22" and image.convert("RGB").getpixel((1, 1)) == (200, 100, 0)
        assert hits == ["/init.png"], "shown from the bytes kept at the POST"
    finally:
        server.shutdown()


def test_outputs_wait_for_the_job_and_base64_outputs_are_shown_as_png(client, valid_body):
    job = queued_job(client, valid_body, 10, base64="yes")
    early = client.get(f"/__mock/jobs/{job}/images/output-0")
    assert early.status_code == 404 and "no output yet" in early.json["message"]
    client.post("/__mock/clock", json={"advance": 11})
    image, size = image_of(client, job, "output-0")
    assert image.format == "PNG" and size == "512x512"


def test_webhook_attempts_can_be_read_from_a_sequence_number_on(make_app, valid_body):
    client = make_app(processing_ratio=0.0, webhook_retries=0).test_client()
    for n in range(3):
        post(client, INPAINT, dict(valid_body, webhook=f"http://hooks.example.invalid/{n}"))
    client.post("/__mock/webhooks/wait", json={"timeout": 5})
    every = client.get("/__mock/webhooks").json["deliveries"]
    assert len(every) == 3
    first = every[0]["seq"]
    assert [d["seq"] for d in client.get(f"/__mock/webhooks?since={first}").json["deliveries"]] == [
        d["seq"] for d in every[1:]]
    assert client.get("/__mock/webhooks?limit=1").json["deliveries"] == every[-1:]
    assert client.get("/__mock/webhooks?since=99999999999999999999999").json["count"] == 0
    assert client.get("/__mock/webhooks?since=soon").status_code == 400


def test_a_key_hidden_in_the_prompt_or_track_id_never_comes_back(client, valid_body):
    body = dict(valid_body, key=KEY, prompt=f"my key is {KEY}", track_id=f"t-{KEY}")
    job = post(client, INPAINT, body, Prefer="eta=5").json["id"]
    post(client, f"{FETCH}/{job}", {"key": KEY})
    texts = [client.get(path).get_data(as_text=True) for path in (
        "/__mock/requests/1/explain", "/__mock/requests/2/explain", f"/__mock/jobs/{job}", f"/__mock/jobs/{job}/timeline")]
    for text in texts:
        assert KEY not in text
    summary = client.get(f"/__mock/jobs/{job}").json
    assert summary["prompt"] == "my key is ***" and summary["track_id"] == "t-***"
    assert timeline(client, job)["track_id"] == "t-***"


def test_operations_lists_what_the_loaded_spec_serves_with_each_behaviour(make_app):
    """The inspector's operation filter and its notion of a fetch come from the spec's behaviours."""
    family = make_app(admin_token=TOKEN).test_client()
    assert family.get("/__mock/operations").status_code == 401
    served = family.get("/__mock/operations", headers={"X-Mock-Admin-Token": TOKEN}).json["operations"]
    by_id = {op["id"]: op for op in served}
    assert by_id["v6ImagesFetch"] == {"id": "v6ImagesFetch", "method": "POST", "path": "/api/v6/images/fetch",
                                      "kind": "fetch", "family": "community"}
    assert by_id["v7ImagesInpaint"]["kind"] == "generate" and by_id["v6RealtimeFetchById"]["family"] == "realtime"
    assert served[-1] == {"id": "image", "method": "GET", "path": "/generations/{name}", "kind": "image",
                          "family": None}
    pony = make_app(spec="modelslab-pony-inpaint.yaml").test_client().get("/__mock/operations").json["operations"]
    assert [(op["id"], op["kind"], op["path"]) for op in pony] == [
        ("inpaint", "generate", "/api/v6/images/inpaint"), ("fetchById", "fetch", "/api/v6/images/fetch/{id}"),
        ("fetchByRequestId", "fetch", "/api/v6/images/fetch"), ("image", "image", "/generations/{name}")]
