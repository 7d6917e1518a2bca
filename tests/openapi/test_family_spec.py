"""The family spec (openapi/modelslab.yaml) keeps every upstream promise, except the fixes listed here.

Three vendor files describe parts of the family: the community-models spec, the realtime spec
(both OpenAPI 3.1 JSON from ModelsLab's docs) and the Pony inpaint page's YAML. For each of their
operations, the project operation at the same absolute URL must *contain* the upstream one, as in
tests/openapi/test_project_spec.py: every parameter, property, type, enum, default and bound present
with the same value. Lists may only grow where growing keeps the promise (``required``, ``oneOf``);
prose may only grow (the project text contains the upstream text). Before the comparison the
upstream schemas are flattened (``allOf`` members merged, as the project spec writes its bodies flat)
and the fixes below are applied; each fix says why, and a fix that no longer changes anything fails.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from contracts.core.spec import DOCS_EXAMPLES as DOCS_ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi"
PROJECT = "modelslab.yaml"
TRAFFIC = ROOT / "tests" / "fixtures" / "client-traffic"
API_ROOT = "https://modelslab.com/api"
COMMUNITY, REALTIME, PONY = "upstream-community-images.json", "upstream-realtime.json", "upstream-pony-inpaint.yaml"
BODY = "requestBody/content/application~1json/schema"
DROP = object()

# --------------------------------------------------------------------------------- loading


@functools.lru_cache(maxsize=None)
def _parsed(name: str) -> Any:
    text = (OPENAPI / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load(name: str) -> dict[str, Any]:
    """A fresh copy of a file in openapi/ (tests mutate what they get)."""
    return copy.deepcopy(_parsed(name))


def deref(node: Any, document: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Inline every local ``$ref``; sibling keywords of a ``$ref`` win over the target's (OpenAPI 3.1)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            assert ref not in seen, f"recursive $ref {ref}"
            target: Any = document
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: deref(v, document, seen) for k, v in node.items() if k != "$ref"}
            return {**deref(target, document, seen + (ref,)), **siblings}
        return {k: deref(v, document, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [deref(v, document, seen) for v in node]
    return node


def flatten(node: Any) -> Any:
    """Merge object ``allOf`` members into their parent (properties and required), everywhere."""
    if isinstance(node, list):
        return [flatten(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: flatten(v) for k, v in node.items()}
    members = node.get("allOf")
    if isinstance(members, list) and all(isinstance(m, dict) and m.get("type") == "object" for m in members):
        node.pop("allOf")
        for member in members:
            node["properties"] = {**member.get("properties", {}), **node.get("properties", {})}
            required = node.get("required", []) + [r for r in member.get("required", []) if r not in node.get("required", [])]
            if required:
                node["required"] = required
    return node


def operations(document: dict[str, Any], root: str) -> dict[str, dict[str, Any]]:
    """``"POST https://.../v6/images/text2img"`` -> the resolved, flattened operation."""
    resolved = flatten(deref(document, document))
    return {
        f"{method.upper()} {root}{path}": op
        for path, item in resolved["paths"].items()
        for method, op in item.items()
        if method in ("get", "put", "post", "delete", "patch")
    }


def server(document: dict[str, Any]) -> str:
    (url,) = [s["url"] for s in document["servers"] if s["url"].startswith("https://")]
    return url.rstrip("/")


# --------------------------------------------------------------------------------- containment

_GROWABLE_LISTS = {"required", "oneOf"}
_PROSE = {"description", "summary"}


def contained(upstream: Any, project: Any, where: str = "#") -> list[str]:
    """Every way ``project`` fails to contain ``upstream`` (empty when it does)."""
    if isinstance(upstream, dict):
        if not isinstance(project, dict):
            return [f"{where}: expected an object"]
        problems: list[str] = []
        for key, value in upstream.items():
            if key not in project:
                problems.append(f"{where}/{key}: missing")
            elif key in _PROSE and isinstance(value, str) and isinstance(project[key], str):
                if value not in project[key]:
                    problems.append(f"{where}/{key}: upstream text {value!r:.60} is not kept")
            else:
                problems += contained(value, project[key], f"{where}/{key}")
        return problems
    if isinstance(upstream, list):
        if not isinstance(project, list):
            return [f"{where}: expected a list"]
        if where.rsplit("/", 1)[-1] in _GROWABLE_LISTS:
            return [f"{where}: upstream item {item!r:.80} has no counterpart"
                    for item in upstream if not any(not contained(item, candidate) for candidate in project)]
        if len(upstream) != len(project):
            return [f"{where}: {upstream!r:.80} became {project!r:.80}"]
        return [p for i, (u, v) in enumerate(zip(upstream, project)) for p in contained(u, v, f"{where}/{i}")]
    same = upstream == project and type(upstream) is type(project)
    return [] if same else [f"{where}: {upstream!r} became {project!r}"]


# --------------------------------------------------------------------------------- the fixes


@dataclass(frozen=True)
class Fix:
    """In ``file``, for the operations matching ``ops`` (a regex on ``"POST /path"``), at ``at`` (a pointer
    inside the operation), set each key of ``change`` (``DROP`` removes it); ``why`` is the reason."""

    file: str
    ops: str
    at: str
    change: dict[str, Any]
    why: str


FLAG = ["string", "boolean"]
FLAG_ENUM = ["yes", "no", True, False]
URI_OR_BASE64 = {"format": DROP}  # the format moves into ImageInput's anyOf (URL or base64)
_FLAG_WHY = ("on/off options: the community and realtime specs type them boolean, the Pony page, the docs' examples, "
             "modelslab-py and the JS SDK send \"yes\"/\"no\"; both are accepted (components/schemas/YesNoFlag)")
_NULL_WHY = "the docs' examples and the modelslab 0.2 package send null for optional fields they do not set"
_B64_WHY = ("input images may be base64 (the community spec's own `base64` description; modelslab-py's "
            "image_to_base64 sends raw base64): components/schemas/ImageInput is a URL or base64")
_ALL_GEN = r"POST /(text2img|img2img|inpaint)$"
_RT_GEN = r"POST /realtime/(text2img|img2img|inpaint)$"

FIXES: list[Fix] = [
    # -- community spec: contradictions and what its clients send
    Fix(COMMUNITY, _ALL_GEN, f"{BODY}/properties/enhance_prompt", {"type": FLAG, "enum": FLAG_ENUM},
        "`type: boolean` with `default: \"yes\"` contradicts itself; " + _FLAG_WHY),
    *[Fix(COMMUNITY, _ALL_GEN, f"{BODY}/properties/{name}", {"type": FLAG, "enum": FLAG_ENUM}, _FLAG_WHY)
      for name in ("safety_checker", "use_karras_sigmas", "base64", "temp")],
    *[Fix(COMMUNITY, r"POST /text2img$", f"{BODY}/properties/{name}", {"type": FLAG, "enum": FLAG_ENUM}, _FLAG_WHY)
      for name in ("multi_lingual", "upscale", "highres_fix")],
    Fix(COMMUNITY, _ALL_GEN, f"{BODY}/properties/num_inference_steps", {"maximum": DROP},
        "`maximum: 20` with `default: 31`; its own description says larger values are capped at 20, not refused, and "
        "the clients send 30/31: the cap is `x-mock-clamp.maximum: 20`"),
    Fix(COMMUNITY, _ALL_GEN, f"{BODY}/properties/lora_strength", {"type": ["number", "string", "null"]},
        "`type: integer` cannot hold 0.1-1 nor a comma-separated list; modelslab-py and the JS SDK send a float, "
        "the docs \"1.0\", the modelslab 0.2 package null"),
    Fix(COMMUNITY, _ALL_GEN, f"{BODY}/properties/vae", {"type": ["string", "null"]},
        "`nullable: true` is OpenAPI 3.0 and means nothing in 3.1; the null type says it (kept alongside)"),
    *[Fix(COMMUNITY, _ALL_GEN, f"{BODY}/properties/{name}", {"type": ["string", "null"]}, _NULL_WHY)
      for name in ("negative_prompt", "webhook", "track_id", "lora_model")],
    Fix(COMMUNITY, r"POST /(img2img|inpaint)$", f"{BODY}/properties/prompt", {"type": ["string", "null"]}, _NULL_WHY),
    Fix(COMMUNITY, _ALL_GEN, f"{BODY}/properties/algorithm_type", {"enum": ["none", "dpmsolver+++", "sde-dpmsolver++"]},
        "the Pony pages document `sde-dpmsolver++` for the same endpoints"),
    Fix(COMMUNITY, r"POST /(img2img|inpaint)$", f"{BODY}/properties/init_image", URI_OR_BASE64, _B64_WHY),
    Fix(COMMUNITY, r"POST /inpaint$", f"{BODY}/properties/mask_image", URI_OR_BASE64, _B64_WHY),
    # the same endpoint as the Pony YAML: its bounds and defaults win (the project started from it)
    Fix(COMMUNITY, r"POST /inpaint$", f"{BODY}/properties/clip_skip", {"maximum": 4},
        "the Pony YAML (the same endpoint) says 4; where the two files disagree the Pony YAML wins"),
    Fix(COMMUNITY, r"POST /inpaint$", f"{BODY}/properties/safety_checker", {"default": "yes"},
        "the Pony YAML (the same endpoint) says \"yes\"; where the two files disagree the Pony YAML wins"),
    Fix(COMMUNITY, r"POST /inpaint$", f"{BODY}/properties/use_karras_sigmas", {"default": "yes"},
        "the Pony YAML (the same endpoint) says \"yes\" (the community spec's `true`, the same meaning)"),
    Fix(COMMUNITY, r"POST /inpaint$", f"{BODY}/properties/algorithm_type", {"default": "sde-dpmsolver++"},
        "the Pony YAML (the same endpoint) says `sde-dpmsolver++`; where the two files disagree the Pony YAML wins"),
    Fix(COMMUNITY, r"POST /fetch$", f"{BODY}/properties/request_id", {"type": DROP},
        "clients send the request id as the string or as the integer `id` they were given: a oneOf of both"),
    # -- realtime spec
    *[Fix(REALTIME, _RT_GEN, f"{BODY}/properties/{name}", {"type": FLAG, "enum": FLAG_ENUM}, _FLAG_WHY)
      for name in ("safety_checker", "instant_response", "base64")],
    *[Fix(REALTIME, _RT_GEN, f"{BODY}/properties/{name}", {"type": ["string", "null"]}, _NULL_WHY)
      for name in ("negative_prompt", "webhook", "track_id")],
    Fix(REALTIME, r"POST /realtime/(img2img|inpaint)$", f"{BODY}/properties/init_image", URI_OR_BASE64, _B64_WHY),
    Fix(REALTIME, r"POST /realtime/inpaint$", f"{BODY}/properties/mask_image", URI_OR_BASE64, _B64_WHY),
    # -- Pony YAML
    *[Fix(PONY, r"POST /inpaint$", f"{BODY}/properties/{name}", {"type": FLAG, "enum": FLAG_ENUM}, _FLAG_WHY)
      for name in ("use_karras_sigmas", "safety_checker")],
    *[Fix(PONY, r"POST /inpaint$", f"{BODY}/properties/{name}", {"type": ["string", "null"]}, _NULL_WHY)
      for name in ("negative_prompt", "webhook", "track_id", "prompt")],
    Fix(PONY, r"POST /inpaint$", f"{BODY}/properties/algorithm_type", {"enum": ["none", "dpmsolver+++", "sde-dpmsolver++"]},
        "the community spec's enum for the same endpoint, which the Pony default is added to"),
    Fix(PONY, r"POST /inpaint$", f"{BODY}/properties/init_image", URI_OR_BASE64, _B64_WHY),
    Fix(PONY, r"POST /inpaint$", f"{BODY}/properties/mask_image", URI_OR_BASE64, _B64_WHY),
]

# upstream operations the family spec does not serve, and why
OMITTED = {
    (COMMUNITY, "POST /model_reload"): "reloading an idle model is account management, not image generation; no "
                                        "client of the image family needs it (#10 lists the served endpoints)",
}


def _pointer(node: Any, pointer: str) -> Any:
    for part in pointer.split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(part.replace("~1", "/").replace("~0", "~"))
    return node


def apply_fixes(file: str, path: str, op: dict[str, Any], fixes: list[Fix] = FIXES) -> tuple[dict[str, Any], set[int]]:
    """The upstream operation with this file's fixes applied, and the indexes of the fixes that changed it."""
    op = copy.deepcopy(op)
    used: set[int] = set()
    for index, fix in enumerate(fixes):
        if fix.file != file or not re.search(fix.ops, path):
            continue
        node = _pointer(op, fix.at)
        if not isinstance(node, dict):
            continue
        for key, value in fix.change.items():
            if value is DROP:
                if key in node:
                    node.pop(key)
                    used.add(index)
            elif node.get(key, DROP) != value:
                node[key] = value
                used.add(index)
    return op, used


