"""A running mock as one object: ``build_state`` puts it together, ``MockState`` is its facade.

``build_state`` is the one place the parts meet: the spec is loaded and its operations routed,
each operation gets the behaviour its ``x-mock-behaviour`` declares (the generic, Prism-style one
when it declares none), the services (store, clock, RNG, rules, faults, latency, images, webhooks)
are built from the config, and the engine runs each request through its behaviour's steps.

The web layer (the adapter, the admin API, the inspector, ``serve``) talks to the facade:
``reset(owner)``, ``advance_clock(seconds, owner)``, ``now(owner)``, ``health()``, ``reseed(...)``,
``output_file(name)``, ``wait_with(sleep)``, ``operations()``, and the rule book, journal and webhook log it exposes.
It never reaches into the engine's parts, so their order (a reset forgets jobs, then webhooks, then cached images,
then restarts the RNG) lives here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from mockserver.config import MockConfig

if TYPE_CHECKING:  # the adapter serves without Flask; only the types are needed here
    from flask import Flask

    from mockserver.behaviours.outputs import OutputFiles
    from mockserver.behaviours.registry import Behaviour
    from mockserver.behaviours.services import Services, SpecInfo
    from mockserver.control.rules import RuleBook
    from mockserver.control.webhooks import WebhookDispatcher
    from mockserver.engine.context import Incoming, Outcome
    from mockserver.engine.pipeline import Engine
    from mockserver.engine.routes import RouteTable
    from mockserver.images.artefacts import Artefacts
    from mockserver.state.journal import Journal
    from mockserver.state.store import Store

__all__ = ["EXTENSION", "MockState", "build_state", "load_spec", "mock_state", "spec_problem"]

EXTENSION = "modelslab_mock"


@dataclass
class MockState:
    config: MockConfig
    engine: "Engine"
    store: "Store"
    services: "Services"
    spec: "SpecInfo"
    behaviours: Mapping[str, "Behaviour"]
    routes: "RouteTable"
    outputs: "OutputFiles"

    # -- serving ----------------------------------------------------------------------------------

    def handle(self, incoming: "Incoming") -> "Outcome":
        return self.engine.handle(incoming)

    def output_file(self, name: str, method: str = "GET", path: str = "") -> "Outcome":
        return self.outputs.answer(name, method, path)

    def wait_with(self, sleep: "Callable[[float], None]") -> None:
        """How answers wait out their delay (``Prefer: delay=``, latency, faults): ``time.sleep``
        unless a server awaits it itself (the async front defers it to its loop)."""
        self.engine.sleep = sleep

    def operations(self) -> list[dict[str, Any]]:
        """What this mock answers, as the loaded spec declares it: each operation's id, method, served
        path, behaviour kind (``generate``, ``fetch``, ``generic``...) and family; then the output
        files (``image``), as the journal names them."""
        found: list[dict[str, Any]] = [
            {"id": op_id, "method": b.op.method.upper(), "path": self.spec.base_path.rstrip("/") + b.op.path,
             "kind": b.kind, "family": b.family}
            for op_id, b in self.behaviours.items()]
        found.append({"id": self.outputs.kind, "method": "GET", "path": "/generations/{name}",
                      "kind": self.outputs.kind, "family": None})
        return found

    def is_modelslab(self, operation: str | None) -> bool:
        """Does this operation answer in ModelsLab's words (errors of the web layer follow it)?"""
        behaviour = self.behaviours.get(operation or "")
        return behaviour is not None and behaviour.family is not None

    # -- the facade --------------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        return self.services.rng.seed

    def reseed(self, seed: int | None = None) -> None:
        """Restart the one RNG (from ``seed``, or the seed it started with)."""
        self.services.rng.reseed(seed)

    def reset(self, owner: str | None = None) -> str:
        """Forget one key's state (jobs, journal, rules, clock, webhooks), or everything and restart
        the RNG from its seed; says which ("key" or "all")."""
        s = self.services
        if owner:
            s.store.reset(owner)
            s.webhooks.reset(owner)
            return "key"
        s.store.reset()
        s.webhooks.reset()
        s.artefacts.clear()
        s.rng.reseed()
        return "all"

    def now(self, owner: str = "") -> float:
        return self.services.clock.now(owner)

    def clock_offset(self, owner: str = "") -> float:
        return self.services.clock.offset(owner)

    def advance_clock(self, seconds: float, owner: str = "") -> float:
        """Move the mock's time forward for everyone or one key (queued jobs finish, due webhooks go);
        ``ClockError`` for a step it refuses."""
        offset = self.services.clock.advance(seconds, owner)
        self.services.webhooks.poke()
        return offset

    def health(self) -> dict[str, Any]:
        s = self.services
        return {"status": "ok", "seed": s.rng.seed, "strict": self.config.strict,
                "webhooks": s.webhooks.stats(), "image_cache": s.artefacts.cache.stats()}

    def warm_up(self) -> None:
        """Load openapi-core now (it is loaded on the first request that needs it otherwise)."""
        load = getattr(self.spec.openapi, "load", None)
        if load is not None:
            load()

    @property
    def rules(self) -> "RuleBook":
        return self.services.rules

    @property
    def journal(self) -> "Journal":
        return self.services.journal

    @property
    def webhooks(self) -> "WebhookDispatcher":
        return self.services.webhooks

    @property
    def artefacts(self) -> "Artefacts":
        return self.services.artefacts


