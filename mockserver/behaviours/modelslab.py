"""The ModelsLab behaviours: ``generate`` makes a job, ``fetch`` reads one back.

``generate`` settings (all from the operation's ``x-mock-behaviour``):

- ``family``: jobs are fetched only by fetch operations of the same family (community, realtime, v7);
- ``render``: text2img | img2img | inpaint, how the output image uses the input images;
- ``images``: the body fields holding input images, in render order (init, then mask);
  each is checked cheaply before the job is made (data URI, file, allow-listed URL);
- ``fetch``: the operationId of the fetch operation a queued job names in ``fetch_result``;
- ``model``: ``required`` (``model_id`` must be a known model) or ``none``.

``fetch`` settings: ``family`` and ``id: {in: path|body, name: NAME}``, where the job id is read.

What every generate operation does besides: ``instant_response: "yes"`` turns an answer the
ratios chose as finished into a queued one (the realtime docs: "queue response instantly"); a key
with ``queue_limit`` jobs still queued gets the rate-limits page's error instead of a new job
(``Prefer`` choices excepted: the caller asked for exactly that answer); a job answered
``failed`` at once gets the documented failed body (id "", output "").
"""

from __future__ import annotations

import math
import random
import time
import uuid
from typing import TYPE_CHECKING, Any, Mapping

from contracts.core.spec import Operation
from mockserver.behaviours import bodies
from mockserver.behaviours.registry import Behaviour, register
from mockserver.engine import errors
from mockserver.engine.variants import Choice
from mockserver.images.artefacts import own_output
from mockserver.state.jobs import Job

if TYPE_CHECKING:
    from mockserver.engine.directives import Directive
    from mockserver.engine.pipeline import Engine, Incoming, Outcome, _Trace

__all__ = ["Fetch", "Generate", "RENDERS"]

RENDERS = ("text2img", "img2img", "inpaint")
_RENDER_FIELDS = ("init_image", "mask_image")  # where a job keeps its input images, in render order
_OFFLINE = "is not reachable offline; using a placeholder"
_OFFLINE_CACHE = 1024


class _Family(Behaviour):
    def __init__(self, op: Operation, settings: Mapping[str, Any], operations: Mapping[str, Operation],
                 base_path: str):
        super().__init__(op, settings, operations, base_path)
        self.family = self.setting("family", str)


