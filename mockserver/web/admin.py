"""The admin API under ``/__mock/``: rules, journal, verification, webhooks, clock, reset.

It is the mock's own control surface, kept apart from the API it imitates so that nothing here
can be mistaken for ModelsLab behaviour. Everything a test sets up or reads can be scoped to
one API key (``"key"`` in the body or ``?key=``): rules match only that key's requests, the
journal and the webhook log filter by it, reset and the clock act on its namespace only, so
parallel test workers share one mock without colliding. Keys are never stored or echoed; state
is filed under ``owner_of(key)``. The description of every endpoint is served at
``GET /__mock/openapi.yaml`` (openapi/mock-admin.yaml) and in docs/admin-api.md.

Anyone who reaches ``/__mock/`` can rewrite what the mock answers, so when ``admin_token`` is set
every admin call must carry it (``Authorization: Bearer TOKEN`` or ``X-Mock-Admin-Token: TOKEN``)
or gets a 401. ``mockserver run`` binds to loopback by default; on any other address it requires
a token and generates one when none is configured (``ensure_admin_token``).

A web page the developer happens to have open can reach a loopback mock too, so two more checks
(``browser_refusal``) come before the token: a request whose ``Origin`` is another site's (a
cross-site form or ``fetch``, which the admin API's JSON-in-any-content-type would otherwise
obey) is refused, and without a token a request must be addressed to this machine by name
(``Host: 127.0.0.1``, ``localhost``, ``[::1]`` or the ``public_url``'s host): a DNS-rebinding
page, whose requests carry its own host name, gets a 403 too.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, request

from mockserver.engine.parsing import BodyError, parse_json
from mockserver.web.http import json_response
from mockserver.state.budget import encoded_size
from mockserver.state.journal import MAX_PAGE_BYTES, iter_log, limit
from mockserver.engine.context import owner_of
from mockserver.images.netpolicy import is_loopback_bind
from mockserver.control.rules import RuleError, field_matches
from mockserver.web.context import MockState
from mockserver.state.clock import ClockError
from mockserver.state.store import StoreUnavailable
from mockserver.control.webhooks import WEBHOOKS_LOG
from mockserver.web.ui import OPEN_ENDPOINTS, add_inspector_routes

__all__ = ["ADMIN_SPEC", "admin_blueprint", "ensure_admin_token", "presented_token"]

ADMIN_SPEC = "mock-admin.yaml"
_MAX_WAIT = 30.0
_MAX_SEQ = 2**63 - 1  # what a store's sequence numbers can be; a larger ``since`` finds nothing
_RULE_FIELDS = ("id", "owner", "operation", "match", "respond", "times", "limit", "priority", "description",
                "created")


class _BadRequest(Exception):
    pass


def ensure_admin_token(host: str, token: str | None) -> tuple[str | None, bool]:
    """(the token /__mock/ will require, whether it was generated now).

    Loopback binds keep whatever was configured (usually none); any other bind gets one.
    """
    if token or is_loopback_bind(host):
        return token or None, False
    return secrets.token_urlsafe(24), True


def _host_name(host: str) -> str:
    """The name in a ``Host`` header or an origin's authority, without its port (IPv6 unbracketed)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin(scheme: str, authority: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) of an origin, the port filled in when it is the scheme's default."""
    scheme, authority = scheme.lower(), authority.strip().lower()
    if scheme not in _DEFAULT_PORTS or not authority or "/" in authority or "@" in authority:
        return None
    name = _host_name(authority)
    port = authority.rpartition("]:")[2] if authority.startswith("[") and "]:" in authority else (
        authority.rpartition(":")[2] if authority.count(":") == 1 else "")
    return scheme, name, port or _DEFAULT_PORTS[scheme]


def browser_refusal(headers: Any, scheme: str, public_url: str | None, token_required: bool) -> str | None:
    """Why a request to the admin API looks sent by another site's page (None when it does not):
    an ``Origin`` other than the mock's own, or (with no token to guess) a ``Host`` that does not
    name this machine, as after DNS rebinding."""
    host = (headers.get("Host") or "").strip().lower()
    own = {_origin(scheme, host)}
    public = urlsplit(public_url) if public_url else None
    if public is not None:
        own.add(_origin(public.scheme, public.netloc))
    origin = headers.get("Origin")
    if origin is not None:
        given_scheme, sep, authority = origin.strip().partition("://")
        if not sep or _origin(given_scheme, authority) not in own - {None}:
            return (f"cross-origin requests to the admin API are refused (Origin {origin.strip()[:80]!r} is not "
                    f"this mock's): a web page must not rewrite what the mock answers")
    public_host = public.netloc.lower() if public is not None else None
    if not token_required and not (is_loopback_bind(_host_name(host)) or host == public_host):
        return (f"the admin API answers requests addressed to this machine only (Host {host[:80]!r}); "
                "use 127.0.0.1 or localhost, or set admin_token (or public_url) to reach it by another name")
    return None


def presented_token(headers: Any) -> str | None:
    """The admin token a request carries: ``Authorization: Bearer T`` or ``X-Mock-Admin-Token: T``."""
    direct = headers.get("X-Mock-Admin-Token")
    if direct:
        return direct.strip()
    scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _json_body() -> Any:
    """The request's JSON body (None when there is none). Parsed by the API's own parser, so
    ``NaN``, ``1e999``, duplicate keys and nesting too deep to parse are a 400, never a 500."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return parse_json(raw)
    except BodyError as exc:
        raise _BadRequest(f"the body is not valid JSON: {exc}") from None


