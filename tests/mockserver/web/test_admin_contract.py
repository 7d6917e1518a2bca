"""The admin API under contract (issue 12, item 9).

``openapi/mock-admin.yaml`` describes what the code accepts for the admin token (``Authorization:
Bearer`` or ``X-Mock-Admin-Token``), the 401 that answers without it, the 503 of a store that
cannot be used and the limits; a Schemathesis run over it, positive and negative data, on a live
mock that requires a token, gets no 5xx, only documented statuses, answers that match their
schemas, and a 401 whenever the token is left out (Schemathesis' ``ignored_auth`` check).

Two checks are off, on purpose: ``positive_data_acceptance`` and ``negative_data_rejection``.
The rule language has conditions a schema cannot state (a pattern RE2 can run, 1 MiB for all
rules, at most 1,000 of them, a key that is not blank), so a schema-valid rule may be a 400.
"""

from __future__ import annotations

from collections import Counter

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings

from contracts.core.spec import spec_dir
from tests.live_mock import mock_process

TOKEN = "admin-contract-token-7c1e"
SPEC = spec_dir() / "mock-admin.yaml"
OPEN = {("get", "/ui"), ("get", "/ui/{name}")}  # the inspector page asks for the token itself
EXAMPLES = 25  # per operation and mode: about 1,000 cases


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                yield method, path, operation


def test_the_admin_spec_describes_the_token_and_the_401():
    document = yaml.safe_load(SPEC.read_text())
    schemes = document["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["adminBearer"].items()
    assert {"type": "apiKey", "in": "header", "name": "X-Mock-Admin-Token"}.items() <= schemes["adminTokenHeader"].items()
    assert document["security"] == [{"adminBearer": []}, {"adminTokenHeader": []}]
    unauthorized = document["components"]["responses"]["Unauthorized"]
    assert "WWW-Authenticate" in unauthorized["headers"]
    for method, path, operation in _operations(document):
        if (method, path) in OPEN:
            assert operation["security"] == [], (method, path)
            continue
        assert "security" not in operation, (method, path)  # the global requirement applies
        assert operation["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}, (method, path)
        if path != "/openapi.yaml":
            assert "503" in operation["responses"], (method, path)


def test_what_the_spec_says_of_the_token_is_what_the_mock_does(make_app):
    client = make_app(admin_token=TOKEN).test_client()
    document = yaml.safe_load(SPEC.read_text())
    for method, path, _ in _operations(document):
        if (method, path) in OPEN or "{" in path:
            continue
        answer = client.open("/__mock" + path, method=method.upper())
        assert answer.status_code == 401 and answer.json["status"] == "error", (method, path)
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="modelslab-mock admin"'
        wrong = client.open("/__mock" + path, method=method.upper(), headers={"X-Mock-Admin-Token": TOKEN + "x"})
        assert wrong.status_code == 401, (method, path)
    assert client.get("/__mock/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/__mock/health", headers={"X-Mock-Admin-Token": TOKEN}).status_code == 200
    assert client.get("/__mock/ui/inspector.js").status_code == 200


@pytest.mark.slow
def test_schemathesis_over_the_admin_spec_finds_no_5xx():
    output: list[str] = []
    config = schemathesis.config.SchemathesisConfig.from_dict({
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "checks": {"positive_data_acceptance": {"enabled": False}, "negative_data_rejection": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_path(str(SPEC), config=config)
    statuses: Counter[int] = Counter()
    ran: Counter[str] = Counter()
    with mock_process("--admin-token", TOKEN, "--seed", "5", "--processing-ratio", "0.3", output=output) as (url, _):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for i in range(4):  # a few jobs and journal entries for the read endpoints to find
            session.post(url + "/api/v6/images/inpaint", json={
                "key": f"k{i}", "model_id": "pony-realism", "prompt": "a cat", "webhook": "http://127.0.0.1:9/hook",
                "init_image": "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/"
                              "inpainting_examples/overture-creations-5sI6fQgYIuo.png"}, timeout=30)
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case):
                    response = case.call_and_validate(base_url=url + "/__mock", session=session)
                    statuses[response.status_code] += 1
                    ran[f"{operation.label} {mode.value}"] += 1
                    assert response.status_code < 500, response.text[:300]

                try:
                    run()
                except Exception as exc:  # an operation with nothing to break (no parameters, no body)
                    if type(exc).__name__ != "Unsatisfiable" or mode is schemathesis.GenerationMode.POSITIVE:
                        raise
    assert sum(ran.values()) >= 500, ran
    assert not any(code >= 500 for code in statuses), statuses
    assert statuses[200] > 100 and statuses[400] > 10, statuses
    printed = output[0]
    assert "Traceback" not in printed and "mock bug" not in printed, printed[-3000:]
