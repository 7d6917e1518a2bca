"""The drift report's pieces: shapes, undocumented fields, the mock-vs-real comparison, the baseline."""

from __future__ import annotations

from contracts.core.episodes import Episode, Exchange, match_key
from contracts.core.spec import load_document
from contracts.run import drift


def episode(submit_body, status=200, polls=(), request=None, key_sent=True, path="/api/v6/images/inpaint"):
    return Episode(id="0001", endpoint=path, operation="inpaint", match=match_key(path, request or {}),
                   submit=Exchange("POST", path, status, submit_body, 0.0, request or {"key": "***"}),
                   polls=list(polls), key_sent=key_sent)


def test_shapes_compare_types_not_values():
    real = {"status": "success", "id": 5, "output": ["http://a/1.png"], "meta": {"seed": 1}}
    mock = {"status": "success", "id": 99, "output": ["http://b/2.png", "http://b/3.png"], "meta": {"seed": 7}}
    assert drift.compare_shapes(real, mock) == []
    assert drift.compare_shapes({"id": 5}, {"id": "5"}) == [("/id", "type: real number, mock string")]
    assert drift.compare_shapes({"messege": "x"}, {"message": "x"}) == [
        ("/message", "field only in the mock's answer (string)"), ("/messege", "field only in the real answer (string)")]
    # one finding for a subtree, not one per child
    assert drift.compare_shapes({"meta": {"a": 1, "b": 2}}, {"meta": "x"}) == [("/meta", "type: real object, mock string")]


def test_spec_vs_real_names_undocumented_fields_and_statuses():
    document = load_document()
    legacy = episode({"status": "error", "messege": "Rate limit exceeded", "retry_after": 30})
    teapot = episode({"status": "error", "message": "x"}, status=418)
    found = {(f.pointer, f.message) for f in drift.spec_vs_real(document, [legacy, teapot])}
    assert ("/messege", "undocumented field") in found  # the family spec has it on processing bodies only
    assert ("/retry_after", "undocumented field") not in found  # the queue-limit error documents it
    assert ("", "HTTP 418 is not documented for v6ImagesInpaint") in found


def test_mock_vs_real_follows_a_queued_job_to_its_end_on_the_mock_clock():
    processing = {"status": "processing", "id": 1, "eta": 5, "fetch_result": "http://real/fetch/1"}
    final = {"status": "success", "id": 1, "output": ["http://real/1.png"]}
    recorded = episode(processing, polls=[Exchange("POST", "/api/v6/images/fetch/1", 200, processing, 1.0),
                                          Exchange("POST", "/api/v6/images/fetch/1", 200, final, 6.0)])
    calls, advanced = [], []

    def send(method, url, body, headers):
        calls.append((url, headers.get("Prefer"), body.get("key")))
        if url.endswith("/inpaint"):
            answer = {"status": "processing", "id": 9, "eta": 3, "fetch_result": "http://mock/fetch/9"}
            return 200, {}, answer if headers.get("Prefer") else {"status": "success", "id": 9, "output": []}
        if advanced:
            return 200, {}, {"status": "success", "id": 9, "output": ["http://mock/9.png"], "extra": 1}
        return 200, {}, {"status": "processing", "id": 9, "eta": 2, "fetch_result": "http://mock/fetch/9"}

    found, notes = drift.mock_vs_real([recorded], send, advanced.append, "http://mock")
    assert calls[0] == ("http://mock/api/v6/images/inpaint", None, drift.TEST_KEY)
    assert calls[1][1] == "variant=processing"  # asked for the state the real service was in
    assert [c[0] for c in calls[2:]] == ["http://mock/fetch/9", "http://mock/fetch/9"]
    assert advanced and advanced[0] >= 6.0
    assert [(f.phase, f.pointer) for f in found] == [("final", "/extra")]
    assert notes[0] == "jobs queued: real 1/1, mock 0/1"


def test_a_key_error_is_replayed_without_a_key_and_its_http_status_compared():
    recorded = episode({"status": "error", "message": "Invalid Api Key"}, status=401, key_sent=False,
                       request={"prompt": "x"})
    sent = []

    def send(method, url, body, headers):
        sent.append(body)
        return 200, {}, {"status": "error", "message": "Invalid Api Key"}

    found, _notes = drift.mock_vs_real([recorded], send, lambda s: None, "http://mock")
    assert sent == [{"prompt": "x"}]
    assert [str(f.message) for f in found] == ["HTTP status: real 401, mock 200"]


def test_client_headers_and_error_wording_are_compared():
    recorded = episode({"status": "error", "message": "Rate limit exceeded"}, status=429)
    recorded.submit.headers = {"retry-after": "30"}

    def send(method, url, body, headers):
        return 429, {}, {"status": "error", "message": "Too many requests"}

    found, _ = drift.mock_vs_real([recorded], send, lambda s: None, "http://mock")
    assert {(f.pointer, f.message) for f in found} == {
        ("/message", "error wording: real 'Rate limit exceeded', mock 'Too many requests'"),
        ("header retry-after", "header only in the real answer")}
