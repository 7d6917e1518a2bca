"""The semantic checks: each rule catches its violation, explains it, and passes the real mock."""

from __future__ import annotations

import base64
import io
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image

from contracts.modelslab import strategies
from contracts.modelslab.checks import CHECKS, ContractChecker, ContractViolation, Exchange, image_size, operation_for
from contracts.run.targets import Target
from contracts.core.transport import WSGITransport

BASE = "http://127.0.0.1:4010/api/v6/images"
KEY = "sk-check-secret-123"


def inpaint(response, **request):
    body = {"key": KEY, "model_id": "pony-realism", "init_image": "https://a.test/i.png",
            "mask_image": "https://a.test/m.png", **request}
    ex = Exchange("POST", f"{BASE}/inpaint", body, 200, response)
    ex.operation, ex.path_params = operation_for("POST", ex.url)
    return ex


def fetch(job_id, response):
    ex = Exchange("POST", f"{BASE}/fetch/{job_id}", {"key": KEY}, 200, response)
    ex.operation, ex.path_params = operation_for("POST", ex.url)
    return ex


def processing(job_id=130000001, links=("http://127.0.0.1:4010/generations/a-0.png",), **extra):
    return {"status": "processing", "id": job_id, "eta": 3.5,
            "fetch_result": f"{BASE}/fetch/{job_id}", "output": [], "future_links": list(links), **extra}


def names(violations):
    return [v.check for v in violations]


def test_operation_for_maps_urls_to_operation_ids():
    assert operation_for("POST", f"{BASE}/inpaint") == ("inpaint", {})
    assert operation_for("POST", f"{BASE}/fetch/42") == ("fetchById", {"id": "42"})
    assert operation_for("POST", f"{BASE}/fetch") == ("fetchByRequestId", {})
    assert operation_for("GET", f"{BASE}/inpaint") == ("", {})


def test_samples_match_outputs_catches_an_extra_output_and_explains_it():
    checker = ContractChecker()
    ex = inpaint({"status": "success", "id": 1, "output": ["https://x/a.png", "https://x/b.png"]}, samples=1)
    [violation] = checker.run(ex)
    assert violation.check == "samples_match_outputs" and violation.code == "MLC101"
    text = violation.explain()
    assert "expected:  1 URL in 'output' (samples=1)" in text
    assert "got:       2 URLs" in text
    assert "reproduce: curl -X POST" in text
    assert KEY not in text and '"key": "***"' in text


def test_reproduce_line_is_a_runnable_shell_command_with_the_key_masked():
    ex = inpaint({"status": "success", "output": []}, samples=2, prompt="it's a 'quoted' prompt")
    [violation] = ContractChecker().run(ex)
    command = violation.explain().split("reproduce: ", 1)[1]
    argv = shlex.split(command)
    assert argv[:4] == ["curl", "-X", "POST", f"{BASE}/inpaint"]
    sent = argv[argv.index("-d") + 1]
    assert '"prompt": "it\'s a \'quoted\' prompt"' in sent and '"key": "***"' in sent


def test_samples_default_to_one_and_string_counts_are_read_as_numbers():
    checker = ContractChecker()
    assert checker.run(inpaint({"status": "success", "output": ["https://x/a.png"]})) == []
    assert checker.run(inpaint({"status": "success", "output": ["https://x/a.png"] * 3}, samples="3")) == []
    assert names(checker.run(inpaint({"status": "success"}, samples=2))) == ["samples_match_outputs"]


def test_processing_must_name_its_job():
    checker = ContractChecker()
    assert checker.run(inpaint(processing())) == []
    bad = {"status": "processing", "eta": -1, "fetch_result": f"{BASE}/fetch/999"}
    found = checker.run(inpaint(bad))
    assert names(found) == ["processing_names_job"] * 2  # no id; negative eta (fetch_result unjudgeable)
    assert "no 'id' field" in found[0].got and "eta = -1" in found[1].got
    wrong = checker.run(inpaint(processing(fetch_result=f"{BASE}/fetch/1")))
    assert [v.expected for v in wrong] == ["fetch_result ending in /fetch/130000001"]


def test_future_links_must_become_the_outputs():
    checker = ContractChecker()
    links = ["http://127.0.0.1:4010/generations/a-0.png"]
    assert checker.run(inpaint(processing(links=links))) == []
    assert checker.run(fetch(130000001, {"status": "success", "id": 130000001, "output": links})) == []
    checker.reset()
    checker.run(inpaint(processing(links=links)))
    [violation] = checker.run(fetch(130000001, {"status": "success", "id": 130000001,
                                                "output": ["http://127.0.0.1:4010/generations/other-0.png"]}))
    assert violation.check == "future_links_become_outputs"
    assert "a-0.png" in violation.expected and "other-0.png" in violation.got


def test_a_finished_job_never_goes_back_to_processing():
    checker = ContractChecker()
    checker.run(inpaint(processing()))
    checker.run(fetch(130000001, {"status": "success", "id": 130000001,
                                  "output": ["http://127.0.0.1:4010/generations/a-0.png"]}))
    found = checker.run(fetch(130000001, processing()))
    assert "job_never_regresses" in names(found)


