"""Ordered steps: each looks at the request context and either answers or passes it on.

A behaviour is a list of steps (parse, authenticate, read the directive, validate, answer, ...)
and a list of finishing touches that run on whatever answer came out (delay, faults on the way
back). ``run`` walks the steps until one returns an ``Outcome``; the last step always answers.
"""

from __future__ import annotations

from typing import Callable, Iterable, Protocol, Sequence

from mockserver.engine.context import Outcome, RequestContext

__all__ = ["Finisher", "Route", "Step", "run"]

#: A step answers (an ``Outcome``) or passes the request on (``None``).
Step = Callable[[RequestContext], "Outcome | None"]
#: A finishing touch on the answer (the delay before it, a fault on the way back).
Finisher = Callable[[RequestContext, Outcome], None]


class Route(Protocol):
    """What the engine needs of an operation's behaviour."""

    kind: str
    steps: Sequence[Step]
    after: Sequence[Finisher]

    def track_id(self, parsed: object) -> object: ...


def run(steps: Iterable[Step], ctx: RequestContext) -> Outcome:
    for step in steps:
        outcome = step(ctx)
        if outcome is not None:
            return outcome
    raise RuntimeError("no step answered the request")  # a behaviour whose last step passes: a mock bug
