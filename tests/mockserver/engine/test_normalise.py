"""Compat normalisation: sloppy client forms become the strict form, each change is reported."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.core.spec import PONY_SPEC_FILE, load_document, operations
from mockserver.engine.normalise import FieldRules, Normaliser, effective_params

SCHEMA = operations(load_document(PONY_SPEC_FILE))["inpaint"].body_schema  # the family's: test_normalise_family


def normalise(body):
    """The inpaint operation's normaliser, built inside the test (so building it is tested too)."""
    return Normaliser(SCHEMA).normalise(body)

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
    assert normalise(body) == (body, [])


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
    normalised, warnings = normalise(sloppy)
    assert normalised == body
    changed = sum(1 for n in ("width", "height", "samples", "clip_skip", "safety_checker") if n in body)
    assert len(warnings) == changed + 2 + 2 * ("steps" in body)  # steps: renamed, then read as a number


def test_each_coercion_names_the_field_and_the_value():
    _, warnings = normalise({"width": "512", "base64": True, "track_id": 123, "lora_strength": 0.5,
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
    assert normalise(body) == (body, [])


def test_null_is_absent_for_optional_fields_but_kept_where_the_spec_allows_it_or_it_is_required():
    normalised, warnings = normalise({"negative_prompt": None, "seed": None, "init_image": None})
    assert normalised == {"seed": None, "init_image": None}
    assert warnings == ["negative_prompt: null treated as absent"]


def test_steps_wins_over_num_inference_steps_when_both_are_sent():
    normalised, warnings = normalise({"steps": 21, "num_inference_steps": 40})
    assert normalised == {"steps": 21}
    assert warnings == ["num_inference_steps: ignored, steps was also sent"]


def test_raw_base64_image_becomes_a_data_uri():
    import base64

    raw = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 80).decode()
    normalised, warnings = normalise({"init_image": raw})
    assert normalised["init_image"] == "data:image/png;base64," + raw
    assert warnings == ["init_image: raw base64 read as a data URI"]


def test_effective_params_fill_the_spec_defaults():
    params = effective_params({"width": 768, "seed": None}, SCHEMA)
    assert params["width"] == 768 and params["height"] == 512 and params["steps"] == 21
    assert params["scheduler"] == "DPMSolverMultistepScheduler" and params["seed"] is None


def test_a_duplicate_steps_field_does_not_drop_the_fields_after_it():
    normalised, warnings = normalise({"num_inference_steps": 40, "steps": 21, "width": "512", "prompt": "cat"})
    assert normalised == {"steps": 21, "width": 512, "prompt": "cat"}
    assert warnings == ["num_inference_steps: ignored, steps was also sent", 'width: "512" read as 512']


def test_num_inference_steps_is_read_as_steps_when_steps_is_null():
    normalised, warnings = normalise({"steps": None, "num_inference_steps": "30", "height": "768"})
    assert normalised == {"steps": 30, "height": 768}
    assert warnings == ["steps: null treated as absent", "num_inference_steps: read as steps",
                        'steps: "30" read as 30', 'height: "768" read as 768']


def test_unknown_and_null_fields_do_not_drop_the_fields_after_them():
    normalised, warnings = normalise({"brand_new": 1, "negative_prompt": None, "samples": "2"})
    assert normalised == {"samples": 2}
    assert warnings == ["brand_new: unknown field ignored", "negative_prompt: null treated as absent",
                        'samples: "2" read as 2']


def test_a_whole_float_is_read_as_an_integer_for_integer_fields():
    normalised, warnings = normalise({"width": 512.0, "height": 512.5, "guidance_scale": 7.0})
    assert normalised == {"width": 512, "height": 512.5, "guidance_scale": 7.0}
    assert type(normalised["width"]) is int and type(normalised["guidance_scale"]) is float
    assert warnings == ["width: 512.0 read as 512"], "512.5 is left for validation; a number field takes 7.0"


def test_number_strings_keep_their_written_form():
    """"7.0" is the float 7.0, "7" the integer 7 (a client may compare the echoed meta)."""
    normalised, warnings = normalise({"guidance_scale": "7.0", "strength": "1", "steps": " +25 "})
    assert normalised == {"guidance_scale": 7.0, "strength": 1, "steps": 25}
    assert type(normalised["guidance_scale"]) is float and type(normalised["strength"]) is int
    assert warnings == ['guidance_scale: "7.0" read as 7.0', 'strength: "1" read as 1', 'steps: " +25 " read as 25']
    assert normalise({"strength": ".5", "guidance_scale": "1e1"})[0] == {"strength": 0.5, "guidance_scale": 10}


def test_yes_no_flags_take_booleans_and_their_spellings():
    normalised, warnings = normalise({"base64": False, "temp": "ON", "upscale": " 0 ", "panorama": "no",
                                      "safety_checker": "Off"})
    assert normalised == {"base64": "no", "temp": "yes", "upscale": "no", "panorama": "no", "safety_checker": "no"}
    assert warnings == ['base64: False read as "no"', 'temp: "ON" read as "yes"', 'upscale: " 0 " read as "no"',
                        'safety_checker: "Off" read as "no"']


def test_a_boolean_where_no_flag_is_expected_is_left_for_validation():
    assert normalise({"prompt": True, "width": False}) == ({"prompt": True, "width": False}, [])


def test_numbers_sent_for_text_fields_become_text():
    assert normalise({"prompt": 5, "seed": 7}) == ({"prompt": "5", "seed": 7}, ['prompt: 5 read as "5"'])


def test_long_values_are_shortened_in_warnings():
    _, [warning] = normalise({"width": " " * 45 + "512"})
    assert warning == 'width: "' + " " * 36 + '... read as 512'
    _, [whole] = normalise({"width": " " * 35 + "512"})  # 40 characters with the quotes: shown whole
    assert whole == 'width: "' + " " * 35 + '512" read as 512'


def _b64(head: bytes, size: int = 48) -> str:
    import base64

    return base64.b64encode(head + b"\0" * (size - len(head))).decode()


def test_raw_base64_of_jpeg_webp_and_gif_becomes_a_data_uri_too():
    for head in (b"\xff\xd8\xff\xe0", b"RIFF\x00\x00\x00\x00WEBP", b"GIF89a"):
        raw = _b64(head, 90)
        normalised, warnings = normalise({"mask_image": raw})
        assert normalised == {"mask_image": "data:image/png;base64," + raw}, head
        assert warnings == ["mask_image: raw base64 read as a data URI"]


def test_base64_that_is_no_image_or_too_short_or_not_for_an_image_field_is_kept():
    text = _b64(b"just some text, not an image", 90)
    short = _b64(b"\x89PNG\r\n\x1a\n", 45)  # 60 characters
    png = _b64(b"\x89PNG\r\n\x1a\n", 90)
    assert normalise({"init_image": text, "mask_image": short, "prompt": png}) == (
        {"init_image": text, "mask_image": short, "prompt": png}, [])


def test_base64_of_exactly_64_characters_or_wrapped_in_lines_is_read():
    exact = _b64(b"\x89PNG\r\n\x1a\n", 48)
    assert len(exact) == 64
    assert normalise({"init_image": exact})[0] == {"init_image": "data:image/png;base64," + exact}
    wrapped = "\n".join(_b64(b"\x89PNG\r\n\x1a\n", 120)[i:i + 76] for i in range(0, 160, 76)) + "\n"
    assert normalise({"init_image": wrapped})[0] == {"init_image": "data:image/png;base64," + wrapped.strip()}


def test_a_url_is_never_taken_for_base64():
    url = "https://example.com/" + "a" * 80
    assert normalise({"init_image": url}) == ({"init_image": url}, [])


def test_field_rules_read_types_from_type_lists_and_one_of_branches():
    rules = FieldRules.from_schema({"oneOf": [{"type": "integer"}, {"type": ["string", "null"]}]}, required=True)
    assert rules.types == {"integer", "string", "null"} and rules.required and rules.enum is None
    any_of = FieldRules.from_schema({"anyOf": [{"type": "number"}, {"enum": ["x"]}]}, required=False)
    assert any_of.types == {"number"} and not any_of.required
    flag = FieldRules.from_schema({"type": "string", "enum": ["no", "yes"], "format": "uri"}, required=False)
    assert flag.is_yes_no and flag.fmt == "uri" and flag.enum == ("no", "yes")
    assert not FieldRules.from_schema({"type": "string", "enum": ["yes", "no", "auto"]}, False).is_yes_no
    assert not FieldRules.from_schema({"type": "string"}, False).is_yes_no


def test_a_schema_built_normaliser_follows_its_own_schema():
    """Not only the project spec: any body schema (another operation) drives the same rules."""
    schema = {"type": "object", "required": ["n"], "additionalProperties": False, "properties": {
        "n": {"type": "integer"}, "opt": {"type": "integer"}, "maybe": {"type": ["integer", "null"]}}}
    normaliser = Normaliser(schema)
    assert normaliser.normalise({"n": None, "opt": None, "maybe": None, "steps": 3}) == (
        {"n": None, "maybe": None}, ["opt: null treated as absent", "steps: unknown field ignored"])
    open_schema = {**schema, "additionalProperties": True}
    assert Normaliser(open_schema).normalise({"n": 1, "extra": "x"}) == ({"n": 1, "extra": "x"}, []), \
        "a schema that takes unlisted fields keeps them as sent"


def test_effective_params_keep_a_default_when_null_is_sent():
    params = effective_params({"height": None, "prompt": None}, SCHEMA)
    assert params["height"] == 512 and params["prompt"] is None


def test_a_value_41_characters_long_with_its_quotes_is_shortened():
    _, [warning] = normalise({"width": " " * 36 + "512"})
    assert warning == 'width: "' + " " * 36 + '... read as 512'


def test_base64_with_a_character_outside_the_alphabet_is_kept():
    raw = _b64(b"\x89PNG\r\n\x1a\n", 90) + "!not base64"
    assert normalise({"init_image": raw}) == ({"init_image": raw}, [])


def test_a_large_base64_image_is_judged_by_its_first_4_kib():
    """The scan is bounded: what lies past the first 4096 characters is not read."""
    raw = _b64(b"\x89PNG\r\n\x1a\n", 3072)  # 4096 characters
    assert len(raw) == 4096
    normalised, _ = normalise({"init_image": raw + "!"})
    assert normalised == {"init_image": "data:image/png;base64," + raw + "!"}


def test_an_integer_string_is_read_exactly_however_long():
    assert normalise({"seed": "12345678901234567"})[0] == {"seed": 12345678901234567}


def test_an_integral_number_string_past_2_63_stays_for_validation():
    assert normalise({"seed": "9.223372036854775808e18"}) == ({"seed": "9.223372036854775808e18"}, [])
    body, warnings = Normaliser(SCHEMA).canonical({"seed": 9.223372036854775808e18})
    assert type(body["seed"]) is float and warnings == []


def test_fields_that_also_take_text_keep_what_was_sent():
    schema = {"type": "object", "properties": {"scale": {"type": ["number", "string"]},
                                               "count": {"type": ["string", "integer"]}}}
    assert Normaliser(schema).normalise({"scale": "7.5", "count": 5}) == ({"scale": "7.5", "count": 5}, [])


def test_a_schema_without_properties_or_additional_properties_keeps_everything():
    assert Normaliser({"type": "object"}).normalise({"a": 1}) == ({"a": 1}, [])
    assert Normaliser({"type": "object", "properties": {"n": {"type": "integer"}}}).normalise(
        {"n": "1", "extra": True}) == ({"n": 1, "extra": True}, ['n: "1" read as 1'])


def test_field_rules_read_boolean_branches_and_numeric_clamps_only():
    rules = FieldRules.from_schema({"oneOf": [True, {"type": "integer"}], "x-mock-clamp": {"minimum": 1,
                                                                                         "maximum": 10}}, False)
    assert rules.types == {"integer"} and (rules.clamp_min, rules.clamp_max) == (1, 10)
    text = FieldRules.from_schema({"type": "integer", "x-mock-clamp": {"maximum": "10", "minimum": True}}, False)
    assert (text.clamp_min, text.clamp_max) == (None, None)


def test_a_flag_default_written_as_text_is_kept():
    schema = {"type": "object", "properties": {"f": {"type": "string", "enum": ["yes", "no"], "default": "no"},
                                               "g": {"type": "string", "enum": ["yes", "no"], "default": False}}}
    assert Normaliser(schema).effective_params({}) == {"f": "no", "g": "no"}


CLAMPED = {"type": "object", "properties": {
    "lo": {"type": "integer", "x-mock-clamp": {"minimum": 1}},
    "hi": {"type": "integer", "x-mock-clamp": {"maximum": 25}},
    "both": {"type": "number", "x-mock-clamp": {"minimum": 0.5, "maximum": 2}},
}}


def test_a_value_below_a_clamped_minimum_is_used_as_the_minimum():
    body, warnings = Normaliser(CLAMPED).canonical({"lo": 0, "both": 0.1})
    assert body == {"lo": 1, "both": 0.5}
    assert warnings == ["lo: 0 is below the minimum 1; used as 1", "both: 0.1 is below the minimum 0.5; used as 0.5"]
    assert Normaliser(CLAMPED).canonical({"lo": 1, "both": 0.5}) == ({"lo": 1, "both": 0.5}, []), "the bound itself"


def test_clamping_reads_the_value_after_integral_floats_became_integers():
    assert Normaliser(CLAMPED).canonical({"hi": 30.0}) == ({"hi": 25}, ["hi: 30 is above the maximum 25; used as 25"])


def test_a_clamped_field_that_is_no_number_does_not_stop_the_others():
    body, warnings = Normaliser(CLAMPED).canonical({"lo": "x", "hi": "y", "both": 9})
    assert body == {"lo": "x", "hi": "y", "both": 2} and warnings == ["both: 9 is above the maximum 2; used as 2"]


def test_effective_params_of_a_schema_never_seen_before():
    import copy

    other = copy.deepcopy(SCHEMA)
    other["properties"]["width"]["default"] = 768
    assert effective_params({}, other)["width"] == 768
    assert effective_params({}, copy.deepcopy(SCHEMA))["width"] == 512


def test_base64_pasted_with_a_leading_space_is_read():
    raw = " " + _b64(b"\x89PNG\r\n\x1a\n", 90)
    assert normalise({"init_image": raw})[0] == {"init_image": "data:image/png;base64," + raw.strip()}
