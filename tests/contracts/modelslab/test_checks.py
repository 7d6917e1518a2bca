"""The semantic checks: each rule catches its violation, explains it, and passes the real mock."""

from __future__ import annotations

import base64
import json
import io
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image

from contracts.modelslab import strategies
import functools

from contracts.core.spec import PONY_SPEC_FILE
from contracts.modelslab import checks as _checks
from contracts.modelslab.checks import CHECKS, ContractViolation, Exchange, image_size

# These exchanges are the Pony spec's (its three operations under /api/v6/images); the family
# spec's are checked through `contracts run` (tests/contracts/test_contracts_cli.py).
ContractChecker = functools.partial(_checks.ContractChecker, spec=PONY_SPEC_FILE)
operation_for = functools.partial(_checks.operation_for, spec=PONY_SPEC_FILE)
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
    checker = _checks.ContractChecker.for_target(target)
    answer = target.post("/v6/images/inpaint", {"model_id": "pony-realism", "init_image": "https://a.test/i.png",
                                      "mask_image": "https://a.test/m.png", "width": 576, "height": 640, "samples": 2})
    exchange = checker.assert_ok(answer)  # fetches both outputs and reads their size
    assert len(checker.context.image_cache) == 2
    assert set(checker.context.image_cache.values()) == {(576, 640)}
    lying = Exchange.from_http(answer)
    lying.request_body = {**lying.request_body, "width": 512}
    found = _checks.ContractChecker.for_target(target).run(lying, only="outputs_are_images")
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


# -- what the checks read from a request ------------------------------------------------------------


def fetch_by_request_id(request_id, response, key=KEY):
    ex = Exchange("POST", f"{BASE}/fetch", {"key": key, "request_id": request_id}, 200, response)
    ex.operation, ex.path_params = operation_for("POST", ex.url)
    return ex


def test_requested_reads_fields_as_the_server_would():
    ex = inpaint({"status": "success"}, width="+768", height=" 640 ", prompt="123", num_inference_steps="30")
    assert ex.requested("width") == 768 and ex.requested("height") == 640
    assert ex.requested("prompt") == "123", "a text field stays text"
    assert ex.requested("steps") == 30, "the SDK's num_inference_steps is steps"
    assert ex.requested("samples") == 1 and ex.requested("seed") is None, "absent: the spec default, or nothing"
    assert inpaint({}, steps=20, num_inference_steps=40).requested("steps") == 20
    assert inpaint({}, steps=25).requested("num_inference_steps") == 25, "and the other way round"
    assert inpaint({}, num_inference_steps=30, steps=20).requested("num_inference_steps") == 30
    assert inpaint({}, width="X512").requested("width") == "X512", "text that is no number stays text"
    assert inpaint({}, width=None).requested("width") == 512


def test_a_request_body_that_is_no_object_is_judged_not_crashed_on():
    ex = Exchange("POST", f"{BASE}/inpaint", ["key", KEY], 200, {"status": "success", "output": ["https://x/a.png"]})
    ex.operation = "inpaint"
    assert ex.requested("width") == 512
    [violation] = ContractChecker(strict=True).run(ex)
    assert violation.check == "input_validation_matches_spec"
    assert violation.expected == "an error answer: the request is invalid (the body is not a JSON object)"


def test_an_unknown_operation_is_skipped_not_crashed_on():
    ex = Exchange("POST", f"{BASE}/text2img", {"key": KEY, "width": "wide"}, 200,
                  {"status": "error", "message": {"width": ["The width field must be an integer."]}})
    ex.operation, ex.path_params = operation_for("POST", ex.url)
    assert ex.operation == ""
    assert ContractChecker(strict=True).run(ex) == []


def test_a_response_body_that_is_no_object_is_skipped():
    for body in (None, ["a"], "text"):
        ex = inpaint(body)
        ex.status = 500
        assert ContractChecker().run(ex) == []


