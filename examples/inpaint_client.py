"""A small, realistic ModelsLab inpaint client -- with one planted bug for the fuzzing demo.

It does what most hand-written clients do: POST the job, and while the answer is not final,
sleep ``eta`` seconds and fetch it by id. It is careful about many things the spec allows (a
``message`` that is an object of field errors, a success without ``output``, a processing body
without ``id``) and it gives up after ``max_polls`` fetches.

THE PLANTED BUG (``_still_running``): every status other than ``success`` and ``error`` is taken
to mean "still running" -- including ``failed``. A failed job is therefore fetched again and
again until ``max_polls`` is used up and reported as a timeout, instead of failing at once with
the service's message. (The official Python SDK polls the same way.) ``examples/fuzz_demo.py``
and ``tests/contracts/test_examples.py`` show the fuzzer finding it and shrinking it to a
single ``failed`` answer.
"""

from __future__ import annotations

import time
from typing import Any

import requests

__all__ = ["InpaintClient", "ModelsLabError", "ModelsLabTimeout"]


class ModelsLabError(Exception):
    """The service reported an error (its message is the exception's text)."""


class ModelsLabTimeout(ModelsLabError):
    """The job did not finish within ``max_polls`` fetches."""


def _message(body: dict[str, Any]) -> str:
    message = body.get("message", body.get("messege", "unknown error"))
    if isinstance(message, dict):  # Laravel-style field errors: {"width": ["..."], ...}
        return "; ".join(f"{field}: {' '.join(map(str, sentences if isinstance(sentences, list) else [sentences]))}"
                         for field, sentences in message.items()) or "validation failed"
    return str(message)


class InpaintClient:
    def __init__(self, base_url: str, key: str, *, max_polls: int = 20, max_wait: float = 30.0,
                 session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.max_polls = max_polls
        self.max_wait = max_wait
        self.session = session or requests.Session()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.session.post(self.base_url + path, json={**body, "key": self.key}, timeout=30)
        try:
            data = answer.json()
        except ValueError:
            raise ModelsLabError(f"HTTP {answer.status_code}: not JSON") from None
        if not isinstance(data, dict):
            raise ModelsLabError(f"HTTP {answer.status_code}: unexpected body {data!r:.80}")
        return data

    @staticmethod
    def _still_running(status: Any) -> bool:
        # BUG (planted): "failed" is final, not running. The fix: `return status == "processing"`
        # and raise ModelsLabError(_message(data)) for "failed" in `inpaint`.
        return status not in ("success", "error")

    def inpaint(self, **params: Any) -> list[str]:
        """Run one inpaint job to the end; returns the output URLs."""
        data = self._post("/inpaint", params)
        job_id = data.get("id")
        polls = 0
        while self._still_running(data.get("status")):
            if job_id is None:
                raise ModelsLabError(f"status {data.get('status')!r} without a job id to fetch")
            if polls >= self.max_polls:
                raise ModelsLabTimeout(f"job {job_id} not done after {polls} fetches")
            eta = data.get("eta")
            time.sleep(min(float(eta), self.max_wait) if isinstance(eta, (int, float)) and eta > 0 else 1.0)
            data = self._post(f"/fetch/{job_id}", {})
            polls += 1
        if data.get("status") == "error":
            raise ModelsLabError(_message(data))
        if data.get("status") == "failed":  # only reachable once _still_running is fixed
            raise ModelsLabError(_message(data))
        urls = data.get("output") or data.get("future_links") or []
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise ModelsLabError(f"success without output URLs: {data!r:.120}")
        return urls
