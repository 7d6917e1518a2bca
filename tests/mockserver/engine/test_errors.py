"""Error bodies are the real service's, and --http-errors maps each kind to one status."""

from __future__ import annotations

import pytest

from mockserver.engine import errors


def test_bodies_use_the_real_wording():
    assert errors.invalid_api_key().body["message"] == "Invalid Api Key"
    assert errors.invalid_request().body["message"] == "Invalid API Request"
    assert errors.model_not_found().body == {"status": "error", "message": "Model id not found"}
    limited = errors.rate_limited()
    assert limited.body["message"] == "Rate limit exceeded" and "tips" in limited.body and "tip" not in limited.body
    assert errors.field_errors({"prompt": ["The prompt field is required."]}).body == {
        "status": "error", "message": {"prompt": ["The prompt field is required."]}}


@pytest.mark.parametrize("make, status", [
    (errors.invalid_request, 400), (errors.invalid_api_key, 401), (errors.model_not_found, 404),
    (lambda: errors.field_errors({}), 422), (errors.rate_limited, 429), (errors.server_error, 500),
    (lambda: errors.job_not_found("1"), 404),
])
def test_status_is_200_unless_http_errors(make, status):
    error = make()
    assert error.status(False) == 200 and error.status(True) == status


def test_named_errors():
    assert errors.named_error("model_not_found").body["message"] == "Model id not found"
    with pytest.raises(ValueError, match="rate_limit"):
        errors.named_error("nope")
