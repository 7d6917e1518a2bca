"""The mock as a child process: up on a free port, healthy, stopped; a failed start shows its log."""

from __future__ import annotations

import pytest
import requests

from contracts.run.mock_process import MockProcess, MockStartError


def test_the_mock_starts_answers_and_stops():
    with MockProcess(seed=7, strict=True, extra_args=["--store", "memory"]) as mock:
        health = requests.get(f"{mock.url}/__mock/health", timeout=5).json()
        assert health["seed"] == 7 and health["strict"] is True
        assert mock.command[1:4] == ["-m", "mockserver", "run"]
        url = mock.url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/__mock/health", timeout=2)


def test_a_mock_that_cannot_start_reports_its_own_error():
    with pytest.raises(MockStartError) as caught:
        MockProcess(extra_args=["--profile", "no-such-profile"], startup_timeout=10).start()
    assert "no-such-profile" in str(caught.value) and "--- its log ---" in str(caught.value)