def test_an_invalid_path_parameter_is_named():
    ex = Exchange("POST", f"{BASE}/fetch/abc", {"key": KEY}, 200, {"status": "success", "id": 1, "output": []})
    ex.operation, ex.path_params = operation_for("POST", ex.url)
    [violation] = ContractChecker(strict=True, enabled={"input_validation_matches_spec"}).run(ex)
    assert violation.expected == (
        "an error answer: the request is invalid (path id: \"abc\" does not match '^[0-9]{1,18}$')")
    assert ContractChecker(strict=True).run(fetch(130000001, {"status": "success", "id": 130000001,
                                                               "output": []})) == []


def test_body_level_problems_point_at_the_root():
    ex = inpaint({"status": "success", "output": ["https://x/a.png"]})
    del ex.request_body["model_id"]
    [violation] = ContractChecker(strict=True, enabled={"input_validation_matches_spec"}).run(ex)
    assert violation.expected == "an error answer: the request is invalid (/: 'model_id' is a required property)"


# -- echoes -----------------------------------------------------------------------------------------


def meta_violations(meta, **request):
    answer = {"status": "success", "output": ["https://x/a.png"], "meta": meta}
    return ContractChecker(enabled={"meta_echoes_request"}).run(inpaint(answer, **request))


def test_numbers_sent_as_text_are_echoed_as_numbers():
    assert meta_violations({"strength": 0.5, "W": 512}, strength="0.5", width="512") == []
    assert meta_violations({"strength": 0.5}, strength=" 0.5 ") == []
    [wrong] = meta_violations({"strength": 0.5}, strength="0.7")
    assert (wrong.expected, wrong.got) == ('meta.strength="0.7"', "meta.strength=0.5")


def test_text_that_is_no_number_is_compared_as_text():
    [wrong] = meta_violations({"strength": 1.2}, strength="1.2.3")
    assert wrong.got == "meta.strength=1.2"
    [wrong] = meta_violations({"prompt": 5}, prompt="cat")
    assert (wrong.expected, wrong.got) == ('meta.prompt="cat"', "meta.prompt=5")
    assert meta_violations({"prompt": "5"}, prompt="5") == []


def test_float_noise_is_no_violation_but_an_integer_off_by_one_is():
    assert meta_violations({"guidance_scale": 7.500000005}, guidance_scale=7.5) == []
    [wrong] = meta_violations({"guidance_scale": 7.5001}, guidance_scale=7.5)
    assert wrong.got == "meta.guidance_scale=7.5001"
    [seed] = meta_violations({"seed": 4294967290}, seed=4294967291)
    assert (seed.expected, seed.got) == ("meta.seed=4294967291", "meta.seed=4294967290")


def test_defaults_are_echoed_when_a_field_is_not_sent():
    assert meta_violations({"W": 512, "H": 512, "n_samples": 1}) == []
    [wrong] = meta_violations({"W": 1024})
    assert (wrong.expected, wrong.got) == ("meta.W=512", "meta.W=1024")


# -- jobs across exchanges --------------------------------------------------------------------------


def test_a_fetch_is_held_to_the_sample_count_of_its_inpaint_request():
    checker = ContractChecker(enabled={"samples_match_outputs"})
    links = [f"http://127.0.0.1:4010/generations/a-{i}.png" for i in range(2)]
    assert checker.run(inpaint(processing(links=links), samples=2)) == []
    [violation] = checker.run(fetch(130000001, {"status": "success", "id": 130000001, "output": links[:1]}))
    assert violation.check == "samples_match_outputs"
    assert violation.expected == "2 URLs in 'output' (samples=2 in the job's inpaint request)"


def test_a_fetch_of_an_unseen_job_is_held_to_its_meta_or_not_at_all():
    checker = ContractChecker(enabled={"samples_match_outputs"})
    answer = {"status": "success", "id": 5, "output": ["https://x/a.png"] * 2, "meta": {"n_samples": 3}}
    [violation] = checker.run(fetch(5, answer))
    assert violation.expected == "3 URLs in 'output' (meta.n_samples=3)"
    assert checker.run(fetch(6, {"status": "success", "id": 6, "output": ["https://x/a.png"] * 2})) == []
    assert checker.run(fetch(7, {"status": "success", "id": 7, "output": ["a"], "meta": {"n_samples": "3"}})) == []


