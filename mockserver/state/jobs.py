"""A generation job: one integer id from the first answer through fetch, images and webhooks.

A job is created by every accepted generation (inpaint, text2img, ...) (a success is a job that is ready at once), so
output URLs, fetch and webhooks all read the same record. Its state is derived from the clock,
never stored: ``processing`` until ``ready_at``, then its ``outcome``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Job"]


@dataclass
class Job:
    """Everything needed to answer for a generation later, as plain data (stores serialise it)."""

    id: int
    owner: str
    created_at: float
    ready_at: float
    outcome: str  # "success" | "failed"
    file_prefix: str
    samples: int
    width: int
    height: int
    seed: int
    generation_time: float
    meta: dict[str, Any]
    ext: str = "png"
    nsfw: bool = False
    webhook: str | None = None
    track_id: str | None = None
    webhook_status: str = ""
    render: dict[str, Any] = field(default_factory=dict)
    #: Jobs are fetched only by the fetch operations of the family that made them.
    family: str = "community"
    #: The path (under the server's base, without scheme and host) a queued job is fetched at;
    #: "" for jobs stored before it was recorded (then ``/fetch/<id>`` under the base path).
    fetch_path: str = ""

    def status(self, now: float) -> str:
        return "processing" if now < self.ready_at else self.outcome

    def remaining(self, now: float) -> float:
        return max(0.0, self.ready_at - now)

    def output_names(self) -> list[str]:
        return [f"{self.file_prefix}-{i}.{self.ext}" for i in range(self.samples)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        return cls(**data)
