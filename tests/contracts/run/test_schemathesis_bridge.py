"""Our checks inside Schemathesis: registered by name, explained, and harmless outside a run."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as st_checks
from schemathesis.core.failures import FailureGroup

from contracts.modelslab.checks import CHECKS, ContractChecker
from contracts.run.schemathesis_bridge import (
    activate,
    call_case,
    load_schema,
    register_checks,
    unregister_checks,
    validate_case,
)
from contracts.run.targets import Target, cheapest_inpaint_body

SECRET = "sk-bridge-5e5e5e5e"
ONE = settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True)
def _registered_only_here():
    """Registration is process-wide: other Schemathesis tests in this process must not get our checks."""
    yield
    unregister_checks()


def test_every_contract_check_is_a_named_schemathesis_check():
    names = register_checks()
    assert names == list(CHECKS)
    for name in names:
        assert getattr(st_checks, name).__name__ == name
    unregister_checks()
    assert not set(CHECKS) & set(st_checks.CHECKS.get_all_names())


def _run_one(target, body, prefer=None, checker=None):
    schema = load_schema(target, max_examples=1)
    strategy = schema["/v6/images/inpaint"]["POST"].as_strategy(body={**body, "key": target.key},
                                                      headers={"Prefer": prefer} if prefer else None)

    @given(case=strategy)
    @ONE
    def run(case):
        with activate(checker or ContractChecker.for_target(target)):
            validate_case(target, case, call_case(target, case))

    run()


def test_a_broken_answer_fails_with_the_check_named_and_the_key_masked(make_app, corrupt):
    def drop_id(path, body):
        if body.get("status") == "processing":
            body.pop("id")
            return body
        return None

    target = Target.for_wsgi(corrupt(make_app(processing_ratio=0.0), drop_id), key=SECRET)
    with pytest.raises(FailureGroup) as caught:
        _run_one(target, cheapest_inpaint_body(), prefer="variant=processing, eta=5")
    text = str(caught.value)
    assert "MLC102 processing_names_job" in text
    assert "expected:  an integer 'id' (the job to fetch)" in text and "got:       no 'id' field" in text
    assert "reproduce: curl -X POST http://localhost/api/v6/images/inpaint" in text
    assert SECRET not in text


def test_a_correct_mock_passes_all_checks_including_schemathesis_own(make_app):
    target = Target.for_wsgi(make_app(processing_ratio=0.0, strict=True))
    _run_one(target, cheapest_inpaint_body())
    _run_one(target, cheapest_inpaint_body(), prefer="variant=processing, eta=5")


def test_outside_a_contract_run_only_stateless_checks_apply(make_app):
    """Two apps reuse job ids; without ``activate`` no ledger links their jobs (no false regression)."""
    for variant in ("variant=success", "variant=processing, eta=5"):
        target = Target.for_wsgi(make_app(processing_ratio=0.0))
        schema = load_schema(target, max_examples=1)
        strategy = schema["/v6/images/inpaint"]["POST"].as_strategy(body={**cheapest_inpaint_body(), "key": "same"},
                                                          headers={"Prefer": variant})

        @given(case=strategy)
        @ONE
        def run(case):
            case.validate_response(case.call(app=target.app))

        run()