# --------------------------------------------------------------------------------- tests: upstream promises

UPSTREAM_FILES = [COMMUNITY, REALTIME, PONY]


def _project_ops() -> dict[str, dict[str, Any]]:
    return operations(load(PROJECT), API_ROOT)


def _upstream_ops(file: str) -> dict[str, dict[str, Any]]:
    document = load(file)
    return operations(document, server(document))


def containment_problems(file: str, project_ops: dict[str, dict[str, Any]], fixes: list[Fix] = FIXES) -> list[str]:
    document = load(file)
    root = server(document)
    problems: list[str] = []
    for key, op in _upstream_ops(file).items():
        method, url = key.split(" ", 1)
        short = f"{method} {url.removeprefix(root)}"
        if (file, short) in OMITTED:
            continue
        if key not in project_ops:
            problems.append(f"{key}: missing from {PROJECT}")
            continue
        fixed, _ = apply_fixes(file, short, op, fixes)
        problems += contained(fixed, project_ops[key], f"{short}")
    return problems


@pytest.mark.parametrize("file", UPSTREAM_FILES)
def test_every_upstream_operation_property_default_and_bound_is_kept(file):
    assert containment_problems(file, _project_ops()) == []


@pytest.mark.parametrize("file", UPSTREAM_FILES)
def test_the_project_servers_reach_every_upstream_server(file):
    project_urls = [s["url"] for s in load(PROJECT)["servers"]]
    assert API_ROOT in project_urls and "/api" in project_urls
    assert server(load(file)).startswith(API_ROOT + "/")


