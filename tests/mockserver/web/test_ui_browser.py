"""The inspector page in a real browser: Debian's Chromium, headless, driven by Selenium.

The mock runs as users run it (``mockserver run`` with an admin token, in its own process); the
page is opened once as ``/__mock/ui?token=...``. The tests skip, saying why, only when Chromium,
its driver or Selenium is not installed (.ci/run installs them). ``MOCK_UI_SCREENSHOT=path``
also writes the screenshot the first test takes there (docs/inspector.png is one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.live_mock import free_port

TOKEN = "inspector-test-token-0123"
ADMIN = {"X-Mock-Admin-Token": TOKEN}
INPAINT = "/api/v6/images/inpaint"
FETCH = "/api/v6/images/fetch"
PROMPTS = ("a red fox asleep in fresh snow", "a lighthouse on a cliff at dusk", "a bowl of ramen with a soft egg")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1600,1100")


def _browser_parts() -> tuple[str, str]:
    """(chromium, chromedriver) paths, or skip saying what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not chromium or not driver:
        pytest.skip("Chromium or its driver is not installed (apt-get install chromium chromium-driver; .ci/run does)")
    return chromium, driver


@contextmanager
def _mock(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")  # not a pipe: the page's polling fills one with access lines
    proc = subprocess.Popen([sys.executable, "-m", "mockserver", "run", "--port", str(port), "--store", "memory",
                             "--seed", "7", "--processing-ratio", "0", "--admin-token", TOKEN],
                            stdout=log, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **env}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def output() -> str:
        log.seek(0)
        return log.read()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/__mock/health", headers=ADMIN, timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, output()
            assert time.monotonic() < deadline, "the mock did not come up"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        out = output()
        log.close()
        assert "Traceback" not in out, out
        assert TOKEN not in out, "the token given once stays out of the console"
        assert "/__mock/ui?token=" not in out.replace("/__mock/ui?token=***", ""), "a page opened with it is masked"


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    _browser_parts()
    with _mock({"MOCKSERVER_WEBHOOK_BACKOFF": "0.1"}) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium, driver_path = _browser_parts()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="inspector-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
    except Exception as exc:  # a broken install: say so rather than fail every test the same way
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"Chromium did not start: {str(exc).splitlines()[0]}")
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def mock(mock_url: str) -> str:
    assert requests.post(mock_url + "/__mock/reset", headers=ADMIN, timeout=10).status_code == 200
    return mock_url


