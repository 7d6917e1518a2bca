"""Engine behaviour that is about cost, not answers: what the POST path remembers between requests."""

from __future__ import annotations

from typing import Any

from mockserver.web.app import mock_state

INPAINT = "/api/v6/images/inpaint"


def _counting_prechecks(app) -> list[tuple[Any, str]]:
    artefacts = mock_state(app).artefacts
    seen: list[tuple[Any, str]] = []
    original = artefacts.precheck

    def precheck(ref: Any, name: str):
        seen.append((ref, name))
        return original(ref, name)

    artefacts.precheck = precheck  # type: ignore[method-assign]
    return seen


def test_a_url_refused_by_the_allow_list_is_checked_once_and_warns_every_time(make_app, valid_body) -> None:
    app = make_app(processing_ratio=0.0)
    seen = _counting_prechecks(app)
    client = app.test_client()
    valid_body["init_image"] = "https://example.com/a.png"
    valid_body["mask_image"] = "https://example.com/b.png"
    answers = [client.post(INPAINT, json=valid_body) for _ in range(3)]
    assert [ref for ref, _ in seen] == ["https://example.com/a.png", "https://example.com/b.png"]
    warnings = {answer.headers["X-Mock-Warnings"] for answer in answers}
    assert len(warnings) == 1 and "init_image: https://example.com/a.png" in warnings.pop()


def test_the_same_url_in_the_other_field_is_checked_for_that_field(make_app, valid_body) -> None:
    app = make_app(processing_ratio=0.0)
    seen = _counting_prechecks(app)
    client = app.test_client()
    valid_body["init_image"] = valid_body["mask_image"] = "https://example.com/same.png"
    client.post(INPAINT, json=valid_body)
    answer = client.post(INPAINT, json=valid_body)
    assert [name for _, name in seen] == ["init_image", "mask_image"]
    assert "mask_image: https://example.com/same.png" in answer.headers["X-Mock-Warnings"]


def test_references_that_depend_on_the_world_are_checked_every_time(make_app, valid_body, tmp_path) -> None:
    (tmp_path / "mask.png").write_bytes(b"not yet an image")
    app = make_app(processing_ratio=0.0, image_dir=str(tmp_path))
    seen = _counting_prechecks(app)
    client = app.test_client()
    valid_body["init_image"] = "http://127.0.0.1:9/x.png"  # an allowed host: fetched (and failing) each time
    for _ in range(2):
        assert client.post(INPAINT, json=valid_body).get_json()["status"] == "error"
    valid_body["init_image"] = "https://example.com/a.png"
    valid_body["mask_image"] = "file:mask.png"  # a file, which may change
    for _ in range(2):
        client.post(INPAINT, json=valid_body)
    assert [ref for ref, _ in seen] == ["http://127.0.0.1:9/x.png"] * 2 + [
        "https://example.com/a.png", "file:mask.png", "file:mask.png"]


def _made_and_fetched(app, valid_body) -> tuple[dict, dict]:
    client = app.test_client()
    made = client.post(INPAINT, json=valid_body).get_json()
    fetched = client.post(f"/api/v6/images/fetch/{made['id']}", json={"key": valid_body["key"]}).get_json()
    return made, fetched


def test_a_new_job_is_stored_with_its_journal_entry_or_alone(make_app, valid_body, tmp_path) -> None:
    for journal in (True, False):
        app = make_app(processing_ratio=0.0, journal=journal, store=f"sqlite:///{tmp_path}/j{journal}.sqlite3")
        made, fetched = _made_and_fetched(app, valid_body)
        assert made["status"] == fetched["status"] == "success" and fetched["id"] == made["id"]
        entries = app.test_client().get("/__mock/requests").get_json()["requests"]
        assert [e["job_id"] for e in entries] == ([made["id"], made["id"]] if journal else [])


