"""The ModelsLab ``generate`` behaviour (mockserver/behaviours/modelslab.py, ``Generate``): its
settings checked at start, the fetch it links queued jobs to, and what one request to a generate
operation makes: the model check, the input images (and which refusals are remembered), the choice
of answer (Prefer, scenario rules, the key table, ratios, instant_response, a recording under
--replay), the queue limit, the job it stores and the webhook it schedules.

Everything runs in-process on ``build_state`` (no web server, no threads): one request is an
``Incoming`` handed to the engine, the answer the ``Outcome`` it returns."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from contracts.core.episodes import Cassette, Episode, Exchange, match_key
from contracts.core.spec import load_document, operations
from mockserver.behaviours.bodies import FAILED_MESSAGE, PROCESSING_MESSAGE
from mockserver.behaviours.modelslab import Generate
from mockserver.behaviours.registry import SpecError, behaviours_for
from mockserver.config import KeyRule, MockConfig
from mockserver.engine.context import Incoming, Outcome, owner_of
from mockserver.web.context import MockState, build_state

KEY = "generate-key"
OWNER = owner_of(KEY)
PROMPT = "a red bench under a blue sky"
HOST = "http://mock.test"
OFF_LIST = "https://images.example.com/cat.png"  # a host not on the allow-list: a placeholder, no DNS
OFFLINE = "is not reachable offline; using a placeholder"


# ------------------------------------------------------------------------------ helpers


def mock(spec: str = "modelslab.yaml", **overrides: Any) -> MockState:
    """A mock of ``spec`` in this process: nothing queued, failed or refused unless a test asks."""
    overrides.setdefault("seed", 1234)
    overrides.setdefault("store", "memory")
    overrides.setdefault("processing_ratio", 0.0)
    return build_state(MockConfig(spec=spec, **overrides))


def body_for(state: MockState, op_id: str, **extra: Any) -> dict[str, Any]:
    """A valid body for a generate operation: the model when it takes one, its images as off-list URLs."""
    behaviour = state.behaviours[op_id]
    body: dict[str, Any] = {"key": KEY, "prompt": PROMPT}
    if behaviour.model_required:
        body["model_id"] = "flux"
    for index, name in enumerate(behaviour.images):
        body[name] = f"https://images.example.com/{name}-{index}.png"
    body.update(extra)
    return {name: value for name, value in body.items() if value is not None}


def send(state: MockState, op_id: str, body: Any, prefer: str | None = None,
         headers: dict[str, str] | None = None, **params: str) -> Outcome:
    incoming = Incoming(operation=op_id, body=json.dumps(body).encode(), content_type="application/json",
                        base_url=HOST, prefer=prefer, path_params=dict(params), headers=dict(headers or {}),
                        path=state.spec.base_path + state.spec.operations[op_id].path)
    return state.handle(incoming)


def make(state: MockState, op_id: str = "v6ImagesText2img", prefer: str | None = None, **extra: Any) -> Outcome:
    return send(state, op_id, body_for(state, op_id, **extra), prefer)


def fetch(state: MockState, job_id: Any, op_id: str = "v6ImagesFetchById", key: str = KEY) -> Outcome:
    return send(state, op_id, {"key": key}, id=str(job_id))


def last_entry(state: MockState) -> dict[str, Any]:
    return state.services.journal.entries()[-1]


def settings_of(op_id: str, **changes: Any) -> dict[str, Any]:
    settings = {k: v for k, v in OPS[op_id].behaviour.items() if k != "kind"}
    settings.update(changes)
    return {k: v for k, v in settings.items() if v is not None}


DOC = load_document("modelslab.yaml")
OPS = operations(DOC)


# ------------------------------------------------------------------------------ settings, checked at start


def test_a_generate_operation_reads_render_images_model_and_fetch_from_its_extension():
    inpaint = Generate(OPS["v6ImagesInpaint"], settings_of("v6ImagesInpaint"), OPS, "/api")
    assert (inpaint.family, inpaint.render, inpaint.images, inpaint.model_required, inpaint.fetch_op) == (
        "community", "inpaint", ("init_image", "mask_image"), True, "v6ImagesFetchById")
    realtime = Generate(OPS["v6RealtimeImg2img"], settings_of("v6RealtimeImg2img"), OPS, "/api")
    assert (realtime.family, realtime.render, realtime.images, realtime.model_required) == (
        "realtime", "img2img", ("init_image",), False)


def test_images_and_model_may_be_left_out_a_text_only_operation_without_a_model_check():
    plain = Generate(OPS["v6ImagesText2img"], settings_of("v6ImagesText2img", images=None, model=None), OPS, "/api")
    assert plain.images == () and plain.model_required is False


@pytest.mark.parametrize(("changes", "problem"), [
    ({"render": None}, "needs 'render'"),
    ({"render": "sketch"}, "'render' must be one of text2img, img2img, inpaint, not 'sketch'"),
    ({"render": 3}, "'render' must be a str, not 3"),
    ({"images": "init_image"}, "'images' must be a list, not 'init_image'"),
    ({"images": ["init_image", ""]}, "'images' must list at most 2 body field names, not ['init_image', '']"),
    ({"images": [7]}, "'images' must list at most 2 body field names, not [7]"),
    ({"images": ["a", "b", "c"]}, "'images' must list at most 2 body field names, not ['a', 'b', 'c']"),
    ({"model": "maybe"}, "'model' must be one of required, none, not 'maybe'"),
    ({"model": True}, "'model' must be a str, not True"),
    ({"fetch": None}, "needs 'fetch'"),
    ({"fetch": ["v6ImagesFetchById"]}, "'fetch' must be a str, not ['v6ImagesFetchById']"),
])
def test_a_bad_generate_setting_stops_the_mock_at_start_naming_the_operation(changes, problem):
    with pytest.raises(SpecError) as caught:
        Generate(OPS["v6ImagesInpaint"], settings_of("v6ImagesInpaint", **changes), OPS, "/api")
    assert str(caught.value) == (f"operation v6ImagesInpaint (POST /v6/images/inpaint): x-mock-behaviour {problem}")


def test_two_image_fields_are_allowed_and_a_model_of_none_is_not_checked():
    two = Generate(OPS["v6ImagesInpaint"], settings_of("v6ImagesInpaint", images=["a", "b"], model="none"), OPS, "/api")
    assert two.images == ("a", "b") and two.model_required is False


@pytest.mark.parametrize(("fetch_op", "problem"), [
    ("v6ImagesText2img", "'fetch' names 'v6ImagesText2img', which is not a fetch operation of this spec"),
    ("nowhere", "'fetch' names 'nowhere', which is not a fetch operation of this spec"),
    ("v6RealtimeFetchById", "'fetch' names 'v6RealtimeFetchById' of family 'realtime', not 'community'"),
])
def test_the_fetch_a_generate_names_must_be_a_fetch_of_its_own_family(fetch_op, problem):
    found = behaviours_for(OPS, "/api")
    generate = Generate(OPS["v6ImagesText2img"], settings_of("v6ImagesText2img", fetch=fetch_op), OPS, "/api")
    with pytest.raises(SpecError) as caught:
        generate.check_links(found)
    assert str(caught.value) == f"operation v6ImagesText2img (POST /v6/images/text2img): x-mock-behaviour {problem}"


@pytest.mark.parametrize(("spec", "op_id", "path"), [
    ("modelslab.yaml", "v6ImagesText2img", "/api/v6/images/fetch/4012"),
    ("modelslab.yaml", "v6RealtimeInpaint", "/api/v6/realtime/fetch/4012"),
    ("modelslab.yaml", "v7ImagesTextToImage", "/api/v7/images/fetch/4012"),
    ("modelslab-pony-inpaint.yaml", "inpaint", "/api/v6/images/fetch/4012"),
])
def test_a_generate_names_its_own_fetch_path_with_the_job_id_in_place(spec, op_id, path):
    assert mock(spec).behaviours[op_id].fetch_path(4012) == path


def test_a_fetch_by_body_id_is_linked_at_its_own_path():
    generate = Generate(OPS["v6ImagesText2img"], settings_of("v6ImagesText2img", fetch="v6ImagesFetch"), OPS, "/api")
    generate.check_links(behaviours_for(OPS, "/api"))
    assert generate.fetch_path(9) == "/api/v6/images/fetch"


# ------------------------------------------------------------------------------ track_id


def test_the_track_id_a_request_carries_is_its_journal_track_id():
    state = mock()
    generate = state.behaviours["v6ImagesText2img"]
    assert generate.track_id({"track_id": "order-7", "prompt": "x"}) == "order-7"
    assert generate.track_id({"prompt": "x"}) is None
    assert generate.track_id(["track_id"]) is None and generate.track_id(b"track_id") is None
    make(state, track_id="order-8")
    assert last_entry(state)["track_id"] == "order-8"


# ------------------------------------------------------------------------------ a queued job and its answer


@pytest.mark.parametrize(("op_id", "fetch_op"), [
    ("v6ImagesText2img", "v6ImagesFetchById"), ("v6RealtimeImg2img", "v6RealtimeFetchById"),
    ("v7ImagesInpaint", "v7ImagesFetchById"),
])
def test_a_queued_job_names_its_own_fetch_url_in_fetch_result(op_id, fetch_op):
    state = mock()
    queued = make(state, op_id, prefer="variant=processing, eta=20")
    job_id = queued.body["id"]
    assert queued.body["fetch_result"] == HOST + state.behaviours[fetch_op].link_template().replace("{id}", str(job_id))
    assert state.store.get_job(job_id).fetch_path == queued.body["fetch_result"].removeprefix(HOST)
    assert fetch(state, job_id, fetch_op).body["status"] == "processing"


def test_the_first_answer_says_exactly_the_eta_chosen_however_long_the_request_took():
    state = mock()
    state.services.clock._wall = iter([1000.0 + i * 0.25 for i in range(100)]).__next__  # time moves each read
    queued = make(state, prefer="variant=processing, eta=20")
    assert queued.body["status"] == "processing" and queued.body["eta"] == 20.0
    assert queued.body["message"] == PROCESSING_MESSAGE


def test_a_job_failed_at_once_has_the_documented_failed_body_and_fetch_names_its_id():
    state = mock()
    failed = make(state, prefer="variant=failed")
    assert failed.body == {"status": "failed", "id": "", "message": FAILED_MESSAGE, "output": ""}
    assert failed.job_id is not None and failed.variant == "failed"
    assert fetch(state, failed.job_id).body["id"] == failed.job_id


@pytest.mark.parametrize(("prefer", "status", "body"), [
    ("code=500", 500, {"status": "error", "message": "Internal server error. Please try again."}),
    ("variant=error, error=model_not_found", 200, {"status": "error", "message": "Model id not found"}),
])
def test_an_answer_prefer_names_is_given_instead_of_a_job(prefer, status, body):
    state = mock()
    answer = make(state, prefer=prefer)
    assert (answer.status, answer.body, answer.job_id) == (status, body, None)
    assert make(state).body["id"] == make(mock()).body["id"]  # no job was made, no id used


def test_prefer_processing_with_an_eta_of_0_is_a_job_ready_at_once():
    state = mock()
    done = make(state, prefer="variant=processing, eta=0")
    assert done.body["status"] == "success" and fetch(state, done.body["id"]).body["status"] == "success"


# ------------------------------------------------------------------------------ the model


def test_a_model_the_catalogue_does_not_know_is_model_not_found_where_the_operation_takes_a_model():
    state = mock()
    refused = make(state, model_id="no-such-model")
    assert refused.body == {"status": "error", "message": "Model id not found"} and refused.variant == "error"
    assert make(state, "v6RealtimeText2img", model_id="no-such-model").body["status"] == "success"
    assert make(mock(models=("*",)), model_id="no-such-model").body["status"] == "success"


# ------------------------------------------------------------------------------ input images


def test_an_unreachable_image_url_warns_for_its_field_and_the_job_is_made_with_a_placeholder():
    state = mock()
    made = make(state, "v6ImagesInpaint", init_image=OFF_LIST)
    assert made.body["status"] == "success"
    assert f"init_image: {OFF_LIST} {OFFLINE}" in made.warnings
    assert f"mask_image: https://images.example.com/mask_image-1.png {OFFLINE}" in made.warnings
    assert last_entry(state)["warnings"] == made.warnings


def test_an_image_that_cannot_be_used_is_refused_before_a_job_is_made_naming_the_first_bad_field():
    state = mock()
    refused = make(state, "v6ImagesInpaint", init_image="data:image/png,not-base64", mask_image="data:x")
    assert refused.body["status"] == "error" and refused.variant == "error"
    assert "init_image" in json.dumps(refused.body) and "mask_image" not in json.dumps(refused.body)
    assert any(w.startswith("init_image: a data URI must be base64-encoded") for w in refused.warnings)
    assert refused.job_id is None
    assert make(state).body["id"] == make(mock()).body["id"]  # no job was made, no id used


def counting_prechecks(state: MockState) -> list[tuple[Any, str]]:
    artefacts = state.services.artefacts
    seen: list[tuple[Any, str]] = []
    original = artefacts.precheck

    def precheck(ref: Any, name: str):
        seen.append((ref, name))
        return original(ref, name)

    artefacts.precheck = precheck  # type: ignore[method-assign]
    return seen


def test_an_off_list_url_is_checked_once_per_field_and_warns_every_time():
    state = mock()
    seen = counting_prechecks(state)
    answers = [make(state, "v6ImagesInpaint", init_image=OFF_LIST, mask_image=OFF_LIST) for _ in range(3)]
    assert seen == [(OFF_LIST, "init_image"), (OFF_LIST, "mask_image")]
    assert all(f"init_image: {OFF_LIST} {OFFLINE}" in a.warnings for a in answers)
    assert all(f"mask_image: {OFF_LIST} {OFFLINE}" in a.warnings for a in answers)


def loose_images_spec(tmp_path) -> str:
    """The Pony inpaint spec with images that are neither required nor URLs: a spec of one's own."""
    document = load_document("modelslab-pony-inpaint.yaml")
    request = document["components"]["schemas"]["InpaintingRequest"]
    request["required"] = ["key", "model_id"]
    for name in ("init_image", "mask_image"):
        request["properties"][name].pop("format")
    spec = tmp_path / "loose-images.yaml"
    spec.write_text(json.dumps(document))
    return str(spec)