def test_every_fix_still_changes_something_and_says_why():
    used: set[int] = set()
    for file in UPSTREAM_FILES:
        root = server(load(file))
        for key, op in _upstream_ops(file).items():
            method, url = key.split(" ", 1)
            used |= apply_fixes(file, f"{method} {url.removeprefix(root)}", op)[1]
    stale = [f"{FIXES[i].file} {FIXES[i].ops} {FIXES[i].at}" for i in range(len(FIXES)) if i not in used]
    assert stale == [], "fixes that no longer change the upstream file"
    assert all(len(fix.why) > 30 for fix in FIXES)
    for (file, op), why in OMITTED.items():
        assert f"{op.split()[0]} {server(load(file))}{op.split()[1]}" in _upstream_ops(file) and len(why) > 30


@pytest.mark.parametrize(
    "mutate, file, expected",
    [
        (lambda d: d["components"]["schemas"]["TextToImageRequest"]["properties"]["width"].update(default=768),
         COMMUNITY, "width/default: 512 became 768"),
        (lambda d: d["components"]["schemas"]["InpaintingRequest"]["properties"].pop("strength"), PONY,
         "strength: missing"),
        (lambda d: d["components"]["schemas"]["ImageToImageRequest"]["required"].remove("init_image"), COMMUNITY,
         "required: upstream item 'init_image'"),
        (lambda d: d["components"]["schemas"]["TextToImageRequest"]["properties"]["guidance_scale"].update(maximum=30),
         COMMUNITY, "guidance_scale/maximum: 20 became 30"),
        (lambda d: d["components"]["schemas"]["RealtimeTextToImageRequest"]["properties"]["samples"].update(maximum=8),
         REALTIME, "samples/maximum: 4 became 8"),
        (lambda d: d["components"]["schemas"]["SchedulerEnum"]["enum"].pop(), COMMUNITY, "scheduler/enum"),
        (lambda d: d["components"]["schemas"]["InpaintingRequest"]["properties"]["clip_skip"].update(maximum=8),
         PONY, "clip_skip/maximum: 4 became 8"),
        (lambda d: d["paths"].pop("/v6/realtime/fetch/{id}"), REALTIME, "realtime/fetch/{id}: missing"),
        (lambda d: d["components"]["schemas"]["RealtimeImageGenerationSuccessResponse"]["properties"].pop("proxy_links"),
         REALTIME, "oneOf: upstream item {'type': 'object', 'properties': {'status': {'type': 'string', 'enum': ['success"),
        (lambda d: d["paths"]["/v6/images/img2img"]["post"].update(summary="Image to image"), COMMUNITY,
         "summary: upstream text"),
    ],
)
def test_the_containment_check_catches_a_changed_promise(mutate, file, expected):
    project = copy.deepcopy(load(PROJECT))
    mutate(project)
    problems = containment_problems(file, operations(project, API_ROOT))
    assert any(expected in p for p in problems), problems


