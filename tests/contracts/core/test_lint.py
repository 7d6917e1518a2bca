"""Spec lint: the upstream spec's documented example is caught, field by field, with pointers."""

from __future__ import annotations

import json

import pytest
import yaml

from contracts.cli import main
from contracts.core.lint import lint_spec

DOCS = "openapi/examples/pony-inpaint-docs-example.json"
EXPECTED = {
    "/width": '"512" is not of type \'integer\'',
    "/height": '"512" is not of type \'integer\'',
    "/samples": '"1" is not of type \'integer\'',
    "/steps": '"21" is not of type \'integer\'',
    "/clip_skip": '"2" is not of type \'integer\'',
    "/negative_prompt": "null is not of type 'string'",
    "/webhook": "null is not of type 'string'",
    "/track_id": "null is not of type 'string'",
}


COMMUNITY = "openapi/examples/community-inpaint-docs-example.json"


def test_upstream_spec_with_the_docs_examples_reports_exactly_their_contradictions():
    """The Pony page and the community inpaint page both send their body to /api/v6/images/inpaint."""
    report = lint_spec("openapi/upstream-pony-inpaint.yaml")
    assert {c.pointer: c.message for c in report.contradictions if c.source == DOCS} == EXPECTED
    community = {c.pointer: c.message for c in report.contradictions if c.source == COMMUNITY}
    assert community == {p: m for p, m in EXPECTED.items() if p != "/clip_skip"}  # it sends no clip_skip
    assert {c.source for c in report.contradictions} == {DOCS, COMMUNITY}
    width = next(c for c in report.contradictions if c.pointer == "/width")
    assert width.schema_pointer == "#/components/schemas/InpaintingRequest/properties/width/type"
    assert not report.ok


def test_the_project_spec_has_no_contradictions_of_its_own():
    report = lint_spec("openapi/modelslab-pony-inpaint.yaml", docs_example=False)
    assert report.ok, report.text()
    assert report.checked > 0  # its defaults were checked


def test_cli_lists_each_contradiction_and_exits_nonzero(capsys):
    assert main(["lint", "openapi/upstream-pony-inpaint.yaml"]) == 1
    out = capsys.readouterr().out
    for pointer, message in EXPECTED.items():
        assert f"{DOCS}#{pointer}: {message}" in out
    assert "15 contradiction(s)" in out


def test_cli_json_output_and_a_clean_run(capsys, tmp_path):
    assert main(["lint", "openapi/modelslab-pony-inpaint.yaml", "--no-docs-example", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["contradictions"] == []


def _write_spec(tmp_path, spec):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return str(path)


def test_examples_everywhere_in_a_spec_are_checked_with_pointers(tmp_path):
    size = {"type": "integer", "minimum": 1}
    spec = {
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {"/things/{id}": {"post": {
            "operationId": "make",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9]+$"}, "example": "abc"}],
            "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Thing"},
                "example": {"size": "7"},
                "examples": {"shared": {"$ref": "#/components/examples/Bad"}}}}},
            "responses": {"200": {"$ref": "#/components/responses/Ok"}}}}},
        "components": {
            "schemas": {"Thing": {"type": "object", "properties": {
                "size": {**size, "example": 0, "default": -1},
                "tags": {"type": "array", "items": {"type": "string"}, "examples": [["ok"], [1]]}}}},
            "examples": {"Bad": {"value": {"size": 2.5}}},
            "responses": {"Ok": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "object", "required": ["status"]}, "example": {}}}}},
        },
    }
    report = lint_spec(_write_spec(tmp_path, spec), docs_example=False)
    where = {(c.pointer, c.kind) for c in report.contradictions}
    assert where == {
        ("/paths/~1things~1{id}/post/parameters/0/example", "example"),
        ("/paths/~1things~1{id}/post/requestBody/content/application~1json/example/size", "example"),
        ("/components/examples/Bad/value/size", "example"),
        ("/components/responses/Ok/content/application~1json/example", "example"),
        ("/components/schemas/Thing/properties/size/example", "example"),
        ("/components/schemas/Thing/properties/size/default", "default"),
        ("/components/schemas/Thing/properties/tags/examples/1/0", "example"),
    }


def test_extra_example_files_are_checked_against_a_named_operation(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"key": "k", "request_id": "123"}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"key": "k", "request_id": "12a"}))
    report = lint_spec("openapi/modelslab-pony-inpaint.yaml", [f"{good}:fetchByRequestId", f"{bad}:fetchByRequestId"],
                       docs_example=False)
    assert [(c.source.endswith("bad.json"), c.pointer) for c in report.contradictions] == [(True, "/request_id")]
    with pytest.raises(ValueError, match="no operation 'nope'"):
        lint_spec("openapi/modelslab-pony-inpaint.yaml", [f"{good}:nope"], docs_example=False)


def test_unreadable_inputs_are_usage_errors(capsys, tmp_path):
    assert main(["lint", str(tmp_path / "missing.yaml")]) == 2
    assert "contracts lint:" in capsys.readouterr().err


def test_the_docs_examples_are_those_of_the_endpoints_the_spec_serves():
    family = lint_spec("openapi/modelslab.yaml")
    sources = {c.source for c in family.contradictions}
    assert sources == {DOCS, COMMUNITY, "openapi/examples/community-text2img-docs-example.json",
                       "openapi/examples/community-img2img-docs-example.json",
                       "openapi/examples/realtime-text2img-docs-example.json"}
    realtime = {c.pointer for c in family.contradictions if "realtime" in c.source}
    assert realtime == {"/width", "/height"}, "checked against the realtime operation's schema"
    assert lint_spec("openapi/modelslab.yaml", docs_example=False).ok


def test_a_spec_serving_none_of_the_docs_endpoints_lints_no_docs_example(tmp_path):
    spec = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "servers": [{"url": "https://example.com/api/v9"}],
            "paths": {"/inpaint": {"post": {"operationId": "inpaint", "requestBody": {"content": {
                "application/json": {"schema": {"type": "object", "properties": {"width": {"type": "integer"}}}}}},
                "responses": {"200": {"description": "ok"}}}}}}
    report = lint_spec(_write_spec(tmp_path, spec))
    assert report.ok and report.contradictions == []