@register("generate")
class Generate(_Family):
    """Creates a job: variants, queue, images, webhooks."""

    def __init__(self, op: Operation, settings: Mapping[str, Any], operations: Mapping[str, Operation],
                 base_path: str):
        super().__init__(op, settings, operations, base_path)
        self.render = self.setting("render", str, choices=RENDERS)
        images = self.setting("images", list, default=[])
        if not all(isinstance(name, str) and name for name in images) or len(images) > len(_RENDER_FIELDS):
            raise self.fail(f"'images' must list at most {len(_RENDER_FIELDS)} body field names, not {images!r}")
        self.images: tuple[str, ...] = tuple(images)
        self.model_required = self.setting("model", str, default="none", choices=("required", "none")) == "required"
        self.fetch_op = self.setting("fetch", str)
        self._offline_refs: dict[tuple[str, str], Any] = {}  # see _precheck
        self._fetch_template = ""

    def check_links(self, behaviours: Mapping[str, Behaviour]) -> None:
        target = behaviours.get(self.fetch_op)
        if not isinstance(target, Fetch):
            raise self.fail(f"'fetch' names {self.fetch_op!r}, which is not a fetch operation of this spec")
        if target.family != self.family:
            raise self.fail(f"'fetch' names {self.fetch_op!r} of family {target.family!r}, not {self.family!r}")
        self._fetch_template = target.link_template()

    def fetch_path(self, job_id: int) -> str:
        return self._fetch_template.replace("{id}", str(job_id))

    def answer(self, engine: "Engine", incoming: "Incoming", body: dict[str, Any], owner: str,
               prefer: "Directive", warnings: list[str], trace: "_Trace") -> "Outcome":
        # Prefer still chooses under --replay (an example, a variant); else the recording answers
        replayed = None if prefer.chooses else self._replayed(engine, body, owner, warnings)
        if replayed is not None and not isinstance(replayed, Choice):
            return replayed
        if self.model_required and not engine.config.model_allowed(body.get("model_id", "")):
            return engine._error(errors.model_not_found(), warnings, owner)
        for name in self.images:
            check = self._precheck(engine, body.get(name), name)
            if check.warning:
                warnings.append(check.warning)
            if check.error is not None:
                return engine._error(check.error, warnings, owner)
        choice = replayed if replayed is not None else engine._choose(prefer, body, trace)
        if choice.source == "ratio" and choice.variant in ("success", "failed") and body.get("instant_response") == "yes":
            choice = Choice(variant="processing", eta=engine.chooser._draw_eta(), outcome=choice.variant,
                            source="ratio+instant_response")
        trace.reason = choice.source
        special = engine._special(incoming.operation, choice, owner, warnings)
        if special is not None:
            return special
        limit = engine.config.queue_limit
        if limit and choice.source != "prefer":
            now = engine.clock.now(owner)
            queued, first_ready = engine.store.queue_count(owner, now)
            if queued >= limit:
                wait = max(0.0, (first_ready or now) - now)
                retry_after = max(1, min(30, math.ceil(wait)))
                warnings.append(f"queue limit: {queued} jobs of this key are queued (queue_limit = {limit})")
                return engine._error(errors.queue_limit(limit, retry_after, math.ceil(time.time() + wait)),
                                     warnings, owner)
        job = self._new_job(engine, body, owner, choice)
        if limit and job.ready_at > job.created_at:
            engine.store.queue_add(owner, job.id, job.ready_at, job.created_at)
        if replayed is not None and engine.replay is not None:
            engine.replay.shape_job(job, choice.source)
        if job.webhook:
            job.webhook_status = "pending"
            engine.store.put_job(job)  # stored before a delivery thread can look at it
            engine._schedule_webhook(job, incoming.base_url, prefer, trace, warnings)
        else:
            trace.unsaved_job = job  # stored with the journal entry, before the answer is sent
        # The answer describes the job as it was made: eta is exactly the one chosen (replayable).
        return engine._job_outcome(job, incoming.base_url, owner, warnings, now=job.created_at, at_once=True)

    def _replayed(self, engine: "Engine", body: dict[str, Any], owner: str, warnings: list[str]) -> Any:
        """Under ``--replay``: the recorded episode's choice, its recorded error answer, or None."""
        library = engine.replay
        if library is None:
            return None
        found = library.find(self.base_path + self.op.path, body)
        if found is None:
            if library.on_miss == "error":
                return engine._error(errors.no_episode(), warnings, owner)
            warnings.append("no recorded episode matches this request; generated as usual")
            return None
        warnings.append(found.warning)
        if found.variant == "error":
            from mockserver.engine.pipeline import Outcome

            return Outcome(found.status, found.body, dict(found.headers), warnings, "error", owner)
        return Choice(variant=found.variant, eta=found.eta if found.variant == "processing" else None,
                      outcome=found.outcome, source=f"replay:{found.episode}")

    def track_id(self, parsed: Any) -> Any:
        """The ``track_id`` a request carries (the journal files the request under it)."""
        return parsed.get("track_id") if isinstance(parsed, dict) else None

    def _precheck(self, engine: "Engine", ref: Any, name: str) -> Any:
        """``artefacts.precheck``, remembering the answers that depend on nothing but the string: a URL
        whose host is not on the allow-list is refused before any lookup (no DNS), the same way every
        time; most clients send the same few URLs, and the check parses the URL and the host each time.
        Anything that depends on DNS, files, jobs or a fetch is checked afresh on every request."""
        artefacts = engine.artefacts
        if type(ref) is not str or len(ref) > 2048:
            return artefacts.precheck(ref, name)
        key = (name, ref)
        check = self._offline_refs.get(key)
        if check is not None:
            return check
        check = artefacts.precheck(ref, name)
        if (check.error is None and check.warning is not None and check.warning.endswith(_OFFLINE)
                and "://" in ref and ref[:5].lower() not in ("file:", "data:") and own_output(ref) is None
                and ref.strip() not in artefacts.sources.url_map
                and "not on the allow-list" in (artefacts.sources.net.check(ref.strip()) or "")):
            if len(self._offline_refs) >= _OFFLINE_CACHE:
                self._offline_refs.clear()
            self._offline_refs[key] = check
        return check

    def _new_job(self, engine: "Engine", body: dict[str, Any], owner: str, choice: Any) -> Job:
        params = engine.normalisers[self.op.operation_id].effective_params(body)
        requested_seed = params.get("seed")

        def draws(rng: random.Random) -> tuple[str, int, float]:
            prefix = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            seed = requested_seed if isinstance(requested_seed, int) else rng.randrange(2**32)
            return prefix, seed, round(rng.uniform(1.2, 9.5), 10)

        prefix, seed, gen_time = engine.rng.draw(draws)
        now = engine.clock.now(owner)
        queued = choice.variant == "processing"
        outcome = choice.outcome if queued else ("failed" if choice.variant == "failed" else "success")
        prompt = params.get("prompt") or ""
        job_id = engine.store.next_id()
        render = {"prompt": params.get("prompt"), "mode": self.render}
        for index, target in enumerate(_RENDER_FIELDS):
            render[target] = params.get(self.images[index]) if index < len(self.images) else None
        if self.render == "img2img":
            render["strength"] = params.get("strength")
        render["safety_checker"] = params.get("safety_checker")
        render["safety_checker_type"] = params.get("safety_checker_type")
        return Job(
            id=job_id,
            owner=owner,
            created_at=now,
            ready_at=now + ((choice.eta or 0.0) if queued else 0.0),
            outcome=outcome,
            file_prefix=prefix,
            samples=int(params.get("samples", 1)),
            width=int(params.get("width", 512)),
            height=int(params.get("height", 512)),
            seed=seed,
            generation_time=gen_time,
            meta=bodies.build_meta(params, seed, prefix, self.family, images=bool(self.images)),
            ext="base64" if params.get("base64") == "yes" else "png",
            nsfw=bool(params.get("safety_checker") == "yes" and engine._nsfw is not None
                      and isinstance(prompt, str) and engine._nsfw.search(prompt)),
            webhook=params.get("webhook"),
            track_id=params.get("track_id"),
            render=render,
            family=self.family,
            fetch_path=self.fetch_path(job_id),
        ).capped()