def test_under_a_spec_of_ones_own_a_missing_image_is_a_placeholder_checked_each_time(tmp_path):
    state = mock(loose_images_spec(tmp_path))
    seen = counting_prechecks(state)
    for _ in range(2):
        made = make(state, "inpaint", init_image=None, mask_image=None)
        assert made.body["status"] == "success" and "init_image is empty; using a placeholder" in made.warnings
    assert seen == [(None, "init_image"), (None, "mask_image")] * 2


def test_under_a_spec_of_ones_own_an_off_list_url_with_spaces_around_it_is_checked_once(tmp_path):
    state = mock(loose_images_spec(tmp_path))
    seen = counting_prechecks(state)
    spaced = f"  {OFF_LIST} "
    for _ in range(2):
        made = make(state, "inpaint", init_image=spaced, mask_image=OFF_LIST)
        assert f"init_image: {OFF_LIST} {OFFLINE}" in made.warnings
    assert seen == [(spaced, "init_image"), (OFF_LIST, "mask_image")]


def test_a_very_long_url_is_checked_every_time_and_one_of_2048_characters_once():
    state = mock()
    seen = counting_prechecks(state)
    longest = "https://images.example.com/" + "a" * (2048 - 27)
    too_long = longest + "b"
    for ref in (longest, longest, too_long, too_long):
        make(state, "v6RealtimeImg2img", init_image=ref)
    assert [ref for ref, _ in seen] == [longest, too_long, too_long]


