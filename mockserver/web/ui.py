"""The inspector: one page at ``GET /__mock/ui`` and the admin endpoints behind it.

The page (mockserver/web/ui_static: HTML, JS and CSS shipped in the package; no CDN, no remote
font, no build step) reads the admin API every second: the journal, rules, webhook attempts and
the clock, and for one request why it got its answer, its job's timeline and its images. Every
answer carries ``Content-Security-Policy: default-src 'self'`` (images also from ``blob:``, which
is how the page shows images it fetched with the admin token), so the page cannot load anything
from another host.

With an admin token configured, everything the page shows needs it, as the rest of ``/__mock/``
does. A browser cannot send a header when it opens a page, so the page takes the token once as
``/__mock/ui?token=...``, keeps it in ``sessionStorage``, removes it from the address bar and
sends it as ``X-Mock-Admin-Token`` with each call; without a good token the page answers 401 and
only asks for the token. The page's code (``/__mock/ui/inspector.js`` and ``.css``) holds no data
and is served to anyone.

Endpoints added here (described in openapi/mock-admin.yaml): ``GET /__mock/operations``,
``GET /__mock/requests/<seq>/explain``, ``GET /__mock/jobs/<id>``, ``GET /__mock/jobs/<id>/timeline``,
``GET /__mock/jobs/<id>/images/<init_image|mask_image|overlay|output-N>``.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any, Callable

from flask import Blueprint, Response, request

from mockserver.control.webhooks import WEBHOOKS_LOG
from mockserver.engine.context import owner_of
from mockserver.state.journal import iter_log
from mockserver.web.context import MockState
from mockserver.web.adapter import host_url
from mockserver.web.http import json_response
from mockserver.web.ui_explain import curl_for, explain, field_errors
from mockserver.web.ui_images import INPUTS, ImageAnswer, describe_input, input_image, output_image, overlay_image
from mockserver.web.ui_timeline import build_timeline

__all__ = ["CSP", "OPEN_ENDPOINTS", "add_inspector_routes"]

#: What the page may load: only from the mock itself (images also as blob: URLs it made).
CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
#: Endpoints the admin token check leaves to the view: the page (checks ``?token=`` itself) and its code.
OPEN_ENDPOINTS = frozenset({"mock_admin.inspector_page", "mock_admin.inspector_asset"})
_ASSETS = {"inspector.js": "text/javascript; charset=utf-8", "inspector.css": "text/css; charset=utf-8"}
_OUTPUT = re.compile(r"output-(\d{1,2})")
_SECURITY_HEADERS = {"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer",
                     "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


def _static(name: str) -> bytes:
    return resources.files("mockserver.web").joinpath("ui_static", name).read_bytes()


def _error(message: str, status: int) -> Response:
    return json_response({"status": "error", "message": message}, status, _SECURITY_HEADERS)


def add_inspector_routes(bp: Blueprint, state: MockState, token_ok: Callable[[str | None], bool]) -> None:
    """Register the page and its endpoints on the admin blueprint (whose token check guards them)."""

    @bp.get("/ui")
    def inspector_page() -> Response:
        given = request.headers.get("X-Mock-Admin-Token") or request.args.get("token")
        status = 200 if token_ok(given) or token_ok(_bearer()) else 401
        return Response(_static("index.html"), status=status, mimetype="text/html",
                        headers={**_SECURITY_HEADERS, "Cache-Control": "no-store"})

    @bp.get("/ui/<name>")
    def inspector_asset(name: str) -> Response:
        if name not in _ASSETS:
            return _error(f"no inspector file {name[:60]!r}", 404)
        return Response(_static(name), content_type=_ASSETS[name],
                        headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"})

    @bp.get("/operations")
    def list_operations() -> Response:
        """The spec's operations and their behaviours: the page's operation filter and what it
        shows for a fetch come from here, never from operation names it knows."""
        return json_response({"operations": state.operations()})

    @bp.get("/requests/<int:seq>/explain")
    def explain_request(seq: int) -> Response:
        since = min(max(0, seq - 1), 2**63 - 1)  # what a store's numbers can be
        entry = next((e for e in state.journal.iter_entries(since) if e.get("seq") == seq), None)
        if entry is None:
            return _error(f"no journal entry {seq} (the journal keeps the newest max_log_entries)", 404)
        base = state.config.public_url or host_url(request.environ)
        why = explain(entry, config=state.config, seed=state.seed, rules=state.rules.all(None),
                      owner_of=owner_of)
        return json_response({"seq": seq, "entry": entry, "reason": why, "errors": field_errors(entry),
                              "warnings": entry.get("warnings") or [], "curl": curl_for(entry, base)})

    def find_job(job_id: int) -> Any:
        job = state.store.get_job(job_id)
        key = request.args.get("key")
        if job is None or (key and job.owner != owner_of(key)):
            return None
        return job

    @bp.get("/jobs/<int:job_id>")
    def job_summary(job_id: int) -> Response:
        job = find_job(job_id)
        if job is None:
            return _error(f"no job {job_id}", 404)
        now = state.now(job.owner)
        render = job.render or {}
        inputs = {name: describe_input(render.get(name)) for name in INPUTS}
        # The job keeps what the client sent unmasked (it renders from it); texts a key could hide in
        # (prompt, track_id) are read from the journal, where the key was masked.
        submit = _submit_entry(state, job)
        body = submit.get("body") if isinstance(submit.get("body"), dict) else {}
        return json_response({
            "id": job.id, "owner": job.owner, "track_id": submit.get("track_id"), "status": job.status(now),
            "created_at": job.created_at, "ready_at": job.ready_at, "eta_left": job.remaining(now),
            "outcome": job.outcome, "width": job.width, "height": job.height, "samples": job.samples,
            "seed": job.seed, "ext": job.ext, "nsfw": job.nsfw, "webhook": bool(job.webhook),
            "webhook_status": job.webhook_status, "prompt": body.get("prompt"), "inputs": inputs,
            "images": {**{name: f"images/{name}" for name in INPUTS if inputs[name]["kind"] != "none"},
                       **({"overlay": "images/overlay"} if all(inputs[n]["kind"] != "none" for n in INPUTS) else {}),
                       "outputs": [f"images/output-{i}" for i in range(job.samples)]},
        })

    @bp.get("/jobs/<int:job_id>/timeline")
    def job_timeline(job_id: int) -> Response:
        job = find_job(job_id)
        if job is None:
            return _error(f"no job {job_id}", 404)
        entries = [e for e in state.journal.query(job_id=job.id) if e.get("owner") == job.owner]
        deliveries = [d for d in iter_log(state.store, WEBHOOKS_LOG) if d.get("job_id") == job.id]
        found = build_timeline(job, entries, deliveries, state.now(job.owner))
        found["track_id"] = next((e.get("track_id") for e in entries), None)  # as journalled: key masked
        return json_response(found)

    @bp.get("/jobs/<int:job_id>/images/<which>")
    def job_image(job_id: int, which: str) -> Response:
        job = find_job(job_id)
        if job is None:
            return _error(f"no job {job_id}", 404)
        output = _OUTPUT.fullmatch(which)
        if which in INPUTS:
            answer = input_image(state.artefacts, job, which)
        elif which == "overlay":
            answer = overlay_image(state.artefacts, job)
        elif output is not None:
            answer = output_image(state.artefacts, job, int(output[1]))
        else:
            return _error("images are init_image, mask_image, overlay or output-N", 404)
        return _image(answer)


def _submit_entry(state: MockState, job: Any) -> dict[str, Any]:
    """The journal entry of the request that made ``job`` ({} once the journal dropped it)."""
    return next((e for e in state.journal.query(job_id=job.id)
                 if e.get("owner") == job.owner and e.get("operation") != "image"
                 and not str(e.get("operation", "")).lower().startswith("fetch")), {})


def _image(answer: ImageAnswer) -> Response:
    if answer.png is None:
        return _error(answer.message, 404)
    return Response(answer.png, mimetype="image/png",
                    headers={**_SECURITY_HEADERS, "Cache-Control": "no-store",
                             "X-Image-Size": f"{answer.width}x{answer.height}"})


def _bearer() -> str | None:
    scheme, _, value = (request.headers.get("Authorization") or "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None