@register("fetch")
class Fetch(_Family):
    """Reads a job of its family by an id in the path or the body."""

    def __init__(self, op: Operation, settings: Mapping[str, Any], operations: Mapping[str, Operation],
                 base_path: str):
        super().__init__(op, settings, operations, base_path)
        where = self.setting("id", dict)
        self.id_in = where.get("in")
        self.id_name = where.get("name")
        if self.id_in not in ("path", "body") or not isinstance(self.id_name, str) or not self.id_name:
            raise self.fail(f"'id' must be {{in: path|body, name: NAME}}, not {where!r}")
        if self.id_in == "path" and "{" + self.id_name + "}" not in op.path:
            raise self.fail(f"'id' names path parameter {self.id_name!r}, which {op.path} does not have")

    def link_template(self) -> str:
        """This operation's path under the base, with ``{id}`` where the job id goes."""
        path = self.base_path + self.op.path
        return path.replace("{" + self.id_name + "}", "{id}") if self.id_in == "path" else path

    def track_id(self, parsed: Any) -> Any:
        return None

    def preflight(self, engine: "Engine", incoming: "Incoming", owner: str, warnings: list[str]) -> Any:
        """A path that names no job at all (``/fetch/``, ``/fetch/abc``: the CLI fetches ``/fetch/``
        after an error) is the fetch's own "Request not found", not a 404 page or a field error."""
        if self.id_in != "path":
            return None
        raw = incoming.path_params.get(self.id_name, "")
        if raw.isascii() and raw.isdigit() and len(raw) <= 18:
            return None
        warnings.append(f"{self.id_name}: {raw[:40]!r} is not a job id")
        return engine._error(errors.job_not_found(raw[:40]), warnings, owner)

    def answer(self, engine: "Engine", incoming: "Incoming", body: dict[str, Any], owner: str,
               prefer: "Directive", warnings: list[str], trace: "_Trace") -> "Outcome":
        choice = engine.chooser.from_prefer(prefer)
        if choice is not None:
            trace.reason = choice.source
            special = engine._special(incoming.operation, choice, owner, warnings)
            if special is not None:
                return special
        else:
            engine._take_rule(trace)  # a delay rule for fetches
        raw_id = incoming.path_params.get(self.id_name) if self.id_in == "path" else body.get(self.id_name)
        job_id = str(raw_id)
        job = engine.store.get_job(int(job_id)) if job_id.isdigit() and len(job_id) <= 18 else None
        if job is None or job.owner != owner or job.family != self.family:
            return engine._error(errors.job_not_found(job_id[:40]), warnings, owner)
        trace.track_id = job.track_id
        return engine._job_outcome(job, incoming.base_url, owner, warnings)
