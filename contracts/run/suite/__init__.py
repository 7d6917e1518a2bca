"""The packaged contract suite that ``contracts run`` executes with pytest.

Its test functions take the ``contract_target`` fixture and never look at what kind of target
it is beyond what the target says it can do (steer variants, move the clock, spend a budget),
so the same functions run against the in-process app, a mock, any URL and the real API.
``state.ACTIVE`` holds the run the test module is collected for (set by ``contracts.run.runner``).
"""
