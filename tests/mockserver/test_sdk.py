"""The official SDK (modelslab-py), with only its base_url changed, works against the mock."""

from __future__ import annotations

import requests
from modelslab_py.core.apis.community import Community
from modelslab_py.core.client import Client
from modelslab_py.schemas.community import Inpainting

from mockserver.config import KeyRule

DOCS_INIT = "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo.png"
DOCS_MASK = DOCS_INIT.replace(".png", "_mask.png")


def test_sdk_inpaints_then_fetches_a_queued_job(live_server):
    server = live_server(processing_ratio=0.0, keys={"sdk-key": KeyRule(variant="processing", eta=30)})
    client = Client(api_key="sdk-key")
    client.base_url = f"{server.url}/api/"
    community = Community(client)

    queued = community.inpainting(Inpainting(
        prompt="a cat sitting on a bench", model_id="pony-realism", init_image=DOCS_INIT, mask_image=DOCS_MASK,
        width=512, height=512, samples=1, num_inference_steps=21, safety_checker="no",
    ))
    assert queued["status"] == "processing"
    assert queued["fetch_result"].endswith(f"/fetch/{queued['id']}")

    # Instead of sleeping through the eta, move the mock's clock for this key.
    requests.post(f"{server.url}/__mock/clock", json={"advance": 31, "key": "sdk-key"}, timeout=5).raise_for_status()

    done = community.fetch(str(queued["id"]))
    assert done["status"] == "success"
    assert done["id"] == queued["id"]
    assert done["output"] == queued["future_links"]
    image = requests.get(done["output"][0], timeout=5)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"


def test_sdk_sees_the_real_error_shape_for_a_bad_model(live_server):
    server = live_server()
    client = Client(api_key="sdk-key")
    client.base_url = f"{server.url}/api/"
    answer = Community(client).inpainting(Inpainting(
        prompt="x", model_id="not-a-model", init_image=DOCS_INIT, mask_image=DOCS_MASK))
    assert answer == {"status": "error", "message": "Model id not found"}