def test_a_fix_only_excuses_what_it_names():
    without_steps_fix = [f for f in FIXES if not f.at.endswith("/num_inference_steps")]
    problems = containment_problems(COMMUNITY, _project_ops(), without_steps_fix)
    assert len([p for p in problems if "num_inference_steps/maximum: missing" in p]) == 3, problems


# --------------------------------------------------------------------------------- tests: the spec itself

EXPECTED_OPERATIONS = {
    ("/v6/images/text2img", "v6ImagesText2img"), ("/v6/images/img2img", "v6ImagesImg2img"),
    ("/v6/images/inpaint", "v6ImagesInpaint"), ("/v6/images/fetch", "v6ImagesFetch"),
    ("/v6/images/fetch/{id}", "v6ImagesFetchById"),
    ("/v6/realtime/text2img", "v6RealtimeText2img"), ("/v6/realtime/img2img", "v6RealtimeImg2img"),
    ("/v6/realtime/inpaint", "v6RealtimeInpaint"), ("/v6/realtime/fetch/{id}", "v6RealtimeFetchById"),
    ("/v7/images/text-to-image", "v7ImagesTextToImage"), ("/v7/images/image-to-image", "v7ImagesImageToImage"),
    ("/v7/images/inpaint", "v7ImagesInpaint"), ("/v7/images/fetch/{id}", "v7ImagesFetchById"),
}


