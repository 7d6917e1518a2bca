"""`make mutate`: mutation testing per module with mutmut 3, one module at a time.

For each module a scratch copy of the checkout is made under .mutate/<module>/ with a
[tool.mutmut] section that mutates only that module and runs only its tests (the mirrored
test file, the `always` tests of mutation/modules.toml and that module's extra `tests`).
mutmut runs there under `nice` with a wall-clock bound; afterwards its results are read back,
survivors that mutation/equivalent.txt lists are set aside, and one table is printed:

    module  mutants  killed  survived  timeout  no-tests  other  equivalent  score

score = (killed + timeout) / (mutants - equivalent). Survivors (and mutants no test reached)
are printed as diffs, each with the key that marks it equivalent, and everything is written to
.mutate/report.md. Exit status 1 when a module is under --fail-under (default 85).

    python mutation/run.py [--modules "a.py b.py"] [--jobs 1] [--timeout 1800] [--fail-under 85]
                           [--only GLOB ...] [--keep]
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "mutation"
SCRATCH = ROOT / ".mutate"
EQUIVALENT_FILE = HERE / "equivalent.txt"
#: What the tests need next to the code (the spec, the examples, the docs the README tests read).
COPY = ("mockserver", "contracts", "tests", "openapi", "examples", "docs", "README.md")
SOURCE_PATHS = ("mockserver", "contracts")
#: Loaded into every mutmut pytest run: Hypothesis draws the same examples every time (a verdict
#: must not depend on luck), keeps no example database (one mutant's failure is no other's test
#: case) and has no deadline (a slow run on a busy machine is no kill).
PROFILE_PLUGIN = "mutate_hypothesis_profile.py"
PROFILE_SOURCE = """\
from hypothesis import HealthCheck, settings


