"""The output files a job's answers link to: ``/generations/<uuid>-<i>.png`` (or ``.base64``).

A URL answers 404 until its job is done, then the image of the job's size, rendered on the first
GET (never while answering the request that promised it) and cached (mockserver/images/artefacts.py).
Every GET is journalled (operation ``image``) under the namespace of the job's key.
"""

from __future__ import annotations

from mockserver.behaviours.services import Services
from mockserver.engine.context import Incoming, Outcome, RequestContext
from mockserver.engine.pipeline import Engine
from mockserver.images.artefacts import OUTPUT_NAME

__all__ = ["OutputFiles"]


class OutputFiles:
    kind = "image"

    def __init__(self, services: Services, engine: Engine):
        self.services = services
        self.engine = engine

    def answer(self, name: str, method: str = "GET", path: str = "") -> Outcome:
        """The answer to a GET of ``/generations/<name>``: the file once its job is done, else 404."""
        s = self.services
        ctx = RequestContext(Incoming("image", b"", None, "", method=method, path=path))
        match = OUTPUT_NAME.fullmatch(name)
        job = s.store.get_job_by_prefix(match["prefix"]) if match else None
        index = int(match["index"]) if match else 0
        if job is not None:
            ctx.owner, ctx.job_id, ctx.track_id = job.owner, job.id, job.track_id
        if (job is None or index >= job.samples or match["ext"] != job.ext
                or job.status(s.clock.now(job.owner)) != "success"):
            outcome = Outcome(404, {"status": "error", "message": f"No generation named {name[:80]!r} is ready"},
                              variant="not_found", owner=ctx.owner)
        else:
            rendered = s.artefacts.render_output(job, index)
            outcome = Outcome(200, rendered.data, {"Content-Type": rendered.mimetype,
                                                    "Cache-Control": "public, max-age=86400"},
                              rendered.warnings, "image", job.owner, job.id)
        delay = s.latency.sample(self.kind)
        outcome.delay = delay
        if delay > 0:
            outcome.headers["X-Mock-Delay"] = f"{delay:g}"
        self.engine.record(ctx, outcome)
        if delay > 0:
            self.engine.sleep(delay)
        return outcome
