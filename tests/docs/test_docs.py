"""The docs cannot rot: every fenced block marked ``runnable`` is executed against a live mock.

Mark a block by adding ``runnable`` after its language: ```` ```bash runnable ````, ```` ```sh runnable ````
or ```` ```python runnable ````. Blocks run in the order they appear, one page at a time, against one
``mockserver run --seed 7 --processing-ratio 0`` reset before each page, from the repository root
(so ``@openapi/examples/...`` resolves), with ``127.0.0.1:4010`` / ``localhost:4010`` rewritten to
the live mock's port. A shell block fails on a non-zero exit, on any HTTP status of 400 or more
(curl runs with ``--fail-with-body`` through a ``.curlrc``) and on an answer with ``"status": "error"``
(the real service's errors are HTTP 200) unless it is marked ``errors-ok`` too (```` ```sh runnable
errors-ok ````, for examples whose point is an error); a Python block that defines ``test_``
functions is run with pytest (as the page says "runs as is: pytest test_my_client.py"), any other
Python block as a script. Every ```` ```toml ```` block must load as a mock configuration.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from live_mock import mock_process
from mockserver.config import load_config

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.MULTILINE | re.DOTALL)


def blocks(page: Path) -> list[tuple[int, str, list[str], str]]:
    """(line, language, flags, code) of every fenced block of a page."""
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        words = match["info"].split()
        indent = len(match["indent"])
        body = "".join(line[indent:] if line[:indent].isspace() else line
                       for line in match["body"].splitlines(keepends=True))
        found.append((text.count("\n", 0, match.start()) + 1, words[0] if words else "", words[1:], body))
    return found


RUNNABLE = [page for page in PAGES if any("runnable" in flags for _, _, flags, _ in blocks(page))]


def test_the_pages_people_start_from_have_runnable_examples():
    names = {page.name for page in RUNNABLE}
    assert {"README.md", "admin-api.md", "troubleshooting.md", "contract-testing.md"} <= names, names


def test_runnable_is_only_used_on_languages_the_test_runs():
    for page in PAGES:
        for line, language, flags, _ in blocks(page):
            if "runnable" in flags:
                assert language in ("bash", "sh", "python"), f"{page.name}:{line}: ```{language} runnable"


@pytest.mark.parametrize("page", [p for p in PAGES if any(lang == "toml" for _, lang, _, _ in blocks(p))],
                         ids=lambda p: p.name)
def test_every_toml_block_is_a_config_the_mock_loads(page, tmp_path):
    for line, language, _, code in blocks(page):
        if language == "toml":
            path = tmp_path / f"line{line}.toml"
            path.write_text(code)
            load_config(environ={}, config_file=str(path))  # raises ConfigError naming the problem


@pytest.fixture(scope="module")
def live_mock():
    with mock_process("--seed", "7", "--processing-ratio", "0", "--quiet") as (url, _):
        yield url


def _environment(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".curlrc").write_text("fail-with-body\nmax-time = 60\n")
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1")
    return env


_ERROR_BODY = re.compile(r'"status"\s*:\s*"error"')


def _run(page: Path, line: int, language: str, flags: list[str], code: str, env: dict[str, str],
         tmp_path: Path) -> None:
    where = f"{page.relative_to(ROOT)}:{line}"
    if language == "python" and re.search(r"^def test_", code, re.MULTILINE):
        test_file = tmp_path / f"test_docs_block_{line}.py"
        test_file.write_text(code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                   str(test_file)]
        cwd = tmp_path
    elif language == "python":
        command, cwd = [sys.executable, "-c", code], ROOT
    else:
        command, cwd = ["bash", "-e", "-o", "pipefail", "-c", code], ROOT
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{where}: the block failed (exit {done.returncode}):\n{code}\n---\n{output[-4000:]}"
    assert "mock bug" not in output and "Traceback" not in output, f"{where}:\n{output[-4000:]}"
    if language != "python" and "errors-ok" not in flags:  # the real service's errors are HTTP 200
        assert not _ERROR_BODY.search(done.stdout), (
            f"{where}: an answer was an error (mark the block `errors-ok` if that is its point):\n{done.stdout[-4000:]}")


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_runnable_blocks_run_against_a_live_mock(page, live_mock, tmp_path):
    port = live_mock.rsplit(":", 1)[1]
    assert requests.post(live_mock + "/__mock/reset", timeout=10).status_code == 200
    env = _environment(tmp_path)
    for line, language, flags, code in blocks(page):
        if "runnable" not in flags:
            continue
        code = code.replace("127.0.0.1:4010", f"127.0.0.1:{port}").replace("localhost:4010", f"localhost:{port}")
        _run(page, line, language, flags, code, env, tmp_path)
