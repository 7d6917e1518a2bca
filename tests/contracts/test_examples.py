"""The shipped example: the fuzzer finds the client's planted bug and shows the smallest case."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

from contracts.modelslab.fuzz import ClientFailure, fuzz_client

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def demo():
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield runpy.run_path(str(EXAMPLES / "fuzz_demo.py"), run_name="fuzz_demo")
    finally:
        sys.path.remove(str(EXAMPLES))


def test_the_fuzzer_finds_the_planted_bug_and_shrinks_it_to_one_failed_answer(demo, capsys):
    assert demo["main"](["--max-examples", "300"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("client failure: the client kept calling the API after the job had finished "
                          "with status 'failed'")
    story = out.split("after the last one the job stays as it is):\n", 1)[1].split("\n\n", 1)[0]
    assert story == '  1. {"status": "failed", "message": "", "id": 0}'  # the minimal failing sequence
    assert "1. POST /api/v6/images/inpaint -> answer 1" in out
    assert "2. POST /api/v6/images/fetch/0 -> answer 1" in out


def test_the_repaired_client_survives_the_same_fuzzing(demo, capsys):
    assert demo["main"](["--max-examples", "100", "--fixed"]) == 0
    assert "FixedClient: no failure in 100 drawn response sequences" in capsys.readouterr().out


def test_the_bug_is_found_through_the_public_api_too(demo):
    client = demo["InpaintClient"]
    with pytest.raises(ClientFailure) as caught:
        fuzz_client(lambda url: client(url + "/v6/images", key="k").inpaint(**demo["JOB"]),
                    expected=(demo["ModelsLabError"],), max_examples=300)
    assert [answer["status"] for answer in caught.value.story] == ["failed"]
