"""Why a journalled request got its answer, and the ``curl`` line that sends it again.

The journal records the verdict of each step (``validation``, ``fault``, ``rule``) and, for an
accepted request, what chose the variant (``reason``: ``prefer``, ``rule:<id>``, ``key``,
``ratio``). This module turns those into one sentence and the details behind it: the ``Prefer``
header, the rule (as it is stored now, if it still exists), the key-table entry (found by the
key's owner hash; the key itself is never stored or shown), or the ratios and the RNG seed.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from contracts.core.curl import curl_command
from mockserver.web.ui_timeline import is_fetch

__all__ = ["curl_for", "explain", "field_errors"]

_RATIO_FIELDS = ("profile", "processing_ratio", "error_ratio", "failed_ratio", "eta_min", "eta_max",
                 "eta_distribution")
_CURL_HEADERS = ("content-type", "prefer")
_SHORTENED = "...(+"


def _header(entry: dict[str, Any], name: str) -> str | None:
    headers = entry.get("headers")
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return str(value)
    return None


def field_errors(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"field": "width", "messages": [...]}, ...]`` of an invalid request (empty when valid)."""
    validation = entry.get("validation")
    if not isinstance(validation, dict) or validation.get("valid") is not False:
        return []
    errors = validation.get("errors")
    if not isinstance(errors, dict):
        return []
    out = []
    for name, messages in errors.items():
        items = messages if isinstance(messages, list) else [messages]
        out.append({"field": str(name), "messages": [str(m) for m in items]})
    return out


def _rule_details(rule_id: str, rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rule = rules.get(rule_id)
    if rule is None:
        return {"rule": rule_id, "exists": False}
    shown = {name: rule.get(name) for name in ("id", "operation", "match", "respond", "times", "limit",
                                                "priority", "description")}
    return {"rule": rule_id, "exists": True, "stored": shown}


def explain(entry: dict[str, Any], *, config: Any, seed: int | None, rules: Iterable[dict[str, Any]],
            owner_of: Callable[[str], str]) -> dict[str, Any]:
    """``{"source", "summary", "details"}``: what decided this entry's answer."""
    rules_by_id = {r.get("id"): r for r in rules}
    operation = entry.get("operation")
    prefer = _header(entry, "Prefer")
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    reason = entry.get("reason")
    rule_id = entry.get("rule")
    found = _decide(entry, operation, prefer, response, reason, rule_id, rules_by_id, config, seed, owner_of)
    delay = entry.get("delay")
    if isinstance(delay, (int, float)) and delay > 0:
        if prefer and "delay" in prefer.lower():
            by = "Prefer: delay"
        elif rule_id and "delay" in (rules_by_id.get(rule_id, {}).get("respond") or {}):
            by = f"rule {rule_id}"
        else:
            by = "the latency settings"
        found["delay"] = f"waited {delay:g} s before answering ({by})"
    return found


def _decide(entry: dict[str, Any], operation: Any, prefer: str | None, response: dict[str, Any], reason: Any,
            rule_id: Any, rules: dict[str, dict[str, Any]], config: Any, seed: int | None,
            owner_of: Callable[[str], str]) -> dict[str, Any]:
    errors = field_errors(entry)
    fault = entry.get("fault")
    if errors and [e["field"] for e in errors] == ["request"]:
        return {"source": "refused", "summary": "refused before validation: " + "; ".join(errors[0]["messages"]),
                "details": {"errors": errors}}
    if errors:
        names = ", ".join(e["field"] for e in errors)
        return {"source": "validation", "summary": f"the body failed validation ({names})",
                "details": {"errors": errors}}
    if fault:
        if prefer and "fault" in prefer.lower():
            return {"source": "prefer", "summary": f"fault {fault}, asked for by Prefer: {prefer}",
                    "details": {"prefer": prefer, "fault": fault}}
        if rule_id:
            return {"source": "rule", "summary": f"fault {fault}, injected by rule {rule_id}",
                    "details": _rule_details(rule_id, rules)}
        ratio = f"fault_{fault}_ratio"
        return {"source": "ratio", "summary": f"fault {fault}, drawn by the {ratio} setting "
                                              f"({getattr(config, ratio, '?')}) from seed {seed}",
                "details": {ratio: getattr(config, ratio, None), "seed": seed}}
    if reason == "prefer":
        return {"source": "prefer", "summary": f"chosen by the Prefer header: {prefer}",
                "details": {"prefer": prefer}}
    if isinstance(reason, str) and reason.startswith("rule:"):
        chosen = reason[5:]
        return {"source": "rule", "summary": f"chosen by scenario rule {chosen}", "details": _rule_details(chosen, rules)}
    if rule_id and operation != "image" and not is_fetch(operation):
        return {"source": "rule", "summary": f"answered by scenario rule {rule_id} (an error rule, before validation)",
                "details": _rule_details(rule_id, rules)}
    if reason == "key":
        owner = entry.get("owner")
        table = {name: rule for name, rule in getattr(config, "keys", {}).items() if owner_of(name) == owner}
        shown = [{k: getattr(rule, k, None) for k in ("valid", "variant", "eta", "outcome", "error")}
                 for rule in table.values()]
        return {"source": "key", "summary": "chosen by this key's entry in the key table (config [keys])",
                "details": {"key_table_entry": shown[0] if shown else None, "owner": owner}}
    if reason == "ratio":
        ratios = {name: getattr(config, name, None) for name in _RATIO_FIELDS}
        return {"source": "ratio", "summary": (
            f"drawn from the configured ratios (processing {ratios['processing_ratio']}, error "
            f"{ratios['error_ratio']}, failed {ratios['failed_ratio']}) with seed {seed}; "
            f"mockserver run --seed {seed} replays the same draws"), "details": {**ratios, "seed": seed}}
    if is_fetch(operation):
        job_id = entry.get("job_id")
        if job_id is None:
            return {"source": "job", "summary": f"no such job for this key: {response.get('message', '')}".rstrip(": "),
                    "details": {}}
        extra = f" (rule {rule_id} applied)" if rule_id else ""
        return {"source": "job", "summary": f"job {job_id} was {entry.get('variant')} by the mock clock{extra}",
                "details": {"job_id": job_id, **({"rule": rule_id} if rule_id else {})}}
    if operation == "image":
        if entry.get("status") == 200:
            return {"source": "job", "summary": f"an output file of job {entry.get('job_id')}", "details": {}}
        return {"source": "job", "summary": "no finished job has this output file (yet)", "details": {}}
    message = response.get("message")
    return {"source": "service", "summary": f"the service's answer: {message}" if message else
            f"answered {entry.get('status')} {entry.get('variant')}", "details": {}}


def curl_for(entry: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The ``curl`` line for an entry (key and secrets masked) and whether it is the whole body."""
    method = str(entry.get("method") or "POST")
    url = base_url.rstrip("/") + str(entry.get("path") or "")
    headers = {}
    for name in _CURL_HEADERS:
        value = _header(entry, name)
        if value is not None:
            headers["Content-Type" if name == "content-type" else "Prefer"] = value
    body = entry.get("body")
    if method.upper() == "GET" or body is None:
        command = curl_command(method, url, headers=headers)
    elif isinstance(body, (dict, list)):
        command = curl_command(method, url, body=body, headers=headers)
    else:
        command = curl_command(method, url, headers=headers, raw_body=str(body))
    complete = _SHORTENED not in str(body) if body is not None else True
    return {"command": command, "complete": complete}
