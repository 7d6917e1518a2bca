"""The mock's settings and the one order they are read in.

Precedence, highest first: command-line flags, ``MOCKSERVER_*`` environment variables, the
TOML file (``--config`` or ``MOCKSERVER_CONFIG``), the chosen ``--profile``, built-in defaults.
Every setting has one name used in all four places (``http_errors`` is ``--http-errors``,
``MOCKSERVER_HTTP_ERRORS`` and ``http_errors = true``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any, Mapping

from mockserver.engine.directives import KEY_WORDS, VARIANTS, Directive, DirectiveError

__all__ = ["ConfigError", "KeyRule", "MockConfig", "PROFILES", "VARIANTS", "load_config"]

#: Model ids the vendor's pages and the official clients' examples use for the image API (both
#: spellings of Pony Realism appear in the docs): the v6 pages (pony-realism, midjourney-v4-painta,
#: rev-animated-v1, realistic-vision-51, lazymixv4-inpaint, flux), the v7 model-selection guide
#: (flux, midjourney, sdxl, imagen-3, imagen-4), and what modelslab-py, the modelslab 0.2 package
#: and the CLI's README pass. ``models = ["*"]`` accepts any id.
DEFAULT_MODELS = ("pony-realism", "pony_realism", "midjourney-v4-painta", "rev-animated-v1", "realistic-vision-51",
                  "lazymixv4-inpaint", "flux", "midjourney", "sdxl", "imagen-3", "imagen-4")

class DefaultHosts(tuple):
    """The built-in allow-list, told apart from one the operator wrote: on a non-loopback bind it
    allows nothing (``NetPolicy.for_bind``), while a list someone configured is kept."""


#: Hosts the mock may call by default (init/mask image URLs, webhooks): this machine only, and
#: nothing at all when the mock is bound to a non-loopback address.
LOOPBACK_HOSTS = DefaultHosts(("127.0.0.1", "localhost", "::1"))

#: Prompt words that make ``safety_checker: "yes"`` blank an image (whole words, any case).
DEFAULT_NSFW_WORDS = ("nsfw", "nude", "naked", "nudity", "porn", "explicit")

#: Named starting points; a file, the environment and flags override them field by field.
PROFILES: dict[str, dict[str, Any]] = {
    # Pleasant for local work and still exercises fetch: one request in five is queued briefly.
    "default": {"processing_ratio": 0.2, "error_ratio": 0.0, "failed_ratio": 0.0,
                "eta_min": 1.0, "eta_max": 5.0, "eta_distribution": "uniform"},
    # What the real service was seen doing (MODELSLAB-FACTS §4.3): long queues, rare errors.
    "realistic": {"processing_ratio": 0.6, "error_ratio": 0.02, "failed_ratio": 0.02,
                  "eta_min": 6.0, "eta_max": 150.0, "eta_distribution": "loguniform"},
}


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the setting and what it accepts."""


