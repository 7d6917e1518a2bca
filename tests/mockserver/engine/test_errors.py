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


JSON_TIP = ("1. Make sure you are passing Content-Type: application/json in header. 2. Make sure you are doing "
            "POST request with valid JSON. 3. Make sure your JSON does not have error, use jsonlint to validate "
            "json array")


def test_every_error_body_word_for_word():
    """MODELSLAB-FACTS §6.1 (captured strings) and §6.2 (the new docs); clients match on these."""
    assert errors.invalid_request().body == {"status": "error", "message": "Invalid API Request", "tip": JSON_TIP}
    assert errors.invalid_api_key().body == {
        "status": "error", "message": "Invalid Api Key", "tip": JSON_TIP + ". 4. Make sure you have valid API key."}
    assert errors.rate_limited().body == {
        "status": "error", "message": "Rate limit exceeded",
        "tips": "you are sending same request multiple times, spam filter is enabled, please wait for 30 seconds "
                "and try again"}
    assert errors.server_error().body == {"status": "error", "message": "Internal server error. Please try again."}
    assert errors.job_not_found("130000042").body == {"status": "error", "message": "Request not found: 130000042"}


def test_unable_to_fetch_image_names_the_field_in_the_docs_wording():
    error = errors.unable_to_fetch_image("mask_image")
    assert error.body == {"status": "error", "message": "Unable to fetch image from provided URL",
                          "field": "mask_image"}
    assert error.status(False) == 200 and error.status(True) == 422
    told = errors.unable_to_fetch_image("init_image", "init_image is not an image")
    assert told.body == {"status": "error", "message": "init_image is not an image", "field": "init_image"}


def test_a_rate_limit_says_when_to_retry_and_other_errors_add_no_headers():
    assert errors.rate_limited().headers == {"Retry-After": "30"}
    assert errors.server_error().headers == {} and errors.invalid_request().headers == {}


@pytest.mark.parametrize("name, message", [
    ("rate_limit", "Rate limit exceeded"), ("invalid_api_key", "Invalid Api Key"),
    ("invalid_request", "Invalid API Request"), ("model_not_found", "Model id not found"),
    ("server", "Internal server error. Please try again."),
])
def test_every_nameable_error_is_the_real_one(name, message):
    assert errors.named_error(name).body["message"] == message


def test_an_unknown_error_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"^unknown error 'nope'; expected one of \['invalid_api_key', "
                                         r"'invalid_request', 'model_not_found', 'queue_limit', 'rate_limit', "
                                         r"'server'\]$"):
        errors.named_error("nope")


def test_a_replay_miss_says_what_to_do():
    """--replay with --on-miss error: the answer names the two ways out."""
    error = errors.no_episode()
    assert error.body == {"status": "error", "message": "No recorded episode matches this request",
                          "tip": "record it with mockserver record, or run with --on-miss generate"}
    assert error.status(False) == 200 and error.status(True) == 404


def test_a_full_queue_says_how_many_and_when_to_come_back():
    """The rate-limit and error-code pages: "Maximum 5 queued requests allowed.", retry_after 30."""
    error = errors.queue_limit(reset_at=1_700_000_030)
    assert error.body == {"status": "error", "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
                          "retry_after": 30}
    assert error.headers == {"Retry-After": "30", "X-RateLimit-Reset": "1700000030"}
    assert error.status(False) == 200 and error.status(True) == 429
    other = errors.queue_limit(limit=2, retry_after=7, reset_at=0)
    assert other.body["message"] == "Rate limit exceeded. Maximum 2 queued requests allowed."
    assert other.headers == {"Retry-After": "7", "X-RateLimit-Reset": "0"}


def test_without_a_reset_time_the_slot_frees_retry_after_seconds_from_now():
    import time

    before = int(time.time())
    reset = int(errors.queue_limit(retry_after=30).headers["X-RateLimit-Reset"])
    assert before + 30 <= reset <= int(time.time()) + 30