def test_a_sample_count_that_is_no_number_is_left_to_validation():
    checker = ContractChecker(enabled={"samples_match_outputs"})
    assert checker.run(inpaint({"status": "success", "output": ["https://x/a.png"]}, samples="two")) == []
    checker.run(inpaint(processing(links=["https://x/a.png"]), samples="two"))
    assert checker.run(fetch(130000001, {"status": "success", "id": 130000001, "output": []})) == []


def test_a_missing_output_list_is_named():
    [violation] = ContractChecker().run(inpaint({"status": "success", "output": "https://x/a.png"}, samples=2))
    assert violation.expected == "2 outputs in 'output' (samples=2)"
    assert violation.got == 'output = "https://x/a.png"'


@pytest.mark.parametrize("request_id", ["130000001", 130000001])
def test_fetch_by_request_id_is_linked_to_its_job(request_id):
    checker = ContractChecker()
    checker.run(inpaint(processing(links=["http://127.0.0.1:4010/generations/a-0.png"])))
    [violation] = checker.run(fetch_by_request_id(request_id, {"status": "success",
                                                                "output": ["http://127.0.0.1:4010/generations/b-0.png"]}))
    assert violation.check == "future_links_become_outputs"
    assert "of job 130000001" in violation.expected


def test_an_id_that_is_no_number_links_to_nothing():
    checker = ContractChecker()
    checker.run(inpaint(processing(links=["http://127.0.0.1:4010/generations/a-0.png"])))
    for request_id in ("x130000001", True, None):
        assert checker.run(fetch_by_request_id(request_id, {"status": "success", "output": ["b"]})) == []


def test_a_failed_job_never_comes_back_as_processing():
    checker = ContractChecker()
    checker.run(inpaint(processing()))
    checker.run(fetch(130000001, {"status": "failed", "id": 130000001, "message": "Failed, Try Again"}))
    [violation] = checker.run(fetch(130000001, processing()))
    assert violation.check == "job_never_regresses"
    assert violation.expected == ("status 'failed' again (job 130000001 was already failed; "
                                  "history ['processing', 'failed'])")


def test_error_answers_are_kept_out_of_the_job_ledger():
    """An error carrying a job's id (an unknown-job answer, a rate limit) is no news about the job."""
    checker = ContractChecker()
    checker.run(inpaint(processing(links=["http://127.0.0.1:4010/generations/a-0.png"]), samples=1))
    checker.run(inpaint({"status": "error", "id": 130000001, "message": "Rate limit exceeded"}, samples=2))
    checker.run(fetch(130000001, {"status": "error", "id": 130000001, "message": "Request not found"}))
    assert checker.run(fetch(130000001, {"status": "success", "id": 130000001,
                                         "output": ["http://127.0.0.1:4010/generations/a-0.png"]})) == []
    [violation] = checker.run(fetch(130000001, processing()))
    assert "history ['processing', 'success']" in violation.expected


def test_jobs_of_other_servers_do_not_mix():
    checker = ContractChecker()
    checker.run(inpaint({"status": "success", "id": 7, "output": ["https://x/a.png"]}))
    elsewhere = Exchange("POST", "http://127.0.0.1:9999/api/v6/images/fetch/7", {"key": KEY}, 200,
                         processing(job_id=7, fetch_result=f"{BASE}/fetch/7"))
    elsewhere.operation, elsewhere.path_params = operation_for("POST", elsewhere.url)
    assert checker.run(elsewhere) == []


def test_a_job_asked_for_with_a_key_that_is_no_string_is_the_keyless_one():
    checker = ContractChecker()
    first = inpaint({"status": "success", "id": 8, "output": ["https://x/a.png"]})
    first.request_body["key"] = 12345678
    checker.run(first)
    again = Exchange("POST", f"{BASE}/fetch/8", {}, 200, processing(job_id=8, fetch_result=f"{BASE}/fetch/8"))
    again.operation, again.path_params = operation_for("POST", again.url)
    assert names(checker.run(again)) == ["job_never_regresses"]


