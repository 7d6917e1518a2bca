"""Serve the output URLs the API hands out: ``/generations/<uuid>-<i>.png`` (or ``.base64``).

A URL answers 404 until its job is done, then the image of the job's size. Images are made on
the first GET, never while answering the POST that promised them.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response

from mockserver.artefacts import render_output
from mockserver.http import json_response
from mockserver.state import MockState

__all__ = ["generations_blueprint"]

_NAME = re.compile(r"^(?P<prefix>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(?P<index>\d{1,2})\.(?P<ext>png|base64)$")


def _not_found(name: str) -> Response:
    return json_response({"status": "error", "message": f"No generation named {name[:80]!r} is ready"}, 404)


def generations_blueprint(state: MockState) -> Blueprint:
    bp = Blueprint("mock_generations", __name__)

    @bp.get("/generations/<path:name>")
    def generation(name: str) -> Response:
        match = _NAME.match(name)
        if not match:
            return _not_found(name)
        job = state.store.get_job_by_prefix(match["prefix"])
        index = int(match["index"])
        if job is None or index >= job.samples or match["ext"] != job.ext:
            return _not_found(name)
        if job.status(state.engine.clock.now(job.owner)) != "success":
            return _not_found(name)
        data, mimetype = render_output(job, index)
        return Response(data, mimetype=mimetype, headers={"Cache-Control": "public, max-age=86400"})

    return bp