def test_the_spec_is_a_valid_openapi_31_document():
    document = load(PROJECT)
    validate_spec(document)
    assert document["openapi"] == "3.1.0"
    OpenAPI.from_dict(document)  # openapi-core reads it as well


def test_every_endpoint_of_the_family_is_there_once_and_posts_json():
    document = load(PROJECT)
    found = {(path, op["operationId"]) for path, item in document["paths"].items() for op in item.values()}
    assert found == EXPECTED_OPERATIONS
    assert all(list(item) == ["post"] for item in document["paths"].values())
    assert [s["url"] for s in document["servers"]] == ["https://modelslab.com/api", "/api"]


BEHAVIOUR_SCHEMA = {
    "oneOf": [
        {"type": "object", "additionalProperties": False,
         "required": ["kind", "family", "render", "images", "fetch", "model"],
         "properties": {"kind": {"const": "generate"}, "family": {"enum": ["community", "realtime", "v7"]},
                        "render": {"enum": ["text2img", "img2img", "inpaint"]},
                        "images": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                        "fetch": {"type": "string"}, "model": {"enum": ["required", "none"]}}},
        {"type": "object", "additionalProperties": False, "required": ["kind", "family", "id"],
         "properties": {"kind": {"const": "fetch"}, "family": {"enum": ["community", "realtime", "v7"]},
                        "id": {"type": "object", "additionalProperties": False, "required": ["in", "name"],
                               "properties": {"in": {"enum": ["path", "body"]}, "name": {"type": "string"}}}}},
    ]
}
IMAGES_BY_RENDER = {"text2img": [], "img2img": ["init_image"], "inpaint": ["init_image", "mask_image"]}


