"""The mock's state in one SQLite file: shared by every worker on a machine, kept across restarts.

Several server processes (gunicorn workers) and their threads open the same file. WAL mode lets
readers run while one writer commits; each thread of each process has its own connection (a
connection is never carried across a fork), and every change that needs more than one
statement runs in one ``BEGIN IMMEDIATE`` transaction, so ids, rule uses and log sequence
numbers stay atomic across processes. Jobs and log entries are capped (oldest dropped: the
smallest ids, which ``next_id`` hands out in order, so ids should come from it) and
jobs expire after ``job_ttl`` real seconds, so lookups cost the same with 100,000 jobs as with
none.

The file may go away or stop being writable while the mock runs. Every error becomes
``StoreUnavailable`` (a 503 ``state store unavailable: ...``, never a "mock bug"), the failed
connection is dropped, and the next call opens a new one: a file that was deleted (or replaced)
is noticed by its inode and made again, folder and schema included, by whichever thread opens
it, so the mock answers again as soon as the file can be written, without a restart.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from mockserver.state.jobs import Job
from mockserver.state.store import (DEFAULT_MAX_LOG_BYTES, DEFAULT_MAX_STORE_BYTES, FIRST_JOB_ID, LOG_BATCH,
                                    StoreUnavailable, decode_doc, decode_rule, encode_doc)

__all__ = ["SqliteStore"]


def _now(action):
    """Run a statement inside a transaction that already holds the write lock (no retrying)."""
    return action()

#: Bumped when the tables change; an older file is emptied and rebuilt (it is a mock's state).
SCHEMA_VERSION = 2

#: Below this cap the oldest job or log entry goes at once; above it, in batches of SWEEP
#: (so a full store does not rewrite an old page on every put): at most cap + SWEEP - 1 are kept.
EXACT_CAP = 4096
SWEEP = 64
#: A job or log entry at least this large has the byte budget checked at once (else every SWEEP).
BIG = 16 * 1024

_DROP = """
DROP TABLE IF EXISTS jobs; DROP TABLE IF EXISTS counters; DROP TABLE IF EXISTS clocks;
DROP TABLE IF EXISTS logs; DROP TABLE IF EXISTS rules; DROP TABLE IF EXISTS queue;
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,  -- the rowid: ids count up, so the oldest job has the smallest
    owner TEXT NOT NULL,
    file_prefix TEXT NOT NULL,
    stored_at REAL NOT NULL,  -- wall time of the last put, for the TTL
    data BLOB NOT NULL
);
-- Only the lookups of the hot path are indexed: every index is written on every put.
CREATE INDEX IF NOT EXISTS jobs_by_prefix ON jobs (file_prefix);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clocks (owner TEXT PRIMARY KEY, offset REAL NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    log TEXT NOT NULL,
    seq INTEGER NOT NULL,
    owner TEXT,
    data BLOB NOT NULL,
    PRIMARY KEY (log, seq)
);
CREATE INDEX IF NOT EXISTS logs_by_owner ON logs (owner);
CREATE TABLE IF NOT EXISTS rules (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order rules were added in
    id TEXT NOT NULL UNIQUE,
    owner TEXT,
    times INTEGER,  -- uses left, NULL = unlimited (no semicolons in here: the script is split on them)
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (  -- queued jobs until they are done, for the queue limit per key
    job_id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL,
    ready_at REAL NOT NULL  -- on the owner's clock
);
CREATE INDEX IF NOT EXISTS queue_by_owner ON queue (owner, ready_at);
"""


class SqliteStore:
    """The Store protocol on one SQLite file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], max_jobs: int = 100_000, max_log_entries: int = 10_000,
                 job_ttl: float = 0.0, wall=time.time, busy_timeout: float = 30.0,
                 max_log_bytes: int = DEFAULT_MAX_LOG_BYTES, max_store_bytes: int = DEFAULT_MAX_STORE_BYTES):
        self.path = str(path)
        self.max_jobs = max_jobs
        self.max_log_entries = max_log_entries
        self.max_log_bytes = max_log_bytes
        self.max_store_bytes = max_store_bytes
        self.job_ttl = job_ttl
        self._wall = wall
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._writers: dict[int, threading.Lock] = {}  # per process: see _writer
        self._db()  # makes the folder, the file and the schema (every new connection checks them)

    def _create_schema(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                for statement in _DROP.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- connections ---------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        local = self._local
        db = getattr(local, "db", None)
        if db is not None and local.pid == os.getpid():
            if _identity(self.path) == local.identity:
                return db
            self._forget()  # the file was deleted or replaced: this connection writes into nothing
        # A new thread, a forked worker, or a connection that failed. SQLite's own busy handler
        # sleeps 1, 2, 5, 10 ... ms when another process holds the write lock, which several
        # workers writing for every request hit constantly: it is off, and _retry waits in steps
        # of tens of microseconds instead.
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            try:
                self._retry(lambda: db.execute("PRAGMA journal_mode=WAL"))
            except sqlite3.OperationalError as exc:
                if "readonly" not in str(exc):
                    raise  # a read-only file can still be read: it keeps the mode it has
            # A mock's state: a crashed process loses nothing, a crashed machine may lose the
            # last writes. OFF halves the cost of a put (measured: 92 -> 43 us).
            db.execute("PRAGMA synchronous=OFF")
            if not self._has_schema(db):
                self._retry(lambda: self._create_schema(db))
        except BaseException:
            db.close()
            raise
        local.db, local.pid, local.identity = db, os.getpid(), _identity(self.path)
        return db

    @staticmethod
    def _has_schema(db: sqlite3.Connection) -> bool:
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return False
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {"jobs", "counters", "clocks", "logs", "rules"} <= tables

    def _forget(self) -> None:
        """Drop this thread's connection; the next call opens a new one."""
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None and getattr(self._local, "pid", None) == os.getpid():
            try:
                db.close()
            except sqlite3.Error:
                pass

    def _retry(self, action):
        """Run ``action``, retrying while the database is locked by another connection."""
        delay, deadline = 20e-6, None
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._busy_timeout
                elif now > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.002)

    def _writer(self) -> threading.Lock:
        """This process's write turn. Threads of one process queue here, on a lock that costs
        nothing to wait for, instead of all polling SQLite's file lock (each failed try raises
        and sleeps); only the other processes' writers are waited for in ``_retry``. One lock
        per process id: a lock held by some thread at a fork would never be released in the child."""
        pid = os.getpid()
        lock = self._writers.get(pid)
        if lock is None:
            lock = self._writers.setdefault(pid, threading.Lock())
        return lock

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: other processes wait for the lock rather than interleave."""
        db = self._db()
        with self._writer():
            self._retry(lambda: db.execute("BEGIN IMMEDIATE"))
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    try:
                        db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # the connection is dropped anyway (see _guarded)
                raise
            db.execute("COMMIT")

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        db = self._db()
        return self._retry(lambda: db.execute(sql, params).fetchall())

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None and self._local.pid == os.getpid():
            db.close()
        self._local = threading.local()

    def check_writable(self) -> None:
        """A small write now (``/__mock/health``): ``StoreUnavailable`` when the file cannot be written."""
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO counters (name, value) VALUES ('health', ?)", (int(self._wall()),))

    # -- jobs ----------------------------------------------------------------------------------

    def next_id(self) -> int:
        db = self._db()
        with self._writer():
            row = self._retry(lambda: db.execute(
                "INSERT INTO counters (name, value) VALUES ('job', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                (FIRST_JOB_ID + 1,),
            ).fetchall())
        return int(row[0][0])

    def put_job(self, job: Job) -> None:
        """One statement, so one implicit transaction: the cheapest write SQLite has."""
        db = self._db()
        with self._writer():
            self._put_job(db, job, self._retry)

    def put_job_and_append(self, job: Job, log: str, entry: dict[str, Any]) -> int:
        """``put_job`` and ``append`` in one transaction (a new job and its journal entry)."""
        with self._write() as db:
            self._put_job(db, job, _now)
            return self._append(db, log, entry, _now)

    def _put_job(self, db: sqlite3.Connection, job: Job, run) -> None:
        now = self._wall()
        data = encode_doc(job)
        params = (job.id, job.owner, job.file_prefix, now, data)
        run(lambda: db.execute(
            "INSERT OR REPLACE INTO jobs (id, owner, file_prefix, stored_at, data) VALUES (?, ?, ?, ?, ?)", params))
        if len(data) >= BIG or job.id % SWEEP == 0:
            # The byte budget: the newest jobs whose sizes add up to it are kept (this one always).
            total = run(lambda: db.execute("SELECT coalesce(sum(length(data)), 0) FROM jobs").fetchall())[0][0]
            if total > self.max_store_bytes:
                run(lambda: db.execute(
                    "DELETE FROM jobs WHERE id < ? AND id <= (SELECT id FROM (SELECT id, sum(length(data)) OVER "
                    "(ORDER BY id DESC) AS tail FROM jobs) WHERE tail > ? ORDER BY id DESC LIMIT 1)",
                    (job.id, self.max_store_bytes)))
        if self.max_jobs <= EXACT_CAP or job.id % SWEEP == 0:
            # Ids count up, so the newest max_jobs ids are the ones kept: an indexed range delete.
            run(lambda: db.execute("DELETE FROM jobs WHERE id <= ?", (job.id - self.max_jobs,)))
            if self.job_ttl:  # reads already ignore expired rows; this frees their space
                run(lambda: db.execute(
                    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs ORDER BY id LIMIT 512) AND stored_at <= ?",
                    (now - self.job_ttl,)))

    def _cutoff(self) -> float:
        return self._wall() - self.job_ttl if self.job_ttl else float("-inf")

    def get_job(self, job_id: int) -> Job | None:
        rows = self._read("SELECT data FROM jobs WHERE id = ? AND stored_at > ?", (job_id, self._cutoff()))
        return Job(**decode_doc(rows[0][0])) if rows else None

    def get_job_by_prefix(self, file_prefix: str) -> Job | None:
        rows = self._read("SELECT data FROM jobs WHERE file_prefix = ? AND stored_at > ? ORDER BY id DESC LIMIT 1",
                          (file_prefix, self._cutoff()))
        return Job(**decode_doc(rows[0][0])) if rows else None

    def __len__(self) -> int:
        return self._read("SELECT count(*) FROM jobs WHERE stored_at > ?", (self._cutoff(),))[0][0]

    # -- clock ---------------------------------------------------------------------------------

    def clock_offset(self, owner: str = "") -> float:
        rows = self._read("SELECT offset FROM clocks WHERE owner = ?", (owner,))
        return float(rows[0][0]) if rows else 0.0

    def set_clock_offset(self, offset: float, owner: str = "") -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO clocks (owner, offset) VALUES (?, ?)", (owner, float(offset)))

    # -- logs ----------------------------------------------------------------------------------

    def append(self, log: str, entry: dict[str, Any]) -> int:
        """One statement: the next number is one past the log's newest entry, or past the
        high-water mark a namespace reset left (so numbers are never handed out twice)."""
        db = self._db()
        with self._writer():
            return self._append(db, log, entry, self._retry)

    def _append(self, db: sqlite3.Connection, log: str, entry: dict[str, Any], run) -> int:
        owner = entry.get("owner")
        data = encode_doc(entry)
        params = (log, log, "log:" + log, owner if isinstance(owner, str) else None, data)
        seq = run(lambda: db.execute(
            "INSERT INTO logs (log, seq, owner, data) VALUES (?, 1 + max("
            "coalesce((SELECT max(seq) FROM logs WHERE log = ?), 0), "
            "coalesce((SELECT value FROM counters WHERE name = ?), 0)), ?, ?) RETURNING seq",
            params).fetchall())[0][0]
        if self.max_log_entries <= EXACT_CAP or seq % SWEEP == 0:
            # The newest max_log_entries numbers are kept: an indexed range delete.
            run(lambda: db.execute("DELETE FROM logs WHERE log = ? AND seq <= ?", (log, seq - self.max_log_entries)))
        if len(data) >= BIG or seq % SWEEP == 0:
            # The byte budget of this log: its newest entries that add up to it are kept (this one always).
            total = run(lambda: db.execute("SELECT coalesce(sum(length(data)), 0) FROM logs WHERE log = ?",
                                           (log,)).fetchall())[0][0]
            if total > self.max_log_bytes:
                run(lambda: db.execute(
                    "DELETE FROM logs WHERE log = ? AND seq < ? AND seq <= (SELECT seq FROM (SELECT seq, "
                    "sum(length(data)) OVER (ORDER BY seq DESC) AS tail FROM logs WHERE log = ?) WHERE tail > ? "
                    "ORDER BY seq DESC LIMIT 1)", (log, seq, log, self.max_log_bytes)))
        return int(seq)

    def entries(self, log: str, since: int = 0) -> list[dict[str, Any]]:
        return list(self.iter_entries(log, since))

    def iter_entries(self, log: str, since: int = 0) -> Iterator[dict[str, Any]]:
        """A batch of LOG_BATCH entries at a time: a listing never holds the whole log."""
        last = since
        while True:
            try:
                rows = self._read("SELECT seq, data FROM logs WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?",
                                  (log, last, LOG_BATCH))
            except (sqlite3.Error, OSError) as exc:
                self._forget()
                raise StoreUnavailable(_reason(exc)) from None
            for seq, data in rows:
                yield dict(decode_doc(data), seq=seq)
            if len(rows) < LOG_BATCH:
                return
            last = rows[-1][0]

    # -- the queue limit ------------------------------------------------------------------------

    def queue_add(self, owner: str, job_id: int, ready_at: float, now: float) -> None:
        with self._write() as db:
            db.execute("DELETE FROM queue WHERE owner = ? AND ready_at <= ?", (owner, now))
            db.execute("INSERT OR REPLACE INTO queue (job_id, owner, ready_at) VALUES (?, ?, ?)",
                       (job_id, owner, ready_at))

    def queue_count(self, owner: str, now: float) -> tuple[int, float | None]:
        count, first = self._read("SELECT count(*), min(ready_at) FROM queue WHERE owner = ? AND ready_at > ?",
                                  (owner, now))[0]
        return int(count), first

    # -- rules ---------------------------------------------------------------------------------

    def put_rule(self, rule: dict[str, Any]) -> None:
        owner = rule.get("owner")
        times = rule.get("times")
        with self._write() as db:
            db.execute(
                "INSERT INTO rules (id, owner, times, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, times = excluded.times, data = excluded.data",
                (str(rule["id"]), owner if isinstance(owner, str) else None,
                 times if isinstance(times, (int, float)) and not isinstance(times, bool) else None,
                 encode_doc(rule)),
            )

    def rules(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT times, data FROM rules ORDER BY pos")
        found = []
        for times, data in rows:
            rule = decode_rule(data)
            if times is not None:
                rule["times"] = times
            found.append(rule)
        return found

    def consume_rule(self, rule_id: str) -> bool:
        with self._write() as db:
            row = db.execute("SELECT times, data FROM rules WHERE id = ?", (rule_id,)).fetchone()
            if row is None:
                return False
            times, data = row
            if times is None:
                return decode_doc(data).get("times") is None  # a non-integer count is never usable
            if times <= 0:
                return False
            db.execute("UPDATE rules SET times = times - 1 WHERE id = ?", (rule_id,))
            return True

    def delete_rules(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM rules")

    def delete_rule(self, rule_id: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount > 0

    # -- reset ---------------------------------------------------------------------------------

    def reset(self, owner: str | None = None) -> None:
        with self._write() as db:
            if owner is None:
                for table in ("jobs", "counters", "clocks", "logs", "rules", "queue"):
                    db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
                return
            db.execute("DELETE FROM jobs WHERE owner = ?", (owner,))
            # Remember how far each log counted before its newest entries may go.
            db.execute("INSERT INTO counters (name, value) SELECT 'log:' || log, max(seq) FROM logs WHERE true "
                       "GROUP BY log ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)")
            db.execute("DELETE FROM logs WHERE owner = ?", (owner,))
            db.execute("DELETE FROM rules WHERE owner = ?", (owner,))
            db.execute("DELETE FROM clocks WHERE owner = ?", (owner,))
            db.execute("DELETE FROM queue WHERE owner = ?", (owner,))


def _identity(path: str) -> tuple[int, int] | None:
    """Which file ``path`` is now (device, inode); None when there is none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _reason(exc: BaseException) -> str:
    """What went wrong, in SQLite's fixed words ("attempt to write a readonly database", "database or disk
    is full", "unable to open database file"); no path, no other detail."""
    if isinstance(exc, sqlite3.Error):
        return f"SQLite: {str(exc)[:120]}"
    if isinstance(exc, OSError):
        return f"SQLite: {exc.strerror or type(exc).__name__}"
    return f"SQLite: {type(exc).__name__}"


def _guarded(method: Callable) -> Callable:
    """Turn SQLite's and the file system's errors into StoreUnavailable, after one more try on a fresh
    connection (the file may have been made again; a statement that failed wrote nothing)."""

    @functools.wraps(method)
    def wrapper(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            try:
                return method(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as exc:
                self._forget()
                if attempt == 2 or "locked" in str(exc) or "busy" in str(exc):
                    raise StoreUnavailable(_reason(exc)) from None
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


for _name in ("next_id", "put_job", "put_job_and_append", "get_job", "get_job_by_prefix", "__len__", "clock_offset",
              "set_clock_offset", "append", "put_rule", "rules", "consume_rule", "delete_rules",
              "delete_rule", "reset", "check_writable", "queue_add", "queue_count"):
    setattr(SqliteStore, _name, _guarded(getattr(SqliteStore, _name)))
del _name
