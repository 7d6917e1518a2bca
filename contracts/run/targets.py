"""What a contract run talks to: an in-process app, a server on a URL, or the real API.

The same test functions run against every target, so a ``Target`` carries everything that
differs between them: where the API lives, how to send a request (``transport``), which key to
use, whether calls cost money (``budget``), whether invalid input must be rejected (``strict``),
whether the mock's admin API can steer and inspect it (``admin``), and, for the real API without
a key, why it must be skipped.

Real-API runs are positive-only and use the cheapest parameters the spec allows; every call is
charged to a hard budget (default 5) that is printed as it is spent.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from contracts.run.budget import DEFAULT_REAL_BUDGET, BudgetTransport, CallBudget
from contracts.run.mock_admin import AdminTokenRequired, MockAdmin
from contracts.core.redact import register_secret
from contracts.core.transport import RequestsTransport, Transport, WSGITransport

__all__ = ["API_PATH", "KEY_ENV", "REAL_BASE_URL", "REAL_BASE_URL_ENV", "Target", "TargetError",
           "cheapest_inpaint_body", "default_test_key"]

API_PATH = "/api/v6/images"
REAL_BASE_URL = "https://modelslab.com/api/v6/images"
KEY_ENV = "MODELSLAB_API_KEY"
#: The mock's admin token (the same variable ``mockserver run`` reads).
ADMIN_TOKEN_ENV = "MOCKSERVER_ADMIN_TOKEN"
#: Point ``--target real`` somewhere else (an enterprise base URL, or a local stand-in in tests).
REAL_BASE_URL_ENV = "CONTRACTS_REAL_BASE_URL"


class TargetError(ValueError):
    """A target description that cannot be used; the message lists what is accepted."""


def default_test_key() -> str:
    """A fresh key per run: the mock namespaces jobs, clock and journal by key, so runs never mix."""
    return f"contracts-{secrets.token_hex(6)}"


_DOCS_IMAGES = (
    "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo.png",
    "https://raw.githubusercontent.com/CompVis/stable-diffusion/main/data/inpainting_examples/overture-creations-5sI6fQgYIuo_mask.png",
)


def cheapest_inpaint_body(spec: str | None = None) -> dict[str, Any]:
    """The least costly valid inpaint request: the spec's smallest size and sample count.

    The step count stays at the spec's default: real servers clamp or reject unusual values, and
    the price is per image. Uses the docs' public example images; no webhook.
    """
    from contracts.core.spec import SPEC_FILE, deref, load_document, operations

    document = load_document(spec or SPEC_FILE)
    props = deref(operations(document)["inpaint"].body_schema or {}, document).get("properties", {})

    def smallest(name: str, fallback: int) -> int:
        return int(props.get(name, {}).get("minimum", fallback))

    return {
        "model_id": "pony-realism",
        "prompt": "a cat sitting on a bench",
        "init_image": _DOCS_IMAGES[0],
        "mask_image": _DOCS_IMAGES[1],
        "width": smallest("width", 512),
        "height": smallest("height", 512),
        "samples": smallest("samples", 1),
        "steps": int(props.get("steps", {}).get("default", 21)),
        "safety_checker": "yes",
    }


def _api_base(url: str) -> str:
    parts = urlsplit(url)
    try:
        port_ok = parts.port is not None or not parts.netloc.endswith(":")
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise TargetError(f"not a target URL: {url!r} (expected http(s)://host:port[/api/v6/images], "
                          "'mock', 'real' or 'wsgi:module:attr')")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path or API_PATH}"


@dataclass
class Target:
    name: str
    base_url: str
    transport: Transport
    key: str
    app: Any = None
    budget: CallBudget | None = None
    positive_only: bool = False
    strict: bool | None = None
    admin: MockAdmin | None = None
    skip_reason: str | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def for_url(cls, url: str, key: str | None = None, *, name: str = "url",
                admin_token: str | None = None) -> "Target":
        """A server on a URL; if it is a modelslab mock (``/__mock/health``), its admin API is used
        (with ``admin_token``, default ``MOCKSERVER_ADMIN_TOKEN``, when the mock requires one)."""
        base = _api_base(url)
        transport = RequestsTransport()
        target = cls(name=name, base_url=base, transport=transport, key=key or default_test_key(),
                     description=base)
        target._discover_mock(admin_token)
        return target

    @classmethod
    def for_wsgi(cls, app: Any, key: str | None = None, *, host: str = "localhost",
                 admin_token: str | None = None) -> "Target":
        """A WSGI app in this process: no socket, no thread."""
        transport = WSGITransport(app, host=host)
        target = cls(name="wsgi", base_url=f"http://{host}{API_PATH}", transport=transport,
                     key=key or default_test_key(), app=app, description=f"in-process app {type(app).__name__}")
        target._discover_mock(admin_token)
        return target

    @classmethod
    def real(cls, key: str | None = None, budget: int = DEFAULT_REAL_BUDGET, base_url: str | None = None,
             environ: dict[str, str] | None = None) -> "Target":
        """The real API; without a key the target exists but every test skips with the reason."""
        env = os.environ if environ is None else environ
        key = key if key is not None else env.get(KEY_ENV, "")
        base = _api_base(base_url or env.get(REAL_BASE_URL_ENV) or REAL_BASE_URL)
        call_budget = CallBudget(budget)
        transport = BudgetTransport(RequestsTransport(), call_budget, base)
        register_secret(key)
        return cls(
            name="real", base_url=base, transport=transport, key=key or "", budget=call_budget,
            positive_only=True, strict=False,
            skip_reason=None if key else (f"{KEY_ENV} is not set: real-API contract tests need a key "
                                          f"(they spend at most {budget} calls)"),
            description=f"{base} (budget {budget} calls)",
        )

    def probe(self) -> None:
        """Raise ``TargetError`` if nothing answers at the target at all (fail once, clearly)."""
        try:
            self.transport.request("GET", self.root_url + "/", timeout=10)
        except OSError as exc:
            raise TargetError(f"cannot reach {self.base_url}: {exc}") from None

    def _discover_mock(self, admin_token: str | None = None) -> None:
        token = admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None
        admin = MockAdmin(self.root_url, self.transport, token=token)
        try:
            health = admin.health()
        except AdminTokenRequired as exc:
            raise TargetError(str(exc)) from None
        except Exception:  # not a mock, or nothing listening: the tests will say so
            return
        if health.get("status") == "ok":
            self.admin = admin
            self.strict = bool(health.get("strict", False))
            self.name = "mock" if self.name in ("url", "mock") else self.name
            self.description += f" (modelslab-mock, {'strict' if self.strict else 'compat'}, seed {health.get('seed')})"

    # -- helpers -------------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def is_mock(self) -> bool:
        return self.admin is not None

    @property
    def is_real(self) -> bool:
        return self.name == "real"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def post(self, path: str, body: dict[str, Any], prefer: str | None = None, with_key: bool = True):
        """POST an API call (the key is added); returns ``HttpResponse``. Budget applies to real."""
        payload = dict(body)
        if with_key:
            payload["key"] = self.key
        headers = {"Prefer": prefer} if prefer else None
        return self.transport.request("POST", self.url(path), json_body=payload, headers=headers)

    def reset(self) -> None:
        """Forget this run's state on a mock (its key's namespace); nothing on other targets."""
        if self.admin is not None:
            self.admin.reset(self.key)

    def advance_clock(self, seconds: float) -> bool:
        """Let time pass on a mock for this run's key; False when the target cannot do that."""
        if self.admin is None:
            return False
        self.admin.advance_clock(seconds, self.key)
        return True

    def close(self) -> None:
        """Close the connection pool under any wrapping transports (budget, recording)."""
        transport: Any = self.transport
        while hasattr(transport, "inner"):
            transport = transport.inner
        close = getattr(transport, "close", None)
        if close is not None:
            close()