def test_the_job_is_stored_even_when_the_journal_write_fails(make_app, valid_body) -> None:
    app = make_app(processing_ratio=0.0)
    journal = mock_state(app).journal

    def broken(job, entry):
        raise RuntimeError("disk full")

    journal.record_with_job = broken  # type: ignore[method-assign]
    answer = app.test_client().post(INPAINT, json=valid_body)
    assert answer.status_code == 500
    assert len(mock_state(app).store) == 1


# -- the engine on its own: steps, finishing touches, the debug response check, the journal entry ----------

from dataclasses import dataclass, field as _field  # noqa: E402

import json  # noqa: E402
import jsonschema  # noqa: E402
import pytest  # noqa: E402

from mockserver.engine.context import Incoming, Outcome  # noqa: E402
from mockserver.engine.pipeline import Engine  # noqa: E402
from mockserver.state.journal import Journal  # noqa: E402
from mockserver.state.store import MemoryStore  # noqa: E402

KEY = "sk-engine-test-7777"


@dataclass
class _Route:
    steps: list
    after: list = _field(default_factory=list)
    kind: str = "generic"
    track: Any = None

    def track_id(self, parsed: object) -> object:
        return self.track(parsed) if self.track else None


def _engine(outcome: Outcome, *, validators=None, after=(), track=None, prepare=None):
    def answer(ctx):
        if prepare:
            prepare(ctx)
        return outcome

    store = MemoryStore()
    engine = Engine({"op": _Route([answer], list(after), track=track)}, Journal(store), store, validators)
    slept: list[float] = []
    engine.sleep = slept.append
    return engine, slept


def _incoming(**changes) -> Incoming:
    fields = dict(operation="op", body=b'{"key": "%s"}' % KEY.encode(), content_type="application/json",
                  base_url="http://127.0.0.1:4010", method="POST", path="/api/op", headers={"X-A": "1"})
    fields.update(changes)
    return Incoming(**fields)


SCHEMA = {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["success"]}}}


def test_in_debug_mode_an_answer_outside_the_spec_is_a_500_naming_at_most_five_problems():
    schema = {"type": "object", "properties": {f"f{i}": {"type": "integer"} for i in range(7)}}
    bad = Outcome(200, {f"f{i}": "x" for i in range(7)})
    engine, _ = _engine(bad, validators={"op": jsonschema.Draft202012Validator(schema)})
    outcome = engine.handle(_incoming())
    assert outcome.status == 500
    assert outcome.body["status"] == "error" and outcome.body["message"] == "mock bug: response violates the spec"
    assert outcome.body["problems"] == ["'x' is not of type 'integer'"] * 5


def test_the_debug_check_leaves_valid_answers_errors_and_other_operations_alone():
    check = {"op": jsonschema.Draft202012Validator(SCHEMA)}
    for status, body in ((200, {"status": "success"}), (404, {"status": "nope"}), (200, b"bytes"), (200, ["x"])):
        engine, _ = _engine(Outcome(status, body), validators=check)
        answered = engine.handle(_incoming())
        assert (answered.status, answered.body) == (status, body), "only a 200 JSON object is checked"
    engine, _ = _engine(Outcome(200, {"status": "nope"}), validators={"other": jsonschema.Draft202012Validator(SCHEMA)})
    assert engine.handle(_incoming()).status == 200
    engine, _ = _engine(Outcome(200, {"status": "nope"}))
    assert engine.handle(_incoming()).status == 200, "no validators: no debug check"


def test_the_engine_waits_out_a_delay_and_runs_the_finishing_touches():
    seen = []
    engine, slept = _engine(Outcome(200, {}, delay=0.25), after=[lambda ctx, out: seen.append(out.status)])
    engine.handle(_incoming())
    assert slept == [0.25] and seen == [200]
    engine, slept = _engine(Outcome(200, {}, delay=0.0))
    engine.handle(_incoming())
    assert slept == []


def _entry(outcome: Outcome, **kwargs) -> dict:
    prepare = kwargs.pop("prepare", None)
    track = kwargs.pop("track", None)
    engine, _ = _engine(outcome, prepare=prepare, track=track)
    engine.handle(_incoming(**kwargs))
    [entry] = engine.journal.entries()
    return entry


