"""Compat normalisation: sloppy client forms become the strict form, each change is reported."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.core.spec import load_document, operations
from mockserver.engine.normalise import Normaliser, effective_params

SCHEMA = operations(load_document())["inpaint"].body_schema
NORMALISER = Normaliser(SCHEMA)

strict_bodies = st.fixed_dictionaries(
    {"key": st.text(min_size=1, max_size=12), "model_id": st.sampled_from(["pony-realism", "pony_realism"]),
     "init_image": st.just("https://example.com/i.png"), "mask_image": st.just("https://example.com/m.png")},
    optional={
        "width": st.integers(64, 2048), "height": st.integers(64, 2048), "samples": st.integers(1, 4),
        "steps": st.integers(1, 100), "clip_skip": st.integers(1, 4), "seed": st.none() | st.integers(0, 2**32),
        "guidance_scale": st.floats(1, 20), "safety_checker": st.sampled_from(["yes", "no"]),
        "prompt": st.text(max_size=30).filter(str.strip), "track_id": st.text(max_size=10).filter(str.strip),
    },
)  # blank strings are left out: compat reads "" in an optional field as null (tested below)


@given(strict_bodies)
def test_a_strict_body_passes_through_unchanged_and_silently(body):
    assert NORMALISER.normalise(body) == (body, [])


@given(strict_bodies)
@settings(max_examples=50)
def test_sloppy_forms_normalise_to_the_strict_body(body):
    sloppy = dict(body)
    for name in ("width", "height", "samples", "clip_skip"):
        if name in sloppy:
            sloppy[name] = str(sloppy[name])
    if "steps" in sloppy:
        sloppy["num_inference_steps"] = str(sloppy.pop("steps"))
    if "safety_checker" in sloppy:
        sloppy["safety_checker"] = sloppy["safety_checker"] == "yes"
    sloppy["negative_prompt"] = None
    sloppy["some_new_field"] = 1
    normalised, warnings = NORMALISER.normalise(sloppy)
    assert normalised == body
    changed = sum(1 for n in ("width", "height", "samples", "clip_skip", "safety_checker") if n in body)
    assert len(warnings) == changed + 2 + 2 * ("steps" in body)  # steps: renamed, then read as a number


def test_each_coercion_names_the_field_and_the_value():
    _, warnings = NORMALISER.normalise({"width": "512", "base64": True, "track_id": 123, "lora_strength": 0.5,
                                        "use_karras_sigmas": "True", "guidance_scale": "7.5"})
    assert warnings == [
        'width: "512" read as 512',
        'base64: True read as "yes"',
        'track_id: 123 read as "123"',
        'lora_strength: 0.5 read as "0.5"',
        'use_karras_sigmas: "True" read as "yes"',
        'guidance_scale: "7.5" read as 7.5',
    ]


def test_values_that_cannot_be_read_are_left_for_validation_to_name():
    body = {"width": "wide", "samples": "1.5", "safety_checker": "maybe", "seed": "12x"}
    assert NORMALISER.normalise(body) == (body, [])


def test_null_is_absent_for_optional_fields_but_kept_where_the_spec_allows_it_or_it_is_required():
    normalised, warnings = NORMALISER.normalise({"negative_prompt": None, "seed": None, "init_image": None})
    assert normalised == {"seed": None, "init_image": None}
    assert warnings == ["negative_prompt: null treated as absent"]


def test_steps_wins_over_num_inference_steps_when_both_are_sent():
    normalised, warnings = NORMALISER.normalise({"steps": 21, "num_inference_steps": 40})
    assert normalised == {"steps": 21}
    assert warnings == ["num_inference_steps: ignored, steps was also sent"]


def test_raw_base64_image_becomes_a_data_uri():
    import base64

    raw = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 80).decode()
    normalised, warnings = NORMALISER.normalise({"init_image": raw})
    assert normalised["init_image"] == "data:image/png;base64," + raw
    assert warnings == ["init_image: raw base64 read as a data URI"]


def test_effective_params_fill_the_spec_defaults():
    params = effective_params({"width": 768, "seed": None}, SCHEMA)
    assert params["width"] == 768 and params["height"] == 512 and params["steps"] == 21
    assert params["scheduler"] == "DPMSolverMultistepScheduler" and params["seed"] is None
