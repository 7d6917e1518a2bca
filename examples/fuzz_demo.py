"""Fuzz the example client: ``python examples/fuzz_demo.py`` (``--fixed``: the repaired one;
``--max-examples N``: how many response sequences to draw, default 300).

Every answer the client gets is drawn by Hypothesis from the spec; when the client misbehaves,
Hypothesis shrinks the sequence of answers and the smallest one is printed. Exit status 1 means
the fuzzer found a bug (expected for the planted one), 0 means the client survived.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inpaint_client import InpaintClient, ModelsLabError  # noqa: E402

from contracts.modelslab.fuzz import ClientFailure, fuzz_client  # noqa: E402

JOB = {
    "model_id": "pony-realism",
    "prompt": "a cat sitting on a bench",
    "init_image": "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo.png",
    "mask_image": "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo_mask.png",
}


class FixedClient(InpaintClient):
    """The same client with the planted bug repaired: only ``processing`` means running."""

    @staticmethod
    def _still_running(status: Any) -> bool:
        return status == "processing"


def main(argv: list[str]) -> int:
    client_class = FixedClient if "--fixed" in argv else InpaintClient
    examples = int(argv[argv.index("--max-examples") + 1]) if "--max-examples" in argv else 300
    try:
        # the harness serves the spec under its server path (/api); the client talks to the v6 images API
        fuzz_client(lambda base_url: client_class(base_url + "/v6/images", key="fuzz-key").inpaint(**JOB),
                    expected=(ModelsLabError,), max_examples=examples)
    except ClientFailure as failure:
        print(failure)
        return 1
    print(f"{client_class.__name__}: no failure in {examples} drawn response sequences")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
