"""A behaviour's steps run in order until one answers; the rest never see the request."""

from __future__ import annotations

import pytest

from mockserver.engine.context import Incoming, Outcome, RequestContext
from mockserver.engine.steps import run


def context() -> RequestContext:
    return RequestContext(Incoming("op", b"{}", "application/json", "http://127.0.0.1:4010"))


def test_the_first_step_that_answers_is_the_answer_and_later_steps_never_run():
    seen: list[str] = []

    def passes(ctx):
        seen.append("passes")

    def answers(ctx):
        seen.append("answers")
        return Outcome(200, {"status": "success"}, variant="success")

    def never(ctx):  # pragma: no cover - must not run
        seen.append("never")
        return Outcome(500, {})

    outcome = run([passes, answers, never], context())
    assert (outcome.status, outcome.body) == (200, {"status": "success"})
    assert seen == ["passes", "answers"]


def test_what_a_step_learns_is_there_for_the_next_one():
    def learn(ctx):
        ctx.key = "k"

    def use(ctx):
        return Outcome(200, {"key_seen": ctx.key})

    assert run([learn, use], context()).body == {"key_seen": "k"}


def test_steps_that_all_pass_are_a_mock_bug_not_a_silent_answer():
    with pytest.raises(RuntimeError, match="^no step answered the request$"):
        run([lambda ctx: None, lambda ctx: None], context())
