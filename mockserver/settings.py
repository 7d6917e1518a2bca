"""Every setting of the mock, documented once: ``mockserver run --help``, ``mockserver settings``
and docs/configuration.md are all generated from this table and ``MockConfig``'s defaults.

A setting is a field of ``mockserver.config.MockConfig``. It has one name in four places: the
TOML key (``http_errors``), the environment variable (``MOCKSERVER_HTTP_ERRORS``), the flag
(``--http-errors``; booleans also ``--no-http-errors``) and the field. Adding a field to
``MockConfig`` means adding a line to ``HELP`` below (a test says so), then ``make docs``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator

from mockserver.config import PROFILES, MockConfig

__all__ = ["GROUPS", "HELP", "Setting", "all_settings", "render_markdown", "render_text"]

#: Groups in the order ``--help`` and the docs show them.
GROUPS = ("Serving", "The contract", "Answers", "State", "Images", "Webhooks", "Latency and faults")

#: name -> (group, what it does). The order inside a group is the order shown.
HELP: dict[str, tuple[str, str]] = {
    # Serving
    "host": ("Serving", "address to bind; anything but loopback needs an admin token (one is generated)"),
    "port": ("Serving", "port to listen on"),
    "workers": ("Serving", "server processes; more than one needs shared state (--state DIR or --store redis://)"),
    "max_connections": ("Serving", "connections each worker serves at once; more wait in the listen backlog"),
    "header_timeout": ("Serving", "seconds a client has to send a request's headers (then the connection is closed)"),
    "body_timeout": ("Serving", "seconds a client has to send a request's body once its headers are in (then a 408)"),
    "threads": ("Serving", "ignored: each worker answers in one thread (kept so old configs load)"),
    "public_url": ("Serving", "base URL of output and fetch links"),
    "cors": ("Serving", "let web pages of any origin call the API and read outputs (preflights answered; "
                        "never the admin API)"),
    "admin_token": ("Serving", "token /__mock/ requires (Authorization: Bearer TOKEN); never printed when set"),
    "max_body_bytes": ("Serving", "largest request body; larger ones get HTTP 413 unread"),
    "quiet": ("Serving", "no line per request on the console (start-up lines and errors still print)"),
    "log_format": ("Serving", "console lines as text (colour on a terminal) or json (one object per line)"),
    # The contract
    "spec": ("The contract", "OpenAPI file: a name in openapi/ or a path"),
    "strict": ("The contract", "reject what compat mode would coerce (strings for numbers, nulls, unknown fields)"),
    "http_errors": ("The contract", "answer errors with 400/401/404/422/429 instead of the real service's HTTP 200"),
    "validate_responses": ("The contract", "check every answer against the spec; a mock bug becomes a 500"),
    "models": ("The contract", "model ids that exist, comma-separated (\"*\" for any)"),
    "queue_limit": ("The contract", "jobs a key may have queued at once; one more gets the rate-limits page's "
                                    "'Maximum N queued requests' error (0: no limit)"),
    "legacy_messege": ("The contract", "processing bodies say 'messege', the legacy spelling some endpoints send"),
    "accept_any_key": ("The contract", "accept any non-empty API key (else only the keys table's valid ones)"),
    "keys": ("The contract", "per-key behaviour for clients that cannot send headers: [keys.NAME] with valid, "
                             "variant, eta, outcome, error, fault, delay, webhook (TOML only)"),
    # Answers
    "profile": ("Answers", "starting values: default (quick etas, no errors) or realistic (6-150 s etas, rare errors)"),
    "seed": ("Answers", "seed of the one RNG; the same seed replays the same run"),
    "processing_ratio": ("Answers", "share of requests answered 'processing' (a queued job)"),
    "error_ratio": ("Answers", "share of requests answered with an error"),
    "failed_ratio": ("Answers", "share of jobs that end 'failed'"),
    "eta_min": ("Answers", "shortest eta of a queued job, seconds"),
    "eta_max": ("Answers", "longest eta of a queued job, seconds"),
    "eta_distribution": ("Answers", "how etas are drawn between eta_min and eta_max: uniform or loguniform"),
    "replay": ("Answers", "cassette folder from `mockserver record`: matching requests replay their recorded episode"),
    "on_miss": ("Answers", "with --replay, a request no episode matches: generate (as usual, with a warning) or error"),
    # State
    "state": ("State", "keep jobs, rules, the journal and the clock in a SQLite file in DIR: shared by the "
                       "workers, kept across restarts (without it: in memory, empty at every start)"),
    "store": ("State", "where state lives: memory, sqlite (in --state DIR), sqlite:///PATH or redis://HOST:PORT/DB "
                       "(shared by mocks on several machines)"),
    "store_prefix": ("State", "Redis key prefix: one per mock that must not share state"),
    "journal": ("State", "record requests for GET /__mock/requests"),
    "max_jobs": ("State", "jobs kept (oldest dropped)"),
    "job_ttl": ("State", "seconds a job is kept after it was stored (0: until max_jobs)"),
    "max_log_entries": ("State", "entries kept per log: the journal and the webhook log"),
    "max_log_bytes": ("State", "bytes kept per log, as JSON (oldest dropped; one entry keeps at most 64 KiB)"),
    "max_store_bytes": ("State", "bytes all jobs may take together, their init/mask images included (oldest dropped)"),
    # Images
    "image_dir": ("Images", "folder init/mask images may name as file:NAME"),
    "image_url_map": ("Images", "URL -> builtin:overture, builtin:overture-mask or a file in image_dir "
                                "(TOML table, or 'URL=TARGET URL=TARGET')"),
    "image_allow_hosts": ("Images", "hosts init/mask image URLs may be fetched from, comma-separated"),
    "image_fetch_timeout": ("Images", "seconds per init/mask URL fetch, in total"),
    "image_max_bytes": ("Images", "largest init/mask image"),
    "image_cache_bytes": ("Images", "rendered outputs kept in memory per process (LRU)"),
    "nsfw_words": ("Images", "prompt words that trip safety_checker: \"yes\", comma-separated"),
    # Webhooks
    "webhook_allow_hosts": ("Webhooks", "hosts webhooks may be delivered to, comma-separated"),
    "webhook_timeout": ("Webhooks", "seconds per delivery attempt, in total"),
    "webhook_retries": ("Webhooks", "extra attempts after a failed one (at most 20)"),
    "webhook_backoff": ("Webhooks", "seconds before the first retry; doubles each time"),
    "webhook_workers": ("Webhooks", "delivery threads per process"),
    "webhook_queue_size": ("Webhooks", "deliveries waiting at most; more are recorded queue_full"),
    "webhook_duplicate_ratio": ("Webhooks", "share of jobs whose webhook is sent twice"),
    "webhook_drop_ratio": ("Webhooks", "share of jobs whose webhook is never sent"),
    "webhook_delay": ("Webhooks", "extra wait before delivering (a latency spec)"),
    # Latency and faults
    "latency": ("Latency and faults", "delay before every API answer: fixed:S, uniform:MIN,MAX or "
                                      "lognormal:MEDIAN,SIGMA"),
    "latency_generate": ("Latency and faults", "overrides latency for every operation that makes a job "
                                               "(x-mock-behaviour kind generate: inpaint, text2img, ...)"),
    "latency_inpaint": ("Latency and faults", "the old name of latency_generate (used when that is unset)"),
    "latency_fetch": ("Latency and faults", "overrides latency for every fetch operation (kind fetch)"),
    "latency_image": ("Latency and faults", "delay before output file GETs"),
    "max_delay": ("Latency and faults", "cap on any delay: Prefer delay=, rules, latency draws"),
    "fault_rate_limit_ratio": ("Latency and faults", "share of API requests answered 'Rate limit exceeded'"),
    "fault_outage_ratio": ("Latency and faults", "share answered by a 503 gateway page"),
    "fault_reset_ratio": ("Latency and faults", "share whose connection is reset (after handling)"),
    "fault_truncated_ratio": ("Latency and faults", "share whose JSON body is cut in half (after handling)"),
}

#: What a default of None (or empty) means, where "none" would not say it.
_DEFAULT_WORDS = {
    "seed": "random, printed at start",
    "public_url": "the request's host",
    "admin_token": "none (generated for a non-loopback host)",
    "state": "none: in memory, empty at every start",
    "image_dir": "none",
    "replay": "none",
    "image_url_map": "the docs' two CompVis URLs",
    "keys": "none",
}

_BYTE_SETTINGS = ("max_body_bytes", "image_max_bytes", "image_cache_bytes")

#: How --help names a flag's value, where the kind alone ("TEXT") would not say it.
METAVARS = {"host": "HOST", "public_url": "URL", "admin_token": "TOKEN", "spec": "FILE", "store": "STORE",
            "state": "DIR", "image_dir": "DIR", "store_prefix": "PREFIX", "latency": "SPEC",
            "latency_generate": "SPEC", "latency_inpaint": "SPEC", "latency_fetch": "SPEC", "latency_image": "SPEC", "webhook_delay": "SPEC",
            "seed": "N", "models": "ID,ID", "image_allow_hosts": "HOST,HOST", "webhook_allow_hosts": "HOST,HOST",
            "nsfw_words": "WORD,WORD", "replay": "DIR"}

#: Settings that take one of a few words.
CHOICES: dict[str, tuple[str, ...]] = {
    "profile": tuple(sorted(PROFILES)),
    "log_format": ("text", "json"),
    "on_miss": ("generate", "error"),
    "eta_distribution": ("uniform", "loguniform"),
}


@dataclass(frozen=True)
class Setting:
    name: str
    group: str
    help: str
    default: str
    kind: str  # bool, int, float, text, list, table

    @property
    def env(self) -> str | None:
        return None if self.name == "keys" else f"MOCKSERVER_{self.name.upper()}"

    @property
    def flag(self) -> str | None:
        return None if self.kind == "table" and self.name == "keys" else "--" + self.name.replace("_", "-")

    @property
    def toml(self) -> str:
        return f"[keys.NAME]" if self.name == "keys" else self.name


def _kind(field: dataclasses.Field) -> str:
    kind = str(field.type)
    if "Mapping" in kind:
        return "table"
    if kind.startswith("tuple"):
        return "list"
    for word in ("bool", "int", "float"):
        if word in kind:
            return word
    return "text"


def _bytes(value: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size and value % size == 0:
            return f"{value} ({value // size} {unit})"
    return str(value)


def _plain(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _default_text(name: str, value: Any) -> str:
    if name in _DEFAULT_WORDS and value in (None, "", {}, ()):
        return _DEFAULT_WORDS[name]
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if name in _BYTE_SETTINGS:
        return _bytes(value)
    if isinstance(value, tuple):
        return ", ".join(value)
    text = _plain(value)
    others = [f"{profile}: {_plain(values[name])}" for profile, values in PROFILES.items()
              if profile != "default" and name in values and values[name] != value]
    return f"{text} ({', '.join(others)})" if others else text


def all_settings() -> Iterator[Setting]:
    """Every ``MockConfig`` field, grouped as ``GROUPS`` says (undocumented ones last, in 'Other')."""
    defaults = MockConfig()
    fields = {f.name: f for f in dataclasses.fields(MockConfig)}
    for group in GROUPS:
        for name, (where, text) in HELP.items():
            if where == group and name in fields:
                yield Setting(name, group, text, _default_text(name, getattr(defaults, name)), _kind(fields[name]))
    for name, field in fields.items():
        if name not in HELP:
            yield Setting(name, "Other", "(not documented yet)", _default_text(name, getattr(defaults, name)),
                          _kind(field))


def render_text() -> str:
    """What ``mockserver settings`` prints."""
    lines = ["Every setting: flag, environment variable and TOML key (first wins: flag > environment > "
             "--config TOML > --profile > default).", ""]
    group = None
    for setting in all_settings():
        if setting.group != group:
            if group is not None:
                lines.append("")
            group = setting.group
            lines.append(f"{group}:")
        names = "  ".join(n for n in (setting.flag, setting.env, f"toml {setting.toml}") if n)
        lines.append(f"  {setting.name} = {setting.default}")
        lines.append(f"      {setting.help}")
        lines.append(f"      {names}")
    return "\n".join(lines) + "\n"


_PAGE_HEAD = """\
# Configuration reference

