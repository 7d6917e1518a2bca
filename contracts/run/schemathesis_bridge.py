"""Schemathesis, wired to a target: the loaded schema, case calls, and our checks as its checks.

Three things Schemathesis cannot know on its own:

* **which checks make sense for this API.** ModelsLab answers invalid input with HTTP 200 and
  ``{"status": "error"}``, so the built-in ``negative_data_rejection`` (which wants a 4xx) would
  flag the real service's documented behaviour. It is replaced by MLC108, which reads the body
  and is enforced only against strict servers (a compat server accepting ``"512"`` for a width
  is doing its job). Against the real API only checks that never send extra requests run, so
  nothing escapes the call budget.
* **how to reach the target and with which key.** ``call_case`` puts the run's key in the body,
  charges real-API calls to the budget, records the exchange for the cassette, and calls the
  in-process app or the URL.
* **the semantic checks** of ``contracts.modelslab.checks``, registered once with ``@schemathesis.check``
  under their own names (``samples_match_outputs``, ...), so a failure names the check. Outside
  a contract run (no ``activate``) only the stateless checks run, so registering them can never
  make an unrelated Schemathesis test in the same process fail on another app's job ids.

The run a check belongs to (its checker and the exchange being checked) is held in a
``ContextVar`` set by ``activate``: nothing here is process-wide state, so two runs (two threads,
or one after the other) never share a ledger. Only the registration with Schemathesis is
process-wide, because Schemathesis's registry is; ``register_checks`` reads it, idempotently.
"""

from __future__ import annotations

import contextlib
import json
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator

import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, Severity

from contracts.modelslab.checks import CHECKS, ContractChecker, Exchange, operation_for
from contracts.core.spec import SPEC_FILE, spec_path

__all__ = ["ContractFailure", "activate", "call_case", "exchange_from_case", "excluded_builtins", "load_schema",
           "register_checks", "unregister_checks", "validate_case"]

#: Checks that only look at one exchange: safe to run with no active contract run.
_STATELESS = {"samples_match_outputs", "processing_names_job", "meta_echoes_request", "errors_have_message",
              "input_validation_matches_spec"}
#: Built-in checks replaced or meaningless for an API that answers errors with HTTP 200.
EXCLUDED_BUILTINS = ("negative_data_rejection",)
#: Built-in checks that never send a request of their own (used against the real API).
SAFE_BUILTINS = ("status_code_conformance", "content_type_conformance", "response_schema_conformance",
                 "response_headers_conformance")

_register_lock = threading.Lock()


@dataclass
class _Run:
    """One activated checker and the exchange its checks are looking at (one response at a time)."""

    checker: ContractChecker
    current: tuple[int, Exchange] | None = None

    def __post_init__(self) -> None:
        self.lock = threading.Lock()


_RUN: ContextVar[_Run | None] = ContextVar("contracts_schemathesis_run", default=None)


class ContractFailure(Failure):
    """A violated semantic rule; ``code`` is the rule's (MLC101...), the title names the check."""

    code = "MLC100"
    kind_title = "Contract check failed"

    def __init__(self, *, operation: str | None, check: str, message: str, case_id: str | None = None):
        spec = CHECKS[check]
        super().__init__(operation=operation, title=f"{check}: {spec.rule}", message=message,
                         case_id=case_id, severity=Severity.HIGH)
        self.check = check
        self.code = spec.code  # type: ignore[misc]  # per rule, shown by Schemathesis as "- MLC101 ..."

    @property
    def _unique_key(self) -> str:
        return self.check


@contextlib.contextmanager
def activate(checker: ContractChecker) -> Iterator[ContractChecker]:
    """Make ``checker`` (its job ledger and image fetcher) the one our Schemathesis checks use,
    in this context, until the block ends."""
    token = _RUN.set(_Run(checker))
    try:
        yield checker
    finally:
        _RUN.reset(token)


def exchange_from_case(case: Any, response: Any, spec: str = SPEC_FILE) -> Exchange:
    request = response.request
    raw = request.body
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        body = None
    try:
        answer = response.json()
    except Exception:
        answer = None
    headers = {k: (v[0] if isinstance(v, list) else v) for k, v in dict(response.headers).items()}
    exchange = Exchange(str(request.method), str(request.url), body, response.status_code, answer,
                        dict(request.headers), headers, raw_request_body=raw, spec=spec)
    exchange.operation, exchange.path_params = operation_for(exchange.method, exchange.url, spec)
    return exchange