def load_spec(name: str) -> "SpecInfo":
    """The spec a mock serves: document, operations, base path, openapi-core (loaded lazily)."""
    from contracts.core.spec import load_document, operations, server_base_path, spec_path
    from mockserver.behaviours.services import SpecInfo
    from mockserver.engine.validation import LazyOpenAPI

    document = load_document(name)
    return SpecInfo(str(spec_path(name)), document, operations(document), server_base_path(document),
                    LazyOpenAPI(name))


def build_state(config: MockConfig | None = None, store: "Store | None" = None) -> MockState:
    """Load the spec once, build its behaviours and the services, open the store: all but the web framework.

    A spec the mock cannot serve (a bad ``x-mock-behaviour``) raises ``SpecError``."""
    from mockserver.behaviours.outputs import OutputFiles
    from mockserver.behaviours.registry import OperationNames, behaviours_for
    from mockserver.behaviours.services import Services
    from mockserver.engine.pipeline import Engine
    from mockserver.engine.routes import RouteTable
    from mockserver.engine.validation import response_validators
    from mockserver.state.stores import open_store

    config = config or MockConfig()
    spec = load_spec(config.spec)
    behaviours = behaviours_for(spec.operations, spec.base_path)
    store = store if store is not None else open_store(config.store, config)
    services = Services.build(config, store, spec, OperationNames(behaviours))
    for behaviour in behaviours.values():
        behaviour.bind(services)
    checks = response_validators(spec.openapi, dict(spec.operations)) if config.validate_responses else {}
    engine = Engine(behaviours, services.journal, store, checks)
    lenient = {op_id for op_id, behaviour in behaviours.items() if behaviour.family is not None}  # Laravel routing
    routes = RouteTable(spec.operations, spec.base_path, lenient)
    return MockState(config, engine, store, services, spec, behaviours, routes, OutputFiles(services, engine))


def spec_problem(path: str, document: Any) -> str | None:
    """Why a parsed spec cannot be served, as one line naming the file (None when it can): not
    valid OpenAPI 3.0/3.1 (openapi-spec-validator's first error, with where), or an operation's
    ``x-mock-behaviour`` the mock cannot use."""
    from contracts.core.spec import operations, server_base_path
    from mockserver.behaviours.registry import SpecError, behaviours_for

    try:
        from openapi_spec_validator import validate

        validate(document)
    except Exception as exc:  # the validator's own errors, and its refusal of other versions
        message = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
        where = getattr(exc, "json_path", None) or "/".join(str(p) for p in getattr(exc, "path", ()) or ())
        at = f" at {where}" if where and where != "$" else ""
        return f"spec {path} is not a valid OpenAPI 3.0/3.1 document{at}: {message}; fix the file or use --spec PATH"
    try:
        behaviours_for(operations(document), server_base_path(document))
    except SpecError as exc:
        return f"spec {path}: {exc}; fix the file or use --spec PATH"
    return None


def mock_state(app: "Flask") -> MockState:
    """The state of a mock app made by ``create_app``."""
    return app.extensions[EXTENSION]
