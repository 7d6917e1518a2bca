"""Hypothesis profiles and example databases, including a Redis shared between "machines"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from hypothesis import settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    InMemoryExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

from contracts.run.profiles import PROFILES, DatabaseSpecError, example_database, load_profile


def test_database_specs(tmp_path):
    assert example_database("none") is None
    assert isinstance(example_database("memory"), InMemoryExampleDatabase)
    assert isinstance(example_database(str(tmp_path)), DirectoryBasedExampleDatabase)
    assert isinstance(example_database(f"dir:{tmp_path}"), DirectoryBasedExampleDatabase)
    assert isinstance(example_database(f"readonly:{tmp_path}"), ReadOnlyDatabase)
    assert isinstance(example_database(f"memory+{tmp_path}"), MultiplexedDatabase)
    with pytest.raises(DatabaseSpecError, match="redis://host:port/db"):
        example_database("ftp://somewhere")


def test_profiles_load_by_name_environment_or_ci(tmp_path):
    previous = settings._current_profile
    try:
        assert load_profile("real-api", environ={}) == "real-api"
        assert settings.default.max_examples == 1 and settings.default.database is None
        assert load_profile(environ={"CI": "true"}) == "ci"
        assert settings.default.max_examples == PROFILES["ci"]["max_examples"]
        assert load_profile(environ={"CONTRACTS_PROFILE": "dev", "CONTRACTS_EXAMPLE_DB": str(tmp_path)}) == "dev"
        assert isinstance(settings.default.database, DirectoryBasedExampleDatabase)
        with pytest.raises(ValueError, match="choose one of dev, ci, real-api"):
            load_profile("fast", environ={})
    finally:
        settings.load_profile(previous)


def test_redis_database_round_trip(redis_url):
    database = example_database(redis_url)
    key = uuid.uuid4().hex.encode()
    database.save(key, b"\x00choice-sequence")
    assert list(database.fetch(key)) == [b"\x00choice-sequence"]
    database.delete(key, b"\x00choice-sequence")
    assert list(database.fetch(key)) == []


_MACHINE = """
import json, sys
from hypothesis import given, settings, strategies as st
from contracts.run.profiles import example_database

url, marker = sys.argv[1], sys.argv[2]
seen = []

@settings(database=example_database(url), max_examples=200, derandomize=False, deadline=None)
@given(st.integers(0, 10**9))
def test(n):
    seen.append(n)
    assert n < 10**6, marker

test._hypothesis_internal_database_key = marker.encode()
try:
    test()
except AssertionError:
    pass
print(json.dumps(seen))
"""


def test_a_failure_found_on_one_machine_is_replayed_first_on_another(redis_url):
    """Two processes sharing one Redis are two CI machines: the second starts from the failure."""
    marker = uuid.uuid4().hex  # a fresh test identity, so earlier runs cannot interfere
    env = {k: v for k, v in os.environ.items() if k != "CI"}

    def machine() -> list[int]:
        done = subprocess.run([sys.executable, "-c", _MACHINE, redis_url, marker], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    first_seen = machine()
    shrunk = min(n for n in first_seen if n >= 10**6)  # what the first machine saved
    assert shrunk == 10**6
    second_seen = machine()
    assert second_seen[0] == shrunk  # replayed from the shared database before anything new

def test_a_contract_run_writes_no_hypothesis_folder_where_it_was_started(tmp_path):
    """``contracts run`` in any folder: Hypothesis's storage goes to the user's cache, not ./.hypothesis."""
    started_in, cache = tmp_path / "project", tmp_path / "cache"
    started_in.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    env["XDG_CACHE_HOME"] = str(cache)
    done = subprocess.run([sys.executable, "-m", "contracts.cli", "run", "--target", "mock", "--max-examples", "2",
                           "--stateful-steps", "2", "-k", "inpaint"], cwd=started_in, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert os.listdir(started_in) == [], "nothing written where the run was started"
    assert (cache / "modelslab-mock" / "hypothesis").is_dir()


def test_the_hypothesis_storage_variable_wins_over_the_cache_folder():
    from contracts.run.profiles import use_cache_home

    assert use_cache_home({"HYPOTHESIS_STORAGE_DIRECTORY": "/somewhere"}) is None
