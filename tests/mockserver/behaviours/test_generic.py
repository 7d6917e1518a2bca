"""A foreign spec (tests/fixtures/petstore.yaml) served Prism-style by the generic behaviour.

No ModelsLab key, no ModelsLab wording: the spec's examples come back, invalid requests are 422
problem bodies naming each field, ``Prefer`` picks a status or an example as in Prism, unknown
paths and methods are JSON 404/405, and Schemathesis finds no 5xx.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from mockserver import MockConfig, create_app

PETSTORE = Path(__file__).resolve().parents[2] / "fixtures" / "petstore.yaml"


@pytest.fixture(scope="module")
def client():
    return create_app(MockConfig(spec=str(PETSTORE), store="memory", seed=3)).test_client()


def _locations(answer) -> list[list]:
    assert answer.headers["Content-Type"] == "application/problem+json"
    return [entry["location"] for entry in answer.get_json()["validation"]]


def test_the_example_of_the_lowest_2xx_is_the_answer(client):
    answer = client.get("/v1/pets")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.get_json() == [{"id": 1, "name": "Rex", "tag": "dog"}, {"id": 2, "name": "Tom", "tag": "cat"}]
    created = client.post("/v1/pets", json={"name": "Rex"})
    assert created.status_code == 201 and created.get_json() == {"id": 10, "name": "Rex", "tag": "dog"}
    assert client.get("/v1/pets/7").get_json() == {"id": 7, "name": "Fido", "tag": "dog"}


def test_without_an_example_the_body_is_drawn_from_the_schema_the_same_every_time(client):
    first = client.get("/v1/pets/mine")
    assert first.status_code == 200 and first.get_data() == client.get("/v1/pets/mine").get_data()
    pets = first.get_json()
    assert isinstance(pets, list) and len(pets) <= 3
    assert all(isinstance(p["id"], int) and isinstance(p["name"], str) for p in pets)


def test_a_static_path_is_routed_before_a_templated_one(client):
    assert client.get("/v1/pets/mine").status_code == 200  # not showPet with petId "mine" (a 422)


def test_invalid_requests_are_422_naming_each_field(client):
    answer = client.post("/v1/pets", json={"name": "", "tag": "cow", "colour": "red"})
    assert answer.status_code == 422
    assert sorted(_locations(answer)) == [["body", "colour"], ["body", "name"], ["body", "tag"]]
    body = answer.get_json()
    assert body["title"] == "Invalid request" and body["status"] == 422
    assert "Api Key" not in answer.get_data(as_text=True) and "ModelsLab" not in answer.get_data(as_text=True)
    assert _locations(client.post("/v1/pets", json={"tag": "dog"})) == [["body", "name"]]
    assert sorted(_locations(client.get("/v1/pets?limit=0&tag=cow"))) == [["query", "limit"], ["query", "tag"]]
    assert _locations(client.get("/v1/pets/abc")) == [["path", "petId"]]
    assert _locations(client.get("/v1/pets/0")) == [["path", "petId"]]


def test_unparseable_json_is_400_and_a_foreign_media_type_415(client):
    broken = client.post("/v1/pets", data=b'{"name": ', content_type="application/json")
    assert broken.status_code == 400 and broken.get_json()["title"] == "Invalid JSON"
    text = client.post("/v1/pets", data=b"name=Rex", content_type="text/plain")
    assert text.status_code == 415 and _locations(text) == [["header", "content-type"]]


def test_prefer_picks_the_status_and_the_example_as_in_prism(client):
    missing = client.get("/v1/pets/7", headers={"Prefer": "code=404"})
    assert missing.status_code == 404 and missing.get_json() == {"code": 404, "message": "no pet with that id"}
    conflict = client.post("/v1/pets", json={"name": "Rex"}, headers={"Prefer": "code=409"})
    assert conflict.status_code == 409 and conflict.get_json()["code"] == 409
    tom = client.post("/v1/pets", json={"name": "Tom"}, headers={"Prefer": "example=tom"})
    assert tom.status_code == 201 and tom.get_json()["name"] == "Tom"
    dynamic = [client.get("/v1/pets/7", headers={"Prefer": "dynamic=true, seed=5"}).get_json() for _ in range(2)]
    assert dynamic[0] == dynamic[1] and set(dynamic[0]) >= {"id", "name"}


def test_a_bad_prefer_is_a_400_that_says_what_is_declared(client):
    undeclared = client.get("/v1/pets/7", headers={"Prefer": "code=500"})
    assert undeclared.status_code == 400 and "declared: 200, 404" in undeclared.get_json()["detail"]
    unnamed = client.post("/v1/pets", json={"name": "Rex"}, headers={"Prefer": "example=nope"})
    assert unnamed.status_code == 400 and "available: rex, tom" in unnamed.get_json()["detail"]
    assert client.get("/v1/pets", headers={"Prefer": "code=abc"}).status_code == 400


def test_undeclared_methods_are_405_and_unknown_paths_404_as_json(client):
    wrong = client.put("/v1/pets/7", json={})
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, DELETE"
    assert wrong.get_json() == {"status": "error", "message": "Method Not Allowed", "code": 405}
    for path in ("/v1/cats", "/pets", "/v1/pets/7/toys"):
        missing = client.get(path)
        assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/json"


def test_an_operation_without_content_answers_its_status_with_no_body(client):
    gone = client.delete("/v1/pets/7")
    assert gone.status_code == 204 and gone.get_data() == b""


def test_requests_are_journalled_without_an_owner(client):
    client.get("/v1/pets?tag=dog")
    entry = client.get("/__mock/requests", query_string={"operation": "listPets"}).get_json()["requests"][-1]
    assert entry["path"] == "/v1/pets?tag=dog" and entry["status"] == 200 and entry["owner"] is None


schema = schemathesis.openapi.from_path(str(PETSTORE))
schema.config.base_url = "http://localhost/v1"
fuzzed = create_app(MockConfig(spec=str(PETSTORE), store="memory", seed=11))


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_finds_no_server_error_and_only_declared_answers(case):
    response = case.call(app=fuzzed)
    assert response.status_code < 500, response.text
    assert response.headers.get("Content-Type", "").split(";")[0] in ("application/json", "application/problem+json", "") \
        or response.status_code == 204
    if response.status_code < 400:  # an answer of the spec: its status is declared and its body conforms
        case.validate_response(response)