def _json_object() -> dict | None:
    """The body's JSON object; None without a body. Any other JSON value is a 400 (``true`` sent to
    /reset once reset everything, as if no body had been sent)."""
    data = _json_body()
    if data is not None and not isinstance(data, dict):
        raise _BadRequest(f"send a JSON object, not a JSON {type(data).__name__}")
    return data


def _error(message: str, status: int = 400) -> Response:
    return json_response({"status": "error", "message": message}, status)


def _namespace(data: dict | None) -> str:
    """The namespace a call is about: ``{"key": ...}`` in the body or ``?key=``; "" for everyone."""
    key = (data or {}).get("key") or request.args.get("key")
    return owner_of(key) if isinstance(key, str) and key else ""


def _admin_spec_path() -> Path | None:
    try:
        from contracts.core.spec import spec_dir

        path = spec_dir() / ADMIN_SPEC
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _BadRequest(f"{name} must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _BadRequest(f"{name} must be a whole number, not {str(value)[:40]!r}") from None


def _filters(source: dict[str, Any]) -> dict[str, Any]:
    """Journal filters from query parameters or a JSON body (same names in both)."""
    known = {"key", "operation", "track_id", "job_id", "status", "variant", "method", "path", "fault", "rule",
             "since", "limit", "match", "expect"}
    unknown = sorted(set(source) - known)
    if unknown:
        raise _BadRequest(f"unknown filter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    key = source.get("key")
    for name in ("key", "operation", "track_id", "variant", "method", "path", "fault", "rule"):
        value = source.get(name)
        if value is not None and not isinstance(value, (str, int)) or isinstance(value, bool):
            raise _BadRequest(f"{name} must be a string, not {type(value).__name__}")
    match = source.get("match")
    if match is not None and not isinstance(match, dict):
        raise _BadRequest("match must be an object of body field -> value or {operator: value}")
    if match:
        from mockserver.control.rules import check_matcher

        try:
            match = {str(f): check_matcher(str(f), spec) for f, spec in match.items()}
        except RuleError as exc:
            raise _BadRequest(str(exc)) from None
    found = {
        "owner": owner_of(key) if isinstance(key, str) and key else None,
        "operation": str(source["operation"]) if source.get("operation") else None,
        "track_id": source.get("track_id"),
        "job_id": _int(source.get("job_id"), "job_id"),
        "status": _int(source.get("status"), "status"),
        "variant": str(source["variant"]) if source.get("variant") else None,
        "method": str(source["method"]) if source.get("method") else None,
        "path": str(source["path"]) if source.get("path") else None,
        "fault": str(source["fault"]) if source.get("fault") else None,
        "rule": str(source["rule"]) if source.get("rule") else None,
        "since": min(max(_int(source.get("since"), "since") or 0, 0), _MAX_SEQ),
        "match": match or None,
        "limit_to": _int(source.get("limit"), "limit"),
    }
    if found["track_id"] is not None:
        found["track_id"] = str(found["track_id"])
    return found


def _public_rule(rule: dict[str, Any], matched: int | None = None) -> dict[str, Any]:
    out = {name: rule.get(name) for name in _RULE_FIELDS}
    out["owner"] = out["owner"] or None
    if matched is not None:
        out["matched"] = matched
    return out


def admin_blueprint(state: MockState) -> Blueprint:
    bp = Blueprint("mock_admin", __name__, url_prefix="/__mock")

    @bp.errorhandler(_BadRequest)
    def bad_request(exc: _BadRequest) -> Response:
        return _error(str(exc))

    required = state.config.admin_token or None

    def token_ok(given: str | None) -> bool:
        return required is None or (given is not None and hmac.compare_digest(
            given.encode("utf-8", "replace"), required.encode("utf-8")))

    @bp.before_request
    def check_token() -> Response | None:
        refused = browser_refusal(request.headers, request.scheme, state.config.public_url, required is not None)
        if refused:
            return _error(refused, 403)
        if required is None or request.endpoint in OPEN_ENDPOINTS:  # the inspector page checks ?token= itself
            return None
        if token_ok(presented_token(request.headers)):
            return None
        answer = _error("the admin API needs the admin token: send Authorization: Bearer <token> "
                        "or X-Mock-Admin-Token: <token> (it was printed when the mock started)", 401)
        answer.headers["WWW-Authenticate"] = 'Bearer realm="modelslab-mock admin"'
        return answer

    @bp.get("/health")
    def health() -> Response:
        """Up, and the store takes a write (a 503 naming why when it does not)."""
        check = getattr(state.store, "check_writable", None)
        if check is not None:
            try:
                check()
            except StoreUnavailable as exc:
                return json_response({"status": "unavailable", "message": str(exc)}, 503, {"Retry-After": "1"})
        return json_response(state.health())

    @bp.get("/openapi.yaml")
    def admin_openapi() -> Response:
        path = _admin_spec_path()
        if path is None:
            return _error("the admin API description is not installed", 404)
        return Response(path.read_bytes(), mimetype="application/yaml")

    # -- reset and clock -------------------------------------------------------------------------

    @bp.post("/reset")
    def reset() -> Response:
        """Forget everything (and restart the RNG from its seed), or one key's state with ``{"key"}``."""
        scope = state.reset(_namespace(_json_object()) or None)
        return json_response({"status": "ok", "scope": scope})

    @bp.get("/clock")
    def clock() -> Response:
        owner = _namespace(None)
        return json_response({"now": state.now(owner), "offset": state.clock_offset(owner)})

    @bp.post("/clock")
    def move_clock() -> Response:
        """``{"advance": seconds}`` (optionally ``"key"``) moves time forward so queued jobs finish."""
        data = _json_object()
        advance = data.get("advance") if data else None
        if isinstance(advance, bool) or not isinstance(advance, (int, float)) or not math.isfinite(advance) or advance < 0:
            return _error('send {"advance": seconds >= 0}')
        owner = _namespace(data)
        try:
            offset = state.advance_clock(float(advance), owner)
        except ClockError as exc:
            return _error(str(exc))
        return json_response({"now": state.now(owner), "offset": offset})

    # -- scenario rules --------------------------------------------------------------------------

    def matched_counts() -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in state.journal.iter_entries():
            rule_id = entry.get("rule")
            if rule_id:
                counts[rule_id] = counts.get(rule_id, 0) + 1
        return counts

    @bp.get("/rules")
    def list_rules() -> Response:
        owner = _namespace(None) if request.args.get("key") else None
        counts = matched_counts()
        return json_response({"rules": [_public_rule(r, counts.get(r["id"], 0)) for r in state.rules.all(owner)]})

    @bp.post("/rules")
    def add_rules() -> Response:
        data = _json_body()
        if isinstance(data, dict) and "rules" in data:
            items = data["rules"]
            if not isinstance(items, list) or not items:
                return _error("rules must be a non-empty list of rules")
        elif isinstance(data, dict):
            items = None
        else:
            return _error("send a rule (a JSON object) or {\"rules\": [...]}")
        try:
            if items is None:
                return json_response({"rule": _public_rule(state.rules.add(data))}, 201)
            parsed = state.rules.add_all(items)  # all or nothing, within the caps
        except RuleError as exc:
            return _error(str(exc))
        return json_response({"rules": [_public_rule(r) for r in parsed]}, 201)

    @bp.get("/rules/<rule_id>")
    def get_rule(rule_id: str) -> Response:
        rule = state.rules.get(rule_id)
        if rule is None:
            return _error(f"no rule {rule_id[:100]!r}", 404)
        return json_response({"rule": _public_rule(rule, matched_counts().get(rule_id, 0))})

    @bp.delete("/rules/<rule_id>")
    def delete_rule(rule_id: str) -> Response:
        if not state.rules.delete(rule_id):
            return _error(f"no rule {rule_id[:100]!r}", 404)
        return json_response({"status": "ok", "deleted": 1})

    @bp.delete("/rules")
    def delete_rules() -> Response:
        owner = _namespace(_json_object()) or None
        return json_response({"status": "ok", "deleted": state.rules.delete_all(owner)})

    # -- the journal and verification ---------------------------------------------------------------

    def listing(filters: dict[str, Any]) -> Response:
        """One page: at most MAX_PAGE_BYTES of entries; ``next_since`` says where the rest begins."""
        page = state.journal.page(**filters)
        answer: dict[str, Any] = {"requests": page.entries, "count": len(page.entries)}
        if page.next_since is not None:
            answer["next_since"] = page.next_since
        return json_response(answer)

    @bp.get("/requests")
    def list_requests() -> Response:
        return listing(_filters(request.args.to_dict()))

    @bp.post("/requests/find")
    def find_requests() -> Response:
        return listing(_filters(_json_object() or {}))

    @bp.route("/requests/count", methods=["GET", "POST"])
    def count_requests() -> Response:
        source = request.args.to_dict() if request.method == "GET" else (_json_object() or {})
        expect = _int(source.get("expect"), "expect")
        filters = _filters(source)
        filters["limit_to"] = None
        found = state.journal.count(**filters)
        answer: dict[str, Any] = {"count": found}
        if expect is not None:
            answer.update(expected=expect, ok=found == expect)
            if found != expect:
                answer["message"] = (f"expected {expect} matching request(s), found {found}"
                                     + _nearest_hint(state, filters))
        return json_response(answer)

    # -- webhooks ----------------------------------------------------------------------------------

    @bp.get("/webhooks")
    def list_webhooks() -> Response:
        args = request.args
        owner = _namespace(None) if args.get("key") else None
        job_id = _int(args.get("job_id"), "job_id")
        track_id = args.get("track_id")
        outcome = args.get("outcome")
        since = min(max(_int(args.get("since"), "since") or 0, 0), _MAX_SEQ)
        newest = _int(args.get("limit"), "limit")
        kept: deque[tuple[dict[str, Any], int]] = deque()
        size, next_since = 0, None
        for entry in iter_log(state.store, WEBHOOKS_LOG, since):
            if owner is not None and entry.get("owner") != owner:
                continue
            if job_id is not None and entry.get("job_id") != job_id:
                continue
            if track_id is not None and str(entry.get("track_id")) != track_id:
                continue
            if outcome is not None and entry.get("outcome") != outcome:
                continue
            bytes_ = encoded_size(entry)
            if newest is None and kept and size + bytes_ > MAX_PAGE_BYTES:  # the rest: on the next page
                next_since = kept[-1][0].get("seq")
                break
            kept.append((entry, bytes_))
            size += bytes_
            while newest is not None and kept and (len(kept) > max(newest, 0)
                                                   or (size > MAX_PAGE_BYTES and len(kept) > 1)):
                size -= kept.popleft()[1]
        answer: dict[str, Any] = {"deliveries": [entry for entry, _ in kept], "count": len(kept)}
        if next_since is not None:
            answer["next_since"] = next_since
        return json_response(answer)

    @bp.post("/webhooks/wait")
    def wait_webhooks() -> Response:
        data = _json_object() or {}
        timeout = data.get("timeout", 5.0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout <= _MAX_WAIT:
            return _error(f"timeout must be a number of seconds from 0 to {_MAX_WAIT:g}")
        idle = state.webhooks.wait_idle(float(timeout))
        return json_response({"idle": idle, **state.webhooks.stats()})

    add_inspector_routes(bp, state, token_ok)  # GET /__mock/ui and the endpoints it reads (mockserver/web/ui.py)
    return bp


def _nearest_hint(state: MockState, filters: dict[str, Any]) -> str:
    """Why nothing matched: the requests of the same key and operation that differ in the rest."""
    looser = {k: filters[k] for k in ("owner", "operation") if filters.get(k) is not None}
    sample = None
    for sample in state.journal.matching(**looser):  # the latest, one batch in memory at a time
        pass
    if sample is None:
        return ""
    shown = {k: sample.get(k) for k in ("method", "path", "status", "variant", "track_id", "rule", "fault")}
    body = sample.get("body")
    if filters.get("match") and isinstance(body, dict):
        shown["mismatched"] = sorted(f for f, spec in filters["match"].items() if not field_matches(body, f, spec))
    return f"; the latest request of that key/operation was {limit(shown)}"