def test_a_url_of_this_mocks_own_output_is_checked_again_and_accepted_once_its_job_exists():
    earlier = mock()
    prefix = earlier.store.get_job(make(earlier, "v6RealtimeImg2img").body["id"]).file_prefix  # seed 1234's first
    own = f"https://off.example/generations/{prefix}-0.png"
    state = mock()
    first = make(state, "v6RealtimeImg2img", init_image=own)  # this request makes that very job
    assert f"init_image: {own} {OFFLINE}" in first.warnings
    assert state.store.get_job(first.body["id"]).file_prefix == prefix
    second = make(state, "v6RealtimeImg2img", init_image=own)
    assert second.body["status"] == "success" and not any(w.startswith("init_image") for w in second.warnings)


def test_a_refusal_that_depends_on_dns_is_not_remembered():
    # bound beyond loopback, a listed name is fetched only if it resolves to an address the list
    # covers: "localhost" resolves to loopback, which this list does not cover
    state = mock(host="0.0.0.0", image_allow_hosts=("localhost",))
    seen = counting_prechecks(state)
    for _ in range(2):
        made = make(state, "v6RealtimeImg2img", init_image="http://localhost:9/a.png")
        assert "init_image: http://localhost:9/a.png " + OFFLINE in made.warnings
    assert len(seen) == 2