def wait_for(browser: Any, script: str, timeout: float = 20.0, *args: Any) -> Any:
    """Until ``script`` (a JS expression) is truthy in the page; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = browser.execute_script(f"return ({script});", *args)
        if value:
            return value
        assert time.monotonic() < deadline, f"never true in the page: {script}"
        time.sleep(0.1)


def body_of(prompt: str) -> dict[str, Any]:
    from tests.conftest import VALID_BODY

    return dict(VALID_BODY, prompt=prompt)


def api(url: str, path: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    answer = requests.post(url + path, json=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def click_row(browser: Any, text: str) -> None:
    browser.execute_script(
        "const row = [...document.querySelectorAll('#journal tbody tr')].find(r => r.textContent.includes(arguments[0]));"
        "row.click();", text)


def open_page(browser: Any, url: str, token: str | None = TOKEN) -> None:
    browser.get(url + "/__mock/ui" + (f"?token={token}" if token else ""))


def test_three_inpaints_and_an_invalid_request_as_the_page_shows_them(browser, mock, tmp_path):
    fox = api(mock, INPAINT, body_of(PROMPTS[0]))
    api(mock, INPAINT, body_of(PROMPTS[1]))
    ramen = api(mock, INPAINT, body_of(PROMPTS[2]), Prefer="eta=20")
    for _ in range(3):
        api(mock, f"{FETCH}/{ramen['id']}", {"key": "test-key"})
    requests.post(mock + "/__mock/clock", json={"advance": 25}, headers=ADMIN, timeout=10)
    done = api(mock, f"{FETCH}/{ramen['id']}", {"key": "test-key"})
    assert done["status"] == "success"
    assert requests.get(done["output"][0], timeout=10).status_code == 200
    api(mock, INPAINT, dict(body_of("a fourth one, invalid"), width=3))

    open_page(browser, mock)
    wait_for(browser, "document.querySelectorAll('#journal tbody tr').length === 9")
    table = browser.find_element("id", "journal").text
    for prompt in PROMPTS:
        assert prompt in table
    assert "width: The width field must be at least 512." in table
    assert browser.execute_script("return location.search") == "", "the token left the address bar"
    assert browser.execute_script("return sessionStorage.getItem('modelslab-mock-admin-token')") == TOKEN

    click_row(browser, PROMPTS[2])
    wait_for(browser, "(() => { const img = document.querySelector('img[data-which=\"output-0\"]');"
                      " return img && img.complete && img.naturalWidth > 0; })()")
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('#images img')].map(i => [i.dataset.which, i.naturalWidth, i.naturalHeight])")
    assert sizes == [["init_image", 512, 512], ["mask_image", 512, 512], ["overlay", 512, 512], ["output-0", 512, 512]]
    assert "output 0 · 512×512" in browser.find_element("id", "images").text
    wait_for(browser, "document.querySelectorAll('#timeline .tick').length === 4")
    assert browser.execute_script("return document.querySelectorAll('#timeline .tick.early').length") == 3
    events = browser.find_element("id", "timeline-events").text
    assert "submit → HTTP 200 processing, eta 20 s" in events and "success" in events and "download" in events
    assert "polls_too_fast" in browser.find_element("id", "flags").text
    assert "chosen by the Prefer header: eta=20" in browser.find_element("id", "reason-text").text
    shot = tmp_path / "inspector.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
    if os.environ.get("MOCK_UI_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["MOCK_UI_SCREENSHOT"])

    click_row(browser, "a fourth one, invalid")
    wait_for(browser, "!document.getElementById('errors-box').hidden")
    errors = browser.find_element("id", "errors").text
    assert "width" in errors and "The width field must be at least 512." in errors
    assert browser.find_element("id", "job").is_displayed() is False

    click_row(browser, PROMPTS[0])
    wait_for(browser, "document.getElementById('job-title').textContent.startsWith(arguments[0])", 20, str(fox["id"]))
    curl = browser.find_element("id", "curl").text
    assert '"key": "***"' in curl and "test-key" not in curl and PROMPTS[0] in curl

    origin = browser.execute_script("return location.origin")
    loaded = browser.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => e.name)")
    assert loaded and all(name.startswith(origin + "/") or name.startswith("blob:" + origin) for name in loaded), loaded
    assert any(name.endswith("/__mock/ui/inspector.js") for name in loaded)
    csp = requests.get(mock + "/__mock/ui", headers=ADMIN, timeout=10).headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'self';")
    problems = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert problems == [], problems


def test_without_the_token_the_page_asks_for_it_and_shows_nothing(browser, mock):
    api(mock, INPAINT, body_of("a secret garden"))
    open_page(browser, mock, token=None)
    browser.execute_script("sessionStorage.clear()")
    browser.refresh()
    wait_for(browser, "!document.getElementById('token-panel').hidden")
    assert browser.find_element("id", "app").is_displayed() is False
    assert "a secret garden" not in browser.page_source
    field = browser.find_element("id", "token-input")
    field.send_keys("wrong-token")
    browser.find_element("css selector", "#token-form button").click()
    wait_for(browser, "document.getElementById('token-error').textContent.includes('refused')")
    field.send_keys(TOKEN)
    browser.find_element("css selector", "#token-form button").click()
    wait_for(browser, "document.getElementById('journal').textContent.includes('a secret garden')")
    browser.get_log("browser")  # the refused calls are logged as 401s on purpose


def test_rules_with_hits_can_be_deleted_and_the_clock_advanced(browser, mock):
    rule = {"id": "queue-cats", "match": {"prompt": {"contains": "cat"}}, "respond": {"eta": 30}}
    assert requests.post(mock + "/__mock/rules", json=rule, headers=ADMIN, timeout=10).status_code == 201
    api(mock, INPAINT, body_of("a cat on a mat"))
    api(mock, INPAINT, body_of("a dog on a log"))
    open_page(browser, mock)
    wait_for(browser, "document.querySelector('#rules tbody tr') !== null")
    row = browser.find_element("css selector", "#rules tbody tr").text
    assert row.startswith("queue-cats") and " 1 " in f" {browser.find_element('css selector', '#rules td.hits').text} "
    browser.find_element("css selector", "#rules button.delete").click()
    wait_for(browser, "document.querySelectorAll('#rules tbody tr').length === 0")
    assert requests.get(mock + "/__mock/rules", headers=ADMIN, timeout=10).json()["rules"] == []

    field = browser.find_element("id", "clock-advance")
    field.clear()
    field.send_keys("45")
    browser.find_element("css selector", "#clock-form button").click()
    wait_for(browser, "document.getElementById('clock-offset').textContent === '(+45 s)'")
    assert requests.get(mock + "/__mock/clock", headers=ADMIN, timeout=10).json()["offset"] == 45


def test_webhook_attempts_show_retries_and_refusals(browser, mock):
    from mockserver.control.receiver import WebhookReceiver

    with WebhookReceiver(statuses=[500]) as receiver:
        api(mock, INPAINT, dict(body_of("a retried webhook"), webhook=receiver.url))
        api(mock, INPAINT, dict(body_of("a refused webhook"), webhook="http://hooks.example.invalid/in"))
        receiver.wait_for(2)
        requests.post(mock + "/__mock/webhooks/wait", json={"timeout": 10}, headers=ADMIN, timeout=15)
    open_page(browser, mock)
    wait_for(browser, "document.querySelectorAll('#webhooks tbody tr').length === 3")
    rows = [r.text for r in browser.find_elements("css selector", "#webhooks tbody tr")]
    refused = next(r for r in rows if "refused" in r)
    assert "hooks.example.invalid" in refused and "allow" in refused
    assert any(" 1 failed 500 " in f" {r} " for r in rows), rows
    assert any(" 2 success 200 " in f" {r} " for r in rows), rows


def test_after_a_reset_the_journal_starts_again(browser, mock):
    api(mock, INPAINT, body_of("before the reset"))
    open_page(browser, mock)
    wait_for(browser, "document.getElementById('journal').textContent.includes('before the reset')")
    requests.post(mock + "/__mock/reset", headers=ADMIN, timeout=10)
    api(mock, INPAINT, body_of("after the reset"))
    wait_for(browser, "document.getElementById('journal').textContent.includes('after the reset')")
    wait_for(browser, "!document.getElementById('journal').textContent.includes('before the reset')")
    assert len(browser.find_elements("css selector", "#journal tbody tr")) == 1


def test_the_operation_filter_and_the_fetch_rows_come_from_the_loaded_spec(browser, mock):
    """The page names no operation itself: its filter lists what GET /__mock/operations says the
    spec serves (the family spec's ids here, not the Pony page's), and a row is a fetch, shown as
    its job, because its operation's behaviour is a fetch, whatever the operation is called."""
    made = api(mock, INPAINT, body_of("a kite over the dunes"), Prefer="eta=20")
    api(mock, f"{FETCH}/{made['id']}", {"key": "test-key"})
    api(mock, FETCH, {"key": "test-key", "request_id": made["id"]})
    open_page(browser, mock)
    wait_for(browser, "document.querySelectorAll('#journal tbody tr').length === 3")
    served = requests.get(mock + "/__mock/operations", headers=ADMIN, timeout=10).json()["operations"]
    choices = browser.execute_script(
        "return [...document.getElementById('f-operation').options].map(o => o.value).filter(Boolean)")
    assert sorted(choices) == sorted(op["id"] for op in served)
    assert "v6ImagesFetchById" in choices and "fetchById" not in choices and "inpaint" not in choices
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#journal tbody tr')]"
        ".map(r => [r.cells[3].textContent, r.querySelector('td.what').textContent])")
    fetches = {op["id"] for op in served if op["kind"] == "fetch"}
    assert sorted(what for operation, what in rows if operation in fetches) == [f"job {made['id']}"] * 2
    assert any(what == "a kite over the dunes" for _, what in rows)


