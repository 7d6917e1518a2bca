"""The mock's state in Redis, so several mock servers on several machines answer as one.

Put the same ``--store redis://host:port/db`` behind every mock of a load balancer and a job
created through one is fetched through any other. Every key starts with a configurable prefix
(``store_prefix``), so mocks that must not share state can share a Redis. Counters use INCR,
and each change of more than one key runs as one Lua script, so ids, log sequence numbers and
rule uses stay atomic whichever server asks. Jobs carry a Redis TTL and a cap on their count;
logs are capped. Scripts build key names from the prefix, so they need a standalone Redis (or,
on a cluster, a prefix with a hash tag such as ``{mock}:`` so every key lands in one slot).
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, Iterator

import redis

from mockserver.state.jobs import Job
from mockserver.state.store import FIRST_JOB_ID, LOG_BATCH, StoreUnavailable, decode_doc, decode_rule, encode_doc

__all__ = ["RedisStore"]

# KEYS: none (built from the prefix). ARGV: prefix, id, data, file_prefix, owner, now, ttl_ms, max_jobs
_PUT_JOB = """
local p, id, data, fp, owner = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, ttl_ms, max_jobs = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local order = p .. 'jobs'
local member = id .. '|' .. owner .. '|' .. fp
if ttl_ms > 0 then
  redis.call('SET', p .. 'job:' .. id, data, 'PX', ttl_ms)
  redis.call('SET', p .. 'prefix:' .. fp, id, 'PX', ttl_ms)
else
  redis.call('SET', p .. 'job:' .. id, data)
  redis.call('SET', p .. 'prefix:' .. fp, id)
end
redis.call('ZADD', order, now, member)
redis.call('SADD', p .. 'owner:' .. owner, member)
local function drop(m)
  local jid, jowner, jfp = string.match(m, '^([^|]*)|([^|]*)|(.*)$')
  redis.call('ZREM', order, m)
  redis.call('SREM', p .. 'owner:' .. jowner, m)
  if jid ~= id then
    redis.call('DEL', p .. 'job:' .. jid)
    if redis.call('GET', p .. 'prefix:' .. jfp) == jid then redis.call('DEL', p .. 'prefix:' .. jfp) end
  end
end
if ttl_ms > 0 then
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', order, '-inf', now - ttl_ms / 1000.0, 'LIMIT', 0, 1000)) do drop(m) end
end
local extra = redis.call('ZCARD', order) - max_jobs
if extra > 0 then
  for _, m in ipairs(redis.call('ZRANGE', order, 0, extra - 1)) do drop(m) end
end
return 1
"""

# ARGV: prefix, log, entry json (without seq), owner, max entries -> seq
_APPEND = """
local p, log = ARGV[1], ARGV[2]
local seq = redis.call('HINCRBY', p .. 'logseq', log, 1)
local key = p .. 'log:' .. log
redis.call('ZADD', key, seq, seq .. '|' .. ARGV[4] .. '|' .. ARGV[3])
redis.call('SADD', p .. 'lognames', log)
redis.call('ZREMRANGEBYRANK', key, 0, -1 - tonumber(ARGV[5]))
return seq
"""

# ARGV: prefix, rule id -> 1 when a use was taken, 0 when none is left or the rule is gone
_CONSUME = """
local p, id = ARGV[1], ARGV[2]
if redis.call('HEXISTS', p .. 'rules', id) == 0 then return 0 end
local left = redis.call('HGET', p .. 'rule_times', id)
if not left then return 1 end
if tonumber(left) <= 0 then return 0 end
redis.call('HINCRBYFLOAT', p .. 'rule_times', id, -1)
return 1
"""

# ARGV: prefix, rule id, data, times ('' = unlimited)
_PUT_RULE = """
local p, id = ARGV[1], ARGV[2]
redis.call('HSET', p .. 'rules', id, ARGV[3])
if ARGV[4] == '' then redis.call('HDEL', p .. 'rule_times', id)
else redis.call('HSET', p .. 'rule_times', id, ARGV[4]) end
if redis.call('ZSCORE', p .. 'rule_order', id) == false then
  redis.call('ZADD', p .. 'rule_order', redis.call('INCR', p .. 'rule_pos'), id)