def test_the_remembered_refusals_are_bounded_and_start_over_when_full():
    state = mock()
    generate = state.behaviours["v6RealtimeImg2img"]
    seen = counting_prechecks(state)
    urls = [f"https://images.example.com/{i}.png" for i in range(1025)]
    for url in urls:
        generate._precheck(url, "init_image")
    assert len(generate._offline_refs) == 1
    generate._precheck(urls[1023], "init_image")  # forgotten when the 1025th came
    generate._precheck(urls[1024], "init_image")  # remembered
    assert [ref for ref, _ in seen[1025:]] == [urls[1023]]
    check = generate._precheck(urls[1024], "init_image")
    assert check.error is None and check.warning == f"init_image: {urls[1024]} {OFFLINE}"


# ------------------------------------------------------------------------------ instant_response


def test_instant_response_yes_queues_a_job_the_ratios_chose_as_finished_and_it_ends_as_chosen():
    state = mock(eta_min=2.0, eta_max=4.0)
    queued = make(state, instant_response="yes")
    assert queued.body["status"] == "processing" and 2.0 <= queued.body["eta"] <= 4.0
    assert last_entry(state)["reason"] == "ratio+instant_response"
    state.advance_clock(5, OWNER)
    assert fetch(state, queued.body["id"]).body["status"] == "success"
    failing = mock(failed_ratio=1.0)
    queued = make(failing, instant_response="yes")
    assert queued.body["status"] == "processing"
    failing.advance_clock(6, OWNER)
    assert fetch(failing, queued.body["id"]).body["status"] == "failed"


def test_instant_response_leaves_answers_chosen_otherwise_and_no_leaves_the_ratios_alone():
    state = mock()
    assert make(state, instant_response="no").body["status"] == "success"
    assert last_entry(state)["reason"] == "ratio"
    assert make(state, prefer="variant=success", instant_response="yes").body["status"] == "success"
    assert last_entry(state)["reason"] == "prefer"
    keyed = mock(keys={KEY: KeyRule(variant="success")})
    assert make(keyed, instant_response="yes").body["status"] == "success"
    assert last_entry(keyed)["reason"] == "key"
    queued = mock(processing_ratio=1.0)
    assert make(queued, instant_response="yes").body["status"] == "processing"
    assert last_entry(queued)["reason"] == "ratio"


# ------------------------------------------------------------------------------ the queue limit


def queue_of(limit: int, eta: float, **overrides: Any) -> MockState:
    return mock(queue_limit=limit, keys={KEY: KeyRule(variant="processing", eta=eta)}, **overrides)


def test_a_key_at_its_queue_limit_gets_the_documented_error_with_the_wait_until_a_slot_frees():
    state = queue_of(2, 12)
    ids = [make(state).body["id"] for _ in range(2)]
    assert len(set(ids)) == 2
    refused = make(state)
    assert refused.status == 200 and refused.variant == "error" and refused.job_id is None
    assert refused.body == {"status": "error", "message": "Rate limit exceeded. Maximum 2 queued requests allowed.",
                            "retry_after": 12}
    assert "queue limit: 2 jobs of this key are queued (queue_limit = 2)" in refused.warnings
    assert refused.headers == {}
    state.advance_clock(13, OWNER)
    assert make(state).body["status"] == "processing"


@pytest.mark.parametrize(("eta", "reset"), [(12, "1013"), (0.2, "1001")])
def test_under_http_errors_the_queue_limit_is_a_429_saying_when_a_slot_frees(monkeypatch, eta, reset):
    from mockserver.behaviours import modelslab

    state = queue_of(1, eta, http_errors=True)
    state.services.clock._wall = lambda: 5000.0  # the mock's clock
    monkeypatch.setattr(modelslab, "time", type("Wall", (), {"time": staticmethod(lambda: 1000.5)}))  # the real one
    make(state)
    refused = make(state)
    assert refused.status == 429
    assert refused.headers == {"Retry-After": str(max(1, math.ceil(eta))), "X-RateLimit-Reset": reset}