@dataclass(frozen=True)
class KeyRule:
    """Per-key behaviour, for clients (like the official SDK) that cannot send headers.

    The words are the ``Prefer`` header's (mockserver/engine/directives.py), checked the same way;
    ``directive`` is the parsed form the variant chooser reads.
    """

    valid: bool = True
    variant: str | None = None
    eta: float | None = None  # seconds, or a duration such as "1500ms" (stored as seconds)
    outcome: str | None = None  # what a queued job of this key ends as: success | failed
    error: str | None = None  # which error the error variant sends (implies variant = "error")
    fault: str | None = None  # a fault this key's requests meet (after Prefer and rules, before configured faults)
    delay: float | None = None  # seconds (or "1500ms") this key's answers wait (after Prefer and rules)
    webhook: str | None = None  # what happens to this key's webhooks: drop | duplicate
    directive: Directive = field(default=Directive(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.valid, bool):
            raise ConfigError(f"keys.*.valid must be true or false, not {self.valid!r}")
        try:
            directive = Directive.from_mapping({w: getattr(self, w) for w in KEY_WORDS}, "keys.*.", KEY_WORDS)
        except DirectiveError as exc:
            raise ConfigError(str(exc)) from None
        object.__setattr__(self, "eta", directive.eta)
        object.__setattr__(self, "delay", directive.delay)
        object.__setattr__(self, "directive", directive)

    @classmethod
    def from_table(cls, table: Any) -> "KeyRule":
        """One ``[keys.NAME]`` table of a config file."""
        if isinstance(table, KeyRule):
            return table
        if not isinstance(table, Mapping):
            raise ConfigError(f"keys.* must each be a table of {', '.join(('valid',) + KEY_WORDS)}")
        unknown = sorted(str(k) for k in set(table) - {"valid", *KEY_WORDS})
        if unknown:
            raise ConfigError(f"keys.*: unknown field(s) {', '.join(unknown)}; known: "
                              f"{', '.join(('valid',) + KEY_WORDS)}")
        return cls(**table)


@dataclass(frozen=True)
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 4010
    spec: str = "modelslab.yaml"
    seed: int | None = None
    strict: bool = False
    http_errors: bool = False
    profile: str = "default"
    accept_any_key: bool = True
    models: tuple[str, ...] = DEFAULT_MODELS
    queue_limit: int = 5  # queued jobs per key at once (rate-limits page: 5 on pay-as-you-go); 0 = no limit
    legacy_messege: bool = False  # processing bodies spell "message" as "messege", like legacy endpoints
    processing_ratio: float = 0.2
    error_ratio: float = 0.0
    failed_ratio: float = 0.0
    eta_min: float = 1.0
    eta_max: float = 5.0
    eta_distribution: str = "uniform"
    public_url: str | None = None
    cors: bool = True  # answer browsers' preflights and let pages of any origin read API answers (not /__mock/)
    validate_responses: bool = False
    max_jobs: int = 100_000
    keys: Mapping[str, KeyRule] = field(default_factory=dict)
    # Where state lives and how it is served (mockserver/state/stores.py, mockserver/web/serve.py).
    store: str = "memory"  # memory | sqlite | sqlite:///path | redis://host:port/db
    state: str | None = None  # --state DIR: a SQLite file there, kept across restarts (implies store sqlite)
    store_prefix: str = "modelslab-mock:"  # Redis key prefix: one per mock that must not share state
    job_ttl: float = 86_400.0  # seconds a job is kept after it was stored; 0 keeps it until the cap
    max_log_entries: int = 10_000  # per log (journal, webhook deliveries); oldest dropped
    max_log_bytes: int = 16 * 1024 * 1024  # per log, as JSON; oldest dropped (an entry keeps at most 64 KiB)
    max_store_bytes: int = 256 * 1024 * 1024  # all jobs together, images included; oldest dropped
    workers: int = 1  # server processes
    threads: int = 1  # ignored since the server answers in one thread per worker (kept for old configs)
    max_connections: int = 1024  # connections each worker serves at once; more wait in the listen backlog
    header_timeout: float = 10.0  # seconds a client has to send a request's headers
    body_timeout: float = 30.0  # seconds a client has to send a request's body, once its headers are in
    # Images (mockserver/images/artefacts.py): where init/mask images may come from, how outputs are kept.
    image_dir: str | None = None  # folder init_image/mask_image may name files in (relative paths)
    image_url_map: Mapping[str, str] = field(default_factory=dict)  # URL -> builtin:NAME or a file in image_dir
    image_allow_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # hosts init/mask URLs may be fetched from
    image_fetch_timeout: float = 2.0  # seconds per init/mask URL fetch
    image_max_bytes: int = 10 * 1024 * 1024  # largest init/mask image accepted
    image_cache_bytes: int = 128 * 1024 * 1024  # rendered outputs kept in memory (LRU)
    nsfw_words: tuple[str, ...] = DEFAULT_NSFW_WORDS  # prompt words that trip safety_checker: "yes"
    # Webhooks (mockserver/control/webhooks.py).
    webhook_allow_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # hosts webhooks may be delivered to
    webhook_timeout: float = 5.0  # seconds per delivery attempt
    webhook_retries: int = 2  # extra attempts after a failed one (0 = best effort, one attempt)
    webhook_backoff: float = 1.0  # seconds before the first retry; doubles each time
    webhook_workers: int = 4  # delivery threads per process
    webhook_queue_size: int = 1000  # deliveries waiting at most; more are recorded as failed
    webhook_duplicate_ratio: float = 0.0  # share of jobs whose webhook is sent twice
    webhook_drop_ratio: float = 0.0  # share of jobs whose webhook is never sent
    webhook_delay: str = ""  # extra wait before delivering (latency spec, see mockserver/control/latency.py)
    # Latency and faults (mockserver/control/latency.py, mockserver/control/faults.py).
    latency: str = ""  # every API operation: "", fixed:S, uniform:MIN,MAX or lognormal:MEDIAN,SIGMA
    latency_generate: str = ""  # overrides latency for every operation that makes a job (inpaint, text2img, ...)
    latency_inpaint: str = ""  # the old name of latency_generate (used when latency_generate is unset)
    latency_fetch: str = ""  # overrides latency for every fetch operation
    latency_image: str = ""  # output file GETs
    max_delay: float = 30.0  # cap on any delay: Prefer delay=, rules, latency draws
    fault_rate_limit_ratio: float = 0.0  # share of API requests answered "Rate limit exceeded"
    fault_outage_ratio: float = 0.0  # share answered by a 503 gateway page
    fault_reset_ratio: float = 0.0  # share whose connection is reset (after handling)
    fault_truncated_ratio: float = 0.0  # share whose JSON body is cut in half (after handling)
    # Replay (mockserver/control/replay.py): answer with episodes recorded by `mockserver record`.
    replay: str | None = None  # cassette folder; matching requests get their recorded episode
    on_miss: str = "generate"  # a request no episode matches: generate (say so) or error
    journal: bool = True  # record requests for GET /__mock/requests (capped by max_log_entries)
    max_body_bytes: int = 32 * 1024 * 1024  # larger bodies: 413 "Invalid API Request", unread (fits 2 data-URI images)
    # Exposure (mockserver/web/admin.py): /__mock/ needs this token when set; a non-loopback bind sets one.
    admin_token: str | None = field(default=None, repr=False)  # sent as Authorization: Bearer or X-Mock-Admin-Token
    # The console (mockserver/web/access_log.py): one line per request unless quiet.
    quiet: bool = False  # no line per request (start-up lines and errors are still printed)
    log_format: str = "text"  # text (colour on a terminal) or json (one object per line)

    def __post_init__(self) -> None:
        for name in ("processing_ratio", "error_ratio", "failed_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, not {value}")
        if self.error_ratio + self.processing_ratio > 1.0:
            raise ConfigError("processing_ratio + error_ratio must not exceed 1")
        if not 0.0 <= self.eta_min <= self.eta_max:
            raise ConfigError(f"need 0 <= eta_min <= eta_max, got {self.eta_min} and {self.eta_max}")
        from mockserver.engine.durations import MAX_DURATION

        for name in ("eta_max", "max_delay"):
            if not getattr(self, name) <= MAX_DURATION:
                raise ConfigError(f"{name} must be at most {MAX_DURATION:.0f} seconds (ten years), not {getattr(self, name)}")
        if self.eta_distribution not in ("uniform", "loguniform"):
            raise ConfigError("eta_distribution must be uniform or loguniform")
        if self.profile not in PROFILES:
            raise ConfigError(f"profile must be one of {sorted(PROFILES)}, not {self.profile!r}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port must be 1-65535, not {self.port}")
        for name in ("workers", "threads", "max_jobs", "max_log_entries", "max_body_bytes", "max_connections",
                     "max_log_bytes", "max_store_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.on_miss not in ("generate", "error"):
            raise ConfigError(f"on_miss must be generate or error, not {self.on_miss!r}")
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"log_format must be text or json, not {self.log_format!r}")
        for name in ("header_timeout", "body_timeout"):
            if not 0.1 <= getattr(self, name) <= 3600:
                raise ConfigError(f"{name} must be between 0.1 and 3600 seconds, not {getattr(self, name)}")
        if self.state is not None and self.store == "memory":
            object.__setattr__(self, "store", "sqlite")  # --state DIR alone means the SQLite store there
        if self.store == "sqlite" and not self.state:
            raise ConfigError("store sqlite needs a folder: --state DIR (or --store sqlite:///path/file.sqlite3)")
        if self.queue_limit < 0:
            raise ConfigError(f"queue_limit must be >= 0 (0 = no limit), not {self.queue_limit}")
        if self.job_ttl < 0:
            raise ConfigError(f"job_ttl must be >= 0 seconds (0 = no expiry), not {self.job_ttl}")
        self._check_artefact_settings()

    def _check_artefact_settings(self) -> None:
        """Images, webhooks, latency and faults (issue 3)."""
        from mockserver.engine.durations import LatencyError, parse_spec

        ratios = ("webhook_duplicate_ratio", "webhook_drop_ratio", "fault_rate_limit_ratio",
                  "fault_outage_ratio", "fault_reset_ratio", "fault_truncated_ratio")
        for name in ratios:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, not {getattr(self, name)}")
        if sum(getattr(self, name) for name in ratios if name.startswith("fault_")) > 1.0:
            raise ConfigError("the fault_*_ratio settings must add up to at most 1")
        for name in ("latency", "latency_generate", "latency_inpaint", "latency_fetch", "latency_image", "webhook_delay"):
            try:
                parse_spec(getattr(self, name), name)
            except LatencyError as exc:
                raise ConfigError(str(exc)) from None
        for name in ("image_fetch_timeout", "webhook_timeout"):
            if not 0 < getattr(self, name) <= 300:
                raise ConfigError(f"{name} must be more than 0 and at most 300 seconds, not {getattr(self, name)}")
        for name in ("image_max_bytes", "image_cache_bytes", "webhook_retries", "webhook_backoff", "max_delay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, not {getattr(self, name)}")
        if self.webhook_retries > 20:
            raise ConfigError(f"webhook_retries must be at most 20, not {self.webhook_retries}")
        for name in ("webhook_workers", "webhook_queue_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")

    def key_rule(self, key: str | None) -> KeyRule | None:
        return self.keys.get(key)

    def model_allowed(self, model_id: str) -> bool:
        return "*" in self.models or model_id in self.models


_FIELDS = {f.name: f for f in dataclasses.fields(MockConfig)}
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _convert(name: str, value: Any) -> Any:
    """Bring a value from TOML, the environment or argparse to the field's type."""
    kind = _FIELDS[name].type
    try:
        if name == "keys":
            if not isinstance(value, Mapping):
                raise ConfigError("keys must be a table of key -> rule")
            return {str(k): KeyRule.from_table(v) for k, v in value.items()}
        if name == "image_url_map":
            return _url_map(value)
        if kind.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else value
            return tuple(str(m).strip() for m in items if str(m).strip())
        if value is None:
            return None
        if "bool" in kind:
            if isinstance(value, bool):
                return value
            return _BOOL_WORDS[str(value).strip().lower()]
        if "int" in kind:
            return int(value)
        if "float" in kind:
            return float(value)
        return str(value)
    except ConfigError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        wanted = {"bool": "true or false", "int": "a whole number", "float": "a number"}
        expected = next((text for word, text in wanted.items() if word in kind), None)
        detail = f"must be {expected}" if expected else f"cannot be used ({exc})"
        raise ConfigError(f"{name} {detail}, not {value!r}") from None


def _url_map(value: Any) -> dict[str, str]:
    """A TOML table, or ``"URL=TARGET URL=TARGET"`` (whitespace-separated) from the environment or CLI."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str):
        raise ConfigError("image_url_map must be a table of URL -> target, or 'URL=TARGET URL=TARGET'")
    pairs = {}
    for item in value.split():
        url, sep, target = item.rpartition("=")
        if not sep or not url or not target:
            raise ConfigError(f"image_url_map: {item[:60]!r} is not URL=TARGET")
        pairs[url] = target
    return pairs


def _where(origin: str, name: str) -> str:
    """How the user wrote a setting: --http-errors, MOCKSERVER_HTTP_ERRORS or mock.toml's http_errors."""
    if origin == "command line":
        return "--" + name.replace("_", "-")
    if origin == "environment":
        return f"MOCKSERVER_{name.upper()}"
    return f"{origin}: {name}"


def _layer(source: Mapping[str, Any], origin: str) -> dict[str, Any]:
    import difflib

    unknown = sorted(set(source) - set(_FIELDS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(_FIELDS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"{origin}: unknown setting {', '.join(map(repr, unknown))}{hint}")
    converted = {}
    for name, value in source.items():
        try:
            converted[name] = _convert(name, value)
        except ConfigError as exc:
            raise ConfigError(f"{_where(origin, name)}: {exc}") from None
    return converted


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    found = {}
    for name in _FIELDS:
        if name == "keys":
            continue
        raw = environ.get(f"MOCKSERVER_{name.upper()}")
        if raw is not None and raw != "":
            found[name] = raw
    return _layer(found, "environment")


def load_config(
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
) -> MockConfig:
    """Merge defaults, profile, file, environment and flags, in that order."""
    environ = os.environ if environ is None else environ
    cli_layer = _layer({k: v for k, v in (cli or {}).items() if v is not None}, "command line")
    env_layer = _env_layer(environ)
    path = config_file or environ.get("MOCKSERVER_CONFIG")
    file_layer: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as handle:
                file_layer = _layer(tomllib.load(handle), path)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    profile = cli_layer.get("profile") or env_layer.get("profile") or file_layer.get("profile") or "default"
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {sorted(PROFILES)}, not {profile!r}")
    merged: dict[str, Any] = {**PROFILES[profile], **file_layer, **env_layer, **cli_layer}
    return MockConfig(**merged)
