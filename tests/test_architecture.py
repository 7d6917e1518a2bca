"""The layer rule from docs/architecture.md, checked on the real import graph.

Top to bottom; a module may import its own layer and any layer below it, never one above:

    entry points   mockserver (package), __main__, cli, settings, pytest_plugin, record/
    web            the WSGI adapter, Flask for the admin API and output files, serve, the facade
    behaviours     what an operation does: registry, generic (Prism-style), modelslab, outputs
    control        rules, faults, latency, webhooks
    images         sources, render, cache, artefacts, netpolicy
    engine         context, steps, pipeline, routes, directives, errors, parsing, validation, config
    state          stores, jobs, clock, journal, matchers
    contracts      spec, sample, redaction, checks, runner: never imports mockserver, Flask or werkzeug

Every import counts, also those inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CONTRACTS = ("flask", "werkzeug", "mockserver")

#: (layer, module prefixes), top to bottom.
LAYERS = [
    ("entry", ("mockserver", "mockserver.__main__", "mockserver.cli", "mockserver.settings",
               "mockserver.pytest_plugin", "mockserver.record")),
    ("web", ("mockserver.web",)),
    ("behaviours", ("mockserver.behaviours",)),
    ("control", ("mockserver.control",)),
    ("images", ("mockserver.images",)),
    ("engine", ("mockserver.engine", "mockserver.config")),
    ("state", ("mockserver.state",)),
    ("contracts", ("contracts",)),
]
RANK = {name: index for index, (name, _) in enumerate(LAYERS)}


def layer_of(module: str) -> str | None:
    """The layer of a module: the longest matching prefix wins (``mockserver.web.app`` is web)."""
    best, length = None, -1
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = name, len(prefix)
    return best


def module_name(path: Path) -> str:
    if not path.is_relative_to(ROOT):
        return path.stem
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute and relative), at any depth of the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


def _sources(top: str) -> list[Path]:
    return sorted((ROOT / top).rglob("*.py"))


def test_every_module_has_a_layer():
    assert [module_name(p) for p in _sources("mockserver") + _sources("contracts") if layer_of(module_name(p)) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    offences = []
    for path in _sources("mockserver") + _sources("contracts"):
        source = module_name(path)
        mine = layer_of(source)
        for target in imported_modules(path):
            theirs = layer_of(target)
            if theirs is not None and RANK[theirs] < RANK[mine]:
                offences.append(f"{source} ({mine}) imports {target} ({theirs})")
    assert offences == []


def test_the_layer_check_sees_upward_imports(tmp_path):
    """The check itself can fail: a state module importing the engine is an offence."""
    assert layer_of("mockserver.state.jobs") == "state" and layer_of("mockserver.engine.errors") == "engine"
    assert RANK["engine"] < RANK["state"]
    assert layer_of("mockserver.web.adapter") == "web" and layer_of("mockserver") == "entry"
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from mockserver.engine import errors\n")
    assert "mockserver.engine" in imported_modules(probe)


def test_no_contracts_module_imports_flask_or_the_mock():
    offenders = {
        str(path.relative_to(ROOT)): sorted({m.split(".")[0] for m in imported_modules(path)} & set(FORBIDDEN_IN_CONTRACTS))
        for path in _sources("contracts")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _loaded_after(statement: str) -> list[str]:
    code = (
        "import sys\n"
        f"{statement}\n"
        "heavy = ('flask', 'werkzeug', 'PIL', 'openapi_core', 'jsonschema_rs', 'schemathesis', 'hypothesis')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip())


def test_importing_every_contracts_module_loads_no_flask():
    modules = sorted(module_name(p) for p in _sources("contracts") if "suite" not in p.parts)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_IN_CONTRACTS!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_importing_the_package_or_the_clock_loads_nothing_heavy():
    assert _loaded_after("import mockserver") == []
    assert _loaded_after("import mockserver.state.clock") == []
    assert _loaded_after("from mockserver import MockConfig") == []
    # and the check can fail: building the app does load them
    built = _loaded_after("from mockserver import MockConfig, create_app; create_app(MockConfig(store='memory'))")
    assert {"flask", "PIL"} <= set(built)


def _project_operation_ids() -> set[str]:
    names: set[str] = set()
    for spec in (ROOT / "openapi").glob("modelslab*.yaml"):
        document = yaml.safe_load(spec.read_text())
        for item in document.get("paths", {}).values():
            names.update(op["operationId"] for op in item.values() if isinstance(op, dict) and "operationId" in op)
    assert {"inpaint", "fetchById", "fetchByRequestId"} <= names
    return names


#: Code that must read what an operation does from its behaviour: the engine, the web layer (the
#: inspector's script too), and the rules and journal filters (both ask the spec's OperationNames).
_SPEC_DRIVEN = ("mockserver/engine", "mockserver/web", "mockserver/control", "mockserver/state")


def _named_operation_ids(path: Path, names: set[str]) -> list[str]:
    """String constants (not docstrings) of a Python file that are operationIds."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [f"{module_name(path)}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and node.value in names]


_JS_STRING = re.compile(r"""(["'`])((?:\\.|(?!\1).)*?)\1""")


def test_no_operation_id_of_a_project_spec_is_named_in_engine_web_rules_or_journal_code():
    """What an operation does is declared in the spec: the engine, the web layer, the rules and the
    journal never name one (only mockserver/behaviours/registry.py maps the first spec's names)."""
    names = _project_operation_ids()
    found = []
    for top in _SPEC_DRIVEN:
        for path in _sources(top):
            found += _named_operation_ids(path, names)
        for path in sorted((ROOT / top).rglob("*.js")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                found += [f"{path.relative_to(ROOT)}:{number} {m[2]!r}" for m in _JS_STRING.finditer(line)
                          if m[2] in names]
    assert found == []


def test_the_operation_id_check_sees_a_named_operation(tmp_path):
    """The check itself can fail: a constant (not a docstring) or a JS string naming one is found."""
    names = {"fetchById", "inpaint"}
    probe = tmp_path / "probe.py"
    probe.write_text('"""inpaint is fine in a docstring."""\nOPS = ("fetchById",)\n')
    assert [hit.split()[-1] for hit in _named_operation_ids(probe, names)] == ["'fetchById'"]
    assert [m[2] for m in _JS_STRING.finditer('const A = ["inpaint", `x`, \'fetchById\'];') if m[2] in names] == \
        ["inpaint", "fetchById"]


def test_the_readme_states_the_layers_in_this_order():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Architecture"):]
    block = section[section.index("```") + 3:]
    block = block[:block.index("```")]
    assert [line.split()[0] for line in block.strip().splitlines()] == [name for name, _ in LAYERS[1:]]


def test_the_architecture_doc_states_the_layers_in_this_order():
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text[text.index("## Layers"):]
    positions = [section.index(f"`{name}`") for name, _ in LAYERS[1:]]
    assert positions == sorted(positions), "docs/architecture.md lists the layers in another order"


def test_the_web_layer_reaches_the_engine_only_through_the_facade():
    """``MockState`` (mockserver/web/context.py) is the one place the web layer touches the engine:
    serve asks ``state.wait_with(...)`` instead of setting ``state.engine.sleep``."""
    found = []
    for path in _sources("mockserver/web"):
        if path.name == "context.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "engine":
                found.append(f"{module_name(path)}:{node.lineno}")
    assert found == []