@pytest.mark.parametrize(("eta", "retry_after"), [(0.2, 1), (1.0, 1), (1.5, 2), (29.5, 30), (30.0, 30), (90.0, 30)])
def test_the_queue_limit_asks_to_retry_after_the_first_slot_frees_between_1_and_30_seconds(eta, retry_after):
    state = queue_of(1, eta)
    state.services.clock._wall = lambda: 5000.0
    make(state)
    assert make(state).body["retry_after"] == retry_after


def test_the_queue_counts_only_queued_jobs_of_this_key_and_prefer_goes_past_it():
    state = queue_of(1, 30)
    make(state)
    assert make(state).body["status"] == "error"
    assert make(state, prefer="variant=processing, eta=30").body["status"] == "processing"  # asked for exactly that
    assert send(state, "v6ImagesText2img", body_for(state, "v6ImagesText2img", key="other-key")).body["status"] == "success"
    free = mock(queue_limit=1)
    assert [make(free).body["status"] for _ in range(3)] == ["success"] * 3  # finished jobs hold no slot


def test_a_queue_limit_of_0_lets_a_key_queue_any_number_of_jobs():
    state = queue_of(0, 60)
    assert [make(state).body["status"] for _ in range(7)] == ["processing"] * 7


# ------------------------------------------------------------------------------ scenario rules and the key table


def test_a_rule_queues_the_job_for_its_eta_and_ends_it_as_its_outcome():
    state = mock()
    rule = state.services.rules.add({"id": "slow", "operation": "v6ImagesText2img",
                                     "respond": {"variant": "processing", "eta": 7, "outcome": "failed"}})
    queued = make(state)
    assert queued.body["status"] == "processing" and queued.body["eta"] == 7.0
    assert last_entry(state)["reason"] == f"rule:{rule['id']}" and last_entry(state)["rule"] == "slow"
    state.advance_clock(8, OWNER)
    assert fetch(state, queued.body["id"]).body["status"] == "failed"


def test_a_rule_queueing_without_an_eta_draws_one_and_the_job_succeeds():
    state = mock(eta_min=3.0, eta_max=3.5)
    state.services.rules.add({"operation": "v6ImagesText2img", "respond": {"variant": "processing"}})
    queued = make(state)
    assert queued.body["status"] == "processing" and 3.0 <= queued.body["eta"] <= 3.5
    state.advance_clock(4, OWNER)
    done = fetch(state, queued.body["id"])
    assert done.body["status"] == "success" and done.variant == "success"
    name = done.body["output"][0].rsplit("/", 1)[1]
    assert state.output_file(name).status == 200  # its image is served


def test_a_rule_answering_success_ignores_its_eta_and_one_without_a_variant_leaves_the_choice_to_the_rest():
    state = mock()
    state.services.rules.add({"operation": "v6ImagesText2img", "respond": {"variant": "success", "eta": 9}, "times": 1})
    done = make(state)
    assert done.body["status"] == "success" and last_entry(state)["reason"].startswith("rule:")
    state.services.rules.add({"id": "late", "operation": "v6ImagesText2img", "respond": {"delay": 0.01}})
    keyed = make(state, prefer=None)
    assert keyed.body["status"] == "success" and last_entry(state)["reason"] == "ratio"
    assert last_entry(state)["rule"] == "late"


def test_prefer_wins_over_a_rule_that_would_have_chosen():
    state = mock()
    state.services.rules.add({"operation": "v6ImagesText2img", "respond": {"variant": "processing", "eta": 5}})
    assert make(state, prefer="variant=failed").body["status"] == "failed"
    assert last_entry(state)["reason"] == "prefer"


def test_the_key_table_chooses_for_its_key_when_no_rule_does():
    state = mock(keys={KEY: KeyRule(variant="processing", eta=4)})
    queued = make(state)
    assert queued.body["status"] == "processing" and queued.body["eta"] == 4.0
    assert last_entry(state)["reason"] == "key"


# ------------------------------------------------------------------------------ the job


def test_the_job_keeps_what_the_request_asked_and_what_was_drawn():
    state = mock()
    made = make(state, "v6ImagesImg2img", width=640, height=768, samples=2, seed=77, strength=0.4,
                safety_checker="no", base64="yes", track_id="t-1", webhook=None)
    job = state.store.get_job(made.body["id"])
    assert (job.owner, job.samples, job.width, job.height, job.seed, job.ext) == (OWNER, 2, 640, 768, 77, "base64")
    assert job.track_id == "t-1" and job.webhook is None and job.family == "community" and job.nsfw is False
    assert job.created_at == job.ready_at and job.outcome == "success"
    assert 1.2 <= job.generation_time <= 9.5 and job.generation_time == round(job.generation_time, 10)
    assert len(job.file_prefix) == 36 and job.file_prefix[14] == "4"  # a version-4 UUID
    assert job.render == {"prompt": PROMPT, "mode": "img2img", "init_image": "https://images.example.com/init_image-0.png",
                          "mask_image": None, "strength": 0.4, "safety_checker": "no",
                          "safety_checker_type": "sensitive_content_text"}
    assert job.meta["seed"] == 77 and job.meta["file_prefix"] == job.file_prefix and job.meta["W"] == 640
    assert job.meta["init_image"] == "https://images.example.com/init_image-0.png"
    assert made.body["output"] == [f"{HOST}/generations/{job.file_prefix}-{i}.base64" for i in range(2)]


