"""The real-API budget: announced as spent, never exceeded, only API calls are charged."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.run.budget import BudgetSpent, BudgetTransport, CallBudget
from contracts.core.transport import HttpResponse

API = "https://api.test/api/v6/images"


class FakeTransport:
    """Stands in for the network: records what would have been sent."""

    def __init__(self):
        self.sent = []

    def request(self, method, url, **kwargs):
        self.sent.append((method, url))
        return HttpResponse(200, {}, b"{}", url, method)


def test_each_call_is_announced_and_the_next_one_after_the_cap_is_refused():
    lines = []
    budget = CallBudget(2, announce=lines.append)
    budget.spend("POST /inpaint")
    budget.spend("POST /fetch/1")
    with pytest.raises(BudgetSpent, match=r"budget spent \(2/2 calls used\); not sending POST /fetch/1"):
        budget.spend("POST /fetch/1")
    assert lines == ["real API call 1/2: POST /inpaint", "real API call 2/2: POST /fetch/1"]
    assert budget.summary() == "real API calls spent: 2/2"


@given(urls=st.lists(st.sampled_from([f"{API}/inpaint", f"{API}/fetch/1", "https://cdn.test/a.png"]), max_size=20),
       limit=st.integers(0, 6))
@settings(max_examples=100, deadline=None)
def test_no_sequence_of_requests_sends_more_api_calls_than_the_budget(urls, limit):
    inner = FakeTransport()
    transport = BudgetTransport(inner, CallBudget(limit, announce=lambda line: None), API)
    for url in urls:
        try:
            transport.request("POST", url)
        except BudgetSpent:
            pass
    api_calls = [u for _, u in inner.sent if u.startswith(API)]
    assert len(api_calls) == min(limit, sum(u.startswith(API) for u in urls))
    assert [u for _, u in inner.sent if not u.startswith(API)] == [u for u in urls if not u.startswith(API)]


def test_the_default_announcement_goes_to_the_terminal(capfd):
    CallBudget(1).spend("POST /inpaint")
    assert "real API call 1/1: POST /inpaint" in capfd.readouterr().err