def pytest_collection_modifyitems(session, config, items):
    # after every conftest: they may load profiles of their own
    settings.register_profile("mutate", derandomize=True, database=None, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("mutate")
"""


# ------------------------------------------------------------------------------ configuration


def load_modules_config() -> tuple[list[str], dict[str, list[str]]]:
    data = tomllib.loads((HERE / "modules.toml").read_text())
    always = list(data.get("always", []))
    extra = {name: list(entry.get("tests", [])) for name, entry in data.get("modules", {}).items()}
    return always, extra


def mirrored_test(module: str) -> str:
    """mockserver/images/netpolicy.py -> tests/mockserver/images/test_netpolicy.py"""
    path = Path(module)
    return str(Path("tests", *path.parent.parts, f"test_{path.stem}.py"))


def tests_for(module: str, always: list[str], extra: dict[str, list[str]]) -> list[str]:
    wanted = [mirrored_test(module), *extra.get(module, []), *always]
    chosen: list[str] = []
    for test in wanted:
        if not (ROOT / test).is_file():
            print(f"  warning: {test} does not exist; not run for {module}", file=sys.stderr)
        elif test not in chosen:
            chosen.append(test)
    return chosen


def slug(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


# ------------------------------------------------------------------------------ equivalents


@dataclass(frozen=True)
class Equivalent:
    key: str
    module: str
    change: str
    reason: str


def load_equivalents(path: Path = EQUIVALENT_FILE) -> dict[str, Equivalent]:
    """``key | module | change | reason`` per line; '#' comments and blank lines ignored."""
    found: dict[str, Equivalent] = {}
    if not path.exists():
        return found
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split(" | ")]
        if len(parts) != 4 or not all(parts):
            raise SystemExit(f"{path}:{number}: expected 'key | module | change | reason', got {line!r}")
        key, module, change, reason = parts
        found[key] = Equivalent(key, module, change, reason)
    return found


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    removed = [l[1:].strip() for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")]
    added = [l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    return removed, added


def mutant_key(module: str, mutant: str, diff: str) -> str:
    """Stable across renumbering: the module, the function (not mutmut's mutant number) and the
    lines the mutation changes. Editing the function's other lines keeps the key; editing the
    mutated line retires it (the entry is then reported as stale)."""
    function = mutant.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1]
    removed, added = changed_lines(diff)
    text = "\n".join([module, function, *("-" + l for l in removed), *("+" + l for l in added)])
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def change_summary(diff: str) -> str:
    removed, added = changed_lines(diff)
    return f"{' / '.join(removed) or '(nothing)'}  ->  {' / '.join(added) or '(removed)'}"


# ------------------------------------------------------------------------------ running mutmut


def prepare(module: str, tests: list[str], work: Path, jobs: int) -> None:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, work / name)
    (work / PROFILE_PLUGIN).write_text(PROFILE_SOURCE)
    also = [name for name in COPY if name not in SOURCE_PATHS and name != "tests" and (ROOT / name).exists()]
    also.append(PROFILE_PLUGIN)
    config = {
        "source_paths": list(SOURCE_PATHS),
        "only_mutate": [module],
        "pytest_add_cli_args_test_selection": tests,
        # xdist stays off inside mutmut's in-process pytest; -p no:randomly is added by mutmut
        "pytest_add_cli_args": ["-p", "no:xdist", "-p", PROFILE_PLUGIN.removesuffix(".py"),
                                "-W", "ignore::pytest.PytestUnraisableExceptionWarning"],
        "also_copy": also,
        "use_git_change_detection": False,
    }
    pyproject = (ROOT / "pyproject.toml").read_text()
    lines = ["", "[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    (work / "pyproject.toml").write_text(pyproject + "\n".join(lines) + "\n")


def run_mutmut(work: Path, jobs: int, timeout: int, log: Path, only: list[str] = ()) -> tuple[int, float]:
    mutmut = Path(sys.executable).with_name("mutmut")
    command = ["nice", "-n", "10", "timeout", "--kill-after=30", str(timeout), str(mutmut), "run",
               "--max-children", str(jobs), *only]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)  # the copy in .mutate/…/mutants must be the code under test
    started = time.monotonic()
    with open(log, "w") as out:
        code = subprocess.call(command, cwd=work, stdout=out, stderr=subprocess.STDOUT, env=env)
    return code, time.monotonic() - started


_COLLECT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code
    module = sys.argv[1]
    data = SourceFileMutationData(path=Path(module))
    data.load()
    out = []
    for name, code in sorted(data.exit_code_by_key.items()):
        status = status_by_exit_code[code]
        diff = "" if status == "killed" else get_diff_for_mutant(name, path=module)
        out.append({"name": name, "status": status, "diff": diff})
    json.dump(out, sys.stdout)
    """
)


def collect(work: Path, module: str) -> list[dict]:
    if not (work / "mutants" / (module + ".meta")).exists():
        return []
    result = subprocess.run([sys.executable, "-c", _COLLECT, module], cwd=work, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"reading mutmut's results for {module} failed:\n{result.stderr}")
    return json.loads(result.stdout)


# ------------------------------------------------------------------------------ the report


@dataclass
class ModuleResult:
    module: str
    tests: list[str]
    seconds: float = 0.0
    exit_code: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    equivalent: list[tuple[dict, Equivalent]] = field(default_factory=list)
    survivors: list[dict] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def detected(self) -> int:
        return self.counts.get("killed", 0) + self.counts.get("timeout", 0)

    @property
    def score(self) -> float | None:
        judged = self.total - len(self.equivalent)
        return 100.0 * self.detected / judged if judged > 0 else None


def summarise(module: str, tests: list[str], mutants: list[dict], equivalents: dict[str, Equivalent]) -> ModuleResult:
    result = ModuleResult(module, tests)
    for mutant in mutants:
        status = mutant["status"]
        if status in ("survived", "no tests"):
            mutant["key"] = mutant_key(module, mutant["name"], mutant["diff"])
            if mutant["key"] in equivalents:
                result.equivalent.append((mutant, equivalents[mutant["key"]]))
                status = "equivalent"
            else:
                result.survivors.append(mutant)
        elif status not in ("killed", "timeout"):
            result.survivors.append(mutant)
        result.counts[status] = result.counts.get(status, 0) + 1
    return result


def table(results: list[ModuleResult]) -> str:
    head = ("module", "mutants", "killed", "survived", "timeout", "no tests", "other", "equiv.", "score")
    rows = []
    for r in results:
        c = r.counts
        other = r.total - sum(c.get(k, 0) for k in ("killed", "survived", "timeout", "no tests", "equivalent"))
        score = "n/a" if r.score is None else f"{r.score:.1f}%"
        rows.append((r.module, r.total, c.get("killed", 0), c.get("survived", 0), c.get("timeout", 0),
                     c.get("no tests", 0), other, c.get("equivalent", 0), score))
    widths = [max(len(str(x)) for x in column) for column in zip(head, *rows)]
    fmt = "  ".join("{:<%d}" % widths[0:1][0] if i == 0 else "{:>%d}" % w for i, w in enumerate(widths))
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def details(r: ModuleResult) -> str:
    out = [f"## {r.module}", "", f"tests: {' '.join(r.tests)}", f"mutmut exit {r.exit_code}, {r.seconds:.0f} s", ""]
    if r.survivors:
        out.append(f"### {len(r.survivors)} not killed")
        for m in r.survivors:
            out += ["", f"{m['status']}: {m['name']}   key {m.get('key', '-')}", m["diff"] or "(no diff)"]
        out.append("")
    if r.equivalent:
        out.append(f"### {len(r.equivalent)} equivalent (mutation/equivalent.txt)")
        out += [f"- {m['name']}: {e.change} -- {e.reason}" for m, e in r.equivalent]
        out.append("")
    return "\n".join(out)


def stale_equivalents(results: list[ModuleResult], equivalents: dict[str, Equivalent]) -> list[Equivalent]:
    ran = {r.module for r in results}
    used = {e.key for r in results for _, e in r.equivalent}
    return [e for e in equivalents.values() if e.module in ran and e.key not in used]


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", default="", help="space-separated module paths (default: mutation/modules.toml)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1: a shared machine)")
    parser.add_argument("--timeout", type=int, default=1800, help="wall-clock seconds per module (default 1800)")
    parser.add_argument("--fail-under", type=float, default=85.0, help="exit 1 when a module scores less")
    parser.add_argument("--keep", action="store_true", help="keep .mutate/<module>/ for `mutmut browse`")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="only mutants whose name matches (fnmatch, repeatable), e.g. '*Generate*': "
                             "a quick loop on one function while writing its tests")
    args = parser.parse_args(argv)

    always, extra = load_modules_config()
    modules = args.modules.split() or list(extra)
    for module in modules:
        if not (ROOT / module).is_file():
            parser.error(f"{module} is not a file in {ROOT}")
    equivalents = load_equivalents()
    SCRATCH.mkdir(exist_ok=True)

    results: list[ModuleResult] = []
    for module in modules:
        tests = tests_for(module, always, extra)
        work = SCRATCH / slug(module)
        print(f"== {module}: {' '.join(tests)}", flush=True)
        prepare(module, tests, work, args.jobs)
        code, seconds = run_mutmut(work, args.jobs, args.timeout, SCRATCH / f"{slug(module)}.log", args.only)
        mutants = collect(work, module)
        if args.only:
            mutants = [m for m in mutants if any(fnmatch.fnmatch(m["name"], glob) for glob in args.only)]
        result = summarise(module, tests, mutants, equivalents)
        result.exit_code, result.seconds = code, seconds
        if code == 124:
            print(f"   stopped after {args.timeout} s (--timeout); unfinished mutants count as 'other'")
        elif code != 0:
            print(f"   mutmut exited {code}; see {SCRATCH / (slug(module) + '.log')}")
        print(f"   {result.total} mutants, score "
              f"{'n/a' if result.score is None else f'{result.score:.1f}%'} in {seconds:.0f} s", flush=True)
        results.append(result)
        (SCRATCH / f"{slug(module)}.md").write_text(details(result))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    report = ["# Mutation testing report", "", "```", table(results), "```", ""]
    stale = [] if args.only else stale_equivalents(results, equivalents)
    if stale:
        report += ["## Stale entries in mutation/equivalent.txt (no such mutant survives now)", ""]
        report += [f"- {e.key} {e.module}: {e.change}" for e in stale] + [""]
    report += [details(r) for r in results]
    (SCRATCH / "report.md").write_text("\n".join(report))

    for r in results:
        if r.survivors:
            print()
            print(details(r))
    if stale:
        print("Stale equivalent entries:", *(f"  {e.key} {e.module}: {e.change}" for e in stale), sep="\n")
    print()
    print(table(results))
    print(f"\nscore = (killed + timeout) / (mutants - equivalent); full report: {SCRATCH / 'report.md'}")
    low = [r.module for r in results if r.score is None or r.score < args.fail_under]
    if low:
        print(f"under {args.fail_under:g}%: {' '.join(low)}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
