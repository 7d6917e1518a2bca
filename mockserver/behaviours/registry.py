"""What each operation of a spec does: its ``x-mock-behaviour`` extension, looked up by kind.

An operation of the spec names its behaviour with an extension::

    x-mock-behaviour: {kind: generate, family: community, render: inpaint,
                       images: [init_image, mask_image], fetch: fetchById, model: required}
    x-mock-behaviour: {kind: fetch, family: community, id: {in: path, name: id}}

``kind`` picks a registered class (``@register("generate")``); the rest of the extension is that
class's settings, checked when the mock starts (``SpecError`` names the operation and the
problem). An operation without the extension, or with ``kind: static``, is served by the generic
(Prism-style) behaviour. No engine code names an operation: a new endpoint with known shapes is a
spec change, a new kind of behaviour is one registered class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from contracts.core.spec import Operation

if TYPE_CHECKING:
    from mockserver.behaviours.services import Services
    from mockserver.engine.steps import Finisher, Step

__all__ = ["Behaviour", "EXTENSION", "LEGACY_NAMES", "OperationNames", "SpecError", "behaviours_for", "kind_of",
           "register", "registered"]

EXTENSION = "x-mock-behaviour"

_REGISTRY: dict[str, type["Behaviour"]] = {}


class SpecError(ValueError):
    """A spec the mock cannot serve; the message names the operation (or file) and the problem."""


class Behaviour:
    """What one operation does. Subclasses set ``kind`` and read their settings in ``__init__``
    (a bad setting is a ``SpecError`` at start), and build their ``steps`` in ``bind``.

    ``operations`` is every operation of the spec by operationId (to check cross references such
    as a generate operation's ``fetch``); ``base_path`` is the path the spec is served under.
    The engine runs ``steps`` in order until one answers, then every ``after`` on the answer.
    """

    kind = ""
    #: The family of behaviours that share jobs and wording (``None``: the generic behaviour).
    family: str | None = None
    steps: Sequence["Step"] = ()
    after: Sequence["Finisher"] = ()

    def __init__(self, op: Operation, settings: Mapping[str, Any], operations: Mapping[str, Operation],
                 base_path: str):
        self.op = op
        self.settings = dict(settings)
        self.operations = operations
        self.base_path = base_path

    def bind(self, services: "Services") -> None:
        """Take the mock's services and build ``steps`` (called once, when the mock is built)."""
        self.services = services

    def track_id(self, parsed: Any) -> Any:
        """The client's tracking id in a request body, if this kind of operation has one."""
        return None

    def fail(self, problem: str) -> SpecError:
        return SpecError(f"operation {self.op.operation_id} ({self.op.method} {self.op.path}): "
                         f"{EXTENSION} {problem}")

    def setting(self, name: str, kinds: type | tuple[type, ...], default: Any = None,
                choices: tuple[Any, ...] | None = None) -> Any:
        """One setting of the extension, checked (a wrong type or value is a ``SpecError``)."""
        if name not in self.settings:
            if default is None:
                raise self.fail(f"needs {name!r}")
            return default
        value = self.settings[name]
        if not isinstance(value, kinds):
            raise self.fail(f"{name!r} must be a {getattr(kinds, '__name__', kinds)}, not {value!r}")
        if choices is not None and value not in choices:
            raise self.fail(f"{name!r} must be one of {', '.join(map(str, choices))}, not {value!r}")
        return value


def register(kind: str) -> Callable[[type[Behaviour]], type[Behaviour]]:
    """Class decorator: operations whose extension says ``kind: <kind>`` get this behaviour."""

    def decorate(cls: type[Behaviour]) -> type[Behaviour]:
        cls.kind = kind
        _REGISTRY[kind] = cls
        return cls

    return decorate


def registered() -> dict[str, type[Behaviour]]:
    _load_builtins()
    return dict(_REGISTRY)


def _load_builtins() -> None:
    if "generic" not in _REGISTRY:
        import mockserver.behaviours.generic  # noqa: F401  (each registers itself)
        import mockserver.behaviours.modelslab  # noqa: F401


def kind_of(op: Operation) -> tuple[str, dict[str, Any]]:
    """(kind, settings) of an operation: ``("generic", {})`` when it declares nothing."""
    raw = op.behaviour
    if raw is None:
        return "generic", {}
    if isinstance(raw, str):
        return ("generic" if raw == "static" else raw), {}
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
        raise SpecError(f"operation {op.operation_id} ({op.method} {op.path}): {EXTENSION} must be a kind "
                        f"or an object with a 'kind', not {raw!r}")
    kind = raw["kind"]
    settings = {k: v for k, v in raw.items() if k != "kind"}
    return ("generic" if kind == "static" else kind), settings


def behaviours_for(operations: Mapping[str, Operation], base_path: str) -> dict[str, Behaviour]:
    """A behaviour for every operation of a spec, by operationId (``SpecError`` for a bad extension)."""
    known = registered()
    found: dict[str, Behaviour] = {}
    for op_id, op in operations.items():
        kind, settings = kind_of(op)
        cls = known.get(kind)
        if cls is None:
            raise SpecError(f"operation {op_id} ({op.method} {op.path}): {EXTENSION} kind {kind!r} is unknown; "
                            f"known: {', '.join(sorted(k for k in known if k != 'generic'))} (or static)")
        found[op_id] = cls(op, settings, operations, base_path)
    for behaviour in found.values():
        check = getattr(behaviour, "check_links", None)
        if check is not None:
            check(found)
    return found


#: The operation names of the first spec (the Pony inpaint page's), kept for rules and journal
#: filters written against it: what each names, by behaviour, in any spec.
LEGACY_NAMES: dict[str, Callable[[Behaviour], bool]] = {
    "inpaint": lambda b: b.kind == "generate" and b.family == "community" and getattr(b, "render", "") == "inpaint",
    "fetchById": lambda b: b.kind == "fetch" and b.family == "community" and getattr(b, "id_in", "") == "path",
    "fetchByRequestId": lambda b: b.kind == "fetch" and b.family == "community" and getattr(b, "id_in", "") == "body",
}


class OperationNames:
    """The names a rule or a journal filter may use for a spec's operations, each expanded to
    operationIds: an operationId; ``*`` or ``any``; a kind (``generate``, ``fetch``); a render
    (``text2img``, ``img2img``); a family (``community``, ``realtime``, ``v7``); or an operation
    name of the first spec (``inpaint``, ``fetchById``, ``fetchByRequestId``, by behaviour)."""

    def __init__(self, behaviours: Mapping[str, Behaviour]):
        self.behaviours = dict(behaviours)
        self.kinds = {op_id: b.kind for op_id, b in self.behaviours.items()}

    def _where(self, test: Callable[[Behaviour], bool]) -> tuple[str, ...]:
        return tuple(op_id for op_id, b in self.behaviours.items() if test(b))

    def expand(self, name: str) -> tuple[str, ...] | None:
        """The operationIds ``name`` stands for; None when it names nothing in this spec."""
        if name in self.behaviours:
            return (name,)
        if name in ("*", "any"):
            return tuple(self.behaviours)
        legacy = LEGACY_NAMES.get(name)
        found = self._where(legacy) if legacy is not None else (
            self._where(lambda b: b.kind == name) or self._where(lambda b: getattr(b, "render", None) == name)
            or self._where(lambda b: b.family == name))
        return found or None

    def words(self) -> str:
        """What ``expand`` takes, for error messages."""
        kinds = sorted({b.kind for b in self.behaviours.values()})
        families = sorted({b.family for b in self.behaviours.values() if b.family})
        return (f"an operationId ({', '.join(self.behaviours)}), * (every one), a kind ({', '.join(kinds)}), "
                f"a family ({', '.join(families)}) or inpaint, fetchById, fetchByRequestId")

    def generates(self, operation: str) -> bool:
        return self.kinds.get(operation) == "generate"
