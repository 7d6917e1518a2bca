"""A client for the mock's own control surface (``/__mock/...``), with assertions that explain.

Tests need to say "reset", "let 30 seconds pass", "exactly two generate requests were made with
this key", "a webhook for track_id t1 arrived". Those are HTTP calls to the mock's admin API,
so this client works for an in-process app, a mock started by ``contracts run`` or any running
``mockserver``. Like vcrpy and responses, a failed assertion shows what *was* recorded, nearest
first, so the reader sees why nothing matched.

The request journal (``GET /__mock/requests``) and the webhook log (``GET /__mock/webhooks``)
are newer admin endpoints; against a mock without them these helpers raise
``AdminEndpointMissing`` (a clear message, never a confusing 404 body). A mock started with an
admin token gets it as ``Authorization: Bearer`` (and the token is registered as a secret).

Journal entries name their operation by operationId. Filters may instead say what the operation
does (``kind="generate"`` or ``"fetch"``, optionally ``family="realtime"``), read from the spec's
``x-mock-behaviour`` (``contracts.core.behaviours``), so a test need not know the operationIds
of the spec the mock serves.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable
from urllib.parse import urlencode

from contracts.core.redact import redact, register_secret
from contracts.core.transport import HttpResponse, Transport

__all__ = ["AdminEndpointMissing", "AdminError", "AdminTokenRequired", "MockAdmin", "RequestCountMismatch",
           "WebhookTimeout"]


class AdminError(RuntimeError):
    """The mock's admin API answered something unexpected (the message quotes it)."""


class AdminTokenRequired(AdminError):
    """The mock protects its admin API with a token and none (or a wrong one) was given."""


class AdminEndpointMissing(AdminError):
    """The target does not serve this admin endpoint (an older mock, or not a mock at all)."""


class RequestCountMismatch(AssertionError):
    """The journal does not hold the expected number of matching requests."""


class WebhookTimeout(AssertionError):
    """No (or not enough) webhook deliveries arrived in time."""


def _summary(entry: dict[str, Any]) -> str:
    entry = redact(entry)
    parts = []
    for name in ("seq", "operation", "method", "path", "status", "variant", "track_id", "job_id", "url", "attempt"):
        if name in entry and entry[name] not in (None, ""):
            parts.append(f"{name}={entry[name]!r}")
    return ", ".join(parts) or json.dumps(entry)[:200]


