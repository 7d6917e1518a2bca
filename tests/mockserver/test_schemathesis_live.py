"""Schemathesis against the mock on a real socket: positive and negative data, every check.

The in-process run (test_schemathesis_inprocess.py) skips HTTP; this one goes through the
server as users run it (``mockserver run`` on a loopback port, granian and the WSGI fast path),
so what is tested is what a client gets over the wire (headers, framing, content types), and
the server's own output must show no traceback. More than 2,000 cases over the 13 operations, half
valid and half invalid by the spec; every Schemathesis check runs on every answer, including
``not_a_server_error`` and ``response_schema_conformance``, and the mock also validates its own
answers (``validate_responses``: a body outside the spec would be a 500). As in the in-process
run, the mock is strict with ``--http-errors``, the mode in which a generic tool can check the
spec's promise (invalid data is a 4xx, valid data a 200, or a 404 for an id nobody made).
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from contracts.core.spec import spec_path

from live_mock import mock_process

CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": [200, 404]}}}
)
#: Cases per operation and mode: 2 x (9 generate x 100 + 4 fetch x 40) = 2,120.
EXAMPLES = {f"POST {path}": (40 if "/fetch" in path else 100) for path in (
    "/v6/images/text2img", "/v6/images/img2img", "/v6/images/inpaint", "/v6/images/fetch", "/v6/images/fetch/{id}",
    "/v6/realtime/text2img", "/v6/realtime/img2img", "/v6/realtime/inpaint", "/v6/realtime/fetch/{id}",
    "/v7/images/text-to-image", "/v7/images/image-to-image", "/v7/images/inpaint", "/v7/images/fetch/{id}")}
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@contextmanager
def _server(tmp_path) -> Iterator[str]:
    """``mockserver run`` in its own process (its own core: the generator is busy in this one)."""
    output: list[str] = []
    with mock_process("--seed", "11", "--strict", "--http-errors", "--validate-responses",
                      "--processing-ratio", "0.3", "--failed-ratio", "0.1", "--queue-limit", "0",  # one key, many queued
                      "--store", f"sqlite:///{tmp_path / 'state.sqlite3'}",
                      env={"MOCKSERVER_MODELS": "*"}, output=output) as (url, _):
        yield url
    out = output[0]
    assert "mock bug" not in out and "Traceback" not in out, out[-3000:]


@pytest.mark.slow
def test_two_thousand_generated_cases_on_a_live_mock_get_no_5xx_and_only_answers_the_spec_allows(tmp_path):
    with _server(tmp_path) as url:
        _run_cases(url)


def _run_cases(base: str) -> None:
    schema = schemathesis.openapi.from_path(str(spec_path()), config=CONFIG)
    session = requests.Session()
    ran: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:

            @settings(max_examples=EXAMPLES[operation.label], deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                response = case.call_and_validate(base_url=base + "/api", session=session)
                ran[f"{operation.label} {mode.value}"] += 1
                statuses[response.status_code] += 1
                assert response.status_code < 500, response.text[:300]

            run()
    assert sum(ran.values()) >= 2000, ran
    assert set(ran) == {f"{label} {mode.value}" for label in EXAMPLES for mode in MODES}
    assert statuses[200] > 100 and sum(n for code, n in statuses.items() if 400 <= code < 500) > 500, statuses
    assert not any(code >= 500 for code in statuses), statuses
