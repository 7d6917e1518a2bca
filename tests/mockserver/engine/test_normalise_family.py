"""The family spec (openapi/modelslab.yaml) read as the service reads it: flags that take booleans,
"" for what is not set, 7.0 as 7 in both modes, x-mock-clamp caps, steps over num_inference_steps,
v7's extra fields, image fields named by the behaviour."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.core.routes import find_route, routes_from_spec
from contracts.core.spec import load_document, load_openapi, operations, relative_base_path
from mockserver.engine.normalise import FieldRules, Normaliser
from mockserver.engine.validation import OperationValidator

FAMILY = "modelslab.yaml"
DOC = load_document(FAMILY)
OPS = operations(DOC)
BASE = relative_base_path(DOC)
TRAFFIC = Path(__file__).resolve().parents[2] / "fixtures" / "client-traffic"


def behaviour(op_id: str) -> dict:
    op = OPS[op_id]
    return DOC["paths"][op.path][op.method.lower()].get("x-mock-behaviour") or {}


def normaliser(op_id: str) -> Normaliser:
    return Normaliser(OPS[op_id].body_schema, behaviour(op_id).get("images"))


def validator(op_id: str) -> OperationValidator:
    return OperationValidator(load_openapi(FAMILY), OPS[op_id], BASE)


class _Built:
    """An operation's normaliser, built afresh at each use inside a test, never at import (so that
    building it is tested too: ``make mutate`` cannot see code that ran while tests were collected)."""

    def __init__(self, op_id: str):
        self.op_id = op_id

    def __getattr__(self, name: str):
        return getattr(normaliser(self.op_id), name)


T2I, I2I, INPAINT = _Built("v6ImagesText2img"), _Built("v6ImagesImg2img"), _Built("v6ImagesInpaint")
RT_T2I, V7_T2I, V7_I2I = _Built("v6RealtimeText2img"), _Built("v7ImagesTextToImage"), _Built("v7ImagesImageToImage")
FETCH = _Built("v6ImagesFetch")
T2I_BODY = {"key": "k", "model_id": "flux", "prompt": "a cat"}


# ------------------------------------------------------------------------------ flags


def test_the_family_flag_is_a_yes_no_flag_that_takes_booleans():
    rules = T2I.rules["safety_checker"]
    assert rules.is_yes_no and rules.takes_booleans and rules.types == {"string", "boolean"}
    pony_like = FieldRules.from_schema({"type": "string", "enum": ["yes", "no"]}, False)
    assert pony_like.is_yes_no and not pony_like.takes_booleans
    assert not FieldRules.from_schema({"type": "string", "enum": ["yes", "no", "maybe"]}, False).is_yes_no
    assert not FieldRules.from_schema({"type": "integer", "enum": [0, 1]}, False).is_yes_no


def test_booleans_are_valid_flags_so_compat_leaves_them_and_canonical_reads_them_as_yes_no_silently():
    body = {**T2I_BODY, "safety_checker": True, "base64": False, "enhance_prompt": "no"}
    assert T2I.normalise(body) == (body, [])
    assert T2I.canonical(body) == ({**body, "safety_checker": "yes", "base64": "no"}, [])


def test_compat_still_reads_the_other_spellings_of_on_and_off():
    out, warnings = T2I.normalise({**T2I_BODY, "upscale": "TRUE", "panorama": "off", "temp": 1, "tomesd": 0})
    assert (out["upscale"], out["panorama"], out["temp"], out["tomesd"]) == ("yes", "no", "yes", "no")
    assert warnings == ['upscale: "TRUE" read as "yes"', 'panorama: "off" read as "no"',
                        'temp: 1 read as "yes"', 'tomesd: 0 read as "no"']


def test_defaults_of_flags_are_echoed_as_yes_no():
    params = T2I.effective_params(T2I_BODY)
    assert params["safety_checker"] == "no" and params["use_karras_sigmas"] == "yes"
    assert params["enhance_prompt"] == "yes" and params["base64"] == "no"


# ------------------------------------------------------------------------------ "" is null in compat


def test_an_empty_string_in_an_optional_field_is_null_or_absent():
    body = {**T2I_BODY, "negative_prompt": "", "webhook": "", "track_id": " ", "scheduler": "", "seed": ""}
    out, warnings = T2I.normalise(body)
    assert out == {**T2I_BODY, "negative_prompt": None, "webhook": None, "track_id": None, "seed": None}
    assert warnings == ['negative_prompt: "" treated as null', 'webhook: "" treated as null',
                        'track_id: " " treated as null', 'scheduler: "" treated as absent', 'seed: "" treated as null']
    assert validator("v6ImagesText2img").errors(out) is None
    assert validator("v6ImagesText2img").errors(body) is not None  # strict mode still names them


def test_an_empty_string_in_a_required_field_is_left_for_validation():
    out, warnings = I2I.normalise({"key": "k", "model_id": "flux", "init_image": ""})
    assert out["init_image"] == "" and warnings == []
    assert T2I.normalise({**T2I_BODY, "prompt": ""}) == ({**T2I_BODY, "prompt": ""}, [])


def test_the_clis_empty_prompt_on_v7_image_to_image_is_absent():
    body = {"key": "k", "model_id": "flux", "prompt": "", "init_image": "https://example.com/a.png", "strength": 0.7}
    out, warnings = V7_I2I.normalise(body)
    assert "prompt" not in out and warnings == ['prompt: "" treated as absent']


# ------------------------------------------------------------------------------ 7.0 is 7, in both modes


def test_integral_floats_in_integer_fields_are_integers_for_strict_mode_too():
    body = {**T2I_BODY, "seed": 7.0, "width": 512.0, "samples": 1.0, "guidance_scale": 7.0}
    assert validator("v6ImagesText2img").errors(body) is None  # JSON Schema: 7.0 is an integer
    out, warnings = T2I.canonical(body)
    assert out == {**T2I_BODY, "seed": 7, "width": 512, "samples": 1, "guidance_scale": 7.0} and warnings == []
    assert all(type(out[name]) is int for name in ("seed", "width", "samples"))
    assert T2I.canonical({**T2I_BODY, "seed": 2.0**62})[0]["seed"] == 2**62


def test_a_request_id_sent_as_a_float_is_the_job_id():
    body = {"key": "k", "request_id": 130000897.0}
    assert validator("v6ImagesFetch").errors(body) is None
    out, _ = FETCH.canonical(body)
    assert out["request_id"] == 130000897 and type(out["request_id"]) is int


def test_compat_reads_integral_number_strings_in_integer_fields():
    out, warnings = T2I.normalise({**T2I_BODY, "seed": "7.0", "width": "512"})
    assert out["seed"] == 7 and out["width"] == 512
    assert warnings == ['seed: "7.0" read as 7', 'width: "512" read as 512']
    assert T2I.normalise({**T2I_BODY, "seed": "7.5"})[0]["seed"] == "7.5"  # validation names it


# ------------------------------------------------------------------------------ x-mock-clamp


def test_clamped_values_are_used_as_the_bound_with_a_warning_not_refused():
    body = {**T2I_BODY, "num_inference_steps": 31}
    assert validator("v6ImagesText2img").errors(body) is None
    out, warnings = T2I.canonical(body)
    assert out["num_inference_steps"] == 20
    assert warnings == ["num_inference_steps: 31 is above the maximum 20; used as 20"]
    assert T2I.canonical({**T2I_BODY, "num_inference_steps": 20}) == ({**T2I_BODY, "num_inference_steps": 20}, [])
    out, warnings = INPAINT.canonical({"steps": 80, "num_inference_steps": 25.0})
    assert out == {"steps": 50, "num_inference_steps": 20} and len(warnings) == 2
    assert validator("v6ImagesText2img").errors({**T2I_BODY, "num_inference_steps": 0}) is not None  # minimum kept


def test_only_the_fields_that_declare_a_clamp_are_capped():
    clamped = {name for name, rules in T2I.rules.items() if rules.clamp_max is not None}
    assert clamped == {"num_inference_steps"}
    assert {n for n, r in INPAINT.rules.items() if r.clamp_max is not None} == {"steps", "num_inference_steps"}
    assert RT_T2I.canonical({"key": "k", "prompt": "x", "num_inference_steps": 60})[1] == []  # no cap on realtime


# ------------------------------------------------------------------------------ steps and num_inference_steps


@pytest.mark.parametrize("body, steps", [
    ({"steps": 30, "num_inference_steps": 15}, 30),
    ({"num_inference_steps": 15, "steps": 30}, 30),
    ({"num_inference_steps": 15}, 15),
    ({}, 21),
])
def test_steps_wins_on_inpaint_and_meta_reads_the_one_used(body, steps):
    assert INPAINT.normalise(body) == (body, [])  # both are fields of the family's inpaint
    assert INPAINT.effective_params(body)["steps"] == steps


def test_text2img_steps_come_from_num_inference_steps():
    assert T2I.effective_params(T2I_BODY)["steps"] == 31  # the spec's default (clamping applies to what is sent)
    assert T2I.effective_params({**T2I_BODY, "num_inference_steps": 12})["steps"] == 12
    out, warnings = T2I.normalise({**T2I_BODY, "steps": 25, "num_inference_steps": 12})
    assert out == {**T2I_BODY, "num_inference_steps": 25}
    assert warnings == ["steps: read as num_inference_steps", "num_inference_steps: ignored, steps was also sent"]


# ------------------------------------------------------------------------------ extra fields and images


def test_v7_keeps_fields_it_does_not_list_and_v6_drops_them_with_a_warning():
    body = {**T2I_BODY, "style": "cinematic", "enhance": True}
    assert V7_T2I.normalise(body) == (body, [])
    out, warnings = T2I.normalise(body)
    assert out == T2I_BODY and warnings == ["style: unknown field ignored", "enhance: unknown field ignored"]


def test_raw_base64_is_left_alone_where_the_spec_takes_base64():
    raw = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 80).decode()
    body = {"key": "k", "model_id": "flux", "init_image": raw}
    assert I2I.normalise(body) == (body, [])
    assert validator("v6ImagesImg2img").errors(body) is None
    uri_field = Normaliser({"properties": {"init_image": {"type": "string", "format": "uri"},
                                           "other": {"type": "string", "format": "uri"}}}, images=["init_image"])
    out, warnings = uri_field.normalise({"init_image": raw, "other": raw})
    assert out == {"init_image": "data:image/png;base64," + raw, "other": raw}  # only the named image field


# ------------------------------------------------------------------------------ the official clients


def _client_requests():
    routes = routes_from_spec(DOC)
    cases = []
    for file in sorted(TRAFFIC.glob("*.json")):
        for record in json.loads(file.read_text(encoding="utf-8"))["requests"]:
            if record.get("method") == "POST":
                route, params = find_route(routes, record["path"])
                if route is not None:
                    cases.append(pytest.param(route.operation, record["body"], params,
                                              id=f"{file.stem}:{record['path']}"))
    return cases


@pytest.mark.parametrize("op_id, body, path_params", _client_requests())
def test_what_the_official_clients_send_needs_no_compat_change_and_only_steps_are_capped(op_id, body, path_params):
    norm = normaliser(op_id)
    assert norm.normalise(body) == (body, [])
    out, warnings = norm.canonical(body)
    assert all(w.startswith("num_inference_steps: ") and w.endswith("used as 20") for w in warnings)
    if op_id != "v7ImagesTextToImage" or "model_id" in body:  # the CLI without --model: refused on purpose
        assert validator(op_id).errors(out, path_params) is None


# ------------------------------------------------------------------------------ canonical keeps bodies valid

flag_values = st.sampled_from(["yes", "no", True, False])
t2i_bodies = st.fixed_dictionaries({name: st.just(value) for name, value in T2I_BODY.items()}, optional={
    "seed": st.none() | st.integers(-(2**40), 2**40).map(float) | st.integers(-(2**40), 2**40),
    "width": st.sampled_from([256, 512.0, 1024]), "samples": st.integers(1, 4).map(float),
    "num_inference_steps": st.integers(1, 500), "safety_checker": flag_values, "base64": flag_values,
    "upscale": flag_values, "guidance_scale": st.floats(1, 20),
})


@settings(max_examples=60, deadline=None)
@given(t2i_bodies)
def test_canonical_bodies_stay_valid_and_canonical_is_idempotent(body):
    check = validator("v6ImagesText2img")
    assert check.errors(body) is None
    out, _ = T2I.canonical(body)
    assert check.errors(out) is None
    assert T2I.canonical(out) == (out, [])
    assert all(type(out[n]) is int for n in ("width", "samples", "num_inference_steps") if n in out)
    assert all(out[n] in ("yes", "no") for n in ("safety_checker", "base64", "upscale") if n in out)
