"""``make bench``: the mock as ``mockserver run`` starts it, the raw-WSGI ceiling and Prism, loaded with wrk.

Everything runs on 127.0.0.1 and each cell is bounded in time (``--duration`` seconds), so the
whole run takes a few minutes. The headline of every cell is the **server's CPU per request**
(user + system time of the server's processes over the requests served): unlike req/s it hardly
moves when other processes share the cores. Req/s, p50 and p99 stand beside it, and the load
average when the cell started, so a figure from a busy machine says so.

Servers, one at a time:

* the mock with ``mockserver run``'s defaults (1 worker, in-memory store) and ``--quiet``: the
  validated ``POST /inpaint`` (answered ``success``) and a fetch of a finished job; then the same
  POST with the console line per request that ``mockserver run`` prints by default;
* the mock with ``--state DIR`` (SQLite): the same POST, a fetch with one job and with the store
  at its 100,000-job cap, an output image GET (first render and cached);
* the ceiling: a raw WSGI app on the very same server and front (bench/ceiling_app.py);
* Prism (``PRISM_PACKAGE``) on the same spec, the same POST.

Every server is loaded for a few seconds before it is measured (Prism for 20: Node compiles its
hot code under load). Then cold start (launch to the first ``success``, defaults, as seconds and
as CPU spent), peak RSS per process and the time
of a first 512x512 render. Figures go to bench/out/ as JSON. It is a benchmark, not a test:
nothing here fails on a slow figure, it reports which targets are met and by how much.

Tools it needs and installs when missing: wrk (Debian's package, through apt-get when running
as root) and Prism (``npm install`` into bench/.prism when npm exists; skipped with a note
otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
PRISM_DIR = BENCH / ".prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5.16.0"
LUA = BENCH / "wrk_request.lua"
SPEC = ROOT / "openapi" / "modelslab-pony-inpaint.yaml"
API = "/api/v6/images"
KEY = "bench-key"
BODY = {
    "key": KEY,
    "model_id": "pony-realism",
    "prompt": "a cat sitting on a bench, golden hour",
    "negative_prompt": "blurry",
    "init_image": "https://example.com/init.png",
    "mask_image": "https://example.com/mask.png",
    "width": 512,
    "height": 512,
    "samples": 1,
    "steps": 21,
    "guidance_scale": 7.5,
    "strength": 0.7,
    "safety_checker": "no",
}
#: Issue 11's targets (ratios from one run, ``mockserver run`` defaults unless named).
TARGETS = {
    "post_cpu_vs_prism": 0.25,  # validated POST server CPU <= 1/4 of Prism's
    "post_cpu_state_vs_prism": 0.5,  # the same with --state (SQLite): <= 1/2 of Prism's
    "post_rps_vs_prism": 3.0,  # req/s at 16 connections >= 3x Prism's
    "cold_start_s": 0.5,
    "rss_mb": 120.0,
    "fetch_100k_vs_empty": 0.8,
    "first_render_ms": 30.0,
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- tools ------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        log("installing wrk from Debian's packages")
        if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        sys.exit("bench: wrk is needed (apt-get install wrk); it could not be installed here")
    return found


def ensure_prism() -> tuple[Path | None, str]:
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary, ""
    if not shutil.which("npm"):
        return None, "npm not found: Prism skipped"
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    log(f"installing {PRISM_PACKAGE} into {PRISM_DIR.relative_to(ROOT)}")
    done = subprocess.run(["npm", "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund",
                           "--loglevel=error", PRISM_PACKAGE], capture_output=True, text=True)
    if done.returncode != 0 or not binary.exists():
        return None, f"npm install {PRISM_PACKAGE} failed: Prism skipped ({done.stderr.strip()[-200:]})"
    return binary, ""


def prism_version(binary: Path) -> str:
    try:
        return subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


# -- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process on a loopback port; ``start`` waits until ``probe`` answers."""

    def __init__(self, name: str, cmd: list[str], port: int, env: dict[str, str] | None = None):
        self.name, self.cmd, self.port = name, cmd, port
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)

    def start(self, probe, timeout: float = 60.0) -> float:
        begin = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
                                     env=self.env, start_new_session=True)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log.name}")
            try:
                if probe(self.url):
                    return time.perf_counter() - begin
            except (requests.RequestException, OSError):
                pass
            if time.perf_counter() - begin > timeout:
                raise RuntimeError(f"{self.name} did not answer within {timeout}s: see {self.log.name}")
            time.sleep(0.002)

    def pids(self) -> list[int]:
        """The server's own process and all its descendants (granian workers, node children)."""
        if self.proc is None:
            return []
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found, frontier = [self.proc.pid], [self.proc.pid]
        while frontier:
            children = [pid for pid, parent in parents.items() if parent in frontier]
            found += children
            frontier = children
        return found

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, including their waited-for children."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def wait_until_idle(server: "Server", timeout: float = 30.0) -> None:
    """Wait for the server's background start-up work (workers load openapi-core a second after
    they start) to finish, so it is not billed to the first cell."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(server.pids())
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(server.pids())
        if now - last < 0.03:
            return
        last = now


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def post_ok(path: str, body: dict[str, Any], status: str = "success"):
    raw = json.dumps(body).encode()

    def probe(url: str) -> bool:
        answer = requests.post(url + path, data=raw, headers={"Content-Type": "application/json"}, timeout=2)
        return answer.status_code == 200 and (status is None or answer.json().get("status") == status)

    return probe


def mock_command(port: int, *args: str, quiet: bool = True) -> list[str]:
    """``mockserver run`` with its defaults, but every POST answered at once, a fixed seed and (unless
    ``quiet=False``) no console line per request."""
    return [sys.executable, "-m", "mockserver", "run", "--port", str(port), "--processing-ratio", "0", "--seed", "1",
            *(["--quiet"] if quiet else []), *args]


# -- wrk --------------------------------------------------------------------------------------


def run_wrk(wrk: str, url: str, connections: int, duration: float, *, method: str = "POST",
            body: bytes | None = None, paths: list[str] | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, BENCH_METHOD=method)
        if body is not None:
            (Path(scratch) / "body.json").write_bytes(body)
            env["BENCH_BODY_FILE"] = str(Path(scratch) / "body.json")
        if paths:
            (Path(scratch) / "paths.txt").write_text("\n".join(paths) + "\n")
            env["BENCH_PATHS_FILE"] = str(Path(scratch) / "paths.txt")
        cmd = [wrk, "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s", "-s", str(LUA), url]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=duration + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures: {done.stdout[-400:]} {done.stderr[-400:]}")
    raw = json.loads(line[len("BENCH_JSON "):])
    seconds = raw["duration_us"] / 1e6
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return {
        "connections": connections,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": errors,
        "non_2xx": raw["errors_status"],
    }


# -- the run ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": mem_gb, "python": platform.python_version(),
            "kernel": platform.release(), "system": platform.system(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def create_jobs(store_url: str, template_id: int, count: int) -> list[str]:
    """Finished jobs written straight into the mock's SQLite file: ``count`` copies of a real one."""
    import uuid

    from mockserver.state.stores import open_store

    store = open_store(store_url, None)
    template = store.get_job(template_id)
    assert template is not None, "the template job is missing"
    names = []
    for i in range(count):
        prefix = str(uuid.uuid4())
        job = replace(template, id=store.next_id(), file_prefix=prefix, seed=template.seed + i + 1,
                      meta=dict(template.meta, file_prefix=prefix, seed=template.seed + i + 1))
        store.put_job(job)
        names.append(f"/generations/{job.output_names()[0]}")
    store.close()
    return names