# ------------------------------------------------------------------------------ a page of another origin


@contextmanager
def _page_server(html: str) -> Iterator[str]:
    """A page on its own origin (another port), as a front-end's dev server serves it."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            data = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/app.html"
    finally:
        server.shutdown()
        thread.join(timeout=5)


_CALL = """
const [url, init, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
fetch(url, init).then(async r => done({status: r.status, body: await r.text(),
                                        reset: r.headers.get('X-RateLimit-Reset')}))
                .catch(e => done({error: String(e)}));
"""


def test_a_page_of_another_origin_calls_the_api_as_the_js_sdk_does_and_cannot_touch_the_admin_api(browser, mock):
    with _page_server("<!doctype html><title>app</title><p>a front-end</p>") as page:
        browser.get(page)
        browser.set_script_timeout(20)
        body = {k: v for k, v in body_of("a page's prompt").items() if k != "key"}
        made = browser.execute_async_script(_CALL, mock + INPAINT, {
            "method": "POST", "body": __import__("json").dumps(body),
            "headers": {"Content-Type": "application/json", "Authorization": "Bearer sk-browser-key-0001"}})
        assert "error" not in made, made  # the preflight for Authorization + JSON passed
        answer = __import__("json").loads(made["body"])
        assert made["status"] == 200 and answer["status"] == "success"
        image = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0]).then(r => r.blob()).then(b => done(b.type + ' ' + b.size))"
            ".catch(e => done(String(e)));", answer["output"][0])
        assert image.startswith("image/png ") and int(image.split()[1]) > 1000
        rules_before = requests.get(mock + "/__mock/rules", headers=ADMIN, timeout=10).json()["rules"]
        forged = browser.execute_async_script(_CALL, mock + "/__mock/rules", {
            "method": "POST", "mode": "no-cors", "headers": {"Content-Type": "text/plain"},
            "body": '{"operation": "*", "respond": {"status": 500}}'})
        assert forged.get("status") == 0 or "error" in forged  # opaque or refused: the page reads nothing
        assert requests.get(mock + "/__mock/rules", headers=ADMIN, timeout=10).json()["rules"] == rules_before
        journal = requests.get(mock + "/__mock/requests", headers=ADMIN, timeout=10).json()["requests"]
        assert [e["status"] for e in journal if e["path"] == INPAINT] == [200]
