"""Strategies and checks cover every generate and fetch operation the spec declares (the family spec:
community, realtime and v7; text2img, img2img, inpaint; fetch by path id and by body request_id)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from contracts.core.behaviours import spec_behaviours
from contracts.core.schema_validation import problems
from contracts.core.spec import load_document
from contracts.core.transport import WSGITransport
from contracts.modelslab.checks import ContractChecker, ContractViolation, Exchange
from contracts.modelslab.strategies import (
    fetch_operations,
    fetch_requests,
    generate_bodies,
    generate_operations,
    invalid_generate_bodies,
    response_for,
    sloppy_generate_bodies,
)

FAMILY = "modelslab.yaml"
GENERATE = generate_operations(FAMILY)
FETCH = fetch_operations(FAMILY)
DOC = load_document(FAMILY)
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


def body_problems(operation, body):
    return problems(body, spec_behaviours(FAMILY).operations[operation].body_schema, document=DOC)


def test_every_declared_operation_is_covered():
    assert len(GENERATE) == 9 and len(FETCH) == 4


@pytest.mark.parametrize("operation", GENERATE)
@SETTINGS
@given(data=st.data())
def test_generated_bodies_are_valid_for_their_own_operation(operation, data):
    body = data.draw(generate_bodies(operation, spec=FAMILY))
    assert body_problems(operation, body) == []
    generate = spec_behaviours(FAMILY).generate[operation]
    assert ("model_id" in body) is generate.model_required, "realtime takes no model_id; the others need one"
    for name in ("init_image", "mask_image"):
        assert (name in body) is (name in generate.images), "text2img has no image fields"


@pytest.mark.parametrize("operation", GENERATE)
@SETTINGS
@given(data=st.data())
def test_invalid_bodies_are_invalid_and_name_the_field(operation, data):
    invalid = data.draw(invalid_generate_bodies(operation, spec=FAMILY))
    found = body_problems(operation, invalid.body)
    assert found, invalid.why
    assert any(invalid.field in (p.pointer + " " + p.message) for p in found), (invalid, found)


@pytest.mark.parametrize("operation", GENERATE)
@SETTINGS
@given(data=st.data())
def test_sloppy_bodies_are_invalid_to_a_strict_reader(operation, data):
    assert body_problems(operation, data.draw(sloppy_generate_bodies(operation, spec=FAMILY)))


@pytest.mark.parametrize("operation", FETCH)
@SETTINGS
@given(data=st.data())
def test_fetch_requests_name_the_job_where_the_operation_says(operation, data):
    path, body = data.draw(fetch_requests(operation, spec=FAMILY))
    fetch = spec_behaviours(FAMILY).fetch[operation]
    assert body_problems(operation, body) == []
    if fetch.id_in == "path":
        assert "{" not in path and path.rsplit("/", 1)[1].isdigit() and "request_id" not in body
    else:
        assert path == fetch.op.path and body["request_id"].isdigit()


@pytest.mark.parametrize("operation", GENERATE)
def test_contract_level_processing_bodies_pass_the_checks_for_their_family(operation):
    checker = ContractChecker(spec=FAMILY)
    url = f"http://localhost/api{spec_behaviours(FAMILY).operations[operation].path}"

    @SETTINGS
    @given(body=response_for("processing", "contract", FAMILY, operation))
    def passes(body):
        exchange = Exchange("POST", url, {"key": "k", "samples": len(body["future_links"])}, 200, body,
                            operation=operation, spec=FAMILY)
        assert [v.check for v in checker.run(exchange, observe=False)
                if v.check in ("processing_names_job", "samples_match_outputs")] == []

    passes()


# -- against the mock serving the family spec ---------------------------------------------------


@pytest.fixture(scope="module")
def family_mock():
    from mockserver import MockConfig, create_app

    app = create_app(MockConfig(spec=FAMILY, store="memory", seed=3, processing_ratio=0.0, strict=True,
                                models=("*",)))
    return WSGITransport(app)


def call(transport, path, body, prefer=None):
    headers = {"Prefer": prefer} if prefer else None
    return transport.request("POST", f"http://localhost/api{path}", json_body=body, headers=headers)


@pytest.mark.parametrize("operation", GENERATE)
def test_every_generate_operation_passes_every_check_through_every_fetch_of_its_family(family_mock, operation):
    index = spec_behaviours(FAMILY)
    generate = index.generate[operation]
    checker = ContractChecker(spec=FAMILY, fetch=lambda url: family_mock.request("GET", url),
                              image_hosts={"localhost"})
    body = find(generate_bodies(operation, f"key-{operation}", spec=FAMILY), lambda b: True)  # the smallest
    body.update({"samples": 2, "width": 512, "height": 512})
    body = {k: v for k, v in body.items() if k != "webhook"}
    first = checker.assert_ok(Exchange.from_http(call(family_mock, generate.op.path, body, "variant=processing, eta=5"),
                                                 FAMILY))
    job = first.response_body["id"]
    assert first.response_body["status"] == "processing", first.response_body
    for fetch in index.fetches_of(generate.family):
        path, payload = fetch.request(job, {"key": body["key"]})
        assert checker.assert_ok(Exchange.from_http(call(family_mock, path, payload), FAMILY)).body_status == "processing"
    family_mock.request("POST", "http://localhost/__mock/clock", json_body={"advance": 6, "key": body["key"]})
    for fetch in index.fetches_of(generate.family):
        path, payload = fetch.request(job, {"key": body["key"]})
        done = checker.assert_ok(Exchange.from_http(call(family_mock, path, payload), FAMILY))
        assert done.body_status == "success" and len(done.response_body["output"]) == 2


def test_a_fetch_result_naming_another_familys_fetch_is_a_violation():
    checker = ContractChecker(spec=FAMILY)
    body = {"status": "processing", "id": 5, "eta": 1.0, "output": [],
            "fetch_result": "https://modelslab.com/api/v6/images/fetch/5"}
    exchange = Exchange("POST", "http://localhost/api/v6/realtime/text2img", {"key": "k", "prompt": "x"}, 200, body,
                        operation="v6RealtimeText2img", spec=FAMILY)
    with pytest.raises(ContractViolation, match="/v6/realtime/fetch/5"):
        checker.assert_ok(exchange)
    body["fetch_result"] = "https://modelslab.com/api/v6/realtime/fetch/5"
    checker.assert_ok(exchange)


def test_jobs_are_followed_within_their_family():
    checker = ContractChecker(spec=FAMILY)
    done = {"status": "success", "id": 9, "output": ["http://x/a.png"]}
    checker.run(Exchange("POST", "http://localhost/api/v6/images/fetch/9", {"key": "k"}, 200, done,
                         operation="v6ImagesFetchById", path_params={"id": "9"}, spec=FAMILY))
    queued = {"status": "processing", "id": 9, "eta": 1, "output": [],
              "fetch_result": "http://localhost/api/v6/realtime/fetch/9"}
    other_family = Exchange("POST", "http://localhost/api/v6/realtime/fetch/9", {"key": "k"}, 200, queued,
                            operation="v6RealtimeFetchById", path_params={"id": "9"}, spec=FAMILY)
    assert [v.check for v in checker.run(other_family)] == [], "job 9 of realtime is not job 9 of community"
    same_family = Exchange("POST", "http://localhost/api/v6/images/fetch/9", {"key": "k"}, 200,
                           dict(queued, fetch_result="http://localhost/api/v6/images/fetch/9"),
                           operation="v6ImagesFetchById", path_params={"id": "9"}, spec=FAMILY)
    assert "job_never_regresses" in [v.check for v in checker.run(same_family)]


def test_a_foreign_spec_gets_no_modelslab_checks(tmp_path):
    from tests.contracts.core.test_behaviours import PETSTORE

    path = tmp_path / "pets.yaml"
    path.write_text(PETSTORE)
    checker = ContractChecker(spec=str(path))
    assert checker.enabled == set()
    odd = Exchange("POST", "http://h/v1/pets", {"name": "x"}, 200, {"status": "error"}, operation="addPet",
                   spec=str(path))
    assert checker.run(odd) == []
    assert ContractChecker(spec=FAMILY).run(odd) != [], "the same exchange under the ModelsLab spec is flagged"
