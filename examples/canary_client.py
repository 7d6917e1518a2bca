"""Three calls through a recording proxy, for a nightly drift canary (docs/record-replay.md).

    python examples/canary_client.py http://127.0.0.1:4011

A text-to-image success (or queued job, polled to its end), an inpaint, and a call with a bad key;
the key comes from MODELSLAB_API_KEY. Against a mock (no key set) it uses a test key.
"""

from __future__ import annotations

import os
import sys
import time

import requests

BASE = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4011").rstrip("/")
KEY = os.environ.get("MODELSLAB_API_KEY", "sk-canary-test-key")
IMAGE = "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo.png"
MASK = "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo_mask.png"


def finish(answer: dict, limit: float = 300) -> dict:
    """Poll a queued job the way the official clients do, until it is no longer processing."""
    deadline = time.monotonic() + limit
    while answer.get("status") == "processing" and time.monotonic() < deadline:
        time.sleep(min(max(float(answer.get("eta") or 1), 1), 10))
        answer = requests.post(f"{BASE}/api/v6/images/fetch/{answer['id']}", json={"key": KEY}, timeout=60).json()
    return answer


def main() -> int:
    base = {"key": KEY, "model_id": "realistic-vision-51", "width": 512, "height": 512, "samples": 1}
    text = requests.post(f"{BASE}/api/v6/images/text2img", json={**base, "prompt": "a red fox in snow"}, timeout=60)
    print("text2img:", finish(text.json()).get("status"))
    inpaint = requests.post(f"{BASE}/api/v6/images/inpaint", timeout=60, json={
        **base, "prompt": "a cat on a bench", "init_image": IMAGE, "mask_image": MASK})
    print("inpaint:", finish(inpaint.json()).get("status"))
    bad = requests.post(f"{BASE}/api/v6/images/text2img", json={**base, "key": "", "prompt": "x"}, timeout=60)
    print("bad key:", bad.status_code, bad.json().get("message"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
