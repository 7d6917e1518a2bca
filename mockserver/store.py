"""Where job state lives, behind one small interface.

The mock core needs only: a fresh integer id, put and get a job (by id, or by the file prefix
its output URLs carry), the clock offset tests move, and a reset. ``MemoryStore`` keeps them in
this process; persistent backends (SQLite for several workers, Redis for several machines)
implement the same methods.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

from mockserver.jobs import Job

__all__ = ["FIRST_JOB_ID", "MemoryStore", "Store"]

#: Real ids are 8-9 digit integers (MODELSLAB-FACTS §3.1); the mock counts up from here.
FIRST_JOB_ID = 130_000_000


class Store(Protocol):
    def next_id(self) -> int: ...

    def put_job(self, job: Job) -> None: ...

    def get_job(self, job_id: int) -> Job | None: ...

    def get_job_by_prefix(self, file_prefix: str) -> Job | None: ...

    def clock_offset(self) -> float: ...

    def set_clock_offset(self, offset: float) -> None: ...

    def reset(self) -> None: ...


class MemoryStore:
    """In-process store with a cap on jobs (oldest dropped first)."""

    def __init__(self, max_jobs: int = 100_000):
        self.max_jobs = max_jobs
        self._lock = threading.Lock()
        self._jobs: OrderedDict[int, Job] = OrderedDict()
        self._by_prefix: dict[str, int] = {}
        self._next = FIRST_JOB_ID
        self._offset = 0.0

    def next_id(self) -> int:
        with self._lock:
            self._next += 1
            return self._next

    def put_job(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            self._jobs.move_to_end(job.id)
            self._by_prefix[job.file_prefix] = job.id
            while len(self._jobs) > self.max_jobs:
                _, dropped = self._jobs.popitem(last=False)
                self._by_prefix.pop(dropped.file_prefix, None)

    def get_job(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def get_job_by_prefix(self, file_prefix: str) -> Job | None:
        job_id = self._by_prefix.get(file_prefix)
        return None if job_id is None else self._jobs.get(job_id)

    def clock_offset(self) -> float:
        return self._offset

    def set_clock_offset(self, offset: float) -> None:
        self._offset = float(offset)

    def reset(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._by_prefix.clear()
            self._next = FIRST_JOB_ID
            self._offset = 0.0

    def __len__(self) -> int:
        return len(self._jobs)
