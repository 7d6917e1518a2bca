"""One spec per process, found from a checkout or a wheel, indexed by operation."""

from __future__ import annotations

import pytest

from contracts.core.spec import (PONY_SPEC_FILE, deref, docs_example_bytes, load_document, load_openapi, operations,
                            relative_base_path, server_base_path, spec_path)


def test_the_openapi_object_is_loaded_once_per_process():
    assert load_openapi() is load_openapi()


def test_documents_are_copies_so_callers_cannot_corrupt_the_cache():
    load_document()["paths"].clear()
    assert "/v6/images/inpaint" in load_document()["paths"]


def test_the_default_spec_is_the_image_family_served_under_api():
    document = load_document()
    ops = operations(document)
    assert len(ops) == 13 and relative_base_path(document) == server_base_path(document) == "/api"
    assert ops["v6ImagesFetchById"].flask_rule(relative_base_path(document)) == "/api/v6/images/fetch/<id>"


def test_operations_and_base_path_come_from_the_spec():
    document = load_document(PONY_SPEC_FILE)
    ops = operations(document)
    assert {(o.method, o.path) for o in ops.values()} == {("POST", "/inpaint"), ("POST", "/fetch/{id}"), ("POST", "/fetch")}
    assert ops["fetchById"].flask_rule(relative_base_path(document)) == "/api/v6/images/fetch/<id>"
    assert ops["fetchById"].path_regex.match("/fetch/123")["id"] == "123"
    assert "key" in ops["inpaint"].body_schema["properties"]


def test_upstream_spec_has_no_local_server_and_says_so():
    with pytest.raises(ValueError, match="relative server"):
        relative_base_path(load_document("upstream-pony-inpaint.yaml"))


def test_deref_inlines_refs_and_refuses_cycles():
    doc = {"a": {"$ref": "#/b"}, "b": {"type": "string"}, "c": {"$ref": "#/c"}}
    assert deref(doc["a"], doc) == {"type": "string"}
    with pytest.raises(ValueError, match="recursive"):
        deref(doc["c"], doc)


def test_paths_and_the_docs_example():
    assert spec_path().name == "modelslab.yaml" and spec_path().is_file()
    assert spec_path(PONY_SPEC_FILE).is_file()
    assert docs_example_bytes().startswith(b"{\n") and b'"width": "512"' in docs_example_bytes()
