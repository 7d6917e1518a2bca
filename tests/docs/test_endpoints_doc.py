"""docs/endpoints.md: the table names every operation of the family spec, and its curls run as
written against `mockserver run` (the defaults `make run` uses), each answered success or processing."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

from contracts.core.spec import load_document, operations, server_base_path
from tests.live_mock import mock_process

PAGE = Path(__file__).resolve().parents[2] / "docs" / "endpoints.md"
DOC = load_document("modelslab.yaml")
BASE = server_base_path(DOC)


def curls() -> list[str]:
    text = PAGE.read_text()
    block = text.split("<!-- endpoint-curls: begin -->", 1)[1].split("<!-- endpoint-curls: end -->", 1)[0]
    return [line for line in block.splitlines() if line.startswith("curl ")]


def _template(path: str) -> str:
    return re.sub(r"/\d+$", "/{id}", path)


def test_the_table_and_the_curls_cover_every_operation_of_the_spec():
    text = PAGE.read_text()
    paths = {BASE + op.path for op in operations(DOC).values()}
    rows = set(re.findall(r"^\| `POST (\S+)` \|", text, re.M))
    assert rows == paths
    called = {_template(re.search(r"localhost:4010(\S+)", line).group(1)) for line in curls()}
    assert called == paths


def test_every_curl_runs_as_written_against_make_run(tmp_path):
    with mock_process("--quiet") as (url, _):
        for line in curls():
            args = shlex.split(line.replace("localhost:4010", url))
            done = subprocess.run(args, capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, (line, done.stderr)
            answer = json.loads(done.stdout)
            assert answer["status"] in ("success", "processing"), (line, answer)
            links = answer.get("output") or answer.get("future_links")
            assert links and all(link.startswith(f"{url}/generations/") for link in links), answer
