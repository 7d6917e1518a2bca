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