def _ops(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {op["operationId"]: (path, op) for path, item in document["paths"].items() for op in item.values()}


def behaviour_problems(document: dict[str, Any]) -> list[str]:
    """Every way an operation's x-mock-behaviour is malformed or disagrees with the operation."""
    problems: list[str] = []
    ops = _ops(document)
    resolved = deref(document, document)
    for op_id, (path, op) in ops.items():
        behaviour = op.get("x-mock-behaviour")
        errors = [e.message for e in Draft202012Validator(BEHAVIOUR_SCHEMA).iter_errors(behaviour)]
        if errors:
            problems.append(f"{op_id}: {errors}")
            continue
        body = _pointer(resolved["paths"][path]["post"], BODY)
        props, required = body.get("properties", {}), body.get("required", [])
        if behaviour["kind"] == "generate":
            if behaviour["images"] != IMAGES_BY_RENDER[behaviour["render"]]:
                problems.append(f"{op_id}: images {behaviour['images']} for render {behaviour['render']}")
            problems += [f"{op_id}: image field {f} is not a required body property"
                         for f in behaviour["images"] if f not in props or f not in required]
            target = ops.get(behaviour["fetch"])
            if target is None or target[1]["x-mock-behaviour"] != {
                    "kind": "fetch", "family": behaviour["family"], "id": {"in": "path", "name": "id"}}:
                problems.append(f"{op_id}: fetch {behaviour['fetch']} is not a fetch by path id of its family")
            has_model = "model_id" in props
            if (behaviour["model"] == "required") != ("model_id" in required) or (behaviour["model"] == "none") == has_model:
                problems.append(f"{op_id}: model {behaviour['model']} but model_id is "
                                f"{'required' if 'model_id' in required else 'optional' if has_model else 'absent'}")
            link = op["responses"]["200"]["links"]["FetchById"]
            if link["operationId"] != behaviour["fetch"]:
                problems.append(f"{op_id}: the FetchById link points to {link['operationId']}")
        else:
            where, name = behaviour["id"]["in"], behaviour["id"]["name"]
            if where == "path" and (f"{{{name}}}" not in path
                                    or not any(p["name"] == name and p["in"] == "path" for p in op.get("parameters", []))):
                problems.append(f"{op_id}: no path parameter {name}")
            if where == "body" and (name not in props or name not in required):
                problems.append(f"{op_id}: no required body field {name}")
    families = {(b.get("kind"), b.get("family")) for _, op in ops.values()
                for b in [op.get("x-mock-behaviour")] if isinstance(b, dict)}
    problems += [f"family {f} has no {k} operation" for f in ("community", "realtime", "v7")
                 for k in ("generate", "fetch") if (k, f) not in families]
    return problems


def test_every_operation_declares_a_behaviour_the_engine_can_use():
    assert behaviour_problems(load(PROJECT)) == []


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["paths"]["/v6/images/img2img"]["post"].pop("x-mock-behaviour"), "v6ImagesImg2img: "),
    (lambda d: d["paths"]["/v6/images/img2img"]["post"]["x-mock-behaviour"].update(images=[]), "images []"),
    (lambda d: d["paths"]["/v6/realtime/inpaint"]["post"]["x-mock-behaviour"].update(fetch="v6ImagesFetchById"),
     "is not a fetch by path id of its family"),
    (lambda d: d["paths"]["/v6/realtime/text2img"]["post"]["x-mock-behaviour"].update(model="required"),
     "model required but model_id is absent"),
    (lambda d: d["paths"]["/v6/images/fetch"]["post"]["x-mock-behaviour"]["id"].update(name="id"),
     "no required body field id"),
    (lambda d: d["paths"]["/v7/images/inpaint"]["post"]["x-mock-behaviour"].update(render="paint"), "v7ImagesInpaint"),
])
def test_the_behaviour_check_catches_a_wrong_declaration(mutate, expected):
    document = copy.deepcopy(load(PROJECT))
    mutate(document)
    problems = behaviour_problems(document)
    assert any(expected in p for p in problems), problems