# -- messages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, got", [
    ({"status": "error", "message": "  "}, "an empty message"),
    ({"status": "error", "message": {}}, "an empty field-error object"),
    ({"status": "error", "message": {"width": [""]}}, "field 'width' without a list of sentences: [\"\"]"),
    ({"status": "error", "message": {"width": "bad"}}, "field 'width' without a list of sentences: \"bad\""),
    ({"status": "error", "message": {"width": "b" * 100}},
     "field 'width' without a list of sentences: \"" + "b" * 76 + "..."),
    ({"status": "failed", "message": {"width": ["The width field must be an integer."]}},
     'message = {"width": ["The width field must be an integer."]}'),
    ({"status": "error", "message": list(range(40))}, "message = " + str(list(range(40)))[:77] + "..."),
])
def test_an_unhelpful_error_message_is_described(body, got):
    [violation] = ContractChecker(enabled={"errors_have_message"}).run(inpaint(body))
    assert violation.got == got


def test_long_values_are_cut_to_300_characters_and_keep_non_ascii():
    exact = "é" * 298  # 300 with its quotes
    [violation] = ContractChecker().run(inpaint({"status": "success", "output": exact}))
    assert violation.got == f'output = "{exact}"'
    [violation] = ContractChecker().run(inpaint({"status": "success", "output": exact + "é"}))
    assert violation.got == 'output = "' + "é" * 296 + "..."


def test_the_explanation_has_the_request_the_rule_and_how_to_reproduce():
    ex = inpaint({"status": "success", "output": []})
    [violation] = ContractChecker().run(ex)
    lines = violation.explain().split("\n")
    assert lines[:4] == [
        "[MLC101 samples_match_outputs] a success has one output per requested sample",
        f"  request:   POST {BASE}/inpaint -> HTTP 200",
        "  expected:  1 URL in 'output' (samples=1)",
        "  got:       0 URLs: []",
    ]
    assert lines[4].startswith("  reproduce: curl -X POST") and len(lines) == 5
    assert violation.explain(reproduce=False).split("\n") == lines[:4]
    ex.status = 0
    assert violation.explain().split("\n")[1] == f"  request:   POST {BASE}/inpaint"
    violation.exchange = None
    assert violation.explain().split("\n") == [lines[0], lines[2], lines[3]]


def test_a_contract_violation_carries_every_violation():
    violations = ContractChecker().run(inpaint({"status": "processing"}))
    error = ContractViolation(violations)
    assert error.violations == violations and len(violations) == 3
    assert str(error) == "\n\n".join(v.explain() for v in violations)


def test_an_unknown_check_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError) as caught:
        ContractChecker(enabled={"samples_match_outputs", "no_such_check"})
    assert str(caught.value) == f"unknown check(s) ['no_such_check']; known: {sorted(CHECKS)}"


# -- exchanges from HTTP answers --------------------------------------------------------------------


def test_an_exchange_from_http_keeps_what_reproducing_it_needs():
    from contracts.core.transport import HttpResponse

    answer = HttpResponse(200, {"Content-Type": "application/json", "X-Mock-Warnings": "w"},
                          b'{"status": "error", "message": "Invalid API Request"}', url=f"{BASE}/fetch/12",
                          method="POST", request_body=b"key=sk-raw-secret-1&x=1",
                          request_headers={"Content-Type": "application/x-www-form-urlencoded", "X-Trace": "t-9"})
    ex = Exchange.from_http(answer, PONY_SPEC_FILE)
    assert (ex.method, ex.url, ex.status, ex.operation, ex.path_params) == (
        "POST", f"{BASE}/fetch/12", 200, "fetchById", {"id": "12"})
    assert ex.request_body is None and ex.raw_request_body == b"key=sk-raw-secret-1&x=1"
    assert ex.response_headers["X-Mock-Warnings"] == "w" and ex.request_headers["X-Trace"] == "t-9"
    command = ex.curl()
    assert "-H 'X-Trace: t-9'" in command and "-d 'key=***&x=1'" in command
    assert "sk-raw-secret-1" not in command


def test_an_exchange_without_a_body_sends_none():
    from contracts.core.transport import HttpResponse

    ex = Exchange.from_http(HttpResponse(200, {}, b"{}", url=f"{BASE}/inpaint", method="POST"))
    assert ex.request_body is None and ex.curl() == f"curl -X POST {BASE}/inpaint"


