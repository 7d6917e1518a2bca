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

__all__ = ["ConfigError", "KeyRule", "MockConfig", "PROFILES", "VARIANTS", "load_config"]

VARIANTS = ("success", "processing", "error", "failed")

#: Model ids the docs use for this family (both spellings of Pony Realism appear in them).
DEFAULT_MODELS = ("pony-realism", "pony_realism", "midjourney-v4-painta", "rev-animated-v1")

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
    """Per-key behaviour, for clients (like the official SDK) that cannot send headers."""

    valid: bool = True
    variant: str | None = None
    eta: float | None = None
    outcome: str | None = None  # what a queued job of this key ends as: success | failed
    error: str | None = None  # which error the error variant sends (see mockserver.errors)

    def __post_init__(self) -> None:
        if self.variant is not None and self.variant not in VARIANTS:
            raise ConfigError(f"keys.*.variant must be one of {VARIANTS}, not {self.variant!r}")
        if self.outcome is not None and self.outcome not in ("success", "failed"):
            raise ConfigError(f"keys.*.outcome must be success or failed, not {self.outcome!r}")


@dataclass(frozen=True)
class MockConfig:
    host: str = "127.0.0.1"
    port: int = 4010
    spec: str = "modelslab-pony-inpaint.yaml"
    seed: int | None = None
    strict: bool = False
    http_errors: bool = False
    profile: str = "default"
    accept_any_key: bool = True
    models: tuple[str, ...] = DEFAULT_MODELS
    processing_ratio: float = 0.2
    error_ratio: float = 0.0
    failed_ratio: float = 0.0
    eta_min: float = 1.0
    eta_max: float = 5.0
    eta_distribution: str = "uniform"
    public_url: str | None = None
    validate_responses: bool = False
    max_jobs: int = 100_000
    keys: Mapping[str, KeyRule] = field(default_factory=dict)
    # Where state lives and how it is served (mockserver/stores.py, mockserver/serve.py).
    store: str = "sqlite"  # memory | sqlite | sqlite:///path | redis://host:port/db
    state_dir: str = ".state"  # folder of the default SQLite file
    store_prefix: str = "modelslab-mock:"  # Redis key prefix: one per mock that must not share state
    job_ttl: float = 86_400.0  # seconds a job is kept after it was stored; 0 keeps it until the cap
    max_log_entries: int = 10_000  # per log (journal, webhook deliveries); oldest dropped
    workers: int = 1  # server processes
    threads: int = 4  # threads per process

    def __post_init__(self) -> None:
        for name in ("processing_ratio", "error_ratio", "failed_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, not {value}")
        if self.error_ratio + self.processing_ratio > 1.0:
            raise ConfigError("processing_ratio + error_ratio must not exceed 1")
        if not 0.0 <= self.eta_min <= self.eta_max:
            raise ConfigError(f"need 0 <= eta_min <= eta_max, got {self.eta_min} and {self.eta_max}")
        if self.eta_distribution not in ("uniform", "loguniform"):
            raise ConfigError("eta_distribution must be uniform or loguniform")
        if self.profile not in PROFILES:
            raise ConfigError(f"profile must be one of {sorted(PROFILES)}, not {self.profile!r}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port must be 1-65535, not {self.port}")
        for name in ("workers", "threads", "max_jobs", "max_log_entries"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.job_ttl < 0:
            raise ConfigError(f"job_ttl must be >= 0 seconds (0 = no expiry), not {self.job_ttl}")

    def key_rule(self, key: str) -> KeyRule | None:
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
            return {str(k): v if isinstance(v, KeyRule) else KeyRule(**v) for k, v in value.items()}
        if name == "models":
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
        raise ConfigError(f"setting {name}: cannot use {value!r} ({exc})") from None


def _layer(source: Mapping[str, Any], origin: str) -> dict[str, Any]:
    unknown = sorted(set(source) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{origin}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
    return {name: _convert(name, value) for name, value in source.items()}


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