def test_operation_ids_are_unique_camel_case():
    ids = [op["operationId"] for item in load(PROJECT)["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"v[67][A-Z][A-Za-z0-9]+", i) for i in ids), ids


def test_every_200_variant_requires_status_and_field_errors_come_before_string_errors():
    schemas = load(PROJECT)["components"]["schemas"]
    for name in ("ImageGenerationResponse", "RealtimeImageGenerationResponse"):
        branches = [b["$ref"].rsplit("/", 1)[-1] for b in schemas[name]["oneOf"]]
        assert branches.index("ImageGenerationFieldErrorResponse") < branches.index("ImageGenerationErrorResponse")
        assert "ImageGenerationFailedResponse" in branches
        for branch in branches:
            assert "status" in schemas[branch]["required"], branch
    mock_errors = load(PROJECT)["components"]["responses"]["MockErrorResponse"]["content"]["application/json"]["schema"]
    assert [b["$ref"].rsplit("/", 1)[-1] for b in mock_errors["oneOf"]] == [
        "ImageGenerationFieldErrorResponse", "ImageGenerationErrorResponse"]


def test_realtime_keeps_its_own_shapes():
    document = load(PROJECT)
    schemas = document["components"]["schemas"]
    assert not {"webhook_status", "tip"} & set(schemas["RealtimeImageGenerationSuccessResponse"]["properties"])
    assert not {"tip_1", "webhook_status"} & set(schemas["RealtimeImageGenerationProcessingResponse"]["properties"])
    for name in ("RealtimeTextToImageRequest", "RealtimeImageToImageRequest", "RealtimeInpaintRequest"):
        assert "model_id" not in schemas[name]["properties"] and "instant_response" in schemas[name]["properties"]
    for path in ("/v6/realtime/text2img", "/v6/realtime/img2img", "/v6/realtime/inpaint"):
        examples = document["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["examples"]
        assert not {"webhook_status", "tip"} & set(examples["success"]["value"])
        assert "/api/v6/realtime/fetch/" in examples["processing"]["value"]["fetch_result"]


def test_v7_says_what_is_inferred():
    document = load(PROJECT)
    for path, item in document["paths"].items():
        if path.startswith("/v7/"):
            assert item["post"]["description"].startswith("Inferred"), path
    for name in ("V7TextToImageRequest", "V7ImageToImageRequest", "V7InpaintRequest"):
        assert document["components"]["schemas"][name]["description"].startswith("Inferred"), name


def test_the_key_may_also_come_in_a_key_header_or_as_a_bearer_token():
    document = load(PROJECT)
    schemes = document["components"]["securitySchemes"]
    assert schemes["keyHeader"] == {**schemes["keyHeader"], "type": "apiKey", "in": "header", "name": "key"}
    assert schemes["bearerKey"]["scheme"] == "bearer"
    assert document["security"][0] == {}, "the body key alone must still be enough"


def test_the_queue_limit_error_and_its_headers_are_declared():
    document = load(PROJECT)
    limit = document["components"]["responses"]["RateLimitResponse"]
    assert set(limit["headers"]) == {"Retry-After", "X-RateLimit-Reset"}
    body = limit["content"]["application/json"]["examples"]["queue_limit"]["value"]
    assert body == {"status": "error", "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
                    "retry_after": 30}
    for path, item in document["paths"].items():
        assert item["post"]["responses"]["429"] == {"$ref": "#/components/responses/RateLimitResponse"}, path


def _schema_nodes(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if "default" in node and ("type" in node or "enum" in node):
            found.append((where, node))
        for key, value in node.items():
            found += _schema_nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _schema_nodes(value, f"{where}/{index}")
    return found


def test_every_example_and_default_satisfies_its_own_schema():
    document = load(PROJECT)
    resolved = deref(document, document)
    problems = []
    for path, item in resolved["paths"].items():
        for code, response in item["post"]["responses"].items():
            media = response.get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                errors = list(OAS31Validator(media["schema"]).iter_errors(example["value"]))
                problems += [f"{path} {code} {name}: {e.message}" for e in errors]
    for where, schema in _schema_nodes(resolved["components"]["schemas"]):
        problems += [f"{where}/default: {e.message}" for e in OAS31Validator(schema).iter_errors(schema["default"])]
    assert problems == []


def test_every_clamp_is_a_positive_cap_on_an_integer():
    resolved = deref(load(PROJECT), load(PROJECT))
    clamps = [(w, n) for w, n in _walk(resolved["components"]["schemas"]) if "x-mock-clamp" in n]
    assert {w.rsplit("/", 1)[-1] for w, _ in clamps} == {"num_inference_steps", "steps"}
    for where, node in clamps:
        assert node["type"] == "integer" and "maximum" not in node, where
        assert set(node["x-mock-clamp"]) == {"maximum"} and node["x-mock-clamp"]["maximum"] >= node["minimum"]


def _walk(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((where, node))
        for key, value in node.items():
            found += _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _walk(value, f"{where}/{index}")
    return found


# --------------------------------------------------------------------------------- tests: real clients' traffic

def _traffic() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for file in sorted(TRAFFIC.glob("*.json")):
        for record in json.loads(file.read_text(encoding="utf-8"))["requests"]:
            if record.get("method") == "POST" and record["path"].startswith("/api/"):
                cases.append((f"{file.stem}: {record['flow']} {record['path']}", record))
    return cases


TRAFFIC_CASES = _traffic()
# captured requests the spec rejects on purpose: (fixture stem, flow, path) -> what openapi-core must say
EXPECTED_INVALID: dict[tuple[str, str, str], str] = {
    ("modelslab-cli", "cli: generate image (no --model)", "/api/v7/images/text-to-image"): "'model_id' is a required property",
    ("modelslab-cli", "cli: generate image, answered with an error", "/api/v7/images/fetch/"): "does not match",
}


@pytest.fixture(scope="module")
def project_openapi() -> OpenAPI:
    return OpenAPI.from_dict(load(PROJECT))


def _validate(api: OpenAPI, record: dict[str, Any]) -> str:
    request = MockRequest("http://127.0.0.1:4010", "post", record["path"], headers=record["headers"],
                          data=json.dumps(record["body"]).encode())
    try:
        api.validate_request(request)
    except Exception as exc:  # openapi-core's errors chain the schema errors as their cause
        return f"{type(exc).__name__}: {exc} {exc.__cause__ or ''}"
    return ""


def test_the_traffic_fixtures_cover_every_client_and_endpoint():
    clients = {name.split(":")[0] for name, _ in TRAFFIC_CASES}
    assert clients == {"modelslab-cli", "modelslab-js", "modelslab-old", "modelslab-py"}
    called = {re.sub(r"/\d+$", "/{id}", record["path"]).removeprefix("/api") for _, record in TRAFFIC_CASES}
    # every endpoint of the family is called by some official client
    assert {path for path, _ in EXPECTED_OPERATIONS} - called == set()


@pytest.mark.parametrize("name, record", TRAFFIC_CASES, ids=[n for n, _ in TRAFFIC_CASES])
def test_what_the_official_clients_send_is_valid(project_openapi, name, record):
    error = _validate(project_openapi, record)
    key = (name.split(":")[0], record["flow"], record["path"])
    if key in EXPECTED_INVALID:
        assert EXPECTED_INVALID[key] in error
    else:
        assert error == ""


def test_the_traffic_check_can_fail(project_openapi):
    name, record = next(c for c in TRAFFIC_CASES if c[1]["path"] == "/api/v6/images/text2img")
    assert _validate(project_openapi, record) == ""
    bad = copy.deepcopy(record)
    bad["body"]["samples"] = 9
    assert "samples" in _validate(project_openapi, bad) or "maximum" in _validate(project_openapi, bad)
    bad = copy.deepcopy(record)
    bad["body"]["made_up_field"] = 1
    assert "made_up_field" in _validate(project_openapi, bad)


def test_the_fixtures_hold_only_the_fake_key():
    for file in TRAFFIC.glob("*.json"):
        text = file.read_text(encoding="utf-8")
        key = json.loads(text)["key"]
        assert key.startswith("sk-test-")
        assert not re.search(r"sk-(?!test-)", text), file.name
        assert set(re.findall(r"sk-test-[A-Za-z0-9]+", text)) == {key}, file.name


def test_what_each_client_puts_where():
    """The facts the engine must honour, read back from the captures (docs/clients.md says the same)."""
    records = {name.split(":")[0]: [] for name, _ in TRAFFIC_CASES}
    for name, record in TRAFFIC_CASES:
        records[name.split(":")[0]].append(record)
    cli = records["modelslab-cli"]
    assert all(r["headers"].get("key") == r["body"]["key"] for r in cli), "the CLI sends the key in both places"
    assert all(r["headers"]["authorization"] == "Bearer " + r["body"]["key"] for r in records["modelslab-js"])
    assert all(r["headers"].get("x-requested-with") == "modelslab-py" for r in records["modelslab-py"])
    old = next(r for r in records["modelslab-old"] if r["path"].endswith("/text2img"))
    assert old["body"]["negative_prompt"] is None and old["body"]["lora_strength"] is None
    py = next(r for r in records["modelslab-py"] if r["path"].endswith("/images/text2img"))
    assert isinstance(py["body"]["lora_strength"], float) and "num_inference_steps" in py["body"]
    assert any(r["path"] == "/api/v6/images/fetch" and "request_id" in r["body"] for r in records["modelslab-old"])


# --------------------------------------------------------------------------------- tests: the docs' example bodies

#: Each docs example by file name, with its path in this spec (the spec's server is /api).
DOCS_EXAMPLES = {name.rpartition("/")[2]: endpoint.removeprefix("/api") for name, endpoint in DOCS_ENDPOINTS.items()}
_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")


def _numbers_read(body: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The body with numbers sent as strings read as numbers, for fields typed integer/number (compat mode)."""
    out = dict(body)
    for name, value in body.items():
        kind = properties.get(name, {}).get("type")
        if isinstance(value, str) and _NUMERIC.match(value) and kind in ("integer", "number"):
            out[name] = int(value) if kind == "integer" else float(value)
    return out


@pytest.mark.parametrize("name, path", sorted(DOCS_EXAMPLES.items()))
def test_the_docs_example_bodies_are_valid_once_numbers_sent_as_strings_are_read(name, path):
    """Strict mode still names `"width": "512"` (the docs' habit); nothing else in the docs' bodies is refused."""
    document = load(PROJECT)
    schema = _pointer(deref(document, document)["paths"][path]["post"], BODY)
    body = json.loads((OPENAPI / "examples" / name).read_text(encoding="utf-8"))
    strict = {tuple(e.path) for e in OAS31Validator(schema).iter_errors(body)}
    assert strict and all(isinstance(body[field], str) and _NUMERIC.match(body[field]) for (field,) in strict)
    assert list(OAS31Validator(schema).iter_errors(_numbers_read(body, schema["properties"]))) == []
