"""Validation: openapi-core's compiled validator for the verdict, openapi-core's request check for errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from contracts.core.spec import PONY_SPEC_FILE, load_document, load_openapi, operations, relative_base_path
from mockserver.engine.validation import LazyOpenAPI, OperationValidator, format_checkers

DOC = load_document(PONY_SPEC_FILE)
OPS = operations(DOC)


def validator(op_id: str) -> OperationValidator:
    return OperationValidator(load_openapi(PONY_SPEC_FILE), OPS[op_id], relative_base_path(DOC))


def test_valid_bodies_pass(valid_body):
    assert validator("inpaint").errors(valid_body) is None
    assert validator("fetchById").errors({"key": "k"}, {"id": "1"}) is None
    assert validator("fetchByRequestId").errors({"key": "k", "request_id": "130000001"}) is None


def test_errors_name_every_field(valid_body):
    valid_body.update(width=513, samples=0, safety_checker="maybe")
    del valid_body["mask_image"]
    assert validator("inpaint").errors(valid_body) == {
        "mask_image": ["The mask image field is required."],
        "width": ["The width field must be a multiple of 8."],
        "samples": ["The samples field must be at least 1."],
        "safety_checker": ["The selected safety checker is invalid."],
    }


def test_fetch_by_request_id_requires_digits():
    assert validator("fetchByRequestId").errors({"key": "k", "request_id": "abc"}) == {
        "request_id": ["The request id field format is invalid."]}


def test_the_fast_answer_is_yes_only_when_sure(valid_body):
    inpaint = validator("inpaint")
    assert inpaint.is_valid(valid_body) is True
    assert inpaint.is_valid({**valid_body, "width": 513}) is False
    assert inpaint.is_valid({**valid_body, "init_image": "not a uri"}) is False, "formats are checked too"
    fetch = validator("fetchById")
    assert fetch.is_valid({"key": "k"}) is True, "no path parameters given: the body alone"
    assert fetch.is_valid({"key": "k"}, {"id": "130000001"}) is True
    assert fetch.is_valid({"key": "k"}, {"id": "abc"}) is False
    assert fetch.is_valid({"key": "k"}, {}) is False, "a path parameter that is missing: ask openapi-core"
    assert fetch.is_valid({}, {"id": "1"}) is False


def test_an_invalid_path_parameter_is_an_error_even_with_a_valid_body():
    assert validator("fetchById").errors({"key": "k"}, {"id": "abc"}) is not None
    assert validator("fetchById").errors({"key": "k"}, {"id": "a/b"}) == {
        "body": ["Path not found for http://127.0.0.1/api/v6/images/fetch/a/b"]}


def fake_operation(body_schema, path_params=None):
    return SimpleNamespace(body_schema=body_schema, path_params=path_params or {}, path="/x", method="POST")


def test_formats_the_fast_path_cannot_check_send_the_request_to_openapi_core():
    schema = {"type": "object", "properties": {
        "when": {"type": "string", "format": "date-time"},
        "links": {"type": "array", "items": {"anyOf": [{"type": "string", "format": "uri"}]}}}}
    fast = OperationValidator(None, fake_operation(schema), "")
    assert fast.is_valid({}) is True
    assert fast.is_valid({"when": "2020-01-01T00:00:00Z"}) is False, "unknown format: not sure, never valid"
    assert fast.is_valid({"links": ["https://a.test/b.png"]}) is True
    assert fast.is_valid({"links": ["https://a.test/b.png", "not a uri"]}) is False, "a uri nested in a list"


def test_only_string_path_parameters_are_checked_fast():
    typed = OperationValidator(None, fake_operation({"type": "object"}, {"n": {"type": "integer"}}), "")
    assert typed.is_valid({}, {"n": "1"}) is False, "integer path parameters need openapi-core's casting"
    text = OperationValidator(None, fake_operation({"type": "object"}, {"s": {"type": "string", "minLength": 2}}), "")
    assert text.is_valid({}, {"s": "ab"}) is True and text.is_valid({}, {"s": "a"}) is False


def test_uri_format_is_checked_as_openapi_core_checks_it():
    is_uri = format_checkers()["uri"]
    assert is_uri("https://example.com/a.png") is True
    assert is_uri("not a uri") is False and is_uri("/relative/path.png") is False


def test_openapi_core_is_loaded_on_first_need_or_warmed_in_the_background():
    lazy = LazyOpenAPI("modelslab-pony-inpaint.yaml")
    assert not hasattr(lazy, "__deepcopy__"), "dunder lookups never load it (copy, pickle, repr stay cheap)"
    thread = lazy.warm_up()
    assert thread.daemon and thread.name == "openapi-core-warm-up"
    thread.join(timeout=60)
    assert lazy.load() is load_openapi("modelslab-pony-inpaint.yaml"), "one parsed spec per process"
    assert lazy.validate_request == lazy.load().validate_request


def test_an_unknown_format_inside_a_list_of_branches_is_not_sure_either():
    schema = {"type": "object", "properties": {"when": {"anyOf": [{"type": "string", "format": "date-time"}]}}}
    assert OperationValidator(None, fake_operation(schema), "").is_valid({"when": "2020-01-01T00:00:00Z"}) is False


def test_a_path_parameter_without_a_type_goes_to_openapi_core():
    untyped = OperationValidator(None, fake_operation({"type": "object"}, {"p": {"pattern": "^a"}}), "")
    assert untyped.is_valid({}, {"p": "abc"}) is False


def test_a_value_the_fast_validator_cannot_read_is_never_called_valid():
    fast = OperationValidator(None, fake_operation({"type": "object", "properties": {"n": {"type": "integer"}}}), "")
    assert fast.is_valid({"n": 1}) is True
    assert fast.is_valid({"n": {1, 2}}) is False


def test_schema_errors_carried_by_the_exception_itself_are_field_messages_too():
    import jsonschema

    schema = {"type": "object", "properties": {"width": {"type": "integer"}}}
    found = list(jsonschema.Draft202012Validator(schema).iter_errors({"width": "wide"}))

    class Refusal(Exception):
        schema_errors = found

    class Authority:
        def validate_request(self, request):
            raise Refusal("invalid")

    class Plain:
        def validate_request(self, request):
            raise ValueError("no route")

    op = SimpleNamespace(body_schema=schema, path_params={}, path="/x", method="POST")
    assert OperationValidator(Authority(), op, "").authoritative_errors({"width": "wide"}) == {
        "width": ["The width field must be an integer."]}
    assert OperationValidator(Plain(), op, "").authoritative_errors({}) == {"body": ["no route"]}


def test_a_lazy_spec_is_not_loaded_by_dunder_lookups_and_is_loaded_by_its_warm_up():
    missing = LazyOpenAPI("no-such-spec.yaml")
    assert not hasattr(missing, "__deepcopy__")  # loading would raise FileNotFoundError
    with pytest.raises(AttributeError, match="__getstate__"):
        missing.__getattr__("__getstate__")
    lazy = LazyOpenAPI("modelslab-pony-inpaint.yaml")
    lazy.warm_up().join(timeout=60)
    assert vars(lazy)["_loaded"] is load_openapi("modelslab-pony-inpaint.yaml"), "loaded before first use"


# ------------------------------------------------------------------------------ request_host


@pytest.mark.parametrize("servers, host", [
    ([{"url": "https://modelslab.com/api/v6"}], "https://modelslab.com"),
    ([{"url": "http://example.com:8080/base"}, {"url": "https://other.org"}], "http://example.com:8080"),
    ([{"url": "{scheme}://{host}/v1", "variables": {"scheme": {"default": "https"},
                                                    "host": {"default": "api.test:9"}}}], "https://api.test:9"),
    ([{"url": "/api/v6"}], "http://127.0.0.1"),  # relative: any host
    ([{"url": "https:///no-host"}], "http://127.0.0.1"),
    ([], "http://127.0.0.1"),
    ("not a list", "http://127.0.0.1"),
    (["not an object"], "http://127.0.0.1"),
    ([{"url": None}], "http://127.0.0.1"),
    ([{"url": "https://{region}.example.com", "variables": {"region": "not an object"}}],
     "https://{region}.example.com"),
    ([{"url": "https://{region}.example.com", "variables": {"region": {}}}], "https://.example.com"),
])
def test_the_request_host_is_the_first_absolute_server_with_its_variables_filled(servers, host):
    from mockserver.engine.validation import request_host

    assert request_host({"servers": servers}) == host


def test_a_spec_without_servers_accepts_any_host():
    from mockserver.engine.validation import request_host

    assert request_host({}) == "http://127.0.0.1"
    assert request_host({"servers": None}) == "http://127.0.0.1"


# ------------------------------------------------------------------------------ response_validators


def test_each_operation_with_a_json_200_gets_a_validator_of_its_schema():
    from mockserver.engine.validation import response_validators

    found = response_validators(load_openapi(PONY_SPEC_FILE), OPS)
    assert set(found) == {op_id for op_id, op in OPS.items()
                          if "schema" in op.responses.get("200", {}).get("content", {}).get("application/json", {})}
    assert "inpaint" in found and "fetchById" in found
    inpaint = found["inpaint"]
    assert not list(inpaint.iter_errors({"status": "error", "message": "Invalid Api Key"}))
    assert list(inpaint.iter_errors({"status": 7})), "a body outside the schema is reported"


def test_operations_without_a_json_200_schema_get_no_validator():
    from mockserver.engine.validation import response_validators

    no_schema = SimpleNamespace(responses={"200": {"content": {"application/json": {"example": {}}}}})
    no_json = SimpleNamespace(responses={"200": {"content": {"image/png": {"schema": {}}}}})
    no_200 = SimpleNamespace(responses={"404": {"content": {"application/json": {"schema": {}}}}})
    odd = SimpleNamespace(responses={"200": {"content": {"application/json": "not an object"}}})
    assert response_validators(load_openapi(PONY_SPEC_FILE), {
        "a": no_schema, "b": no_json, "c": no_200, "d": odd}) == {}
    after = response_validators(load_openapi(PONY_SPEC_FILE), {"a": no_schema, "inpaint": OPS["inpaint"]})
    assert list(after) == ["inpaint"], "an operation without a schema does not end the search"