<!-- Generated from mockserver/settings.py and MockConfig's defaults by `make docs`
     (python -m mockserver settings --format markdown). Do not edit by hand: a test compares. -->

Every setting has one name in four places, read in this order (first wins):

1. a command-line flag: `mockserver run --http-errors`
2. an environment variable: `MOCKSERVER_HTTP_ERRORS=1`
3. a TOML file, given with `--config mock.toml` or `MOCKSERVER_CONFIG=mock.toml`: `http_errors = true`
4. the profile (`--profile realistic`), then the built-in default.

`mockserver settings` prints this list in the terminal; `mockserver run --help` shows the flags in
the same groups. Booleans take `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off` (flags:
`--strict` and `--no-strict`); lists are comma-separated outside TOML. A value that cannot be used
stops the mock at start with one line naming the setting and where it came from.

A TOML file for a CI job that wants errors as HTTP statuses and a key that is always queued:

```toml
http_errors = true
seed = 7
models = ["pony-realism", "my-finetune"]

[keys.sdk-queued]
variant = "processing"
eta = 2.0

[keys.revoked]
valid = false
```
"""


def render_markdown() -> str:
    """docs/configuration.md."""
    out = [_PAGE_HEAD.rstrip("\n")]
    group = None
    for setting in all_settings():
        if setting.group != group:
            group = setting.group
            out.append(f"\n## {group}\n\n| setting | default | flag / environment | what it does |\n|---|---|---|---|")
        where = " ".join(f"`{n}`" for n in (setting.flag, setting.env) if n) or "TOML only"
        default = setting.default.replace("|", "\\|")
        out.append(f"| `{setting.toml}` | {default} | {where} | {setting.help.replace('|', '/')} |")
    out.append("\nEvery limit and what it bounds: [limits-and-safety.md](limits-and-safety.md#every-limit-and-its-default).")
    return "\n".join(out) + "\n"