def test_a_job_gets_the_specs_defaults_and_a_drawn_seed():
    state = mock(strict=True)
    made = make(state, "v7ImagesTextToImage")
    job = state.store.get_job(made.body["id"])
    assert (job.samples, job.width, job.height, job.ext, job.family) == (1, 512, 512, "png", "v7")
    assert isinstance(job.seed, int) and 0 <= job.seed < 2**32 and job.meta["seed"] == job.seed
    assert job.render == {"prompt": PROMPT, "mode": "text2img", "init_image": None, "mask_image": None,
                          "safety_checker": None, "safety_checker_type": None}
    assert "init_image" not in job.meta and job.meta["W"] == 512
    realtime = state.store.get_job(make(state, "v6RealtimeImg2img").body["id"])
    assert realtime.family == "realtime" and realtime.meta["width"] == 512 and realtime.meta["init_image"]


def test_a_spec_without_default_sizes_or_samples_makes_one_512_square_image(tmp_path):
    document = load_document("modelslab-pony-inpaint.yaml")
    fields = document["components"]["schemas"]["InpaintingRequest"]["properties"]
    for name in ("width", "height", "samples"):
        fields[name].pop("default")
    spec = tmp_path / "no-defaults.yaml"
    spec.write_text(json.dumps(document))
    state = mock(str(spec))
    made = make(state, "inpaint")
    job = state.store.get_job(made.body["id"])
    assert (job.samples, job.width, job.height) == (1, 512, 512) and len(made.body["output"]) == 1


def test_an_inpaint_job_renders_from_its_init_then_its_mask_image():
    state = mock()
    made = make(state, "v7ImagesInpaint", safety_checker_type="blur")
    render = state.store.get_job(made.body["id"]).render
    assert (render["mode"], render["init_image"], render["mask_image"]) == (
        "inpaint", "https://images.example.com/init_image-0.png", "https://images.example.com/mask_image-1.png")
    assert "strength" not in render and render["safety_checker_type"] == "blur"


def test_the_same_seed_makes_the_same_job_and_a_different_seed_another():
    first, second, other = mock(seed=5), mock(seed=5), mock(seed=6)
    jobs = [s.store.get_job(make(s).body["id"]) for s in (first, second, other)]
    assert (jobs[0].file_prefix, jobs[0].seed, jobs[0].generation_time) == (
        jobs[1].file_prefix, jobs[1].seed, jobs[1].generation_time)
    assert jobs[0].file_prefix != jobs[2].file_prefix and jobs[0].seed != jobs[2].seed


def test_drawn_seeds_span_32_bits_and_generation_times_1_2_to_9_5_seconds_as_floats():
    state = mock()
    jobs = [state.store.get_job(make(state).body["id"]) for _ in range(40)]
    seeds = [job.seed for job in jobs]
    assert all(0 <= seed < 2**32 for seed in seeds) and max(seeds) >= 2**31 and len(set(seeds)) == 40
    times = [job.generation_time for job in jobs]
    assert all(type(t) is float and 1.2 <= t <= 9.5 for t in times)
    assert min(times) < 2.2 and max(times) > 8.5


def test_a_key_whose_clock_was_moved_on_still_waits_the_whole_eta():
    state = mock()
    state.advance_clock(100, OWNER)
    queued = make(state, prefer="variant=processing, eta=20")
    job = state.store.get_job(queued.body["id"])
    assert job.ready_at - job.created_at == 20.0 and job.created_at >= state.now(OWNER) - 1
    assert fetch(state, queued.body["id"]).body["status"] == "processing"


def test_a_queued_job_is_ready_after_its_eta_and_ends_as_its_outcome():
    state = mock()
    state.services.clock._wall = lambda: 7000.0
    made = make(state, prefer="variant=processing, eta=6, outcome=failed")
    job = state.store.get_job(made.body["id"])
    assert (job.created_at, job.ready_at, job.outcome) == (7000.0, 7006.0, "failed")


def test_each_job_gets_the_next_id():
    state = mock()
    ids = [make(state).body["id"] for _ in range(3)]
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]


@pytest.mark.parametrize(("safety", "prompt", "nsfw"), [
    ("yes", "a nude figure", True), ("no", "a nude figure", False), ("yes", PROMPT, False)])
def test_safety_checker_yes_flags_a_prompt_with_a_listed_word(safety, prompt, nsfw):
    state = mock(nsfw_words=("nude",))
    made = make(state, safety_checker=safety, prompt=prompt)
    assert made.body["nsfw_content_detected"] is nsfw
    assert make(mock(nsfw_words=()), safety_checker="yes", prompt="a nude figure").body["nsfw_content_detected"] is False


# ------------------------------------------------------------------------------ webhooks


class Scheduled:
    """Stands in for the webhook dispatcher: what would have been delivered, without threads."""

    def __init__(self, state: MockState):
        self.calls: list[dict[str, Any]] = []
        self.state = state
        state.services.webhooks.schedule = self.schedule  # type: ignore[method-assign]

    def schedule(self, job, base_url, copies=1, drop=False, delay=0.0, secrets=()):
        self.calls.append({"job": job.id, "stored": self.state.store.get_job(job.id) is not None,
                           "status": job.webhook_status, "base_url": base_url, "copies": copies, "drop": drop,
                           "delay": delay, "secrets": secrets})


HOOK = "http://127.0.0.1:9/hook"


