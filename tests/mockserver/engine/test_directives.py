"""One Directive for Prefer, scenario rules and the key table: a bad value is a 400 naming it, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"
VARIANT_LIST = "success, processing, error, failed"


def post(client, body, prefer):
    return client.post(INPAINT, data=json.dumps(body), content_type="application/json", headers={"Prefer": prefer})


# -- over HTTP: every bad value is a ModelsLab-style 400 that names the word, the value and the valid ones ----

BAD_PREFER = [
    # header, words the message must contain
    ("variant=Success", ["variant", "'Success'", VARIANT_LIST, "did you mean 'success'"]),
    ("variant=", ["variant", "''", VARIANT_LIST]),
    ("variant", ["variant", VARIANT_LIST]),
    ("VARIANT=FAILED", ["variant", "'FAILED'", VARIANT_LIST, "did you mean 'failed'"]),
    ("eta=abc", ["eta", "'abc'", "seconds"]),
    ("eta=-1", ["eta", "'-1'", ">= 0"]),
    ("eta=inf", ["eta", "'inf'", ">= 0"]),
    ("eta=nan", ["eta", "'nan'", ">= 0"]),
    ("eta=1e999", ["eta", "'1e999'", ">= 0"]),
    ("code=abc", ["code", "'abc'", "HTTP status"]),
    ("code=99", ["code", "'99'", "HTTP status"]),
    ("outcome=nope", ["outcome", "'nope'", "success, failed"]),
    ("error=nope", ["error", "'nope'", "rate_limit"]),
    ("fault=", ["fault", "''", "outage"]),
    ("webhook=twice", ["webhook", "'twice'", "deliver, drop, duplicate"]),
    ("dynamic=maybe", ["dynamic", "'maybe'", "true, false"]),
    ("dynamic=true, seed=abc", ["seed", "'abc'", "whole number"]),
    ("example=", ["example", "''", "name"]),
    ("delay=", ["delay", "''", "seconds"]),
    ("delay=soon", ["delay", "'soon'", "seconds"]),
    ("delay=" + "9" * 5000, ["delay", ">= 0"]),
    ("speed=fast", ["speed", "unknown preference", "variant", "return"]),
]


@pytest.mark.parametrize("header, words", BAD_PREFER, ids=[h[:30] for h, _ in BAD_PREFER])
def test_a_bad_prefer_value_is_a_400_that_names_it(client, valid_body, header, words):
    response = post(client, valid_body, header)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["status"] == "error" and set(response.json) == {"status", "message"}
    message = response.json["message"]
    assert message.startswith("Prefer: ")
    for word in words:
        assert word in message, (word, message)
    assert len(message) < 400, "a huge value is cut short in the message"


def test_a_bad_prefer_value_on_a_fetch_is_a_400_too(client, valid_body):
    job = post(client, valid_body, "variant=processing, eta=30").json["id"]
    response = post_fetch = client.post(f"{FETCH}/{job}", data=json.dumps({"key": valid_body["key"]}),
                                        content_type="application/json", headers={"Prefer": "variant=Success"})
    assert post_fetch.status_code == 400 and "'Success'" in response.json["message"]


def test_a_long_delay_is_capped_by_max_delay_and_a_huge_one_refused(make_app, valid_body):
    client = make_app(processing_ratio=0.0, max_delay=0.01).test_client()
    response = post(client, valid_body, "delay=86400")
    assert response.status_code == 200 and response.headers["X-Mock-Delay"] == "0.01"
    huge = post(client, valid_body, "delay=1e308")
    assert huge.status_code == 400 and "delay must be at most" in huge.json["message"] and "'1e308'" in huge.json["message"]


@pytest.mark.parametrize("header", ["return=minimal", "respond-async", "wait=10", "handling=strict",
                                    "return=representation; foo=bar", 'handling="lenient"'])
def test_rfc7240_preferences_the_mock_does_not_own_are_ignored(client, valid_body, header):
    alone = post(client, valid_body, header)
    assert alone.status_code == 200 and alone.json["status"] == "success"
    mixed = post(client, valid_body, f"{header}, variant=processing, eta=4")
    assert mixed.status_code == 200 and mixed.json["status"] == "processing" and mixed.json["eta"] == 4


def test_preference_names_are_case_insensitive_values_are_not(client, valid_body):
    assert post(client, valid_body, "VARIANT=failed").json["status"] == "failed"
    assert post(client, valid_body, "Variant=processing, ETA=2").json["eta"] == 2
    assert post(client, valid_body, "RETURN=minimal, Respond-Async").json["status"] == "success"
    assert post(client, valid_body, "variant=FAILED").status_code == 400


def test_quoted_values_and_semicolons(client, valid_body):
    assert post(client, valid_body, 'variant="processing"; eta="3"').json["eta"] == 3
    assert post(client, valid_body, 'example="rate_limit"').json["message"] == "Rate limit exceeded"


def test_the_first_of_a_repeated_preference_wins_as_rfc7240_says(client, valid_body):
    assert post(client, valid_body, "variant=failed, variant=processing").json["status"] == "failed"


# -- rules and the key table are refused with the same message --------------------------------------

@pytest.mark.parametrize("respond, words", [
    ({"variant": "Success"}, ["respond.variant", "'Success'", VARIANT_LIST]),
    ({"variant": ""}, ["respond.variant", "''", VARIANT_LIST]),
    ({"eta": "abc"}, ["respond.eta", "'abc'", "seconds"]),
    ({"eta": -1}, ["respond.eta", "-1", ">= 0"]),
    ({"eta": "inf"}, ["respond.eta", "'inf'", ">= 0"]),
    ({"eta": True}, ["respond.eta", "True", "seconds"]),
    ({"code": "abc"}, ["respond.code", "'abc'", "400, 401, 404, 422, 429, 500"]),
    ({"code": 200}, ["respond.code", "200", "400, 401"]),
    ({"outcome": "nope"}, ["respond.outcome", "'nope'", "success, failed"]),
    ({"webhook": "twice"}, ["respond.webhook", "'twice'", "deliver, drop, duplicate"]),
    ({"delay": "1e999"}, ["respond.delay", ">= 0"]),
])
def test_a_rule_with_a_bad_value_is_refused_when_set(client, respond, words):
    response = client.post("/__mock/rules", json={"respond": respond})
    assert response.status_code == 400
    for word in words:
        assert word in response.json["message"], (word, response.json["message"])
    assert client.get("/__mock/rules").json["rules"] == []


def test_prefer_and_a_rule_explain_the_same_mistake_the_same_way(client, valid_body):
    from_header = post(client, valid_body, "variant=Success").json["message"]
    from_rule = client.post("/__mock/rules", json={"respond": {"variant": "Success"}}).json["message"]
    assert from_header.removeprefix("Prefer: variant") == from_rule.removeprefix("respond.variant")


@pytest.mark.parametrize("entry, words", [
    ({"variant": "Success"}, ["keys.*.variant", "'Success'", VARIANT_LIST]),
    ({"eta": "abc"}, ["keys.*.eta", "'abc'", "seconds"]),
    ({"eta": -1}, ["keys.*.eta", ">= 0"]),
    ({"outcome": "nope"}, ["keys.*.outcome", "success, failed"]),
    ({"error": "boom"}, ["keys.*.error", "'boom'", "rate_limit"]),
    ({"fault": "meltdown"}, ["keys.*.fault", "'meltdown'", "outage"]),
    ({"delay": "soon"}, ["keys.*.delay", "'soon'", "seconds"]),
    ({"webhook": "lose"}, ["keys.*.webhook", "'lose'", "drop"]),
    ({"faults": "outage"}, ["keys.*", "faults", "valid, variant, eta, outcome, error, fault, delay, webhook"]),
])
def test_a_key_table_entry_with_a_bad_value_is_refused_when_loaded(tmp_path, entry, words):
    from mockserver.config import ConfigError, load_config

    path = tmp_path / "mock.toml"
    path.write_text("[keys.sdk]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in entry.items()))
    with pytest.raises(ConfigError) as caught:
        load_config(environ={}, config_file=str(path))
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))


def test_a_key_table_eta_may_be_a_duration(tmp_path):
    from mockserver.config import KeyRule, load_config

    path = tmp_path / "mock.toml"
    path.write_text('[keys.sdk]\neta = "1500ms"\n')
    assert load_config(environ={}, config_file=str(path)).key_rule("sdk") == KeyRule(eta=1.5)


# -- the parser itself --------------------------------------------------------------------------

def test_parse_prefer_gives_typed_fields():
    from mockserver.engine.directives import Directive, parse_prefer

    got = parse_prefer('code=404, example="rate_limit"; dynamic, seed=-7, variant=processing, eta=250ms, '
                       "outcome=failed, error=server, fault=reset, delay=1.5, webhook=drop")
    assert got == Directive(variant="processing", eta=0.25, outcome="failed", error="server", code=404,
                            example="rate_limit", dynamic=True, seed=-7, fault="reset", delay=1.5, webhook="drop")
    assert parse_prefer(None) == parse_prefer("") == parse_prefer(" , ;") == Directive()
    assert parse_prefer("dynamic=FALSE").dynamic is False


def test_which_words_choose_the_answer():
    from mockserver.engine.directives import parse_prefer

    assert parse_prefer("eta=1").chooses and parse_prefer("code=429").chooses
    assert not parse_prefer("delay=1, webhook=drop, fault=reset").chooses
    assert not parse_prefer("seed=3").chooses


def test_directive_implied_variant_and_stored_form():
    from mockserver.engine.directives import Directive

    assert Directive(eta=3.0).implied_variant == "processing"
    assert Directive(error="server").implied_variant == "error"
    assert Directive(delay=1.0).implied_variant is None
    assert Directive(error="server", eta=1.0).implied_variant == "error"
    assert Directive(variant="error").as_respond() == {"variant": "error", "error": "rate_limit"}
    assert Directive(eta=2.0, webhook="drop").as_respond() == {"variant": "processing", "eta": 2.0, "webhook": "drop"}


_ANY_HEADER = st.one_of(
    st.text(max_size=80),
    st.lists(st.tuples(st.sampled_from(["variant", "VARIANT", "eta", "code", "outcome", "error", "example",
                                        "dynamic", "seed", "fault", "delay", "webhook", "return", "wait",
                                        "respond-async", "handling", "x"]),
                       st.one_of(st.none(), st.text(max_size=12),
                                 st.sampled_from(["success", "processing", "1", "-1", "1e400", "nan", '"q"', "2ms"]))),
             max_size=5).map(lambda pairs: ", ".join(n if v is None else f"{n}={v}" for n, v in pairs)),
)


@given(_ANY_HEADER)
def test_any_header_is_a_directive_or_a_directive_error(header):
    from mockserver.engine.directives import Directive, DirectiveError, parse_prefer

    try:
        got = parse_prefer(header)
    except DirectiveError as exc:
        assert str(exc).startswith("Prefer: ") and len(str(exc)) < 400
    else:
        assert isinstance(got, Directive)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_ANY_HEADER.filter(lambda h: h.isprintable() and all(ord(c) < 256 for c in h)))
def test_any_prefer_header_over_http_is_never_a_5xx(make_app, valid_body, header):
    app = make_app(processing_ratio=0.0, max_delay=0.0)
    response = post(app.test_client(), valid_body, header)
    data = response.get_data()
    assert b"mock bug" not in data, (header, response.status_code, data[:200])
    if response.status_code >= 500:  # only when asked for: code=5xx or a gateway fault
        assert "code=5" in header.replace(" ", "").lower() or "fault=" in header.lower().replace(" ", "")


# -- the exact words of every refusal, and the word it is about ----------------------------------

_ERRORS = "invalid_api_key, invalid_request, model_not_found, queue_limit, rate_limit, server"
_FAULTS = "rate_limit, outage, bad_gateway, gateway_timeout, cloudflare_timeout, reset, truncated"


@pytest.mark.parametrize("header, message", [
    ("outcome=nope", "Prefer: outcome must be one of success, failed, not 'nope'"),
    ("webhook=twice", "Prefer: webhook must be one of deliver, drop, duplicate, not 'twice'"),
    ("error=nope", f"Prefer: error must be one of {_ERRORS}, not 'nope'"),
    ("fault=x", f"Prefer: fault must be one of {_FAULTS}, not 'x'"),
    ("variant=Success", "Prefer: variant must be one of success, processing, error, failed, not 'Success' "
                        "(values are case-sensitive; did you mean 'success'?)"),
    ("eta=abc", "Prefer: eta must be a duration in seconds >= 0 (e.g. 2, 0.5, 500ms, 2s), not 'abc'"),
    ("eta=-1", "Prefer: eta must be a finite duration in seconds >= 0, not '-1'"),
    ("delay=400000000", "Prefer: delay must be at most 315576000 seconds (ten years), not '400000000'"),
    ("code=600", "Prefer: code must be an HTTP status (three digits, 100-599), not '600'"),
    ("example=", "Prefer: example must be the name of a response example in the spec, not ''"),
    ("dynamic=maybe", "Prefer: dynamic must be one of true, false, not 'maybe'"),
    ("seed=18446744073709551616", "Prefer: seed must be a whole number (-2^63 to 2^64), not 18446744073709551616"),
    ("variant=" + "v" * 60, "Prefer: variant must be one of success, processing, error, failed, not '"
                            + "v" * 35 + "...'"),
])
def test_each_refusal_word_for_word_and_the_word_it_names(header, message):
    from mockserver.engine.directives import DirectiveError, parse_prefer

    with pytest.raises(DirectiveError) as caught:
        parse_prefer(header)
    assert str(caught.value) == message
    assert caught.value.word == header.split("=", 1)[0]


def test_a_value_shown_in_a_message_is_cut_after_40_characters():
    from mockserver.engine.directives import DirectiveError, parse_prefer

    for length, shown in ((38, "'" + "v" * 38 + "'"), (39, "'" + "v" * 35 + "...'")):
        with pytest.raises(DirectiveError) as caught:
            parse_prefer("variant=" + "v" * length)
        assert str(caught.value).endswith(f"not {shown}"), length


def test_an_unknown_preference_names_every_word_and_an_empty_name_is_shown_as_such():
    from mockserver.engine.directives import DirectiveError, parse_prefer

    with pytest.raises(DirectiveError) as caught:
        parse_prefer("=x")
    assert str(caught.value) == (
        "Prefer: unknown preference ''; the mock's: code, delay, dynamic, error, eta, example, fault, outcome, "
        "seed, variant, webhook; ignored (RFC 7240): depth-noroot, handling, respond-async, return, safe, wait")
    assert caught.value.word == ""


@pytest.mark.parametrize("header, expected", [
    ('variant = "processing" , eta=2', {"variant": "processing", "eta": 2.0}),
    ('example="say \\"hi\\""', {"example": 'say "hi"'}),
    ('example="a,b;c", variant=failed', {"example": "a,b;c", "variant": "failed"}),
    ('example="x"junk; variant=failed', {"example": "x", "variant": "failed"}),
    ('example="unclosed', {"example": "unclosed"}),
    ('example="ends with a backslash\\', {"example": "ends with a backslash\\"}),
    ("return=minimal; variant=failed, eta=1", {"eta": 1.0}),  # a parameter of a foreign preference
    ("return=minimal, variant=failed", {"variant": "failed"}),
    ("dynamic, variant=failed", {"dynamic": True, "variant": "failed"}),
    ("dynamic=, seed=3", {"dynamic": True, "seed": 3}),  # an empty value is no value
    ("eta=1, eta=5, variant=processing", {"eta": 1.0, "variant": "processing"}),
])
def test_prefer_headers_are_split_as_rfc_7240_says(header, expected):
    from mockserver.engine.directives import Directive, parse_prefer

    assert parse_prefer(header) == Directive(**expected)


@pytest.mark.parametrize("code", ["100", "599"])
def test_every_three_digit_status_from_100_to_599_is_a_code(code):
    from mockserver.engine.directives import Directive, parse_prefer

    assert parse_prefer(f"code={code}") == Directive(code=int(code))
    assert Directive.from_mapping({"code": int(code)}, "x.").code == int(code)


@pytest.mark.parametrize("value", [99, 600, True, "42", 4.0])
def test_a_code_outside_100_to_599_or_no_integer_is_refused(value):
    from mockserver.engine.directives import Directive, DirectiveError

    with pytest.raises(DirectiveError) as caught:
        Directive.from_mapping({"code": value}, "x.")
    assert caught.value.word == "code"


def test_a_rule_code_must_be_one_of_the_rule_codes_as_a_number():
    from mockserver.engine.directives import RULE_CODES, RULE_WORDS, Directive, DirectiveError

    assert Directive.from_mapping({"code": 404}, "respond.", RULE_WORDS, RULE_CODES).code == 404
    for value in (200, True, "404"):
        with pytest.raises(DirectiveError) as caught:
            Directive.from_mapping({"code": value}, "respond.", RULE_WORDS, RULE_CODES)
        assert str(caught.value) == (f"respond.code must be one of 400, 401, 404, 422, 429, 500 (use variant for 200 "
                                     f"answers), not {value!r}")
        assert caught.value.word == "code"


@pytest.mark.parametrize("seed, ok", [(-(2**63), True), (2**64 - 1, True), (-(2**63) - 1, False), (2**64, False),
                                      ("-9223372036854775808", True), (True, False), (1.0, False)])
def test_seeds_from_minus_2_63_to_2_64(seed, ok):
    from mockserver.engine.directives import Directive, DirectiveError

    if ok:
        assert Directive.from_mapping({"seed": seed}, "x.").seed == int(seed)
    else:
        with pytest.raises(DirectiveError):
            Directive.from_mapping({"seed": seed}, "x.")


@pytest.mark.parametrize("value, seconds", [(0, 0.0), ("0", 0.0), ("0ms", 0.0), (2, 2.0), ("2s", 2.0),
                                            (315576000, 315576000.0)])
def test_durations_from_zero_to_ten_years(value, seconds):
    from mockserver.engine.directives import parse_duration_value

    assert parse_duration_value(value, "eta", "eta") == seconds


@pytest.mark.parametrize("value", [10**400, 315576000.5, -0.001, True, None, [1]])
def test_durations_that_are_refused_name_their_word(value):
    from mockserver.engine.directives import DirectiveError, parse_duration_value

    with pytest.raises(DirectiveError) as caught:
        parse_duration_value(value, "respond.delay")
    assert caught.value.word == "delay" and str(caught.value).startswith("respond.delay must be ")


def test_unknown_fields_of_a_rule_or_a_key_are_all_named():
    from mockserver.engine.directives import KEY_WORDS, Directive, DirectiveError

    with pytest.raises(DirectiveError) as caught:
        Directive.from_mapping({"zeta": 1, "alpha": 2, "variant": "failed"}, "keys.*.", KEY_WORDS)
    assert str(caught.value) == ("keys.*: unknown field(s) alpha, zeta; known: variant, eta, outcome, error, fault, "
                                 "delay, webhook")
    assert caught.value.word == "alpha"


def test_the_stored_form_of_a_rule_says_only_what_was_said():
    from mockserver.engine.directives import Directive

    assert Directive(variant="error", error="server").as_respond() == {"variant": "error", "error": "server"}
    assert Directive(variant="failed", delay=1.0).as_respond() == {"variant": "failed", "delay": 1.0}
