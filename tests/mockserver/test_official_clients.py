"""The official ModelsLab clients, unmodified, against the mock (installed by the test extra):

- modelslab-py 0.2.3: ``Community`` and ``Realtime``, sync and async, answered at once and through
  their own ``fetch()`` (queued jobs: the key table queues them, the SDK polls or the clock moves);
- the official CLI (the Go binary of modelslab-cli 0.2.2): ``generate image``, ``image-to-image`` and
  ``inpaint`` with ``--base-url`` against ``mockserver run``, polling to the end and downloading PNGs
  of the asked size; a model it does not send, a queue it must wait out (HTTP 429 + X-RateLimit-Reset);
- the older ``modelslab`` 0.2 package (nulls for what is not set, ``steps`` on inpaint).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from mockserver.config import KeyRule
from tests.live_mock import mock_process

DOCS_INIT = "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo.png"
DOCS_MASK = DOCS_INIT.replace(".png", "_mask.png")
CLI = Path(sys.executable).with_name("modelslab")


def sdk(server_url: str, key: str, **client_args):
    from modelslab_py.core.apis.community import Community
    from modelslab_py.core.apis.realtime import Realtime
    from modelslab_py.core.client import Client

    client = Client(api_key=key, **client_args)
    client.base_url = f"{server_url}/api/"
    return client, Community(client), Realtime(client)


def image_at(url: str) -> Image.Image:
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png", answer.text[:200]
    return Image.open(io.BytesIO(answer.content))


def schemas():
    from modelslab_py.schemas.community import Image2Image, Inpainting, Text2Image
    from modelslab_py.schemas.realtime import (RealtimeImage2ImageSchema, RealtimeInpaintingSchema,
                                               RealtimeText2ImageSchema)

    return {
        "community.text_to_image": Text2Image(
            prompt="a futuristic city at night", model_id="flux", negative_prompt="blurry", width=512, height=768,
            samples=1, num_inference_steps=30, guidance_scale=7.5, safety_checker="no", seed=12345,
            enhance_prompt="yes", lora_model="more_details", lora_strength=0.8,
            scheduler="DPMSolverMultistepScheduler", clip_skip=2),
        "community.image_to_image": Image2Image(
            prompt="a painting in Van Gogh style", model_id="realistic-vision-51", init_image=DOCS_INIT, width=512,
            height=512, samples=1, num_inference_steps=30, guidance_scale=7.5, upscale="no", multi_lingual="no",
            panorama="no", self_attention="no"),
        "community.inpainting": Inpainting(
            prompt="a cat sitting on a bench", model_id="lazymixv4-inpaint", init_image=DOCS_INIT, mask_image=DOCS_MASK,
            width=512, height=512, samples=1, num_inference_steps=30, guidance_scale=7.5, safety_checker="yes"),
        "realtime.text_to_image": RealtimeText2ImageSchema(
            prompt="a red apple on a white table", negative_prompt="bad quality", seed=7, guidance_scale=7.5,
            num_inference_steps=20, base64=False),
        "realtime.image_to_image": RealtimeImage2ImageSchema(prompt="a red apple, watercolor", init_image=DOCS_INIT,
                                                             strength=0.7),
        "realtime.inpainting": RealtimeInpaintingSchema(prompt="a cat sitting on a bench", init_image=DOCS_INIT,
                                                        mask_image=DOCS_MASK, strength=0.7),
    }


CALLS = sorted(schemas())


def _call(community, realtime, name: str, schema, prefix: str = ""):
    api = community if name.startswith("community") else realtime
    return getattr(api, prefix + name.split(".", 1)[1])(schema)


# ------------------------------------------------------------------------------ modelslab-py, sync


@pytest.mark.parametrize("name", CALLS)
def test_modelslab_py_succeeds_directly(live_server, name):
    server = live_server(processing_ratio=0.0)
    _, community, realtime = sdk(server.url, "sdk-key")
    schema = schemas()[name]
    answer = _call(community, realtime, name, schema)
    assert answer["status"] == "success", answer
    assert ("webhook_status" in answer) == name.startswith("community")  # the realtime shape has none
    size = (getattr(schema, "width", None) or 512, getattr(schema, "height", None) or 512)
    assert image_at(answer["output"][0]).size == size


@pytest.mark.parametrize("name", CALLS)
def test_modelslab_py_polls_a_queued_job_to_the_end_with_its_own_fetch(live_server, name):
    server = live_server(processing_ratio=0.0, keys={"queued-key": KeyRule(variant="processing", eta=1.0)})
    _, community, realtime = sdk(server.url, "queued-key", fetch_retry=10, fetch_timeout=0.4)
    queued = _call(community, realtime, name, schemas()[name])
    assert queued["status"] == "processing", queued
    api = community if name.startswith("community") else realtime
    assert queued["fetch_result"] == f"{server.url}/api/{'v6/images' if api is community else 'v6/realtime'}" \
                                     f"/fetch/{queued['id']}"
    started = time.monotonic()
    done = api.fetch(str(queued["id"]))  # polls every fetch_timeout seconds until success
    assert done["status"] == "success" and done["id"] == queued["id"], done
    assert done["output"] == queued["future_links"] and 0.5 < time.monotonic() - started < 10
    polls = requests.get(f"{server.url}/__mock/requests", params={"key": "queued-key", "operation": "fetch"},
                         timeout=5).json()["requests"]
    assert [p["variant"] for p in polls][-1] == "success" and "processing" in [p["variant"] for p in polls]
    assert image_at(done["output"][0]).format == "PNG"


def test_modelslab_py_fetch_after_the_clock_moves(live_server):
    server = live_server(processing_ratio=0.0, keys={"slow-key": KeyRule(variant="processing", eta=600)})
    _, community, realtime = sdk(server.url, "slow-key", fetch_retry=1, fetch_timeout=0)
    queued = realtime.text_to_image(schemas()["realtime.text_to_image"])
    assert realtime.fetch(str(queued["id"]))["status"] == "processing"
    requests.post(f"{server.url}/__mock/clock", json={"advance": 601, "key": "slow-key"}, timeout=5).raise_for_status()
    assert realtime.fetch(str(queued["id"]))["status"] == "success"
    assert community.fetch(str(queued["id"]))["status"] == "error"  # a realtime job is not a community one


# ------------------------------------------------------------------------------ modelslab-py, async


def test_modelslab_py_async_calls_succeed_directly_and_through_async_fetch(live_server):
    server = live_server(processing_ratio=0.0, keys={"queued-key": KeyRule(variant="processing", eta=0.8)})

    async def flows() -> list[dict]:
        results = []
        for key in ("sdk-key", "queued-key"):
            client, community, realtime = sdk(server.url, key, fetch_retry=10, fetch_timeout=1)
            client.fetch_timeout = 5  # the aiohttp session's total timeout is read from it once
            try:
                for name in CALLS:
                    answer = await _call(community, realtime, name, schemas()[name], prefix="async_")
                    if answer["status"] == "processing":
                        client.fetch_timeout = 0.3  # now the sleep between polls
                        api = community if name.startswith("community") else realtime
                        answer = await api.async_fetch(str(answer["id"]))
                    results.append(answer)
            finally:
                await client.close()
        return results

    results = asyncio.run(flows())
    assert len(results) == 2 * len(CALLS)
    assert all(r["status"] == "success" for r in results), [r.get("message") for r in results]


# ------------------------------------------------------------------------------ modelslab 0.2 (older package)


def test_the_old_modelslab_package_sends_nulls_and_steps_and_is_answered(live_server):
    from modelslab import CommunityModels

    server = live_server(processing_ratio=0.0, keys={"old-queued": KeyRule(variant="processing", eta=5)})
    models = CommunityModels()
    models.base_url = f"{server.url}/api/v6/images"
    made = json.loads(models.txt2img(
        "old-key", "realistic-vision-51", "ultra realistic portrait", None, 512, 512, 1, 30, "no", "yes", None, 7.5,
        "no", "no", "no", "no", None, None, "yes", 2, "yes", None, None, "UniPCMultistepScheduler", None, None))
    assert made["status"] == "success" and made["meta"]["steps"] == 20  # 30 capped at 20, with a warning
    img = json.loads(models.img2img("old-key", "realistic-vision-51", "a painting", None, DOCS_INIT, 512, 512, 1, 30,
                                    "no", "no", 7.5, 0.7, "UniPCMultistepScheduler", None, None, "yes", "yes", None,
                                    None, None, None, None))
    assert img["status"] == "success" and img["meta"]["strength"] == 0.7
    painted = json.loads(models.inpaint("old-key", "lazymixv4-inpaint", "a cat sitting on a bench", None, DOCS_INIT,
                                        DOCS_MASK, 512, 512, 1, 30, "no", "no", 7.5, 0.7, "DPMSolverMultistepScheduler",
                                        None, "yes", "yes", None, None, None, None, None, None))
    assert painted["status"] == "success" and painted["meta"]["steps"] == 30  # inpaint's steps cap is 50
    queued = json.loads(models.txt2img(
        "old-queued", "flux", "a lighthouse", None, 512, 512, 1, 20, "no", "no", None, 7.5,
        "no", "no", "no", "no", None, None, "yes", 2, "yes", None, None, None, None, None))
    assert json.loads(models.fetch_queued("old-queued", str(queued["id"])))["status"] == "processing"
    requests.post(f"{server.url}/__mock/clock", json={"advance": 6, "key": "old-queued"}, timeout=5).raise_for_status()
    fetched = json.loads(models.fetch_queued("old-queued", queued["id"]))  # the integer id, as given
    assert fetched["status"] == "success" and fetched["id"] == queued["id"]


# ------------------------------------------------------------------------------ the official CLI


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> dict[str, str]:
    assert CLI.is_file(), f"{CLI} is missing: the test extra installs modelslab-cli==0.2.2"
    home = tmp_path_factory.mktemp("cli-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return env


def run_cli(env: dict[str, str], url: str, out: Path, *args: str, key: str = "sk-test-cli",
            timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args, "--base-url", url, "--api-key", key, "--no-update-check",
                           "--output-dir", str(out)], env=env, cwd=out.parent, capture_output=True, text=True,
                          timeout=timeout)


def pngs(folder: Path) -> list[Image.Image]:
    found = [Image.open(path) for path in sorted(folder.glob("*"))]
    assert found and all(image.format == "PNG" for image in found), [p.name for p in folder.glob("*")]
    return found


def journal(url: str, **filters: str) -> list[dict]:
    return requests.get(f"{url}/__mock/requests", params=filters, timeout=5).json()["requests"]


@pytest.fixture(scope="module")
def queued_mock():
    """``mockserver run`` as ``make run`` starts it, except that every job is queued for 1-2 s."""
    with mock_process("--quiet", "--processing-ratio", "1", "--eta-min", "1", "--eta-max", "2") as (url, _):
        yield url


@pytest.mark.parametrize("command, size", [
    (["generate", "image", "--prompt", "sunset over mountains", "--model", "flux", "--width", "512",
      "--height", "768"], (512, 768)),
    (["generate", "image", "--prompt", "sunset over mountains", "--model", "flux"], (1024, 1024)),
    (["generate", "image-to-image", "--prompt", "oil painting style", "--model", "midjourney",
      "--init-image", DOCS_INIT], (512, 512)),
    (["generate", "inpaint", "--prompt", "a cat sitting on a bench", "--model", "sdxl", "--init-image", DOCS_INIT,
      "--mask-image", DOCS_MASK], (512, 512)),
], ids=["image-512x768", "image-default", "image-to-image", "inpaint"])
def test_the_cli_polls_a_queued_job_to_the_end_and_downloads_it(cli_home, queued_mock, tmp_path, command, size):
    out = tmp_path / "generated"
    done = run_cli(cli_home, queued_mock, out, *command)
    assert done.returncode == 0, done.stderr[-500:] + done.stdout[-500:]
    images = pngs(out)
    assert [image.size for image in images] == [size]
    generation = journal(queued_mock, path=f"/api/v7/images/{command[1].replace('image', 'text-to-image', 1) if command[1] == 'image' else command[1]}")
    assert generation and generation[-1]["variant"] == "processing"


def test_the_cli_against_make_run_defaults(cli_home, tmp_path):
    with mock_process("--quiet") as (url, _):
        out = tmp_path / "generated"
        done = run_cli(cli_home, url, out, "generate", "image", "--prompt", "a red bench", "--model", "flux",
                       "--samples", "2", "--width", "640", "--height", "512")
        assert done.returncode == 0, done.stderr[-500:]
        assert [image.size for image in pngs(out)] == [(640, 512), (640, 512)]


def test_the_cli_without_model_is_refused_by_a_field_error_and_ends(cli_home, queued_mock, tmp_path):
    out = tmp_path / "generated"
    done = run_cli(cli_home, queued_mock, out, "generate", "image", "--prompt", "x", "--timeout", "20s",
                   key="sk-test-no-model")
    assert done.returncode == 1 and not out.exists() or not any(out.glob("*"))
    entries = journal(queued_mock, key="sk-test-no-model")
    assert entries[0]["path"] == "/api/v7/images/text-to-image" and entries[0]["status"] == 200
    assert entries[0]["validation"]["errors"] == {"model_id": ["The model id field is required."]}
    assert entries[-1]["path"] == "/api/v7/images/fetch/" and entries[-1]["status"] == 200  # a JSON answer


def test_the_cli_waits_out_the_queue_limit_by_x_ratelimit_reset(cli_home, tmp_path):
    with mock_process("--quiet", "--http-errors", "--queue-limit", "1", "--processing-ratio", "0") as (url, _):
        key = "sk-test-busy"
        filled = requests.post(f"{url}/api/v7/images/text-to-image", headers={"Prefer": "variant=processing, eta=3"},
                               json={"key": key, "model_id": "flux", "prompt": "first"}, timeout=10).json()
        assert filled["status"] == "processing"
        out = tmp_path / "generated"
        started = time.monotonic()
        done = run_cli(cli_home, url, out, "generate", "image", "--prompt", "second", "--model", "flux", key=key)
        assert done.returncode == 0, done.stderr[-500:]
        assert time.monotonic() - started >= 2  # it waited for the slot
        assert [image.size for image in pngs(out)] == [(1024, 1024)]
        refused = [e for e in journal(url, key=key) if e["status"] == 429]
        assert refused and refused[0]["response"]["message"].endswith("Maximum 1 queued requests allowed.")