def test_a_job_with_a_webhook_is_stored_pending_before_its_delivery_is_scheduled():
    state = mock()
    scheduled = Scheduled(state)
    made = make(state, webhook=HOOK)
    assert made.body["webhook_status"] == "pending"
    assert scheduled.calls == [{"job": made.body["id"], "stored": True, "status": "pending", "base_url": HOST,
                                "copies": 1, "drop": False, "delay": 0.0, "secrets": (KEY,)}]
    assert made.warnings == [] and state.store.get_job(made.body["id"]).webhook == HOOK


def test_a_job_without_a_webhook_schedules_nothing_and_is_stored_with_its_journal_entry():
    state = mock()
    scheduled = Scheduled(state)
    made = make(state)
    assert scheduled.calls == [] and made.body["webhook_status"] == ""
    assert state.store.get_job(made.body["id"]) is not None and last_entry(state)["job_id"] == made.body["id"]


def test_a_webhook_to_a_host_off_the_allow_list_is_still_scheduled_with_a_warning_saying_why():
    state = mock()
    scheduled = Scheduled(state)
    made = make(state, webhook="https://hooks.example.com/in")
    assert len(scheduled.calls) == 1
    [warning] = [w for w in made.warnings if w.startswith("webhook:")]
    assert warning.startswith("webhook: will not be called (host 'hooks.example.com' is not on the allow-list")
    assert warning.endswith("); allow the host with webhook_allow_hosts")


@pytest.mark.parametrize(("prefer", "copies", "drop"), [
    ("webhook=drop", 1, True), ("webhook=duplicate", 2, False), ("webhook=deliver", 1, False)])
def test_prefer_says_whether_the_webhook_is_dropped_or_sent_twice(prefer, copies, drop):
    state = mock(webhook_drop_ratio=1.0, webhook_duplicate_ratio=1.0)  # Prefer wins over the ratios
    scheduled = Scheduled(state)
    make(state, prefer=prefer, webhook=HOOK)
    assert (scheduled.calls[0]["copies"], scheduled.calls[0]["drop"]) == (copies, drop)


def test_a_rule_says_what_happens_to_the_webhook_and_prefer_wins_over_it():
    state = mock()
    scheduled = Scheduled(state)
    state.services.rules.add({"operation": "v6ImagesText2img", "respond": {"webhook": "duplicate"}})
    make(state, webhook=HOOK)
    make(state, prefer="webhook=drop", webhook=HOOK)
    assert [(c["copies"], c["drop"]) for c in scheduled.calls] == [(2, False), (1, True)]


@pytest.mark.parametrize(("drop_ratio", "duplicate_ratio", "drops", "copies"), [
    (1.0, 0.0, True, 1), (0.0, 1.0, False, 2), (0.0, 0.0, False, 1), (1.0, 1.0, True, 2)])
def test_the_configured_ratios_drop_or_duplicate_webhooks(drop_ratio, duplicate_ratio, drops, copies):
    state = mock(webhook_drop_ratio=drop_ratio, webhook_duplicate_ratio=duplicate_ratio)
    scheduled = Scheduled(state)
    for _ in range(3):
        make(state, webhook=HOOK)
    assert [(c["drop"], c["copies"]) for c in scheduled.calls] == [(drops, copies)] * 3


def test_webhook_ratios_draw_from_the_seeded_rng_so_a_run_replays():
    def run(seed: int) -> list[tuple[bool, int]]:
        state = mock(seed=seed, webhook_drop_ratio=0.5, webhook_duplicate_ratio=0.5)
        scheduled = Scheduled(state)
        for _ in range(24):
            make(state, webhook=HOOK)
        return [(c["drop"], c["copies"]) for c in scheduled.calls]

    first = run(11)
    assert first == run(11)
    assert {(True, 1), (False, 1), (True, 2), (False, 2)} == set(first)


def test_a_webhook_with_no_ratios_or_delay_configured_draws_nothing_from_the_seeded_rng():
    with_hook, without = mock(), mock()
    Scheduled(with_hook)
    make(with_hook, webhook=HOOK)
    make(without)
    after = [s.store.get_job(make(s).body["id"]) for s in (with_hook, without)]
    assert (after[0].file_prefix, after[0].seed) == (after[1].file_prefix, after[1].seed)


def test_a_configured_webhook_delay_is_drawn_and_capped_by_max_delay():
    state = mock(webhook_delay="fixed:2.5")
    scheduled = Scheduled(state)
    make(state, webhook=HOOK)
    capped = mock(webhook_delay="fixed:50", max_delay=4.0)
    capped_calls = Scheduled(capped)
    make(capped, webhook=HOOK)
    assert scheduled.calls[0]["delay"] == 2.5 and capped_calls.calls[0]["delay"] == 4.0


def test_a_key_from_the_authorization_header_is_masked_in_the_delivery_log_too():
    state = mock()
    scheduled = Scheduled(state)
    body = body_for(state, "v7ImagesTextToImage", webhook=HOOK)
    del body["key"]
    send(state, "v7ImagesTextToImage", body, headers={"Authorization": "Bearer header-key-1"})
    assert scheduled.calls[0]["secrets"] == ("header-key-1",)


# ------------------------------------------------------------------------------ --replay


TEXT2IMG = "/api/v6/images/text2img"


