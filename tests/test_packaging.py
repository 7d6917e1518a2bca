"""Installable beside other tools: ranges not pins, extras for what only some users need, a lock
for this project's own environment, a pytest plugin that only offers fixtures, and a hint naming
the extra when an optional dependency is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements-dev.lock"
PROJECT = PYPROJECT["project"]["name"]


def _requirements(extra: str | None = None) -> list[Requirement]:
    project = PYPROJECT["project"]
    raw = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(line) for line in raw]


def _lock() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version and " " not in line, f"not an exact pin: {line!r}"
        pins[name.lower().replace("_", "-")] = version
    return pins


def test_runtime_dependencies_are_compatible_ranges_not_pins():
    for extra in (None, *PYPROJECT["project"]["optional-dependencies"]):
        for requirement in _requirements(extra):
            if requirement.name == PROJECT:
                continue
            operators = {spec.operator for spec in requirement.specifier}
            assert "==" not in operators and ">=" in operators and "<" in operators, (extra, str(requirement))


def test_the_mock_installs_without_pytest_schemathesis_or_redis():
    base = {r.name.lower() for r in _requirements()}
    assert not base & {"pytest", "hypothesis", "schemathesis", "redis"}
    assert {r.name.lower() for r in _requirements("contracts")} == {"pytest", "hypothesis", "schemathesis"}
    assert {r.name.lower() for r in _requirements("redis")} == {"redis"}
    assert f"{PROJECT}[contracts,redis]" in PYPROJECT["project"]["optional-dependencies"]["test"]


def test_the_lock_pins_every_dependency_inside_its_range():
    pins = _lock()
    for extra in (None, *PYPROJECT["project"]["optional-dependencies"]):
        for requirement in _requirements(extra):
            if requirement.name == PROJECT:
                continue
            name = requirement.name.lower().replace("_", "-")
            assert name in pins, f"{name} is not in requirements-dev.lock: run `make lock`"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"requirements-dev.lock has {name}=={pins[name]}, outside {requirement}: run `make lock`")
    assert PROJECT not in pins  # the project itself is installed editable on top


def _needed(requirements: list[Requirement]) -> set[str]:
    """Every distribution these requirements pull in (with their extras, markers evaluated here),
    read from the installed metadata of this environment (``make`` installs the lock into it)."""
    from importlib import metadata

    done: dict[str, set[str]] = {}
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = requirement.name.lower().replace("_", "-")
        if name == PROJECT:  # its extras are pyproject's own, read above
            continue
        wanted = {""} | set(requirement.extras)
        new = wanted - done.get(name, set())
        if not new:
            continue
        done[name] = done.get(name, set()) | wanted
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{name} is needed but not installed: install requirements-dev.lock (make)")
        for raw in requires:
            child = Requirement(raw)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in new):
                todo.append(child)
    return set(done)


def test_the_lock_pins_nothing_the_project_does_not_need():
    """``make lock`` freezes the whole venv: a package installed by hand (gunicorn, uvloop) would be
    pinned and installed everywhere. Every pin is needed by pyproject's dependencies or extras."""
    roots = [r for extra in (None, *PYPROJECT["project"]["optional-dependencies"]) for r in _requirements(extra)]
    needed = _needed(roots)
    assert sorted(set(_lock()) - needed) == [], "pinned in requirements-dev.lock but required by nothing"
    assert sorted(needed - set(_lock())) == [], "required but not pinned in requirements-dev.lock"
    assert {"aiohttp", "trio", "libcst"} <= needed  # through modelslab-py[async], selenium, mutmut: extras followed


def test_make_installs_the_lock_then_the_project_without_resolving_again():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -r requirements-dev.lock" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    assert "$(STAMP): pyproject.toml requirements-dev.lock" in makefile