def _make_check(name: str):
    def contract_check(ctx: Any, response: Any, case: Any) -> None:
        run = _RUN.get()
        checker = run.checker if run is not None else ContractChecker(enabled=_STATELESS)
        if name not in checker.enabled:
            return None
        if run is None:
            exchange = exchange_from_case(case, response, checker.context.spec)
        else:
            token = id(response)
            with run.lock:
                if run.current is None or run.current[0] != token:
                    if run.current is not None:
                        run.checker.ledger.observe(run.current[1])
                    run.current = (token, exchange_from_case(case, response, checker.context.spec))
                exchange = run.current[1]
        violations = checker.run(exchange, only=name, observe=False)
        if violations:
            message = "\n\n".join(v.explain() for v in violations)
            raise ContractFailure(operation=case.operation.label, check=name, message=message)
        return None

    contract_check.__name__ = name
    contract_check.__qualname__ = name
    contract_check.__doc__ = CHECKS[name].rule
    return contract_check


def _registered_names() -> set[str]:
    from schemathesis.checks import CHECKS as ST_CHECKS

    return set(ST_CHECKS.get_all_names())


def register_checks() -> list[str]:
    """Register every contract check with Schemathesis (its registry is process-wide: once)."""
    with _register_lock:
        present = _registered_names()
        for name in CHECKS:
            if name not in present:
                schemathesis.check(_make_check(name))
    return list(CHECKS)


def unregister_checks() -> None:
    """Remove our checks from Schemathesis again."""
    from schemathesis.checks import CHECKS as ST_CHECKS

    with _register_lock:
        present = _registered_names()
        for name in CHECKS:
            if name in present:
                ST_CHECKS.unregister(name)


def flush() -> None:
    """Record the last exchange in the active ledger (call between scenarios)."""
    run = _RUN.get()
    if run is None:
        return
    with run.lock:
        if run.current is not None:
            run.checker.ledger.observe(run.current[1])
        run.current = None


def load_schema(target: Any, *, max_examples: int | None = None, spec: str = SPEC_FILE,
                negative: bool | None = None):
    """The spec as a Schemathesis schema aimed at ``target`` (positive-only for the real API)."""
    register_checks()
    schema = schemathesis.openapi.from_path(str(spec_path(spec)))
    schema.config.update(base_url=target.base_url, request_timeout=60)
    positive_only = target.positive_only if negative is None else not negative
    modes = [GenerationMode.POSITIVE] if positive_only else [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    schema.config.generation.update(modes=modes, max_examples=max_examples)
    if target.is_real:
        schema.config.phases.update(phases=["fuzzing"])
    return schema


def call_case(target: Any, case: Any, headers: dict[str, str] | None = None) -> Any:
    """Send a Schemathesis case to the target with the run's key (budget and recording applied)."""
    if isinstance(case.body, dict) and "key" in case.body:
        case.body["key"] = target.key
    if target.budget is not None:
        target.budget.spend(f"{case.method} {case.formatted_path}")
    kwargs: dict[str, Any] = {}
    if target.app is not None:
        kwargs["app"] = target.app
    else:
        kwargs["base_url"] = target.base_url
    response = case.call(headers=headers, **kwargs)
    recorder = target.extra.get("recorder")
    if recorder is not None:
        recorder.record_schemathesis(response)
    return response


def validate_case(target: Any, case: Any, response: Any) -> None:
    """All applicable checks (built-in and contract) on one response; raises Schemathesis's FailureGroup."""
    from schemathesis import checks as st_checks

    register_checks()
    if target.is_real:
        chosen = [getattr(st_checks, name) for name in SAFE_BUILTINS] + [getattr(st_checks, n) for n in CHECKS]
        case.validate_response(response, checks=chosen)
        return
    excluded = [getattr(st_checks, name) for name in excluded_builtins(target)]
    kwargs = {"app": target.app} if target.app is not None else {"base_url": target.base_url}
    case.validate_response(response, excluded_checks=excluded, transport_kwargs=kwargs)


def excluded_builtins(target: Any) -> tuple[str, ...]:
    """Built-in checks left out for this target's spec: those that misread the ModelsLab API's
    HTTP 200 errors; none for a foreign spec (it gets Schemathesis's defaults, all of them)."""
    from contracts.core.behaviours import spec_behaviours

    spec = getattr(target, "spec", None) or SPEC_FILE
    return () if spec_behaviours(spec).foreign else EXCLUDED_BUILTINS


def modes_for(target: Any) -> list[GenerationMode]:
    return [GenerationMode.POSITIVE] if target.positive_only else [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