def cassette(folder, *episodes: tuple[str, int, Any, list[Exchange], list[dict[str, Any]], dict[str, str]]) -> str:
    """A cassette of episodes for text2img, each (prompt, submit status, submit body, polls, outputs, headers)."""
    tape = Cassette(folder)
    tape.create("https://modelslab.example", "2026-11-30T00:00:00Z")
    for number, (prompt, status, body, polls, outputs, headers) in enumerate(episodes, 1):
        request = {"key": "***", "prompt": prompt, "model_id": "flux"}
        tape.write(Episode(id=f"{number:04d}", endpoint=TEXT2IMG, operation="v6ImagesText2img",
                           match=match_key(TEXT2IMG, request),
                           submit=Exchange("POST", TEXT2IMG, status, body, request_body=request, headers=headers),
                           polls=polls, outputs=outputs))
    return str(folder)


def output(width: int, height: int) -> dict[str, Any]:
    return {"width": width, "height": height, "content_type": "image/png", "size": 1000, "sha256": "0" * 64}


@pytest.fixture
def recorded(tmp_path) -> str:
    return cassette(
        tmp_path,
        ("a recorded success", 200, {"status": "success", "id": 11}, [], [output(640, 384), output(640, 384)], {}),
        ("a recorded queue", 200, {"status": "processing", "id": 12, "eta": 3},
         [Exchange("POST", "/api/v6/images/fetch/12", 200, {"status": "failed", "id": 12}, offset=7.5)], [], {}),
        ("a recorded limit", 429, {"status": "error", "message": "Rate limit exceeded"}, [], [],
         {"retry-after": "17", "x-ratelimit-reset": "99", "server": "nginx"}),
        ("a recorded failure", 200, {"status": "failed", "id": "", "output": ""}, [], [], {}),
    )


def test_a_recorded_success_is_replayed_with_its_output_count_and_size(recorded):
    state = mock(replay=recorded)
    made = make(state, prompt="a recorded success")
    assert made.body["status"] == "success" and "replayed recorded episode 0001" in made.warnings
    job = state.store.get_job(made.body["id"])
    assert (job.samples, job.width, job.height) == (2, 640, 384) and len(made.body["output"]) == 2
    assert last_entry(state)["reason"] == "replay:0001"


def test_a_recorded_queue_is_replayed_for_as_long_as_it_took_and_ends_as_it_ended(recorded):
    state = mock(replay=recorded)
    queued = make(state, prompt="a recorded queue")
    assert queued.body["status"] == "processing" and queued.body["eta"] == 7.5
    assert queued.warnings == ["replayed recorded episode 0002"]
    state.advance_clock(8, OWNER)
    assert fetch(state, queued.body["id"]).body["status"] == "failed"


def test_a_recorded_error_is_answered_as_it_was_with_its_rate_limit_headers(recorded):
    state = mock(replay=recorded)
    refused = make(state, prompt="a recorded limit")
    assert (refused.status, refused.body, refused.variant, refused.owner) == (
        429, {"status": "error", "message": "Rate limit exceeded"}, "error", OWNER)
    assert refused.headers == {"Retry-After": "17", "X-Ratelimit-Reset": "99"}
    assert refused.warnings == ["replayed recorded episode 0003"] and refused.job_id is None


def test_a_recorded_failure_is_replayed_as_the_documented_failed_body(recorded):
    state = mock(replay=recorded)
    assert make(state, prompt="a recorded failure").body == {
        "status": "failed", "id": "", "message": FAILED_MESSAGE, "output": ""}


def test_a_request_no_episode_matches_is_generated_as_usual_or_refused_under_on_miss_error(recorded):
    state = mock(replay=recorded)
    made = make(state, prompt="never recorded")
    assert made.body["status"] == "success"
    assert made.warnings == ["no recorded episode matches this request; generated as usual"]
    assert last_entry(state)["reason"] == "ratio"
    strict = mock(replay=recorded, on_miss="error")
    refused = make(strict, prompt="never recorded")
    assert refused.body == {"status": "error", "message": "No recorded episode matches this request",
                            "tip": "record it with mockserver record, or run with --on-miss generate"}
    assert refused.variant == "error" and refused.job_id is None
    assert make(strict, prompt="a recorded success").body["status"] == "success"


def test_prefer_still_chooses_under_replay_and_leaves_the_recording_for_the_next_request(recorded):
    state = mock(replay=recorded)
    chosen = make(state, prefer="variant=processing, eta=2", prompt="a recorded limit")
    assert chosen.body["status"] == "processing" and not any("replayed" in w for w in chosen.warnings)
    assert make(state, prompt="a recorded limit").status == 429


def test_a_replayed_answer_still_checks_the_model(recorded):
    state = mock(replay=recorded, models=("sdxl",))  # recorded with flux, which this mock does not know
    refused = make(state, prompt="a recorded success")
    assert refused.body == {"status": "error", "message": "Model id not found"}


def test_a_replayed_queue_is_not_turned_again_by_instant_response(recorded):
    state = mock(replay=recorded)
    made = make(state, prompt="a recorded success", instant_response="yes")
    assert made.body["status"] == "success"


def test_the_key_table_says_what_happens_to_its_webhooks_after_prefer_and_rules():
    from mockserver.config import KeyRule

    state = mock(keys={KEY: KeyRule(webhook="duplicate")})
    scheduled = Scheduled(state)
    make(state, webhook=HOOK)
    make(state, webhook=HOOK, prefer="webhook=drop")
    state.rules.add({"key": KEY, "id": "once", "webhook": "deliver", "times": 1})
    make(state, webhook=HOOK)
    assert [(c["copies"], c["drop"]) for c in scheduled.calls] == [(2, False), (1, True), (1, False)]
