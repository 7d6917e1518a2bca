"""Serve the output URLs the API hands out: ``/generations/<uuid>-<i>.png`` (or ``.base64``).

A URL answers 404 until its job is done, then the image of the job's size, rendered on the first
GET (never while answering the POST that promised it) and cached; see mockserver/images/artefacts.py.
Every GET is journalled (operation ``image``) under the namespace of the job's key.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from mockserver.web.responses import to_http
from mockserver.web.context import MockState

__all__ = ["generations_blueprint"]


def generations_blueprint(state: MockState) -> Blueprint:
    bp = Blueprint("mock_generations", __name__)

    @bp.get("/generations/<path:name>")
    def generation(name: str) -> Response:
        query = request.query_string.decode("utf-8", "replace")  # journalled as API paths are, masked alike
        path = f"{request.path}?{query}" if query else request.path
        outcome = state.output_file(name, request.method, path)
        return to_http(outcome, request.environ)

    return bp
