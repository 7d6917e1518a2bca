"""What a contract run talks to: an in-process app, a server on a URL, or the real API.

The same test functions run against every target, so a ``Target`` carries everything that
differs between them: where the API lives, how to send a request (``transport``), which key to
use, whether calls cost money (``budget``), whether invalid input must be rejected (``strict``),
whether the mock's admin API can steer and inspect it (``admin``), and, for the real API without
a key, why it must be skipped.

Real-API runs are positive-only and use the cheapest parameters the spec allows; every call is
charged to a hard budget (default 5) that is printed as it is spent.

A target also knows its ``spec`` (a name in openapi/ or a path): the API lives under that spec's
server path (``/api/v6/images`` for the Pony spec, ``/api`` for the family spec), and the suite
and checks find its generate and fetch operations there.
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
           "cheapest_generate_body", "cheapest_inpaint_body", "default_test_key", "spec_base_path"]

API_PATH = "/api"  # the default spec's server path (the image family)
REAL_BASE_URL = "https://modelslab.com/api"
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


def cheapest_generate_body(operation: str | None = None, spec: str | None = None) -> dict[str, Any]:
    """The least costly valid request of a generate operation (``None``: the spec's inpaint): the
    smallest size and sample count its schema allows, its declared image fields set to the docs'
    public example images, a model id only where it takes one; no webhook.

    The step count stays at the spec's default: real servers clamp or reject unusual values, and
    the price is per image.
    """
    from contracts.core.behaviours import spec_behaviours
    from contracts.core.spec import SPEC_FILE

    index = spec_behaviours(spec or SPEC_FILE)
    ops = list(index.generate.values())
    if operation is not None:
        op = index.generate.get(operation)
        if op is None:
            raise TargetError(f"{operation!r} is not a generate operation of {spec or SPEC_FILE}")
    elif ops:
        op = next((g for g in ops if g.render == "inpaint"), ops[0])
    else:
        raise TargetError(f"{spec or SPEC_FILE} declares no generate operation (x-mock-behaviour)")
    props = op.body_schema.get("properties", {})

    body: dict[str, Any] = {"prompt": "a cat sitting on a bench"}
    if "model_id" in props:
        body["model_id"] = "pony-realism"
    for index_, name in enumerate(op.images):
        body[name] = _DOCS_IMAGES[min(index_, len(_DOCS_IMAGES) - 1)]
    for name, fallback in (("width", 512), ("height", 512), ("samples", 1)):
        if name in props:
            body[name] = int(props[name].get("minimum", fallback))
    for name in ("steps", "num_inference_steps"):
        if name in props and "default" in props[name]:
            body[name] = int(props[name]["default"])
            break
    if "safety_checker" in props:
        body["safety_checker"] = "yes"
    return body


def cheapest_inpaint_body(spec: str | None = None) -> dict[str, Any]:
    """``cheapest_generate_body`` of the spec's inpaint operation."""
    return cheapest_generate_body(None, spec)


def spec_base_path(spec: str | None = None) -> str:
    """The path a spec's API lives under on a mock (its server's path: ``/api/v6/images``)."""
    from contracts.core.spec import SPEC_FILE, load_document, server_base_path

    return server_base_path(load_document(spec or SPEC_FILE))


def _real_base(spec: str | None) -> str:
    """The real API's base URL for a spec: its first absolute server URL (the default spec's by default)."""
    from contracts.core.spec import SPEC_FILE, load_document

    for server in load_document(spec or SPEC_FILE).get("servers") or []:
        url = str(server.get("url", "")) if isinstance(server, dict) else ""
        if url.startswith(("http://", "https://")):
            return url.rstrip("/")
    return REAL_BASE_URL


def _api_base(url: str, default_path: str = API_PATH) -> str:
    parts = urlsplit(url)
    try:
        port_ok = parts.port is not None or not parts.netloc.endswith(":")
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise TargetError(f"not a target URL: {url!r} (expected http(s)://host:port[/api/v6/images], "
                          "'mock', 'real' or 'wsgi:module:attr')")
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{path or default_path}"


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
    spec: str | None = None  # the spec the target serves (None: the Pony spec)

    @property
    def spec_name(self) -> str:
        from contracts.core.spec import SPEC_FILE

        return self.spec or SPEC_FILE

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def for_url(cls, url: str, key: str | None = None, *, name: str = "url",
                admin_token: str | None = None, spec: str | None = None) -> "Target":
        """A server on a URL (a bare host: the API under ``spec``'s server path); if it is a
        modelslab mock (``/__mock/health``), its admin API is used (with ``admin_token``, default
        ``MOCKSERVER_ADMIN_TOKEN``, when the mock requires one)."""
        base = _api_base(url, spec_base_path(spec))
        transport = RequestsTransport()
        target = cls(name=name, base_url=base, transport=transport, key=key or default_test_key(),
                     description=base, spec=spec)
        target._discover_mock(admin_token)
        return target

    @classmethod
    def for_wsgi(cls, app: Any, key: str | None = None, *, host: str = "localhost",
                 admin_token: str | None = None, spec: str | None = None) -> "Target":
        """A WSGI app in this process: no socket, no thread."""
        transport = WSGITransport(app, host=host)
        target = cls(name="wsgi", base_url=f"http://{host}{spec_base_path(spec)}", transport=transport,
                     key=key or default_test_key(), app=app, description=f"in-process app {type(app).__name__}",
                     spec=spec)
        target._discover_mock(admin_token)
        return target

    @classmethod
    def real(cls, key: str | None = None, budget: int = DEFAULT_REAL_BUDGET, base_url: str | None = None,
             environ: dict[str, str] | None = None, spec: str | None = None) -> "Target":
        """The real API; without a key the target exists but every test skips with the reason."""
        env = os.environ if environ is None else environ
        key = key if key is not None else env.get(KEY_ENV, "")
        base = _api_base(base_url or env.get(REAL_BASE_URL_ENV) or _real_base(spec), spec_base_path(spec))
        call_budget = CallBudget(budget)
        transport = BudgetTransport(RequestsTransport(), call_budget, base)
        register_secret(key)
        return cls(
            name="real", base_url=base, transport=transport, key=key or "", budget=call_budget,
            positive_only=True, strict=False,
            skip_reason=None if key else (f"{KEY_ENV} is not set: real-API contract tests need a key "
                                          f"(they spend at most {budget} calls)"),
            description=f"{base} (budget {budget} calls)", spec=spec,
        )

    def probe(self) -> None:
        """Raise ``TargetError`` if nothing answers at the target at all (fail once, clearly)."""
        try:
            self.transport.request("GET", self.root_url + "/", timeout=10)
        except OSError as exc:
            raise TargetError(f"cannot reach {self.base_url}: {exc}") from None

    def _discover_mock(self, admin_token: str | None = None) -> None:
        token = admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None
        admin = MockAdmin(self.root_url, self.transport, token=token, spec=self.spec)
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