end
return 1
"""


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _number(raw: bytes) -> int | float:
    value = float(raw)
    return int(value) if value.is_integer() else value


class RedisStore:
    """The Store protocol on Redis (see the module docstring)."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "modelslab-mock:",
                 max_jobs: int = 100_000, max_log_entries: int = 10_000, job_ttl: float = 0.0,
                 wall=time.time, client: redis.Redis | None = None):
        self.prefix = prefix
        self.max_jobs = max_jobs
        self.max_log_entries = max_log_entries
        self.job_ttl = job_ttl
        self._wall = wall
        # redis-py's pool is thread-safe and starts afresh in a forked worker.
        self.client = client or redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)
        self._put_job = self.client.register_script(_PUT_JOB)
        self._append = self.client.register_script(_APPEND)
        self._consume = self.client.register_script(_CONSUME)
        self._put_rule = self.client.register_script(_PUT_RULE)

    def _k(self, name: str) -> str:
        return self.prefix + name

    def check_writable(self) -> None:
        """A small write now (``/__mock/health``): ``StoreUnavailable`` when Redis takes none."""
        self.client.set(self._k("health"), int(time.time()), ex=3600)

    def ping(self) -> bool:
        return bool(self.client.ping())

    def close(self) -> None:
        self.client.close()

    # -- jobs ----------------------------------------------------------------------------------

    def next_id(self) -> int:
        return FIRST_JOB_ID + int(self.client.incr(self._k("next_id")))

    def put_job(self, job: Job) -> None:
        for part in (job.owner, job.file_prefix):
            if "|" in part:
                raise ValueError("job owner and file prefix must not contain '|'")
        ttl_ms = int(self.job_ttl * 1000) if self.job_ttl else 0
        self._put_job(args=[self.prefix, job.id, encode_doc(job), job.file_prefix, job.owner,
                            repr(self._wall()), ttl_ms, self.max_jobs])

    def get_job(self, job_id: int) -> Job | None:
        raw = self.client.get(self._k(f"job:{int(job_id)}"))
        return None if raw is None else Job(**decode_doc(raw))

    def get_job_by_prefix(self, file_prefix: str) -> Job | None:
        job_id = self.client.get(self._k("prefix:" + file_prefix))
        return None if job_id is None else self.get_job(int(job_id))

    def __len__(self) -> int:
        return int(self.client.zcard(self._k("jobs")))

    # -- clock ---------------------------------------------------------------------------------

    def clock_offset(self, owner: str = "") -> float:
        raw = self.client.hget(self._k("clock"), owner)
        return 0.0 if raw is None else float(raw)

    def set_clock_offset(self, offset: float, owner: str = "") -> None:
        self.client.hset(self._k("clock"), owner, repr(float(offset)))

    # -- logs ----------------------------------------------------------------------------------

    def append(self, log: str, entry: dict[str, Any]) -> int:
        owner = entry.get("owner")
        owner = owner if isinstance(owner, str) and "|" not in owner else ""
        return int(self._append(args=[self.prefix, log, encode_doc(entry), owner, self.max_log_entries]))

    def entries(self, log: str, since: int = 0) -> list[dict[str, Any]]:
        return list(self.iter_entries(log, since))

    def iter_entries(self, log: str, since: int = 0) -> Iterator[dict[str, Any]]:
        """A batch of LOG_BATCH entries at a time: a listing never holds the whole log."""
        last = int(since)
        while True:
            try:
                members = self.client.zrangebyscore(self._k("log:" + log), f"({last}", "+inf", start=0, num=LOG_BATCH)
            except redis.exceptions.RedisError as exc:
                raise StoreUnavailable(_reason(exc)) from None
            for member in members:
                seq, _, rest = member.partition(b"|")
                _, _, data = rest.partition(b"|")
                last = int(seq)
                yield dict(decode_doc(data), seq=last)
            if len(members) < LOG_BATCH:
                return

    # -- rules ---------------------------------------------------------------------------------

    def put_rule(self, rule: dict[str, Any]) -> None:
        times = rule.get("times")
        counted = isinstance(times, (int, float)) and not isinstance(times, bool)
        self._put_rule(args=[self.prefix, str(rule["id"]), encode_doc(rule), repr(times) if counted else ""])

    def rules(self) -> list[dict[str, Any]]:
        ids = self.client.zrange(self._k("rule_order"), 0, -1)
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=True)
        pipe.hmget(self._k("rules"), ids)
        pipe.hmget(self._k("rule_times"), ids)
        datas, times = pipe.execute()
        found = []
        for data, left in zip(datas, times):
            if data is None:
                continue
            rule = decode_rule(data)
            if left is not None:
                rule["times"] = _number(left)
            found.append(rule)
        return found

    def consume_rule(self, rule_id: str) -> bool:
        return bool(self._consume(args=[self.prefix, rule_id]))

    def delete_rules(self) -> None:
        self.client.delete(self._k("rules"), self._k("rule_times"), self._k("rule_order"))

    def delete_rule(self, rule_id: str) -> bool:
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(self._k("rules"), rule_id)
        pipe.hdel(self._k("rule_times"), rule_id)
        pipe.zrem(self._k("rule_order"), rule_id)
        return bool(pipe.execute()[0])

    # -- the queue limit ------------------------------------------------------------------------

    def queue_add(self, owner: str, job_id: int, ready_at: float, now: float) -> None:
        key = self._k("queue:" + owner)
        pipe = self.client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {str(job_id): ready_at})
        # real seconds: a namespace nobody asks about again does not keep its key for ever
        pipe.expire(key, int(min(max(ready_at - now, 0.0), 86_400.0 * 366)) + 3600)
        pipe.execute()

    def queue_count(self, owner: str, now: float) -> tuple[int, float | None]:
        key = self._k("queue:" + owner)
        pipe = self.client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        _, count, first = pipe.execute()
        return int(count), (float(first[0][1]) if first else None)

    # -- reset ---------------------------------------------------------------------------------

    def reset(self, owner: str | None = None) -> None:
        if owner is None:
            batch = []
            for key in self.client.scan_iter(match=_glob_escape(self.prefix) + "*", count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    self.client.unlink(*batch)
                    batch = []
            if batch:
                self.client.unlink(*batch)
            return
        self._reset_owner(owner)

    def _reset_owner(self, owner: str) -> None:
        members = self.client.smembers(self._k("owner:" + owner))
        pipe = self.client.pipeline(transaction=True)
        for member in members:
            job_id, _, file_prefix = member.decode().split("|", 2)
            pipe.delete(self._k(f"job:{job_id}"))
            pipe.zrem(self._k("jobs"), member)
        pipe.delete(self._k("owner:" + owner))
        pipe.hdel(self._k("clock"), owner)
        pipe.delete(self._k("queue:" + owner))
        pipe.execute()
        for member in members:  # a prefix key is dropped only while it still names that job
            job_id, _, file_prefix = member.decode().split("|", 2)
            key = self._k("prefix:" + file_prefix)
            if self.client.get(key) == job_id.encode():
                self.client.delete(key)
        mark = b"|" + owner.encode() + b"|"
        for name in self.client.smembers(self._k("lognames")):
            key = self._k("log:" + name.decode())
            doomed = [m for m in self.client.zrange(key, 0, -1) if mark in m[: m.find(b"|", m.find(b"|") + 1) + 1]]
            if doomed:
                self.client.zrem(key, *doomed)
        ids = self.client.zrange(self._k("rule_order"), 0, -1)
        for rule_id, data in zip(ids, self.client.hmget(self._k("rules"), ids) if ids else []):
            if data is not None and decode_doc(data).get("owner") == owner:
                self.client.hdel(self._k("rules"), rule_id)
                self.client.hdel(self._k("rule_times"), rule_id)
                self.client.zrem(self._k("rule_order"), rule_id)


def _reason(exc: BaseException) -> str:
    """Fixed words for what went wrong: redis-py's own text names hosts, ports and addresses."""
    if isinstance(exc, redis.exceptions.TimeoutError):
        return "Redis: timed out"
    if isinstance(exc, redis.exceptions.ConnectionError):
        return "Redis: cannot connect"
    if isinstance(exc, redis.exceptions.ResponseError):
        word = str(exc).split(" ", 1)[0]
        return f"Redis: refused ({word if word.isalpha() and word.isupper() else 'an error'})"
    return f"Redis: {type(exc).__name__}"


def _guarded(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self: RedisStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except redis.exceptions.RedisError as exc:  # redis-py reconnects on the next call by itself
            raise StoreUnavailable(_reason(exc)) from None

    return wrapper


for _name in ("next_id", "put_job", "get_job", "get_job_by_prefix", "__len__", "clock_offset", "set_clock_offset",
              "append", "put_rule", "rules", "consume_rule", "delete_rules", "delete_rule", "reset",
              "check_writable", "queue_add", "queue_count"):
    if hasattr(RedisStore, _name):
        setattr(RedisStore, _name, _guarded(getattr(RedisStore, _name)))
del _name