def test_jobs_of_other_keys_or_servers_do_not_mix():
    checker = ContractChecker()
    checker.run(inpaint({"status": "success", "id": 7, "output": ["https://x/a.png"]}))
    other_key = Exchange("POST", f"{BASE}/fetch/7", {"key": "another"}, 200, processing(job_id=7, fetch_result=f"{BASE}/fetch/7"))
    other_key.operation, other_key.path_params = operation_for("POST", other_key.url)
    assert checker.run(other_key) == []


def test_meta_must_echo_the_request():
    checker = ContractChecker()
    meta = {"W": 512, "H": 768, "n_samples": 1, "prompt": "cat", "seed": 5}
    assert checker.run(inpaint({**processing(), "meta": meta}, height="768", prompt="cat", seed=5)) == []
    [violation] = checker.run(inpaint({**processing(job_id=2, fetch_result=f"{BASE}/fetch/2"),
                                       "meta": {**meta, "H": 512}}, height=768, prompt="cat", seed=5))
    assert violation.check == "meta_echoes_request"
    assert violation.expected == "meta.H=768" and violation.got == "meta.H=512"


def test_errors_need_a_message():
    checker = ContractChecker()
    assert checker.run(inpaint({"status": "error", "message": "Rate limit exceeded"})) == []
    field_errors = {"status": "error", "message": {"width": ["The width must be at least 512."]}}
    assert checker.run(inpaint(field_errors, width=256)) == []
    assert names(checker.run(inpaint({"status": "error"}))) == ["errors_have_message"]
    assert names(checker.run(inpaint({"status": "error", "message": {"width": []}}, width=256))) == [
        "errors_have_message"]
    assert names(checker.run(inpaint({"status": "failed", "message": ""}))) == ["errors_have_message"]


def test_input_validation_is_enforced_only_against_strict_servers():
    invalid = inpaint({"status": "success", "output": ["https://x/a.png"]}, width=2048)
    assert names(ContractChecker(strict=True).run(invalid)) == ["input_validation_matches_spec"]
    assert ContractChecker(strict=False).run(invalid) == []  # compat servers may coerce or accept
    field_error_on_valid = inpaint({"status": "error", "message": {"width": ["bad"]}}, width=512)
    assert names(ContractChecker(strict=False).run(field_error_on_valid)) == ["input_validation_matches_spec"]


def test_assert_ok_raises_with_every_violation_explained():
    with pytest.raises(ContractViolation) as caught:
        ContractChecker().assert_ok(inpaint({"status": "processing"}))
    assert str(caught.value).count("[MLC102 processing_names_job]") == 3


def _png(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_image_size_reads_png_jpeg_and_base64_files():
    png = _png(24, 16)
    assert image_size(png) == (24, 16)
    assert image_size(base64.b64encode(png)) == (24, 16)
    assert image_size(b"data:image/png;base64," + base64.b64encode(png)) == (24, 16)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 12)).save(buffer, format="JPEG")
    assert image_size(buffer.getvalue()) == (8, 12)
    with pytest.raises(ValueError):
        image_size(b"<html>not an image</html>")


def test_output_images_are_fetched_from_the_mock_and_sized(make_app):
    target = Target.for_wsgi(make_app(processing_ratio=0.0))
    checker = ContractChecker.for_target(target)
    answer = target.post("/inpaint", {"model_id": "pony-realism", "init_image": "https://a.test/i.png",
                                      "mask_image": "https://a.test/m.png", "width": 576, "height": 640, "samples": 2})
    exchange = checker.assert_ok(answer)  # fetches both outputs and reads their size
    assert len(checker.context.image_cache) == 2
    assert set(checker.context.image_cache.values()) == {(576, 640)}
    lying = Exchange.from_http(answer)
    lying.request_body = {**lying.request_body, "width": 512}
    found = ContractChecker.for_target(target).run(lying, only="outputs_are_images")
    assert len(found) == 2  # one per output URL
    assert all(v.expected.endswith("serves an image of 512x640") and v.got == "an image of 576x640" for v in found)
    assert exchange.response_body["status"] == "success"


def test_images_on_other_hosts_are_never_fetched():
    calls = []
    checker = ContractChecker(fetch=lambda url: calls.append(url), image_hosts={"127.0.0.1:4010"})
    checker.run(inpaint({"status": "success", "output": ["https://cdn.example.com/a.png"]}))
    assert calls == []


@given(body=strategies.inpaint_bodies(KEY), answer=strategies.api_responses("spec"))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_checks_judge_any_legal_answer_without_crashing(body, answer):
    """Whatever shape the spec allows, the checks return verdicts; they never raise themselves."""
    ex = Exchange("POST", f"{BASE}/inpaint", body, 200, answer)
    ex.operation = "inpaint"
    for violation in ContractChecker(strict=True).run(ex):
        assert violation.check in CHECKS and violation.explain()


@given(answer=strategies.api_responses("contract"))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_contract_level_answers_satisfy_the_single_exchange_checks(answer):
    """The "contract" response level is what the single-exchange checks allow (field errors are
    judged against the request by MLC108, so that rule is left out here)."""
    samples = len(answer.get("output") or answer.get("future_links") or [1])
    ex = inpaint(answer, samples=samples)
    assert ContractChecker(enabled=set(CHECKS) - {"input_validation_matches_spec"}).run(ex) == []