def test_the_journal_entry_says_what_came_and_what_went():
    def prepare(ctx):
        ctx.key, ctx.owner, ctx.job_id, ctx.reason = KEY, "owner-1", 41, "prefer"

    outcome = Outcome(200, {"status": "success", "id": 41, "output": ["u"], "meta": {}}, variant="success",
                      warnings=[f"prompt mentions {KEY}"], rule="r1", fault="reset", delay=0.5)
    entry = _entry(outcome, prepare=prepare)
    assert entry["owner"] == "owner-1" and entry["method"] == "POST" and entry["operation"] == "op"
    assert entry["path"] == "/api/op" and entry["headers"] == {"X-A": "1"}
    assert entry["response"] == {"status": "success", "id": 41}, "a summary: the whole body is one fetch away"
    assert (entry["variant"], entry["status"], entry["rule"], entry["fault"], entry["delay"]) == (
        "success", 200, "r1", "reset", 0.5)
    assert entry["job_id"] == 41 and entry["reason"] == "prefer"
    assert entry["warnings"] == ["prompt mentions ***"], "the key is masked where no field name marks it"
    assert entry["duration_ms"] >= 0 and entry["duration_ms"] == round(entry["duration_ms"], 3)
    assert entry["duration_ms"] < 60_000, "milliseconds since the request came in"


def test_a_job_id_from_the_answer_wins_over_the_one_the_request_named():
    def prepare(ctx):
        ctx.job_id = 7

    assert _entry(Outcome(200, {}, job_id=8), prepare=prepare)["job_id"] == 8
    assert _entry(Outcome(200, {}), prepare=prepare)["job_id"] == 7


def test_a_body_that_did_not_parse_is_kept_as_text_cut_to_4_kib_and_scrubbed():
    def prepare(ctx):
        ctx.key = KEY
        ctx.raw = b"not json " + KEY.encode() + b" \xff" + b"x" * 5000

    body = _entry(Outcome(400, {}), prepare=prepare)["body"]
    assert body.startswith("not json *** \ufffdxxx") and KEY not in body
    assert len(body) <= 4096


def test_a_query_string_is_scrubbed_and_a_plain_path_kept():
    def prepare(ctx):
        ctx.key = KEY

    assert _entry(Outcome(200, {}), prepare=prepare, path=f"/api/op?key={KEY}&x=1")["path"] == "/api/op?key=***&x=1"
    assert _entry(Outcome(200, {}), prepare=prepare, path="/api/op")["path"] == "/api/op"


def test_an_answer_in_bytes_is_journalled_as_its_media_type_and_size():
    entry = _entry(Outcome(502, b"<html>bad gateway</html>", headers={"Content-Type": "text/html"}))
    assert entry["response"] == {"content_type": "text/html", "bytes": 24}
    assert _entry(Outcome(502, b"abc"))["response"] == {"content_type": "", "bytes": 3}


def test_the_track_id_comes_from_the_route_and_numbers_become_text():
    parsed = {"track_id": 123}
    assert _entry(Outcome(200, {}, parsed=parsed), track=lambda p: p["track_id"])["track_id"] == "123"
    assert _entry(Outcome(200, {}, parsed={"track_id": "t"}), track=lambda p: p["track_id"])["track_id"] == "t"

    def from_raw(ctx):
        ctx.raw = {"track_id": "from-raw"}

    assert _entry(Outcome(200, {}), prepare=from_raw, track=lambda p: p["track_id"])["track_id"] == "from-raw"

    def already(ctx):
        ctx.track_id = "known"

    assert _entry(Outcome(200, {}), prepare=already, track=lambda p: "other")["track_id"] == "known"


def test_other_keys_the_request_carried_are_masked_too():
    def prepare(ctx):
        ctx.secrets = ("sk-header-key-5555",)

    entry = _entry(Outcome(200, {}, warnings=["saw sk-header-key-5555"]), prepare=prepare)
    assert entry["warnings"] == ["saw ***"]