# -- images -----------------------------------------------------------------------------------------


def test_image_size_reads_gif_and_webp_too():
    for fmt in ("GIF", "WEBP"):
        buffer = io.BytesIO()
        Image.new("RGB", (10, 6)).save(buffer, format=fmt)
        assert image_size(buffer.getvalue()) == (10, 6)


def test_image_size_says_what_is_wrong():
    with pytest.raises(ValueError, match=r"^not an image \(neither image bytes nor base64\)$"):
        image_size(b"<html>not an image</html>")
    with pytest.raises(ValueError, match=r"^not a readable image \("):
        image_size(b"data:image/png;base64")  # no comma: no data
    with pytest.raises(ValueError, match=r"^not an image \(neither image bytes nor base64\)$"):
        image_size(b"{abcd}")  # base64 only once the braces are dropped: not base64
    with pytest.raises(ValueError, match=r"^not a readable image \("):
        image_size(base64.b64encode(b"\x89PNG but not really"))


def test_a_checker_for_a_target_fetches_through_it_from_its_own_host_only():
    from contracts.core.transport import HttpResponse

    class Recording:
        def __init__(self):
            self.calls = []

        def request(self, method, url, **kwargs):
            self.calls.append((method, url))
            return HttpResponse(200, {}, _png(512, 512), url=url, method=method)

    transport = Recording()
    target = Target(name="url", base_url="http://127.0.0.1:4010/api/v6/images", transport=transport, key=KEY,
                    strict=True)
    checker = _checks.ContractChecker.for_target(target, enabled={"outputs_are_images", "input_validation_matches_spec"})
    assert checker.context.strict is True and checker.enabled == {"outputs_are_images",
                                                                  "input_validation_matches_spec"}
    urls = ["http://127.0.0.1:4010/generations/a-0.png", "https://cdn.example.com/b-0.png"]
    assert checker.run(inpaint({"status": "success", "output": urls}, samples=2)) == []
    assert transport.calls == [("GET", urls[0])]
    real = Target(name="real", base_url="https://modelslab.com/api/v6/images", transport=transport, key=KEY)
    _checks.ContractChecker.for_target(real).run(inpaint({"status": "success", "output": urls[1:]}))
    assert transport.calls[-1] == ("GET", urls[1]), "the real API's images live on a CDN"


def test_an_integer_request_echoed_with_float_noise_is_no_violation():
    assert meta_violations({"guidance_scale": 7.000000001}, guidance_scale=7) == []


def test_a_fetch_is_held_to_the_meta_echo_of_its_inpaint_request():
    checker = ContractChecker(enabled={"meta_echoes_request"})
    checker.run(inpaint(processing(), height=768))
    [violation] = checker.run(fetch(130000001, {"status": "success", "id": 130000001, "output": [],
                                                "meta": {"H": 512}}))
    assert (violation.expected, violation.got) == ("meta.H=768", "meta.H=512")


def test_a_fetch_by_path_is_linked_by_its_path_id_when_the_answer_has_none():
    checker = ContractChecker(enabled={"future_links_become_outputs"})
    checker.run(inpaint(processing(links=["http://127.0.0.1:4010/generations/a-0.png"])))
    [violation] = checker.run(fetch(130000001, {"status": "success", "output": ["http://x/other-0.png"]}))
    assert "of job 130000001" in violation.expected


def test_a_job_id_that_is_no_number_links_nothing_even_across_exchanges():
    checker = ContractChecker(enabled={"future_links_become_outputs"})
    promised = {"status": "processing", "eta": 1, "future_links": ["http://127.0.0.1:4010/generations/a-0.png"]}
    checker.run(fetch_by_request_id("job-abc", promised))
    assert checker.run(fetch_by_request_id("job-abc", {"status": "success", "output": ["http://x/b-0.png"]})) == []


def test_only_a_processing_answer_promises_outputs():
    """A success that echoes future_links does not change what the job promised."""
    checker = ContractChecker(enabled={"future_links_become_outputs"})
    links = ["http://127.0.0.1:4010/generations/a-0.png"]
    checker.run(inpaint(processing(links=links)))
    done = {"status": "success", "id": 130000001, "output": links, "future_links": ["http://x/echo-0.png"]}
    assert checker.run(fetch(130000001, done)) == []
    assert checker.run(fetch(130000001, {"status": "success", "id": 130000001, "output": links})) == []


