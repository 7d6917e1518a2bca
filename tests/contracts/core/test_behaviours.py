"""Which operations generate and which fetch, read from x-mock-behaviour (never from operationIds)."""

from __future__ import annotations

import pytest

from contracts.core.behaviours import spec_behaviours

FAMILY = "modelslab.yaml"
PETSTORE = """\
openapi: 3.1.0
info: {title: pets, version: "1"}
servers: [{url: /v1}]
paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object}}}}}
  /pets:
    post:
      operationId: addPet
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses: {"201": {description: made}}
"""


def test_the_pony_spec_declares_one_generate_and_both_fetch_forms():
    index = spec_behaviours("modelslab-pony-inpaint.yaml")
    assert list(index.generate) == ["inpaint"] and not index.foreign
    assert {(f.operation_id, f.id_in, f.id_name) for f in index.fetch.values()} == {
        ("fetchById", "path", "id"), ("fetchByRequestId", "body", "request_id")}
    assert index.generate["inpaint"].images == ("init_image", "mask_image")


def test_the_family_spec_declares_every_generate_and_fetch_operation():
    index = spec_behaviours(FAMILY)
    assert len(index.generate) == 9 and len(index.fetch) == 4
    renders = {(g.family, g.render) for g in index.generate.values()}
    assert renders == {(f, r) for f in ("community", "realtime", "v7") for r in ("text2img", "img2img", "inpaint")}
    for generate in index.generate.values():
        assert set(generate.images) == {"text2img": set(), "img2img": {"init_image"},
                                        "inpaint": {"init_image", "mask_image"}}[generate.render]
        assert generate.model_required is (generate.family != "realtime")
        link = index.fetch_link(generate.family, generate.operation_id)
        assert link is not None and link.family == generate.family and link.id_in == "path"
    assert [f.id_in for f in index.fetches_of("community")] == ["path", "body"]


@pytest.mark.parametrize("url, found", [
    ("http://localhost:4010/api/v6/images/fetch/42", ("v6ImagesFetchById", {"id": "42"})),
    ("https://modelslab.com/api/v6/images/fetch", ("v6ImagesFetch", {})),
    ("http://127.0.0.1/api/v6/realtime/fetch/7?x=1", ("v6RealtimeFetchById", {"id": "7"})),
    ("http://127.0.0.1/api/v7/images/text-to-image", ("v7ImagesTextToImage", {})),
    ("http://127.0.0.1/api/v6/images/nope", ("", {})),
])
def test_urls_map_to_their_operation(url, found):
    assert spec_behaviours(FAMILY).operation_for("POST", url) == found


def test_a_spec_without_the_extension_is_foreign(tmp_path):
    path = tmp_path / "pets.yaml"
    path.write_text(PETSTORE)
    index = spec_behaviours(str(path))
    assert index.foreign and index.base_path == "/v1"
    assert index.operation_for("GET", "http://h/v1/pets/3") == ("getPet", {"id": "3"})
    assert index.kind("addPet") is None and index.family("addPet") is None