def test_without_a_journal_nothing_is_written():
    store = MemoryStore()
    engine = Engine({"op": _Route([lambda ctx: Outcome(200, {})])}, Journal(store, enabled=False), store)
    engine.sleep = lambda s: None
    engine.handle(_incoming())
    assert engine.journal.entries() == []


def test_by_default_the_engine_waits_a_delay_out_in_real_time():
    import time

    store = MemoryStore()
    assert Engine({}, Journal(store), store).sleep is time.sleep


def test_the_entry_is_timed_in_milliseconds_to_the_microsecond(monkeypatch):
    from types import SimpleNamespace

    import mockserver.engine.pipeline as pipeline

    def prepare(ctx):
        ctx.started = 10.0

    engine, _ = _engine(Outcome(200, {}), prepare=prepare)
    monkeypatch.setattr(pipeline, "time", SimpleNamespace(perf_counter=lambda: 10.2504567, time=lambda: 1000.5))
    engine.handle(_incoming())
    [entry] = engine.journal.entries()
    assert entry["duration_ms"] == 250.457 and isinstance(entry["duration_ms"], float)
    assert entry["time"] == 1000.5


def test_an_unparsed_body_keeps_exactly_its_first_4096_bytes_then_shows_their_head():
    def prepare(ctx):
        ctx.raw = b"y" * 5000

    body = _entry(Outcome(400, {}), prepare=prepare)["body"]
    assert body.startswith("yyy") and body.endswith(f"...(+{4096 - len(body.split('...')[0])} chars)")


def test_a_route_that_finds_no_track_id_leaves_it_empty():
    assert _entry(Outcome(200, {}, parsed={"prompt": "p"}), track=lambda p: None)["track_id"] is None


SEGMENT = "sk-put-in-the-url-0123456789"  # long enough to be a key


def test_a_404_nobody_owns_masks_key_like_segments_in_its_path_and_wherever_the_answer_echoes_them():
    outcome = Outcome(404, {"status": "error", "message": f"No generation named '{SEGMENT}.png'"},
                      warnings=[f"unknown name {SEGMENT}.png"])
    entry = _entry(outcome, method="GET", path=f"/generations/{SEGMENT}.png", body=b"")
    assert entry["path"] == "/generations/***"
    assert entry["response"]["message"] == "No generation named '***'" and entry["warnings"] == ["unknown name ***"]
    assert SEGMENT not in json.dumps(entry)


def test_long_segments_are_kept_when_something_answered_or_someone_owns_the_404():
    path = f"/generations/{SEGMENT}.png"
    assert _entry(Outcome(200, b"png"), method="GET", path=path, body=b"")["path"] == path
    assert _entry(Outcome(405, {}), method="GET", path=path, body=b"")["path"] == path

    def owned(ctx):
        ctx.owner = "owner-1"

    assert _entry(Outcome(404, {}), prepare=owned, method="GET", path=path, body=b"")["path"] == path


def test_a_404_nobody_owns_still_masks_the_other_keys_the_request_carried():
    def prepare(ctx):
        ctx.secrets = ("sk-header-key-5555",)

    entry = _entry(Outcome(404, {}, warnings=["saw sk-header-key-5555"]), prepare=prepare,
                   path=f"/generations/{SEGMENT}")
    assert entry["warnings"] == ["saw ***"] and entry["path"] == "/generations/***"


def test_a_secret_query_value_is_masked_even_when_the_engine_does_not_know_it():
    entry = _entry(Outcome(200, {}), path="/api/op?key=a-value-nobody-registered&x=1")
    assert entry["path"] == "/api/op?key=***&x=1"


def test_every_key_like_segment_is_masked_whole_even_when_one_begins_like_another():
    longer = SEGMENT + "-and-more"
    entry = _entry(Outcome(404, {}), method="GET", path=f"/generations/{SEGMENT}/{longer}", body=b"")
    assert entry["path"] == "/generations/***/***"
