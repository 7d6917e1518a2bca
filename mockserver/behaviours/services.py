"""What behaviours work with: the store, the clock, the one RNG, rules, faults, latency, images and
webhooks, built once per mock from its configuration.

Behaviours get this bundle when they are bound (``Behaviour.bind``); nothing else builds these
parts, so every behaviour of a mock shares one RNG (a run replays from one seed), one clock and one
rule book. The facade the admin API uses (``mockserver.web.context.MockState``) sits on top of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from contracts.core.spec import Operation
from mockserver.behaviours import bodies
from mockserver.behaviours.registry import OperationNames
from mockserver.config import MockConfig
from mockserver.control import faults
from mockserver.control.latency import LatencyPlan, LatencySpec, parse_spec
from mockserver.control.replay import ReplayLibrary
from mockserver.control.rules import RuleBook
from mockserver.control.webhooks import WebhookDispatcher
from mockserver.engine.context import owner_of
from mockserver.engine.variants import SeededRandom, VariantChooser
from mockserver.images.artefacts import Artefacts
from mockserver.images.netpolicy import NetPolicy
from mockserver.state.clock import Clock
from mockserver.state.jobs import Job
from mockserver.state.journal import Journal
from mockserver.state.store import Store

__all__ = ["Services", "SpecInfo"]


@dataclass(frozen=True)
class SpecInfo:
    """The spec a mock serves, parsed once: the document, its operations, its base path, openapi-core."""

    name: str
    document: dict[str, Any]
    operations: Mapping[str, Operation]
    base_path: str
    openapi: Any  # openapi-core's OpenAPI (a LazyOpenAPI: loaded on first need)


@dataclass
class Services:
    config: MockConfig
    store: Store
    spec: SpecInfo
    rng: SeededRandom
    clock: Clock
    chooser: VariantChooser
    rules: RuleBook
    journal: Journal
    faults: faults.FaultPlan
    latency: LatencyPlan
    webhook_delay: LatencySpec
    artefacts: Artefacts
    webhook_policy: NetPolicy
    webhooks: WebhookDispatcher
    nsfw: re.Pattern[str] | None
    replay: ReplayLibrary | None = None  # episodes recorded by `mockserver record` (--replay DIR)

    @classmethod
    def build(cls, config: MockConfig, store: Store, spec: SpecInfo, names: OperationNames,
              rng: SeededRandom | None = None, clock: Clock | None = None) -> "Services":
        """Every part, from the config. ``names`` is what rules and journal filters may call the
        spec's operations (an operationId, a kind, a family, a render, the first spec's names)."""
        rng = rng or SeededRandom(config.seed)
        clock = clock or Clock(store)
        words = [re.escape(w) for w in config.nsfw_words if w]
        policy = NetPolicy.for_bind(config.webhook_allow_hosts, config.host)

        def webhook_body(job: Job, base_url: str) -> dict[str, Any]:
            """What a webhook carries: the fetch body of the finished job plus its ``track_id``."""
            body = bodies.job_body(job, base_url, spec.base_path, max(clock.now(job.owner), job.ready_at),
                                   messege=config.legacy_messege)
            body["track_id"] = job.track_id
            return body

        return cls(
            config=config,
            store=store,
            spec=spec,
            rng=rng,
            clock=clock,
            chooser=VariantChooser(config, rng),
            rules=RuleBook(store, owner_of, names),
            journal=Journal(store, enabled=config.journal, names=names),
            faults=faults.FaultPlan({
                "rate_limit": config.fault_rate_limit_ratio,
                "outage": config.fault_outage_ratio,
                "reset": config.fault_reset_ratio,
                "truncated": config.fault_truncated_ratio,
            }, rng.draw),
            latency=LatencyPlan(config.latency, {
                "generate": config.latency_generate or config.latency_inpaint, "fetch": config.latency_fetch,
                "image": config.latency_image,
            }, config.max_delay, rng.draw),
            webhook_delay=parse_spec(config.webhook_delay, "webhook_delay"),
            artefacts=Artefacts.from_config(config, store.get_job_by_prefix,
                                            lambda job: job.status(clock.now(job.owner)) == "success"),
            webhook_policy=policy,
            webhooks=WebhookDispatcher(
                store=store, clock=clock, build_body=webhook_body, policy=policy,
                timeout=config.webhook_timeout, retries=config.webhook_retries, backoff=config.webhook_backoff,
                workers=config.webhook_workers, queue_size=config.webhook_queue_size,
            ),
            nsfw=re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE) if words else None,
            replay=ReplayLibrary(config.replay, config.on_miss) if config.replay else None,
        )
