"""The steps every ModelsLab operation shares, and fetch: where the key is read, which keys are let
in, bad bodies and Prefer values, what a gateway in front of the service does (Prefer faults,
scenario rules, configured faults), field errors, the answers Prefer picks by name or code, the
delay and faults on the way back, and fetching a job by id in the path or the body.

Each test builds its mock in-process (``build_state``) and hands the engine an ``Incoming`` as the
web adapter would; steps that leave their mark only on the request context are called directly.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from contracts.core.sample import sample
from contracts.core.spec import Operation
from mockserver.behaviours.modelslab import Fetch, _no_lone_surrogates, _usable_key, header_keys
from mockserver.behaviours.registry import SpecError
from mockserver.config import KeyRule, MockConfig
from mockserver.engine.context import Incoming, Outcome, RequestContext, owner_of
from mockserver.engine.errors import gateway_page
from mockserver.engine.parsing import BodyError
from mockserver.engine.variants import Choice
from mockserver.web.context import MockState, build_state

KEY = "unit-key"
OTHER = "other-key"
PONY = "modelslab-pony-inpaint.yaml"
TEXT2IMG = "v6ImagesText2img"
FETCH_BY_ID = "v6ImagesFetchById"
FETCH_BODY = "v6ImagesFetch"
REALTIME_FETCH = "v6RealtimeFetchById"
JSON_TIP = ("1. Make sure you are passing Content-Type: application/json in header. "
            "2. Make sure you are doing POST request with valid JSON. "
            "3. Make sure your JSON does not have error, use jsonlint to validate json array")
INVALID_REQUEST = {"status": "error", "message": "Invalid API Request", "tip": JSON_TIP}
INVALID_KEY = {"status": "error", "message": "Invalid Api Key", "tip": JSON_TIP + ". 4. Make sure you have valid API key."}
RATE_LIMITED = {"status": "error", "message": "Rate limit exceeded",
                "tips": "you are sending same request multiple times, spam filter is enabled, "
                        "please wait for 30 seconds and try again"}
SURROGATE = "body has an unpaired UTF-16 surrogate (\\ud800-\\udfff)"


def mock(**overrides: Any) -> MockState:
    """A mock on the family spec: memory store, one seed, nothing queued unless asked, no real waiting."""
    overrides.setdefault("seed", 7)
    overrides.setdefault("store", "memory")
    overrides.setdefault("processing_ratio", 0.0)
    state = build_state(MockConfig(**overrides))
    state.wait_with(lambda seconds: None)
    return state


def incoming(op_id: str, body: Any = None, *, raw: bytes | None = None, prefer: str | None = None,
             headers: dict[str, str] | None = None, content_type: str | None = "application/json",
             **path_params: str) -> Incoming:
    data = raw if raw is not None else json.dumps(body).encode()
    return Incoming(op_id, data, content_type, "http://localhost", prefer=prefer, path_params=path_params,
                    headers=headers or {})


def call(state: MockState, op_id: str, body: Any = None, **kwargs: Any) -> Outcome:
    return state.handle(incoming(op_id, body, **kwargs))


def generate(state: MockState, body: dict[str, Any] | None = None, **kwargs: Any) -> Outcome:
    sent = {"key": KEY, "prompt": "a red bench", "model_id": "flux"}
    sent.update(body or {})
    return call(state, TEXT2IMG, sent, **kwargs)


def last_entry(state: MockState) -> dict[str, Any]:
    return state.journal.entries()[-1]


def context(state: MockState, op_id: str, body: Any = None, **kwargs: Any) -> RequestContext:
    """A request context past parse (its body read), for calling one step directly."""
    ctx = RequestContext(incoming(op_id, body, **kwargs))
    assert state.behaviours[op_id].parse(ctx) is None
    return ctx


def add_rule(state: MockState, **rule: Any) -> dict[str, Any]:
    rule.setdefault("key", KEY)
    return state.rules.add(rule)


# ------------------------------------------------------------------------------ keys in headers


def test_a_key_header_comes_before_a_bearer_token_whatever_the_order_or_case_of_the_headers():
    headers = {"Authorization": "Bearer  from-bearer ", "X-Requested-With": "modelslab-py", "KEY": "from-key"}
    assert header_keys(headers) == ["from-key", "from-bearer"]
    assert header_keys({"key": "k", "authorization": "BEARER b"}) == ["k", "b"]


def test_only_a_bearer_authorization_carries_a_key_and_only_text_counts():
    assert header_keys({"Authorization": "Basic dXNlcjpwYXNz"}) == []
    assert header_keys({"Authorization": "Bearer"}) == []
    assert header_keys({"key": 5, "Authorization": None}) == []  # type: ignore[dict-item]
    assert header_keys({"Host": "localhost", "Prefer": "variant=success"}) == []


def test_a_key_is_usable_unless_it_is_blank_as_the_spec_pattern_reads_blank():
    assert _usable_key("k") and _usable_key(" k ")
    assert _usable_key("\x1c") and _usable_key("\x85")  # not blank for the spec's \S (Python would strip them)
    assert not _usable_key("") and not _usable_key(" \t\u3000\ufeff\xa0")
    assert not _usable_key(None) and not _usable_key(123)


def test_a_lone_surrogate_is_not_text_but_a_pair_is():
    with pytest.raises(BodyError, match=r"^body has an unpaired UTF-16 surrogate \(\\ud800-\\udfff\)$"):
        _no_lone_surrogates({"prompt": "\ud800"})
    _no_lone_surrogates({"prompt": "\U0001f600 caf\u00e9"})


# ------------------------------------------------------------------------------ parse


def test_a_body_not_sent_as_json_is_an_invalid_api_request_and_kept_raw():
    state = mock()
    outcome = call(state, TEXT2IMG, raw=b'{"prompt": "p"}', content_type="text/plain")
    assert (outcome.status, outcome.body, outcome.variant, outcome.owner) == (200, INVALID_REQUEST, "error", None)
    assert outcome.warnings == ["content type is not application/json"]
    entry = last_entry(state)
    assert entry["body"] == '{"prompt": "p"}'
    assert entry["validation"] == {"valid": False, "errors": {"request": ["content type is not application/json"]}}


def test_a_body_that_is_not_a_json_object_is_an_invalid_api_request_naming_why():
    state = mock()
    outcome = call(state, TEXT2IMG, raw=b"[1, 2]")
    assert outcome.body == INVALID_REQUEST and outcome.status == 200
    assert outcome.warnings and "object" in outcome.warnings[0]
    assert last_entry(state)["body"] == "[1, 2]"


def test_a_lone_surrogate_escape_is_an_invalid_api_request_and_a_paired_one_is_text():
    state = mock()
    lone = call(state, TEXT2IMG, raw=b'{"key": "unit-key", "model_id": "flux", "prompt": "a \\ud800 b"}')
    assert lone.body == INVALID_REQUEST and lone.warnings == [SURROGATE]
    assert last_entry(state)["body"].startswith('{"key"')
    paired = call(state, TEXT2IMG, raw=b'{"key": "unit-key", "model_id": "flux", "prompt": "a \\ud83d\\ude00 b"}')
    assert paired.body["status"] == "success" and paired.parsed["prompt"] == "a \U0001f600 b"


def test_a_parsed_body_is_what_the_later_steps_read():
    state = mock()
    ctx = RequestContext(incoming(TEXT2IMG, {"key": KEY, "prompt": "p"}))
    assert state.behaviours[TEXT2IMG].parse(ctx) is None
    assert ctx.body == ctx.raw == {"key": KEY, "prompt": "p"}


# ------------------------------------------------------------------------------ authenticate


def test_the_body_key_wins_and_header_keys_are_masked_as_secrets():
    state = mock()
    ctx = context(state, TEXT2IMG, {"key": KEY}, headers={"key": "header-key", "Authorization": "Bearer " + KEY})
    assert state.behaviours[TEXT2IMG].authenticate(ctx) is None
    assert (ctx.key, ctx.owner, ctx.secrets) == (KEY, owner_of(KEY), ("header-key",))


def test_a_key_in_a_bearer_header_is_used_when_the_body_has_none():
    state = mock()
    ctx = context(state, TEXT2IMG, {"prompt": "p"}, headers={"Authorization": "Bearer " + KEY})
    assert state.behaviours[TEXT2IMG].authenticate(ctx) is None
    assert (ctx.key, ctx.owner, ctx.secrets) == (KEY, owner_of(KEY), ())


def test_a_blank_body_key_gives_way_to_the_first_usable_header_key():
    state = mock()
    ctx = context(state, TEXT2IMG, {"key": " \t"}, headers={"key": "  ", "Authorization": "Bearer " + KEY})
    assert state.behaviours[TEXT2IMG].authenticate(ctx) is None
    assert ctx.key == KEY and ctx.secrets == ("  ",)


def test_a_request_without_a_usable_key_is_an_invalid_api_key_owned_by_nobody():
    state = mock()
    for body, headers in (({"prompt": "p"}, {}), ({"key": ""}, {"key": " "}), ({"key": 5}, {"Authorization": "Basic x"})):
        outcome = call(state, TEXT2IMG, body, headers=headers)
        assert (outcome.status, outcome.body, outcome.owner) == (200, INVALID_KEY, None)
        assert outcome.warnings == ["key is missing or empty"]
        assert last_entry(state)["validation"] == {"valid": False, "errors": {"request": ["key is missing or empty"]}}


def test_with_http_errors_an_invalid_api_key_is_a_401():
    outcome = call(mock(http_errors=True), TEXT2IMG, {"prompt": "p"})
    assert (outcome.status, outcome.body, outcome.headers) == (401, INVALID_KEY, {})


def test_the_key_table_refuses_a_revoked_key_and_a_closed_mock_refuses_unknown_keys():
    refused = "key is not accepted by the key table"
    revoked = mock(keys={"revoked": KeyRule(valid=False)})
    outcome = call(revoked, TEXT2IMG, {"key": "revoked", "prompt": "p", "model_id": "flux"})
    assert outcome.body == INVALID_KEY and outcome.warnings == [refused] and outcome.owner is None
    assert generate(revoked).body["status"] == "success"  # any other key is let in
    closed = mock(accept_any_key=False, keys={KEY: KeyRule()})
    assert generate(closed).body["status"] == "success"
    stranger = call(closed, TEXT2IMG, {"key": OTHER, "prompt": "p", "model_id": "flux"})
    assert stranger.body == INVALID_KEY and stranger.warnings == [refused]


def test_a_key_from_a_header_is_checked_against_the_key_table_too():
    state = mock(keys={"revoked": KeyRule(valid=False)})
    outcome = call(state, TEXT2IMG, {"prompt": "p", "model_id": "flux"}, headers={"key": "revoked"})
    assert outcome.body == INVALID_KEY


# ------------------------------------------------------------------------------ Prefer


def test_a_bad_prefer_value_is_a_400_naming_it_for_the_key_that_sent_it():
    state = mock()
    outcome = generate(state, prefer="variant=sucess")
    assert outcome.status == 400 and outcome.owner == owner_of(KEY)
    assert outcome.body == {"status": "error", "message": "Prefer: variant must be one of success, processing, "
                                                          "error, failed, not 'sucess'"}


def test_a_good_prefer_header_is_read_into_the_request():
    state = mock()
    ctx = context(state, TEXT2IMG, {"key": KEY}, prefer="delay=2, webhook=drop")
    assert state.behaviours[TEXT2IMG].read_prefer(ctx) is None
    assert (ctx.prefer.delay, ctx.prefer.webhook) == (2.0, "drop")


# ------------------------------------------------------------------------------ normalise


def test_in_compat_mode_a_key_from_the_headers_is_put_in_the_body_with_a_warning():
    state = mock()
    outcome = call(state, TEXT2IMG, {"prompt": "a red bench", "model_id": "flux", "width": "512"},
                   headers={"Authorization": "Bearer " + KEY})
    assert outcome.body["status"] == "success"
    assert outcome.parsed["key"] == KEY and outcome.parsed["width"] == 512
    assert "key: read from the request's key/Authorization header" in outcome.warnings
    assert any(w.startswith('width: "') for w in outcome.warnings)


def test_a_key_in_the_body_is_not_reported_as_read_from_the_headers():
    outcome = generate(mock(), headers={"key": OTHER})
    assert outcome.parsed["key"] == KEY
    assert not any(w.startswith("key:") for w in outcome.warnings)


def test_strict_mode_reads_the_body_as_sent():
    state = mock(strict=True)
    outcome = generate(state, {"width": "512"})
    assert outcome.body["status"] == "error" and "width" in outcome.body["message"]
    headers_only = call(state, TEXT2IMG, {"prompt": "a red bench", "model_id": "flux"}, headers={"key": KEY})
    assert headers_only.body["status"] == "error" and "key" in headers_only.body["message"]


# ------------------------------------------------------------------------------ validate


def test_field_errors_are_laravel_style_and_kept_for_the_journal():
    state = mock()
    outcome = generate(state, {"width": 100000})
    assert outcome.status == 200 and outcome.variant == "error" and outcome.owner == owner_of(KEY)
    assert outcome.body["status"] == "error" and list(outcome.body["message"]) == ["width"]
    assert outcome.validation_errors == outcome.body["message"]
    assert last_entry(state)["validation"] == {"valid": False, "errors": outcome.body["message"]}
    assert call(mock(http_errors=True), TEXT2IMG, {"key": KEY, "model_id": "flux", "width": 100000}).status == 422


def test_a_valid_body_is_read_as_the_service_reads_it_and_says_what_changed():
    state = mock(strict=True)  # nothing normalised before: what changed is validate's doing
    outcome = generate(state, {"samples": 2.0, "num_inference_steps": 30})
    assert outcome.parsed["samples"] == 2 and isinstance(outcome.parsed["samples"], int)
    assert outcome.parsed["num_inference_steps"] == 20
    assert outcome.warnings == ["num_inference_steps: 30 is above the maximum 20; used as 20"]
    assert last_entry(state)["validation"] == {"valid": True}


# ------------------------------------------------------------------------------ gate: Prefer faults


def test_prefer_fault_outage_is_the_gateways_page_before_the_body_is_read():
    state = mock()
    outcome = generate(state, {"width": 100000}, prefer="fault=outage")  # an invalid body: never validated
    status, page, headers = gateway_page("outage")
    assert (outcome.status, outcome.body, outcome.headers) == (503, page, headers)
    assert (outcome.variant, outcome.fault, outcome.owner) == ("fault", "outage", owner_of(KEY))


def test_prefer_fault_rate_limit_is_the_services_rate_limit_error():
    outcome = generate(mock(), prefer="fault=rate_limit")
    assert (outcome.status, outcome.body, outcome.headers) == (200, RATE_LIMITED, {})
    assert (outcome.variant, outcome.fault) == ("error", "rate_limit")
    coded = generate(mock(http_errors=True), prefer="fault=rate_limit")
    assert (coded.status, coded.headers) == (429, {"Retry-After": "30"})


@pytest.mark.parametrize("fault", ["reset", "truncated"])
def test_a_fault_on_the_way_back_lets_the_request_through_and_marks_the_answer(fault):
    outcome = generate(mock(), prefer=f"fault={fault}")
    assert outcome.body["status"] == "success" and outcome.status == 200
    assert outcome.fault == fault


# ------------------------------------------------------------------------------ gate: rules


def test_a_rule_error_answers_before_validation_then_is_used_up():
    state = mock()
    rule = add_rule(state, id="no-key", error="invalid_api_key", times=1)
    refused = generate(state, {"width": 100000})
    assert (refused.body, refused.rule, refused.owner) == (INVALID_KEY, rule["id"], owner_of(KEY))
    assert refused.warnings == [] and last_entry(state)["validation"] is None
    assert generate(state).body["status"] == "success"


def test_a_rule_variant_error_without_a_name_is_the_rate_limit():
    state = mock()
    add_rule(state, variant="error")
    assert generate(state).body == RATE_LIMITED


@pytest.mark.parametrize("code, body", [
    (404, {"status": "error", "message": "Model id not found"}),
    (422, {"status": "error", "message": {"prompt": ["The prompt field is required."]}}),
    (500, {"status": "error", "message": "Internal server error. Please try again."}),
])
def test_a_rule_code_answers_with_that_status_and_the_services_body_for_it(code, body):
    state = mock()
    add_rule(state, code=code)
    outcome = generate(state)
    assert (outcome.status, outcome.body, outcome.headers) == (code, body, {})


def test_a_rule_code_429_keeps_the_retry_after_header():
    state = mock()
    add_rule(state, code=429)
    outcome = generate(state)
    assert (outcome.status, outcome.body, outcome.headers) == (429, RATE_LIMITED, {"Retry-After": "30"})


def test_a_rule_fault_is_the_gateway_page_or_the_fault_on_the_way_back():
    state = mock()
    add_rule(state, id="down", fault="gateway_timeout", times=1)
    add_rule(state, id="cut", fault="truncated", times=1, priority=6)
    down = generate(state)
    assert (down.status, down.fault, down.rule) == (504, "gateway_timeout", "down")
    cut = generate(state)
    assert (cut.body["status"], cut.fault, cut.rule) == ("success", "truncated", "cut")
    assert generate(state).fault is None


def test_prefer_choosing_the_answer_keeps_gate_rules_and_random_faults_out():
    state = mock(fault_outage_ratio=1.0)
    add_rule(state, error="invalid_api_key")
    outcome = generate(state, prefer="variant=success")
    assert outcome.body["status"] == "success" and outcome.rule is None and outcome.fault is None


def test_a_rule_of_another_key_or_another_operation_does_not_answer():
    state = mock()
    add_rule(state, key=OTHER, error="invalid_api_key")
    add_rule(state, operation=FETCH_BY_ID, error="invalid_request")
    assert generate(state).body["status"] == "success"


def test_a_rule_matches_the_fetch_id_in_the_path_as_a_field():
    state = mock()
    made = generate(state, prefer="variant=processing, eta=5").body["id"]
    add_rule(state, operation=FETCH_BY_ID, match={"id": str(made)}, error="server")
    assert call(state, FETCH_BY_ID, {"key": KEY}, id=str(made)).body["message"] == \
        "Internal server error. Please try again."
    assert call(state, FETCH_BY_ID, {"key": KEY}, id=str(made + 1)).body == \
        {"status": "error", "message": f"Request not found: {made + 1}"}


def test_a_rule_matches_body_fields_of_a_generate_request():
    state = mock()
    add_rule(state, match={"prompt": "refuse me"}, error="invalid_request")
    assert generate(state, {"prompt": "refuse me"}).body == INVALID_REQUEST
    assert generate(state).body["status"] == "success"


def test_a_higher_priority_rule_that_only_shapes_the_job_wins_over_a_gate_rule():
    state = mock()
    add_rule(state, id="queue", variant="processing", eta=9, priority=1)
    add_rule(state, id="limit", error="rate_limit", priority=2)
    outcome = generate(state)
    assert outcome.body["status"] == "processing" and outcome.rule == "queue" and outcome.body["eta"] == 9


def test_a_gate_rule_another_request_used_up_gives_way_to_the_next(monkeypatch):
    state = mock()
    add_rule(state, id="gone", error="invalid_api_key", priority=1)
    add_rule(state, id="next", error="invalid_request", priority=2)
    real = state.services.rules.consume
    monkeypatch.setattr(state.services.rules, "consume", lambda rule: rule["id"] != "gone" and real(rule))
    outcome = generate(state)
    assert outcome.body == INVALID_REQUEST and outcome.rule == "next"


def test_when_every_gate_rule_was_used_up_elsewhere_the_request_goes_on(monkeypatch):
    state = mock()
    add_rule(state, id="gone", error="invalid_api_key")
    monkeypatch.setattr(state.services.rules, "consume", lambda rule: False)
    outcome = generate(state)
    assert outcome.body["status"] == "success" and outcome.rule is None


# ------------------------------------------------------------------------------ gate: configured faults


def test_configured_faults_answer_like_a_gateway_or_on_the_way_back():
    assert generate(mock(fault_outage_ratio=1.0)).status == 503
    limited = generate(mock(fault_rate_limit_ratio=1.0))
    assert (limited.body, limited.fault) == (RATE_LIMITED, "rate_limit")
    reset = generate(mock(fault_reset_ratio=1.0))
    assert reset.body["status"] == "success" and reset.fault == "reset"
    assert generate(mock()).fault is None


def test_a_rule_that_answers_keeps_configured_faults_out():
    state = mock(fault_outage_ratio=1.0)
    add_rule(state, error="model_not_found")
    assert generate(state).body == {"status": "error", "message": "Model id not found"}


# ------------------------------------------------------------------------------ the delay


def test_prefer_delay_is_waited_and_shown_then_a_rules_then_the_configured_latency():
    state = mock(latency="fixed:0.25")
    waited: list[float] = []
    state.wait_with(waited.append)
    assert generate(state, prefer="delay=2").headers["X-Mock-Delay"] == "2"
    add_rule(state, id="slow", delay=1.5, times=1)
    slow = generate(state)
    assert (slow.delay, slow.headers["X-Mock-Delay"], slow.rule) == (1.5, "1.5", "slow")
    configured = generate(state)
    assert (configured.delay, configured.headers["X-Mock-Delay"]) == (0.25, "0.25")
    assert waited == [2.0, 1.5, 0.25]


def test_an_explicit_zero_delay_wins_over_the_configured_latency_and_shows_no_header():
    state = mock(latency="fixed:3")
    outcome = generate(state, prefer="delay=0")
    assert outcome.delay == 0 and "X-Mock-Delay" not in outcome.headers
    assert "X-Mock-Delay" not in generate(mock()).headers


def test_a_rule_without_a_delay_leaves_the_configured_latency():
    state = mock(latency="fixed:0.5")
    add_rule(state, id="queue", variant="processing", eta=4)
    outcome = generate(state)
    assert (outcome.rule, outcome.delay) == ("queue", 0.5)


def test_every_delay_is_capped_by_max_delay():
    state = mock(max_delay=1.0)
    assert generate(state, prefer="delay=5").headers["X-Mock-Delay"] == "1"


def test_generate_and_fetch_take_their_own_configured_latency():
    state = mock(latency_generate="fixed:1", latency_fetch="fixed:2")
    made = generate(state)
    assert made.delay == 1.0
    assert call(state, FETCH_BY_ID, {"key": KEY}, id=str(made.body["id"])).delay == 2.0


# ------------------------------------------------------------------------------ fetch: its settings


def fetch_op(path: str = "/fetch/{job}", responses: dict[str, Any] | None = None) -> Operation:
    return Operation("getJob", "POST", path, {"type": "object"}, responses=responses or {})


def test_a_fetch_reads_its_id_from_the_path_or_the_body_under_the_name_it_is_given():
    by_path = Fetch(fetch_op(), {"family": "v7", "id": {"in": "path", "name": "job"}}, {}, "/api")
    assert (by_path.family, by_path.id_in, by_path.id_name, by_path.kind) == ("v7", "path", "job", "fetch")
    assert by_path.link_template() == "/api/fetch/{id}"
    by_body = Fetch(fetch_op("/fetch/{job}/status"), {"family": "v7", "id": {"in": "body", "name": "job"}}, {}, "/api")
    assert by_body.link_template() == "/api/fetch/{job}/status"  # a body id: the path as it is


@pytest.mark.parametrize("where", [
    {"in": "query", "name": "job"}, {"in": "path"}, {"in": "path", "name": ""}, {"in": "body", "name": 5},
    {"name": "job"},
])
def test_a_fetch_id_that_is_not_in_the_path_or_body_under_a_name_is_refused_at_start(where):
    with pytest.raises(SpecError) as refused:
        Fetch(fetch_op(), {"family": "v7", "id": where}, {}, "/api")
    assert str(refused.value) == (f"operation getJob (POST /fetch/{{job}}): x-mock-behaviour 'id' must be "
                                  f"{{in: path|body, name: NAME}}, not {where!r}")


def test_a_fetch_id_named_in_the_path_must_be_a_parameter_of_the_path():
    with pytest.raises(SpecError) as refused:
        Fetch(fetch_op("/fetch/{id}"), {"family": "v7", "id": {"in": "path", "name": "job"}}, {}, "/api")
    assert str(refused.value) == ("operation getJob (POST /fetch/{id}): x-mock-behaviour 'id' names path "
                                  "parameter 'job', which /fetch/{id} does not have")
    Fetch(fetch_op("/fetch"), {"family": "v7", "id": {"in": "body", "name": "job"}}, {}, "/api")  # body: any path


def test_a_fetch_needs_a_family_and_an_id():
    with pytest.raises(SpecError, match="needs 'family'"):
        Fetch(fetch_op(), {"id": {"in": "path", "name": "job"}}, {}, "/api")
    with pytest.raises(SpecError, match="needs 'id'"):
        Fetch(fetch_op(), {"family": "v7"}, {}, "/api")


def test_the_spec_links_each_generate_to_its_fetch_path():
    state = mock()
    assert state.behaviours[FETCH_BY_ID].link_template() == "/api/v6/images/fetch/{id}"
    assert state.behaviours[FETCH_BODY].link_template() == "/api/v6/images/fetch"
    assert state.behaviours[REALTIME_FETCH].link_template() == "/api/v6/realtime/fetch/{id}"


# ------------------------------------------------------------------------------ fetch: answers


def queued(state: MockState, key: str = KEY, **body: Any) -> int:
    made = generate(state, {"key": key, **body}, prefer="variant=processing, eta=10")
    assert made.body["status"] == "processing"
    return made.body["id"]


def test_a_queued_job_is_fetched_by_its_id_in_the_path_until_it_is_done():
    state = mock()
    job_id = queued(state, track_id="order-7")
    still = call(state, FETCH_BY_ID, {"key": KEY}, id=str(job_id))
    assert (still.status, still.body["status"], still.body["id"], still.job_id) == (200, "processing", job_id, job_id)
    assert 9 < still.body["eta"] <= 10 and still.body["message"] == "Try to fetch request after seconds estimated"
    assert still.variant == "processing" and still.owner == owner_of(KEY)
    assert last_entry(state)["track_id"] == "order-7"
    state.advance_clock(11)
    done = call(state, FETCH_BY_ID, {"key": KEY}, id=str(job_id))
    assert (done.body["status"], done.variant) == ("success", "success")
    assert done.body["output"] == still.body["future_links"]


def test_a_job_is_fetched_by_request_id_in_the_body_as_text_or_number():
    state = mock()
    job_id = queued(state)
    assert call(state, FETCH_BODY, {"key": KEY, "request_id": job_id}).body["id"] == job_id
    assert call(state, FETCH_BODY, {"key": KEY, "request_id": str(job_id)}).body["id"] == job_id


def test_a_job_that_failed_in_the_queue_is_fetched_with_its_id():
    state = mock()
    job_id = generate(state, prefer="variant=processing, eta=1, outcome=failed").body["id"]
    state.advance_clock(2)
    failed = call(state, FETCH_BY_ID, {"key": KEY}, id=str(job_id))
    assert failed.body == {"status": "failed", "id": job_id, "message": "Failed, Try Again", "output": ""}


def test_with_legacy_messege_a_fetch_spells_message_as_the_legacy_endpoints_do():
    state = mock(legacy_messege=True)
    still = call(state, FETCH_BY_ID, {"key": KEY}, id=str(queued(state)))
    assert still.body["messege"] == "Try to fetch request after seconds estimated" and "message" not in still.body


def test_another_keys_job_and_another_familys_job_are_not_found():
    state = mock()
    job_id = queued(state)
    for op_id, key in ((FETCH_BY_ID, OTHER), (REALTIME_FETCH, KEY)):
        outcome = call(state, op_id, {"key": key}, id=str(job_id))
        assert outcome.body == {"status": "error", "message": f"Request not found: {job_id}"}
        assert outcome.owner == owner_of(key) and outcome.job_id is None
    assert call(state, FETCH_BODY, {"key": OTHER, "request_id": job_id}).body["status"] == "error"
    assert call(mock(http_errors=True), FETCH_BY_ID, {"key": KEY}, id=str(job_id)).status == 404


@pytest.mark.parametrize("raw, shown", [
    ("abc", "abc"), ("", ""), ("1234567890123456789", "1234567890123456789"), ("\u0661\u0662", "\u0661\u0662"),
    ("9" * 30 + "x" * 30, "9" * 30 + "x" * 10),
])
def test_a_path_that_names_no_job_is_the_fetchs_own_request_not_found(raw, shown):
    state = mock()
    outcome = call(state, FETCH_BY_ID, {"key": KEY}, id=raw)
    assert (outcome.status, outcome.body) == (200, {"status": "error", "message": f"Request not found: {shown}"})
    assert outcome.warnings == [f"id: {shown!r} is not a job id"]
    assert last_entry(state)["validation"] is None  # answered before validation


def test_a_fetch_handed_no_id_at_all_is_request_not_found():
    outcome = call(mock(), FETCH_BY_ID, {"key": KEY})
    assert outcome.body == {"status": "error", "message": "Request not found: "}


def test_an_id_of_eighteen_digits_is_looked_up():
    state = mock()
    outcome = call(state, FETCH_BY_ID, {"key": KEY}, id="9" * 18)
    assert outcome.body == {"status": "error", "message": "Request not found: " + "9" * 18}
    assert outcome.warnings == [] and last_entry(state)["validation"] == {"valid": True}


# ------------------------------------------------------------------------------ Prefer picks the answer


def fetch_with(state: MockState, prefer: str, job_id: str = "1") -> Outcome:
    return call(state, FETCH_BY_ID, {"key": KEY}, id=job_id, prefer=prefer)


def spec_example(state: MockState, op_id: str, name: str) -> Any:
    return state.spec.operations[op_id].responses["200"]["content"]["application/json"]["examples"][name]["value"]


def test_prefer_example_answers_with_the_specs_example_by_name():
    state = mock()
    outcome = fetch_with(state, "example=processing, variant=failed")
    assert (outcome.status, outcome.body, outcome.headers) == (200, spec_example(state, FETCH_BY_ID, "processing"), {})
    assert (outcome.variant, outcome.owner, outcome.job_id) == ("failed", owner_of(KEY), None)
    assert last_entry(state)["reason"] == "prefer"


def test_prefer_example_with_a_code_answers_the_example_with_that_status():
    state = mock()
    outcome = fetch_with(state, "example=not_found, code=404")
    assert (outcome.status, outcome.body) == (404, spec_example(state, FETCH_BY_ID, "not_found"))


def test_prefer_example_names_the_examples_there_are_when_it_finds_none():
    state = mock()
    outcome = fetch_with(state, "example=nope")
    assert (outcome.status, outcome.body, outcome.owner) == (400, {
        "status": "error", "message": "Prefer: no example named 'nope'; available: failed, not_found, processing, "
                                      "success"}, owner_of(KEY))
    pony = call(mock(spec=PONY), "fetchById", {"key": KEY}, id="1", prefer="example=success")
    assert pony.body == {"status": "error", "message": "Prefer: no example named 'success'; available: none"}


class Recorded:
    """What ``--replay`` offers ``Prefer: example=``: recorded answers by episode name."""

    def example(self, name: str) -> tuple[int, Any] | None:
        return (429, {"status": "error", "message": "recorded"}) if name.startswith("episode-") else None

    def example_names(self) -> list[str]:
        return ["episode-0001", "episode-0001-final"]


def test_under_replay_prefer_example_also_names_a_recorded_episode():
    state = mock()
    state.services.replay = Recorded()  # type: ignore[assignment]
    outcome = fetch_with(state, "example=episode-0001")
    assert (outcome.status, outcome.body, outcome.variant, outcome.headers, outcome.owner) == (
        429, {"status": "error", "message": "recorded"}, "example", {}, owner_of(KEY))
    missing = fetch_with(state, "example=nope")
    assert missing.body["message"] == ("Prefer: no example named 'nope'; available: failed, not_found, processing, "
                                       "success, episode-0001, episode-0001-final")


def test_under_replay_the_specs_example_wins_over_an_episode_of_the_same_name():
    state = mock()
    recorded = Recorded()
    recorded.example = lambda name: (500, {"status": "error", "message": "recorded"})  # type: ignore[method-assign]
    state.services.replay = recorded  # type: ignore[assignment]
    assert fetch_with(state, "example=success").body == spec_example(state, FETCH_BY_ID, "success")


@pytest.mark.parametrize("code, body", [
    (400, INVALID_REQUEST), (401, INVALID_KEY), (404, {"status": "error", "message": "Model id not found"}),
    (422, {"status": "error", "message": {"prompt": ["The prompt field is required."]}}),
    (500, {"status": "error", "message": "Internal server error. Please try again."}),
])
def test_prefer_code_answers_the_services_error_for_that_status(code, body):
    outcome = fetch_with(mock(), f"code={code}")
    assert (outcome.status, outcome.body, outcome.headers, outcome.variant) == (code, body, {}, "error")


def test_prefer_code_429_is_the_rate_limit_with_its_retry_after():
    outcome = fetch_with(mock(), "code=429")
    assert (outcome.status, outcome.body, outcome.headers) == (429, RATE_LIMITED, {"Retry-After": "30"})


def test_prefer_code_the_service_never_sends_is_a_400_listing_the_ones_it_does():
    outcome = fetch_with(mock(), "code=418")
    assert (outcome.status, outcome.body) == (400, {
        "status": "error", "message": "Prefer: code must be one of 200, 400, 401, 404, 422, 429, 500, not '418'"})
    assert outcome.owner == owner_of(KEY)


def test_prefer_dynamic_answers_a_body_drawn_from_the_schema_with_the_seed_given_or_drawn():
    state = mock(seed=7)
    schema = state.spec.operations[FETCH_BY_ID].responses["200"]["content"]["application/json"]["schema"]
    seeded = fetch_with(state, "dynamic=true, seed=5")
    assert (seeded.status, seeded.variant, seeded.headers, seeded.owner) == (200, "dynamic", {}, owner_of(KEY))
    assert seeded.body == sample(schema, random.Random(5))
    drawn = fetch_with(mock(seed=7), "dynamic=true")
    assert drawn.body == sample(schema, random.Random(random.Random(7).getrandbits(32)))


def test_prefer_variant_error_is_the_named_error_or_the_rate_limit():
    state = mock()
    assert fetch_with(state, "variant=error").body == RATE_LIMITED
    limited = fetch_with(state, "error=queue_limit")
    assert limited.body == {"status": "error", "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
                            "retry_after": 30}
    assert (limited.status, limited.headers) == (200, {})
    assert fetch_with(state, "error=invalid_request").body == INVALID_REQUEST


def test_a_hook_choosing_an_error_the_mock_does_not_know_is_a_400_naming_it():
    state = mock()
    state.services.chooser.hooks.append(lambda key, body: Choice(variant="error", error="bogus", source="hook"))
    outcome = generate(state)
    assert outcome.status == 400 and outcome.owner == owner_of(KEY)
    assert outcome.body == {"status": "error", "message": "Prefer: unknown error 'bogus'; expected one of "
                                                          "['invalid_api_key', 'invalid_request', 'model_not_found', "
                                                          "'queue_limit', 'rate_limit', 'server']"}


def test_prefer_variant_success_on_a_fetch_still_looks_the_job_up():
    state = mock()
    job_id = queued(state)
    outcome = fetch_with(state, "variant=success", str(job_id))
    assert outcome.body["status"] == "processing" and outcome.body["id"] == job_id
    assert fetch_with(state, "variant=success", str(job_id + 1)).body["message"] == f"Request not found: {job_id + 1}"
    assert last_entry(state)["reason"] == "prefer"


def test_a_delay_rule_applies_to_fetches_and_is_used_up():
    state = mock()
    job_id = queued(state)
    add_rule(state, id="slow-fetch", operation=FETCH_BY_ID, delay=2, times=1)
    slow = call(state, FETCH_BY_ID, {"key": KEY}, id=str(job_id))
    assert (slow.rule, slow.delay, slow.body["status"]) == ("slow-fetch", 2.0, "processing")
    assert call(state, FETCH_BY_ID, {"key": KEY}, id=str(job_id)).rule is None


def test_a_request_id_with_a_trailing_newline_names_no_job():
    state = mock()
    job_id = queued(state)
    outcome = call(state, FETCH_BODY, {"key": KEY, "request_id": f"{job_id}\n"})
    assert outcome.body == {"status": "error", "message": f"Request not found: {job_id}\n"}


# ------------------------------------------------------------------------------ a spec of one's own

LOOSE_SPEC = """
openapi: 3.1.0
info: {title: loose fetch, version: "1"}
servers: [{url: 'https://jobs.example/api'}]
paths:
  /jobs/peek/{id}:
    post:
      operationId: peek
      x-mock-behaviour: {kind: fetch, family: community, id: {in: path, name: id}}
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200': {description: no body described}
  /jobs/any/{id}:
    post:
      operationId: anyBody
      x-mock-behaviour: {kind: fetch, family: community, id: {in: path, name: id}}
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: JSON of no particular shape
          content: {application/json: {}}
  /jobs/fetch:
    post:
      operationId: looseFetch
      x-mock-behaviour: {kind: fetch, family: community, id: {in: body, name: request_id}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties: {key: {type: string}, request_id: {type: string}}
      responses:
        '200':
          description: any
          content:
            application/json:
              schema: {type: object}
              examples:
"""


@pytest.fixture
def loose(tmp_path) -> MockState:
    """A spec served only under an absolute server URL, whose fetch takes any text as request_id and has
    60 examples, and two fetches by path: one with no 200 body described, one with JSON of no schema."""
    examples = "".join(f"                e{n:02d}: {{value: {{n: {n}}}}}\n" for n in range(60))
    path = tmp_path / "loose.yaml"
    path.write_text(LOOSE_SPEC + examples)
    return mock(spec=str(path))


def test_a_body_id_that_is_not_a_job_number_is_not_found_and_shown_cut(loose):
    for raw, shown in (("abc", "abc"), ("9" * 19, "9" * 19), ("\u0661\u0662", "\u0661\u0662"),
                       ("1" * 30 + "x" * 30, "1" * 30 + "x" * 10)):
        outcome = call(loose, "looseFetch", {"key": KEY, "request_id": raw})
        assert outcome.body == {"status": "error", "message": f"Request not found: {shown}"}, raw


def test_a_prefer_example_miss_lists_at_most_fifty_names(loose):
    outcome = call(loose, "looseFetch", {"key": KEY, "request_id": "1"}, prefer="example=nope")
    assert outcome.body["message"] == ("Prefer: no example named 'nope'; available: "
                                       + ", ".join(f"e{n:02d}" for n in range(50)))
    assert call(loose, "looseFetch", {"key": KEY, "request_id": "1"}, prefer="example=e59").body == {"n": 59}


def test_field_errors_of_a_spec_served_under_an_absolute_url_name_the_field(loose):
    outcome = call(loose, "looseFetch", {"key": KEY, "request_id": [1]})
    assert outcome.body == {"status": "error", "message": {"request_id": ["The request id field must be a string."]}}


def test_an_operation_without_a_json_answer_in_the_spec_has_no_examples_and_an_empty_dynamic_schema(loose):
    state = loose
    assert call(state, "peek", {"key": KEY}, id="1", prefer="example=success").body == {
        "status": "error", "message": "Prefer: no example named 'success'; available: none"}
    assert call(state, "peek", {"key": KEY}, id="1", prefer="dynamic=true, seed=5").body == \
        sample({}, random.Random(5))
    assert call(state, "anyBody", {"key": KEY}, id="1", prefer="dynamic=true, seed=3").body == \
        sample({}, random.Random(3))


# ------------------------------------------------------------------------------ more of the rules


def test_a_rule_that_only_shapes_the_job_leaves_configured_faults_on():
    state = mock(fault_outage_ratio=1.0)
    add_rule(state, variant="processing")
    assert generate(state).status == 503


def using_up(state: MockState, monkeypatch, gone: set[str]) -> None:
    """Rules in ``gone`` were used up by another request between matching and taking them."""
    real = state.services.rules.consume
    monkeypatch.setattr(state.services.rules, "consume", lambda rule: rule["id"] not in gone and real(rule))


def test_a_job_rule_another_request_used_up_gives_way_to_the_next_one(monkeypatch):
    state = mock()
    add_rule(state, id="gone", variant="processing", eta=3, priority=1)
    add_rule(state, id="second", variant="processing", eta=7, priority=2)
    add_rule(state, id="third", variant="processing", eta=9, priority=3)
    using_up(state, monkeypatch, {"gone"})
    outcome = generate(state)
    assert (outcome.rule, outcome.body["eta"]) == ("second", 7)


def test_taking_a_job_rule_passes_over_gate_rules_and_rules_used_up(monkeypatch):
    state = mock()
    add_rule(state, id="gone", variant="processing", eta=3, priority=1)
    add_rule(state, id="gate", error="server", priority=2)
    add_rule(state, id="also-gone", variant="processing", eta=5, priority=3)
    add_rule(state, id="last", variant="processing", eta=9, priority=4)
    using_up(state, monkeypatch, {"gone", "also-gone"})
    outcome = generate(state)
    assert (outcome.rule, outcome.body["eta"]) == ("last", 9)


# ------------------------------------------------------------------------------ jobs from an older mock


def test_a_job_stored_without_its_fetch_path_links_to_the_fetch_under_the_base_path(valid_body):
    state = mock(spec=PONY)
    job_id = call(state, "inpaint", valid_body, prefer="variant=processing, eta=10").body["id"]
    job = state.store.get_job(job_id)
    job.fetch_path = ""  # as a --state store written before jobs named their fetch operation
    state.store.put_job(job)
    still = call(state, "fetchById", {"key": valid_body["key"]}, id=str(job_id))
    assert still.body["fetch_result"] == f"http://localhost/api/v6/images/fetch/{job_id}"


# ------------------------------------------------------------------------------ image fields


PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_raw_base64_is_read_as_a_data_uri_only_in_the_operations_image_fields(valid_body):
    pony = mock(spec=PONY)
    outcome = call(pony, "inpaint", {**valid_body, "init_image": PIXEL, "webhook": PIXEL})
    assert outcome.body["message"] == {"webhook": ["The webhook field must be a valid URL."]}
    assert "init_image: raw base64 read as a data URI" in outcome.warnings
    state = mock()  # the family's init_image takes base64 itself; ip_adapter_image is no image field
    body = {"key": KEY, "prompt": "p", "model_id": "flux", "init_image": PIXEL, "ip_adapter_image": PIXEL}
    refused = {"ip_adapter_image": ["The ip adapter image field must be a valid URL."]}
    assert call(state, "v6ImagesImg2img", body).body["message"] == refused
    assert generate(state, {"ip_adapter_image": PIXEL}).body["message"] == refused  # text2img: no image fields


def test_an_id_that_names_no_job_is_answered_without_asking_the_store(monkeypatch):
    state = mock()
    asked: list[Any] = []
    monkeypatch.setattr(state.store, "get_job", lambda job_id: asked.append(int(job_id)))  # as Redis reads it
    assert call(state, FETCH_BODY, {"key": KEY, "request_id": "12\n"}).body["message"] == "Request not found: 12\n"
    assert asked == []
    assert call(state, FETCH_BODY, {"key": KEY, "request_id": "12"}).body["message"] == "Request not found: 12"
    assert asked == [12]


# ------------------------------------------------------------------------------ the key table's fault and delay


def test_a_key_table_fault_meets_every_request_of_that_key_after_prefer_and_rules():
    state = mock(keys={KEY: KeyRule(fault="outage")}, fault_outage_ratio=0.0)
    down = generate(state)
    assert (down.status, down.fault) == (503, "outage")
    fetched = call(state, FETCH_BY_ID, {"key": KEY}, id="130000001")
    assert fetched.fault == "outage", "fetches too, as a configured fault"
    assert generate(state, prefer="variant=success").fault is None, "Prefer chose the answer"
    assert generate(state, prefer="fault=rate_limit").fault == "rate_limit", "Prefer's own fault wins"
    add_rule(state, id="first", error="invalid_api_key", times=1)
    assert generate(state).rule == "first", "a gate rule answers before the key table"
    other = generate(state, {"key": "another-key"})
    assert other.fault is None and other.body["status"] == "success"


def test_a_key_table_fault_on_the_way_back_cuts_a_finished_answer():
    state = mock(keys={KEY: KeyRule(fault="truncated")})
    outcome = generate(state)
    assert (outcome.body["status"], outcome.fault) == ("success", "truncated")


def test_a_key_table_delay_comes_after_prefer_and_rules_and_before_the_configured_latency():
    state = mock(keys={KEY: KeyRule(delay="1500ms")}, latency="fixed:0.25")
    waited: list[float] = []
    state.wait_with(waited.append)
    assert generate(state).headers["X-Mock-Delay"] == "1.5"
    assert generate(state, prefer="delay=2").delay == 2
    add_rule(state, id="slow", delay=0.5, times=1)
    assert generate(state).delay == 0.5
    assert generate(state, {"key": "another-key"}).delay == 0.25
    assert waited == [1.5, 2.0, 0.5, 0.25]


def test_a_key_table_entry_with_a_bad_fault_delay_or_webhook_is_refused_at_load():
    from mockserver.config import ConfigError

    for table, message in (({"fault": "meltdown"}, "keys.*.fault must be one of"),
                           ({"delay": "soon"}, "keys.*.delay"), ({"webhook": "lose"}, "keys.*.webhook must be one of")):
        with pytest.raises(ConfigError, match=message):
            KeyRule.from_table(table)
    assert KeyRule.from_table({"delay": "250ms", "webhook": "drop", "fault": "reset"}).delay == 0.25
