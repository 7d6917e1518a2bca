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


# -- what gateways and the web layer send ------------------------------------------------------------


@pytest.mark.parametrize("fault, status, title", [
    ("bad_gateway", 502, "502 Bad Gateway"), ("outage", 503, "503 Service Temporarily Unavailable"),
    ("gateway_timeout", 504, "504 Gateway Time-out")])
def test_an_nginx_gateway_page_as_nginx_sends_it(fault, status, title):
    got_status, body, headers = errors.gateway_page(fault)
    assert got_status == status and headers == {"Server": "nginx", "Content-Type": "text/html"}
    assert body == (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>"
                    f"\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()


def test_a_cloudflare_timeout_page():
    status, body, headers = errors.gateway_page("cloudflare_timeout")
    assert status == 524 and headers == {"Server": "cloudflare", "Content-Type": "text/html; charset=UTF-8"}
    assert b"<title>modelslab.com | 524: A timeout occurred</title>" in body and b"Error code 524" in body


def test_a_rate_limit_fault_has_no_gateway_page():
    with pytest.raises(ValueError, match=r"^'rate_limit' is not a gateway fault$"):
        errors.gateway_page("rate_limit")


def test_http_errors_name_the_status_or_say_error():
    assert errors.http_error(405) == {"status": "error", "message": "Method Not Allowed", "code": 405}
    assert errors.http_error(404, "No route POST /x") == {"status": "error", "message": "No route POST /x",
                                                           "code": 404}
    assert errors.http_error(418) == {"status": "error", "message": "Error", "code": 418}


def test_a_body_too_large_or_cut_off_in_modelslab_words_or_as_a_problem():
    assert errors.too_large() == {"status": "error", "message": "Invalid API Request",
                                  "tip": "The request body is too large."}
    assert errors.too_large(modelslab=False) == {
        "type": "https://stoplight.io/prism/errors#PAYLOAD_TOO_LARGE", "title": "Request body too large",
        "status": 413, "detail": "The request body is larger than the mock accepts (max_body_bytes)."}
    assert errors.client_gone() == errors.invalid_request().body
    assert errors.client_gone(modelslab=False) == {
        "type": "https://stoplight.io/prism/errors#BAD_REQUEST", "title": "Incomplete request", "status": 400,
        "detail": "The client stopped sending the request body."}


def test_a_store_outage_and_a_mock_bug_say_what_they_are():
    assert errors.store_unavailable("the state store is not reachable") == {
        "status": "error", "message": "the state store is not reachable"}
    assert errors.mock_bug("TypeError") == {"status": "error", "message": "mock bug: internal error",
                                            "kind": "TypeError"}


def test_problem_bodies_as_prism_sends_them():
    assert errors.problem(418, "Teapot", "short and stout", extra=1) == {
        "type": "https://stoplight.io/prism/errors#ERROR", "title": "Teapot", "status": 418,
        "detail": "short and stout", "extra": 1}
    assert errors.validation_problem([{"location": ["body", "name"], "message": "is required"}]) == {
        "type": "https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY", "title": "Invalid request", "status": 422,
        "detail": "Your request is not valid: each entry of validation says where and why.",
        "validation": [{"location": ["body", "name"], "severity": "Error", "code": "invalid",
                        "message": "is required"}]}


def test_a_validation_problem_keeps_each_error_code_and_calls_the_rest_invalid():
    from mockserver.engine.errors import validation_problem

    body = validation_problem([{"location": ["body", "name"], "code": "required", "message": "'name' is required"},
                               {"location": ["query", "limit"], "message": "too big"}])
    assert [(v["location"], v["code"], v["severity"], v["message"]) for v in body["validation"]] == [
        (["body", "name"], "required", "Error", "'name' is required"), (["query", "limit"], "invalid", "Error", "too big")]
    assert body["status"] == 422 and body["title"] == "Invalid request"