def test_the_plugins_add_no_autouse_fixture(request):
    """A project that installs the package gets fixtures to ask for, nothing that runs on its own."""
    ours = {"mock_config", "mock_server", "mock_server_session", "mock_app", "contract_target",
            "contract_checker", "_contract_session_targets"}
    assert not ours & set(request.fixturenames)
    for module in ("mockserver/pytest_plugin.py", "contracts/pytest_plugin.py"):
        assert "autouse" not in (ROOT / module).read_text(), module


def test_a_missing_extra_is_named_in_one_line(monkeypatch):
    from contracts.core.extras import MissingExtra, require

    monkeypatch.setitem(sys.modules, "hypothesis", None)  # as if not installed
    with pytest.raises(MissingExtra) as missing:
        require("hypothesis", "client fuzzing")
    assert str(missing.value) == ("client fuzzing needs hypothesis, which the contracts extra installs: "
                                  "pip install 'modelslab-mock[contracts]'")
    monkeypatch.delitem(sys.modules, "contracts.modelslab.fuzz", raising=False)
    monkeypatch.delitem(sys.modules, "contracts.modelslab.strategies", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'modelslab-mock\[contracts\]'"):
        import contracts.modelslab.fuzz  # noqa: F401


def test_contracts_run_without_the_extra_says_which_to_install(monkeypatch, capsys):
    from contracts.cli import main

    monkeypatch.setitem(sys.modules, "schemathesis", None)
    assert main(["run", "--target", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err == ("contracts run: contracts run needs schemathesis, which the contracts extra installs: "
                   "pip install 'modelslab-mock[contracts]'\n")


def test_the_redis_store_without_redis_says_which_extra(monkeypatch):
    from mockserver.state.stores import StoreError, open_store

    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.delitem(sys.modules, "mockserver.state.redis_store", raising=False)
    with pytest.raises(StoreError, match=r"the Redis store needs redis, .*pip install 'modelslab-mock\[redis\]'"):
        open_store("redis://127.0.0.1:6379/0")


@pytest.mark.slow
def test_pip_install_beside_pytest_8_and_flask_3_0_changes_nothing_installed(tmp_path):
    """A user's test environment: pytest 8 and Flask 3.0 already there. Needs the package index
    (or a pip cache holding these versions), as CI has."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def pip(*args: str) -> str:
        done = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                              text=True, env=env, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    pip("install", "--quiet", "pytest>=8.4,<9", "flask>=3.0,<3.1", "werkzeug>=3.0,<3.1")
    before = {line for line in pip("freeze").splitlines()}
    pip("install", "--quiet", str(ROOT))
    after = {line for line in pip("freeze").splitlines()}
    assert before <= after, f"changed by the install: {sorted(before - after)}"
    pip("check")
    smoke = (
        "from mockserver import MockConfig, create_app\n"
        "from contracts.core.spec import docs_example_bytes\n"
        "client = create_app(MockConfig(store='memory', processing_ratio=0.0)).test_client()\n"
        "answer = client.post('/api/v6/images/inpaint', data=docs_example_bytes(), content_type='application/json')\n"
        "assert answer.get_json()['status'] == 'success', answer.data\n"
        "image = client.get(answer.get_json()['output'][0].split('localhost', 1)[1])\n"
        "assert image.status_code == 200 and image.data[:4] == b'\\x89PNG'\n"
    )
    done = subprocess.run([python, "-c", smoke], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    version = subprocess.run([str(venv / "bin" / "mockserver"), "--version"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert version.stdout.startswith("mockserver ")
    contracts = subprocess.run([str(venv / "bin" / "contracts"), "run"], capture_output=True, text=True,
                               env=env, timeout=60)
    assert contracts.returncode == 2
    assert contracts.stderr.strip().endswith("pip install 'modelslab-mock[contracts]'"), contracts.stderr
    fixtures = subprocess.run([python, "-m", "pytest", "--fixtures", "-q", "-p", "no:cacheprovider"],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert "mock_server" in fixtures.stdout and "contract_target" in fixtures.stdout, fixtures.stdout[-2000:]
