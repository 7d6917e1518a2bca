"""The packaged contract suite that ``contracts run`` executes with pytest.

Its test functions take the ``contract_target`` fixture and never look at what kind of target
it is beyond what the target says it can do (steer variants, move the clock, spend a budget),
so the same functions run against the in-process app, a mock, any URL and the real API.
The run it is collected for (target, schema, settings) comes from the ``SuitePlugin`` that
``contracts.run.runner`` passes to ``pytest.main``: fixtures and ``pytest_generate_tests``, no
module state.
"""