def test_a_request_body_that_is_no_object_with_a_job_id_is_judged_not_crashed_on():
    ex = Exchange("POST", f"{BASE}/inpaint", ["key"], 200, {"status": "success", "id": 9, "output": ["https://x/a"]})
    ex.operation = "inpaint"
    checker = ContractChecker(enabled={"samples_match_outputs", "job_never_regresses"})
    assert checker.run(ex) == [] and checker.run(ex) == []


def test_a_foreign_spec_gets_no_modelslab_checks():
    assert ContractChecker(spec="upstream-pony-inpaint.yaml").enabled == set()
    assert ContractChecker().enabled == set(CHECKS)


# -- the image family (openapi/modelslab.yaml) ------------------------------------------------------

FAMILY = "modelslab.yaml"
FAMILY_BASE = "http://127.0.0.1:4010/api"


def family_answer(path, body, response):
    from contracts.core.transport import HttpResponse

    return HttpResponse(200, {"Content-Type": "application/json"}, json.dumps(response).encode(),
                        url=FAMILY_BASE + path, method="POST", request_body=json.dumps(body).encode())


def test_exchanges_and_assertions_read_the_checkers_own_spec():
    answer = family_answer("/v6/images/text2img", {"key": KEY, "model_id": "m", "prompt": "p", "samples": 1},
                           {"status": "success", "id": 3, "output": ["https://x/a.png", "https://x/b.png"]})
    ex = Exchange.from_http(answer, spec=FAMILY)
    assert (ex.operation, ex.spec) == ("v6ImagesText2img", FAMILY)
    with pytest.raises(ContractViolation) as caught:
        ContractChecker(spec=FAMILY, enabled={"samples_match_outputs"}).assert_ok(answer)
    assert "[MLC101 samples_match_outputs]" in str(caught.value)


def test_jobs_of_different_families_with_the_same_id_do_not_mix():
    checker = ContractChecker(spec=FAMILY, enabled={"job_never_regresses"})
    body = {"key": KEY, "model_id": "m", "prompt": "p"}
    v6 = Exchange.from_http(family_answer("/v6/images/text2img", body, {"status": "success", "id": 5,
                                                                          "output": ["https://x/a.png"]}), FAMILY)
    assert checker.run(v6) == []
    v7 = Exchange.from_http(family_answer("/v7/images/fetch/5", {"key": KEY},
                                          {"status": "processing", "id": 5, "eta": 2,
                                           "fetch_result": FAMILY_BASE + "/v7/images/fetch/5"}), FAMILY)
    assert v7.operation == "v7ImagesFetchById" and checker.run(v7) == []
    again = Exchange.from_http(family_answer("/v6/images/fetch/5", {"key": KEY},
                                             {"status": "processing", "id": 5, "eta": 2,
                                              "fetch_result": FAMILY_BASE + "/v6/images/fetch/5"}), FAMILY)
    assert [v.check for v in checker.run(again)] == ["job_never_regresses"]


def test_a_checker_for_a_target_reads_the_targets_spec_unless_told_another():
    target = Target(name="url", base_url="http://127.0.0.1:4010/api", transport=None, key=KEY, spec=FAMILY)
    assert _checks.ContractChecker.for_target(target).context.spec == FAMILY
    assert _checks.ContractChecker.for_target(target, spec="modelslab-pony-inpaint.yaml").context.spec == \
        "modelslab-pony-inpaint.yaml"


def test_a_hand_built_exchange_without_its_path_parameter_is_judged_on_an_empty_one():
    ex = Exchange("POST", f"{BASE}/fetch/7", {"key": KEY}, 200, {"status": "success", "id": 7, "output": []})
    ex.operation = "fetchById"  # path_params left empty
    [violation] = ContractChecker(strict=True, enabled={"input_validation_matches_spec"}).run(ex)
    assert violation.expected == "an error answer: the request is invalid (path id: \"\" does not match '^[0-9]{1,18}$')"