def first_renders(url: str, names: list[str]) -> list[float]:
    session = requests.Session()
    times = []
    for name in names:
        begin = time.perf_counter()
        answer = session.get(url + name, timeout=30)
        times.append((time.perf_counter() - begin) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {name} answered {answer.status_code}: {answer.text[:200]}")
    return times


def cold_starts(runs: int, *args: str) -> tuple[list[float], list[float]]:
    """Seconds from launch to the first ``success``, and the CPU seconds the server's processes spent
    by then (that figure moves far less with the load of the machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        port = free_port()
        server = Server("cold", mock_command(port, *args), port)
        try:
            walls.append(server.start(post_ok(f"{API}/inpaint", BODY), timeout=30))
            cpus.append(cpu_seconds(server.pids()))
        finally:
            server.stop()
    return walls, cpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per cell (default 5)")
    parser.add_argument("--workers", type=int, default=1, help="mock workers (default 1, as mockserver run)")
    parser.add_argument("--connections", default="1,16,64", help="wrk connection counts (default 1,16,64)")
    parser.add_argument("--fill", type=int, default=100_000, help="jobs in the store for the full-store fetch")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.connections.split(",")]
    wrk = ensure_wrk()
    prism, prism_note = (None, "skipped by --no-prism") if args.no_prism else ensure_prism()
    OUT.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="modelslab-mock-bench-"))
    state_dir = scratch / "state"
    store_url = f"sqlite:///{state_dir}/mock.sqlite3"
    workers = ("--workers", str(args.workers), "--state", str(state_dir / "shared")) if args.workers > 1 else ()
    body = json.dumps(BODY).encode()
    fetch_body = json.dumps({"key": KEY}).encode()
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {"workers": args.workers, "duration_s": args.duration, "connections": levels, "wrk_threads": 1,
                     "server": "granian + RSGI front (mockserver run)"},
        "cells": {},
        "notes": [],
    }
    cells = results["cells"]

    def measured(server: Server, url: str, c: int, **kwargs: Any) -> dict[str, Any]:
        """One wrk cell, the CPU the server spent per request, and the load average it ran in."""
        pids = server.pids()
        load_before = os.getloadavg()[0]
        before = cpu_seconds(pids)
        cell = run_wrk(wrk, url, c, args.duration, **kwargs)
        spent = cpu_seconds(pids) - before
        cell["server_cpu_us_per_request"] = round(spent / cell["requests"] * 1e6) if cell["requests"] else None
        cell["load_average"] = round(load_before, 2)
        return cell

    def warm(server: Server, url: str, seconds: float, **kwargs: Any) -> None:
        """Load a server before measuring it: Prism (Node) compiles its hot code under load, and its
        CPU per request fell threefold over its first 15 seconds of load in a trial."""
        run_wrk(wrk, url, 16, seconds, **kwargs)
        wait_until_idle(server)

    def load(name: str, server: Server, url: str, at: list[int] | None = None, **kwargs: Any) -> None:
        cells[name] = []
        for c in at or levels:
            cell = measured(server, url, c, **kwargs)
            log(f"{name:<16} c={c:<3} cpu/req {cell['server_cpu_us_per_request']} us  {cell['rps']:>9.1f} req/s  "
                f"p50 {cell['p50_ms']:>7.2f} ms  p99 {cell['p99_ms']:>7.2f} ms  errors {cell['errors']}  "
                f"load {cell['load_average']}")
            cells[name].append(cell)

    def started(name: str, cmd: list[str], port: int, probe_path: str = f"{API}/inpaint") -> Server:
        server = Server(name, cmd, port)
        server.start(post_ok(probe_path, BODY), timeout=120)
        time.sleep(1.5)  # serve.WARM_UP_DELAY: then workers load Flask and openapi-core in the background
        wait_until_idle(server)
        return server

    def rss(server: Server) -> dict[str, Any]:
        children = [pid for pid in server.pids() if pid != server.proc.pid]
        return {"workers": [round(peak_rss_mb(pid) or 0, 1) for pid in children],
                "main": round(peak_rss_mb(server.proc.pid) or 0, 1)}

    # 1. the mock as `mockserver run` starts it ---------------------------------------------
    port = free_port()
    log(f"the mock, mockserver run defaults ({args.workers} worker(s), "
        f"{'in-memory store' if args.workers == 1 else '--state'})")
    mock = started("mock", mock_command(port, *workers), port)
    try:
        made = requests.post(mock.url + f"{API}/inpaint", data=body, headers={"Content-Type": "application/json"},
                             timeout=10).json()
        assert made["status"] == "success", made
        warm(mock, f"{mock.url}{API}/inpaint", 3, body=body)
        load("post", mock, f"{mock.url}{API}/inpaint", body=body)
        load("fetch", mock, f"{mock.url}{API}/fetch/{made['id']}", at=[16], body=fetch_body)
        results["rss_mb"] = rss(mock)
    finally:
        mock.stop()

    # 1b. the same with its console line per request (mockserver run without --quiet; to a file)
    port = free_port()
    mock = started("mock-logged", mock_command(port, *workers, quiet=False), port)
    try:
        warm(mock, f"{mock.url}{API}/inpaint", 3, body=body)
        load("post_logged", mock, f"{mock.url}{API}/inpaint", at=[16], body=body)
    finally:
        mock.stop()

    # 2. the mock with --state (SQLite) -------------------------------------------------------
    port = free_port()
    log("the mock with --state DIR (SQLite)")
    mock = started("mock-state", mock_command(port, "--state", str(state_dir), *workers[:2]), port)
    try:
        made = requests.post(mock.url + f"{API}/inpaint", data=body, headers={"Content-Type": "application/json"},
                             timeout=10).json()
        fetch_url = f"{mock.url}{API}/fetch/{made['id']}"
        warm(mock, f"{mock.url}{API}/inpaint", 3, body=body)
        load("post_state", mock, f"{mock.url}{API}/inpaint", body=body)
        load("fetch_state", mock, fetch_url, at=[16], body=fetch_body)
        # First renders, one at a time (after one render: imports are lazy).
        names = create_jobs(store_url, made["id"], 8 + 20)
        first_renders(mock.url, names[:8])
        render_ms = first_renders(mock.url, names[8:])
        results["first_render_512_ms"] = {"median": round(statistics.median(render_ms), 2),
                                          "max": round(max(render_ms), 2), "samples": len(render_ms)}
        log(f"first render 512x512: median {statistics.median(render_ms):.1f} ms, max {max(render_ms):.1f} ms")
        cached = names[0]
        requests.get(mock.url + cached, timeout=30)
        load("image_cached", mock, mock.url + cached, at=[16], method="GET")
        per_cell = max(2000, int(args.duration * 600))
        fresh = create_jobs(store_url, made["id"], per_cell)
        cell = measured(mock, mock.url, 16, method="GET", paths=fresh)
        cell["all_first_renders"] = cell["requests"] <= per_cell
        log(f"{'image_first':<16} c=16  cpu/req {cell['server_cpu_us_per_request']} us  {cell['rps']:>9.1f} req/s  "
            f"p99 {cell['p99_ms']:>7.2f} ms  errors {cell['errors']}")
        cells["image_first"] = [cell]

        # The store at its cap: 100,000 jobs, then the same fetch.
        from mockserver.state.stores import open_store

        store = open_store(store_url, None)
        have = len(store)
        store.close()
        if have < args.fill:
            log(f"filling the store from {have} to {args.fill} jobs")
            create_jobs(store_url, made["id"], args.fill - have)
        last = requests.post(mock.url + f"{API}/inpaint", data=body, headers={"Content-Type": "application/json"},
                             timeout=10).json()
        store = open_store(store_url, None)
        results["jobs_in_full_store"] = len(store)
        store.close()
        load("fetch_100k", mock, f"{mock.url}{API}/fetch/{last['id']}", at=[16], body=fetch_body)
        results["rss_mb_state"] = rss(mock)
    finally:
        mock.stop()

    # 3. the ceiling: raw WSGI on the same server and front ------------------------------------
    port = free_port()
    ceiling = started("ceiling", [sys.executable, str(BENCH / "ceiling_app.py"), str(port), str(args.workers)], port)
    try:
        warm(ceiling, f"{ceiling.url}{API}/inpaint", 3, body=body)
        load("ceiling_post", ceiling, f"{ceiling.url}{API}/inpaint", body=body)
    finally:
        ceiling.stop()

    # 4. Prism ----------------------------------------------------------------------------------
    if prism is not None:
        port = free_port()
        server = Server("prism", [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)], port)
        results["prism_version"] = prism_version(prism)
        try:
            server.start(post_ok("/inpaint", BODY), timeout=120)
            wait_until_idle(server)
            warm(server, f"{server.url}/inpaint", 20, body=body)
            load("prism_post", server, f"{server.url}/inpaint", body=body)
            results["prism_rss_mb"] = round(sum(peak_rss_mb(pid) or 0 for pid in server.pids()), 1)
        except RuntimeError as exc:
            prism_note = f"Prism did not serve the spec: {exc}"
        finally:
            server.stop()
    if prism_note:
        results["notes"].append(prism_note)
        log(prism_note)

    # 5. cold start (defaults) -----------------------------------------------------------------
    load_before = os.getloadavg()[0]
    starts, cpus = cold_starts(5, *workers)
    results["cold_start_s"] = {"median": round(statistics.median(starts), 3), "max": round(max(starts), 3),
                               "runs": [round(s, 3) for s in starts], "load_average": round(load_before, 2),
                               "cpu_s_median": round(statistics.median(cpus), 3)}
    log(f"cold start to first answer: median {statistics.median(starts):.3f} s")
    shutil.rmtree(scratch, ignore_errors=True)

    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = evaluate(results)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = json.dumps(results, indent=2)
    (OUT / f"bench-{stamp}.json").write_text(text)
    (OUT / "latest.json").write_text(text)
    print(render_table(results))
    print(f"\nfigures: {(OUT / f'bench-{stamp}.json').relative_to(ROOT)}")
    return 0


def _at(results: dict[str, Any], cell: str, connections: int) -> dict[str, Any] | None:
    for entry in results["cells"].get(cell, []):
        if entry["connections"] == connections:
            return entry
    return None


def _cpu(cell: dict[str, Any] | None) -> int | None:
    return cell.get("server_cpu_us_per_request") if cell else None


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    post, state, prism = (_at(results, n, 16) for n in ("post", "post_state", "prism_post"))
    empty, full = _at(results, "fetch_state", 16), _at(results, "fetch_100k", 16)
    found = []

    def target(name: str, value: float | None, goal: float, higher_is_better: bool, unit: str = "") -> None:
        met = None if value is None else (value >= goal if higher_is_better else value <= goal)
        found.append({"target": name, "value": value, "goal": goal, "unit": unit, "met": met,
                      "rule": ">=" if higher_is_better else "<="})

    if _cpu(post) and _cpu(prism):
        target("POST server CPU per request vs Prism's (16 conn.)", round(_cpu(post) / _cpu(prism), 2),
               TARGETS["post_cpu_vs_prism"], False, "x")
    if _cpu(state) and _cpu(prism):
        target("  same with --state (SQLite)", round(_cpu(state) / _cpu(prism), 2),
               TARGETS["post_cpu_state_vs_prism"], False, "x")
    if post and prism:
        target("POST req/s at 16 connections vs Prism's", round(post["rps"] / prism["rps"], 2),
               TARGETS["post_rps_vs_prism"], True, "x")
        target("POST p99 at 16 connections vs Prism's", post["p99_ms"], prism["p99_ms"], False, "ms")
    if _cpu(empty) and _cpu(full):  # by CPU per request: req/s of two cells moves with the load between them
        target("fetch with 100k jobs vs one, by CPU per request (--state, 16 conn.)",
               round(_cpu(empty) / _cpu(full), 2), TARGETS["fetch_100k_vs_empty"], True, "x")
    target("cold start to first answer (median)", results["cold_start_s"]["median"], TARGETS["cold_start_s"], False, "s")
    worst = max(results["rss_mb"]["workers"] + [results["rss_mb"]["main"]])
    target("peak RSS per process (largest)", worst, TARGETS["rss_mb"], False, "MB")
    target("first render of 512x512 (median)", results["first_render_512_ms"]["median"], TARGETS["first_render_ms"],
           False, "ms")
    return found


def render_table(results: dict[str, Any]) -> str:
    m, s = results["machine"], results["settings"]
    lines = [
        "",
        f"modelslab-mock bench: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}, "
        f"Linux {m['kernel']}; load average {m['load_average_at_start'][0]} at start, "
        f"{m.get('load_average_at_end', ['?'])[0]} at end (other processes share these cores)",
        f"mock: mockserver run ({s['server']}), {s['workers']} worker(s); wrk 1 thread, {s['duration_s']:g} s per cell; "
        f"Prism {results.get('prism_version', 'skipped')}",
        "",
        f"{'scenario':<27}{'conn':>5}{'cpu us/req':>11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}{'load':>6}"
        f"{'cpu vs Prism':>13}{'req/s vs Prism':>15}",
        "-" * 109,
    ]
    labels = {"post": "POST /inpaint (defaults)", "fetch": "fetch (defaults)",
              "post_logged": "POST, a console line each",
              "post_state": "POST /inpaint (--state)", "fetch_state": "fetch, 1 job (--state)",
              "fetch_100k": "fetch, 100k jobs (--state)", "image_first": "image GET, first render",
              "image_cached": "image GET, cached", "ceiling_post": "POST, raw WSGI (ceiling)",
              "prism_post": "POST, Prism"}
    for name, label in labels.items():
        for cell in results["cells"].get(name, []):
            c = cell["connections"]
            prism = _at(results, "prism_post", c)
            mine = name in ("post", "post_logged", "post_state", "ceiling_post")
            cpu_vs = f"{_cpu(cell) / _cpu(prism):.2f}x" if mine and _cpu(cell) and _cpu(prism) else ""
            rps_vs = f"{cell['rps'] / prism['rps']:.2f}x" if mine and prism and prism["rps"] else ""
            cpu = _cpu(cell)
            lines.append(f"{label:<27}{c:>5}{cpu if cpu is not None else '':>11}{cell['rps']:>9.0f}"
                         f"{cell['p50_ms']:>9.2f}{cell['p99_ms']:>9.2f}{cell['errors']:>5}"
                         f"{cell.get('load_average', ''):>6}{cpu_vs:>13}{rps_vs:>15}")
    cold = results["cold_start_s"]
    lines += [
        "",
        f"cold start to first answer: median {cold['median']:.3f} s (runs {cold['runs']}, load {cold['load_average']}); "
        f"CPU spent by then: median {cold.get('cpu_s_median', '?')} s",
        f"peak RSS: mock {results['rss_mb']} MB, with --state {results['rss_mb_state']} MB"
        + (f"; Prism {results['prism_rss_mb']} MB" if "prism_rss_mb" in results else ""),
        f"first render 512x512 (one at a time, over HTTP): median {results['first_render_512_ms']['median']:.1f} ms, "
        f"max {results['first_render_512_ms']['max']:.1f} ms",
        f"jobs in the full store: {results.get('jobs_in_full_store')}",
        "",
        "targets (issue 11):",
    ]
    for t in results["targets"]:
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[t["met"]]
        lines.append(f"  {mark} {t['target']}: {t['value']}{t['unit']} (goal {t['rule']} {t['goal']}{t['unit']})")
    for note in results["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