class MockAdmin:
    def __init__(self, root_url: str, transport: Transport, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic, token: str | None = None,
                 spec: str | None = None):
        self.root_url = root_url.rstrip("/")
        self.spec = spec
        self.transport = transport
        self._sleep = sleep
        self._monotonic = monotonic
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        if token:
            register_secret(token)

    # -- plumbing ------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = f"{self.root_url}/__mock{path}" + (f"?{urlencode(params)}" if params else "")
        answer: HttpResponse = self.transport.request(method, url, json_body=body, headers=self._headers)
        if answer.status == 401:
            raise AdminTokenRequired(
                f"{method} /__mock{path}: the mock at {self.root_url} needs its admin token "
                "(pass --admin-token or set MOCKSERVER_ADMIN_TOKEN)")
        if answer.status == 404 or answer.status == 405:
            raise AdminEndpointMissing(
                f"{method} /__mock{path} is not served by the mock at {self.root_url} "
                f"(HTTP {answer.status}); this mock version does not have that admin endpoint yet")
        data = answer.json_or_none()
        if answer.status >= 400 or data is None:
            raise AdminError(f"{method} /__mock{path} answered HTTP {answer.status}: {answer.text[:300]}")
        return data

    # -- control -------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def is_mock(self) -> bool:
        try:
            return self.health().get("status") == "ok"
        except (AdminError, OSError, ValueError):
            return False

    def reset(self, key: str | None = None) -> None:
        """Forget jobs, journal, rules and clock offsets: everything, or one key's namespace."""
        self._call("POST", "/reset", {"key": key} if key else {})

    def advance_clock(self, seconds: float, key: str | None = None) -> dict[str, Any]:
        """Move the mock's clock forward so queued jobs finish without sleeping."""
        body: dict[str, Any] = {"advance": seconds}
        if key:
            body["key"] = key
        return self._call("POST", "/clock", body)

    # -- the request journal (needs GET /__mock/requests) ---------------------------------------

    def operations(self, kind: str, family: str | None = None) -> list[str]:
        """operationIds of the spec's operations of one kind (``generate`` or ``fetch``), in one family."""
        from contracts.core.behaviours import spec_behaviours
        from contracts.core.spec import SPEC_FILE

        index = spec_behaviours(self.spec or SPEC_FILE)
        if kind not in ("generate", "fetch"):
            raise ValueError(f"kind must be generate or fetch, not {kind!r}")
        found = index.generate if kind == "generate" else index.fetch
        ops = [op_id for op_id, op in found.items() if family is None or op.family == family]
        if not ops:
            raise ValueError(f"the spec {self.spec or SPEC_FILE} declares no {kind} operation"
                             + (f" in family {family!r}" if family else ""))
        return ops

    def _operation_filter(self, operation: str | None, kind: str | None, family: str | None) -> str | None:
        if kind is None and family is None:
            return operation
        if operation is not None:
            raise ValueError("filter by operation or by kind/family, not both")
        if kind is None:
            return ",".join(self.operations("generate", family) + self.operations("fetch", family))
        return ",".join(self.operations(kind, family))

    def requests(self, operation: str | None = None, key: str | None = None, track_id: str | None = None,
                 *, kind: str | None = None, family: str | None = None) -> list[dict[str, Any]]:
        operation = self._operation_filter(operation, kind, family)
        data = self._call("GET", "/requests", query={"operation": operation, "key": key, "track_id": track_id})
        entries = data.get("requests") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise AdminError(f"GET /__mock/requests did not answer {{\"requests\": [...]}}: {str(data)[:200]}")
        return entries

    def count_requests(self, operation: str | None = None, key: str | None = None, track_id: str | None = None,
                       *, kind: str | None = None, family: str | None = None) -> int:
        return len(self.requests(operation=operation, key=key, track_id=track_id, kind=kind, family=family))

    def assert_requests(self, count: int | None = None, *, at_least: int | None = None,
                        operation: str | None = None, key: str | None = None,
                        track_id: str | None = None, kind: str | None = None,
                        family: str | None = None) -> list[dict[str, Any]]:
        """Assert how many journal entries match; on mismatch list what was recorded instead."""
        if (count is None) == (at_least is None):
            raise ValueError("pass exactly one of count= or at_least=")
        described = {"kind": kind, "family": family}
        operation = self._operation_filter(operation, kind, family)
        matched = self.requests(operation=operation, key=key, track_id=track_id)
        ok = len(matched) == count if count is not None else len(matched) >= (at_least or 0)
        if ok:
            return matched
        filters = ", ".join(f"{k}={'***' if k == 'key' else repr(v)}" for k, v in
                            (("kind", described["kind"]), ("family", described["family"]),
                             ("operation", None if kind or family else operation), ("key", key),
                             ("track_id", track_id)) if v is not None)
        wanted = f"exactly {count}" if count is not None else f"at least {at_least}"
        everything = self.requests()
        lines = [f"expected {wanted} request(s) matching {filters or 'anything'}; got {len(matched)}."]
        if matched:
            lines.append("matching:")
            lines += [f"  - {_summary(e)}" for e in matched[-10:]]
        others = [e for e in everything if e not in matched]
        lines.append(f"other recorded requests ({len(others)}):" if others else "no other requests were recorded.")
        lines += [f"  - {_summary(e)}" for e in others[-10:]]
        raise RequestCountMismatch("\n".join(lines))

    # -- webhook deliveries (needs GET /__mock/webhooks) -----------------------------------------

    def webhooks(self, track_id: str | None = None) -> list[dict[str, Any]]:
        data = self._call("GET", "/webhooks", query={"track_id": track_id})
        entries = data.get("deliveries") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise AdminError(f"GET /__mock/webhooks did not answer {{\"deliveries\": [...]}}: {str(data)[:200]}")
        return entries

    def wait_for_webhook(self, track_id: str | None = None, *, count: int = 1, timeout: float = 5.0,
                         interval: float = 0.02) -> list[dict[str, Any]]:
        """Poll the delivery log until ``count`` deliveries (for ``track_id``) are there."""
        deadline = self._monotonic() + timeout
        while True:
            found = self.webhooks(track_id=track_id)
            if len(found) >= count:
                return found
            if self._monotonic() >= deadline:
                seen = self.webhooks()
                lines = [f"waited {timeout:g}s for {count} webhook deliver{'y' if count == 1 else 'ies'}"
                         f"{f' with track_id={track_id!r}' if track_id else ''}; got {len(found)}."]
                lines.append(f"all deliveries so far ({len(seen)}):" if seen else "no deliveries were logged at all.")
                lines += [f"  - {_summary(e)}" for e in seen[-10:]]
                raise WebhookTimeout("\n".join(lines))
            self._sleep(interval)
