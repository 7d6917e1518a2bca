"""The vendor's OpenAPI files are kept verbatim in openapi/ (names containing "upstream").

They are the yardstick the project spec is measured against (tests/openapi/test_family_spec.py), so
they must be the vendor's bytes, not an edited copy: a fix goes into the project spec, with a reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from contracts.core.spec import spec_dir

ROOT = Path(__file__).resolve().parents[2]
# shared/ sits beside the checkout (beside /work/main, and beside CI's clone); a worktree is one level deeper
VENDOR_DOCS = next((d / "shared" / "vendor-docs" for d in (ROOT.parent, ROOT.parent.parent)
                    if (d / "shared" / "vendor-docs").is_dir()), ROOT.parent / "shared" / "vendor-docs")
UPSTREAM_COPIES = {
    "upstream-community-images.json": "image-generation_community-models_openapi.json",
    "upstream-realtime.json": "image-generation_realtime-stable-diffusion_openapi.json",
}
# the example request bodies of the vendor's pages (the first ```json block of each page), verbatim
DOCS_EXAMPLE_PAGES = {
    "community-text2img-docs-example.json": "image-generation_community-models_dreambooth-text-to-image.mdx",
    "community-img2img-docs-example.json": "image-generation_community-models_dreambooth-image-to-image.mdx",
    "community-inpaint-docs-example.json": "image-generation_community-models_dreambooth-inpainting.mdx",
    "realtime-text2img-docs-example.json": "image-generation_realtime-stable-diffusion_text-to-image.mdx",
}


@pytest.mark.parametrize("name", sorted(UPSTREAM_COPIES))
def test_upstream_file_is_the_vendor_file_byte_for_byte(name):
    source = VENDOR_DOCS / UPSTREAM_COPIES[name]
    if not source.is_file():
        pytest.skip(f"vendor docs not available at {source} (they live in the team's shared/ folder)")
    assert (spec_dir() / name).read_bytes() == source.read_bytes()


@pytest.mark.parametrize("name, server, paths", [
    ("upstream-community-images.json", "https://modelslab.com/api/v6/images",
     {"/fetch", "/img2img", "/inpaint", "/text2img", "/model_reload"}),
    ("upstream-realtime.json", "https://modelslab.com/api/v6",
     {"/realtime/inpaint", "/realtime/img2img", "/realtime/fetch/{id}", "/realtime/text2img"}),
])
def test_upstream_files_are_the_documented_openapi_31_files(name, server, paths):
    document = json.loads((spec_dir() / name).read_text(encoding="utf-8"))
    assert document["openapi"] == "3.1.0"
    assert [s["url"] for s in document["servers"]] == [server]
    assert set(document["paths"]) == paths


@pytest.mark.parametrize("name", sorted(DOCS_EXAMPLE_PAGES))
def test_docs_example_bodies_are_the_pages_json_verbatim(name):
    page = VENDOR_DOCS / DOCS_EXAMPLE_PAGES[name]
    if not page.is_file():
        pytest.skip(f"vendor docs not available at {page} (they live in the team's shared/ folder)")
    block = re.search(r"^```json[^\n]*\n(.*?)\n```", page.read_text(encoding="utf-8"), re.S | re.M)
    assert block is not None
    assert (spec_dir() / "examples" / name).read_text(encoding="utf-8") == block.group(1) + "\n"
    assert isinstance(json.loads(block.group(1)), dict)
