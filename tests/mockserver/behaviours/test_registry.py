"""Behaviours are declared in the spec: a new endpoint of a known shape is a spec change only."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.core.spec import PONY_SPEC_FILE, load_document, operations, server_base_path
from mockserver import MockConfig, create_app
from mockserver.behaviours.registry import SpecError, behaviours_for
from mockserver.web.context import mock_state

API = "/api/v6/images"


def _with_copies(tmp_path: Path) -> Path:
    """The Pony spec plus a copy of inpaint and of fetch-by-id under new paths, operationIds and
    family: nothing else changes, and no code knows these names."""
    document = load_document(PONY_SPEC_FILE)
    inpaint = copy.deepcopy(document["paths"]["/inpaint"]["post"])
    inpaint["operationId"] = "inpaintCopy"
    inpaint["x-mock-behaviour"] = {**inpaint["x-mock-behaviour"], "family": "copies", "fetch": "fetchCopyById"}
    inpaint.get("responses", {}).get("200", {}).pop("links", None)
    fetch = copy.deepcopy(document["paths"]["/fetch/{id}"]["post"])
    fetch["operationId"] = "fetchCopyById"
    fetch["x-mock-behaviour"] = {"kind": "fetch", "family": "copies", "id": {"in": "path", "name": "job"}}
    fetch["parameters"] = [{**fetch["parameters"][0], "name": "job"}]
    document["paths"]["/copies/inpaint"] = {"post": inpaint}
    document["paths"]["/copies/{job}/result"] = {"post": fetch}
    path = tmp_path / "with-copies.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_a_copy_of_inpaint_under_a_new_path_queues_jobs_its_own_fetch_reads(tmp_path, valid_body):
    app = create_app(MockConfig(spec=str(_with_copies(tmp_path)), store="memory", seed=5, processing_ratio=0.0))
    client = app.test_client()
    queued = client.post(f"{API}/copies/inpaint", json=valid_body, headers={"Prefer": "variant=processing, eta=30"})
    body = queued.get_json()
    assert queued.status_code == 200 and body["status"] == "processing"
    assert body["fetch_result"] == f"http://localhost{API}/copies/{body['id']}/result"
    fetch = body["fetch_result"].removeprefix("http://localhost")
    key = {"key": valid_body["key"]}
    assert client.post(fetch, json=key).get_json()["status"] == "processing"
    # jobs are fetched only within their family: the community fetch does not know this one
    assert client.post(f"{API}/fetch/{body['id']}", json=key).get_json()["message"] == f"Request not found: {body['id']}"
    assert client.post("/__mock/clock", json={"advance": 31}).status_code == 200
    done = client.post(fetch, json=key).get_json()
    assert done["status"] == "success" and done["id"] == body["id"] and len(done["output"]) == 1
    entries = client.get("/__mock/requests", query_string={"operation": "fetch"}).get_json()["requests"]
    assert [e["operation"] for e in entries] == ["fetchCopyById", "fetchById", "fetchCopyById"]
    # the original endpoints are untouched
    assert client.post(f"{API}/inpaint", json=valid_body).get_json()["status"] == "success"


def test_rules_name_the_new_operation_or_its_kind(tmp_path, valid_body):
    app = create_app(MockConfig(spec=str(_with_copies(tmp_path)), store="memory", seed=5, processing_ratio=0.0))
    client = app.test_client()
    assert client.post("/__mock/rules", json={"operation": "inpaintCopy", "variant": "failed"}).status_code == 201
    assert client.post(f"{API}/copies/inpaint", json=valid_body).get_json()["status"] == "failed"
    assert client.post(f"{API}/inpaint", json=valid_body).get_json()["status"] == "success"
    assert client.post("/__mock/rules", json={"operation": "generate", "variant": "failed", "times": 2}).status_code == 201
    assert [client.post(f"{API}/{p}", json=valid_body).get_json()["status"] for p in ("inpaint", "copies/inpaint")] \
        == ["failed", "failed"]
    refused = client.post("/__mock/rules", json={"operation": "teleport", "variant": "failed"})
    assert refused.status_code == 400 and "inpaintCopy" in refused.get_json()["message"]


def test_every_operation_of_the_project_spec_declares_its_behaviour():
    state = mock_state(create_app(MockConfig(store="memory")))  # the family spec
    found = {op: (b.kind, b.family) for op, b in state.behaviours.items()}
    assert len(found) == 13 and {family for _, family in found.values()} == {"community", "realtime", "v7"}
    assert sorted(op for op, (kind, _) in found.items() if kind == "fetch") == [
        "v6ImagesFetch", "v6ImagesFetchById", "v6RealtimeFetchById", "v7ImagesFetchById"]
    state = mock_state(create_app(MockConfig(store="memory", spec=PONY_SPEC_FILE)))
    assert {op: (b.kind, b.family) for op, b in state.behaviours.items()} == {
        "inpaint": ("generate", "community"), "fetchById": ("fetch", "community"),
        "fetchByRequestId": ("fetch", "community")}


def _spec(ops: dict[str, Any]) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": ops}


def _op(op_id: str, behaviour: Any) -> dict[str, Any]:
    return {"post": {"operationId": op_id, "x-mock-behaviour": behaviour, "responses": {"200": {"description": "ok"}}}}


@pytest.mark.parametrize("paths, problem", [
    ({"/a": _op("a", {"kind": "teleport"})}, "kind 'teleport' is unknown"),
    ({"/a": _op("a", ["generate"])}, "must be a kind or an object"),
    ({"/a": _op("a", {"kind": "generate", "family": "v7", "render": "text2img"})}, "needs 'fetch'"),
    ({"/a": _op("a", {"kind": "generate", "family": "v7", "render": "sketch", "fetch": "f"})}, "'render' must be one of"),
    ({"/a": _op("a", {"kind": "generate", "family": "v7", "render": "text2img", "fetch": "f"}),
      "/f": _op("f", {"kind": "fetch", "family": "v6", "id": {"in": "body", "name": "request_id"}})}, "of family 'v6'"),
    ({"/f": _op("f", {"kind": "fetch", "family": "v7", "id": {"in": "path", "name": "id"}})}, "which /f does not have"),
    ({"/f": _op("f", {"kind": "fetch", "family": "v7", "id": {"in": "query", "name": "id"}})}, "'id' must be"),
])
def test_a_declaration_the_mock_cannot_use_is_a_spec_error_naming_the_operation(paths, problem):
    document = _spec(paths)
    with pytest.raises(SpecError, match="operation ") as raised:
        behaviours_for(operations(document), server_base_path(document))
    assert problem in str(raised.value)


def test_no_declaration_or_static_is_the_generic_behaviour():
    document = _spec({"/a": _op("a", None), "/b": _op("b", "static"), "/c": _op("c", {"kind": "static"})})
    found = behaviours_for(operations(document), server_base_path(document))
    assert {op: b.kind for op, b in found.items()} == {"a": "generic", "b": "generic", "c": "generic"}
