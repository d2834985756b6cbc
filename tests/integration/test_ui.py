"""The page GET / serves to browsers, driven in a real headless Chromium (Debian `chromium` and
`chromium-driver` through python3-selenium): the values it shows, UI_COLOR as the computed
background and in the screenshot, UI_MESSAGE shown as text and never run, readiness that follows
the drill switch, a task submitted in its box reaching SUCCESS on a real october-worker, and the
same behind a path prefix (a small rewriting proxy standing in for an ingress). No console
errors. JSON clients keep getting the JSON of GET /.

Exits 77 (ctest: skipped) only when Chromium or its driver is not installed;
scripts/bootstrap.sh installs both, so CI runs it.
"""

from __future__ import annotations

import http.client
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import MISSING_TOOL
from support import png
from support.processes import LOOPBACK, RedisServer
from support.servers import assert_rejected, run_api_binary, start_api, start_worker

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip(f"{MISSING_TOOL}: chromium and chromium-driver (scripts/bootstrap.sh installs "
                "them)", allow_module_level=True)

from selenium import webdriver  # noqa: E402 (after the skip: absent with Chromium)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

UI_COLOR = "#1e6b52"
UI_RGB = (0x1E, 0x6B, 0x52)
# Would set window.pwned if the page let the markup through.
UI_MESSAGE = 'canary v2 <script>window.pwned = 1</script> & "friends"'
WAIT = 20  # seconds: generous, the machine has 2 shared cores
WINDOW = (800, 600)


@pytest.fixture(scope="module")
def stack(run_dir):
    workdir = run_dir / "ui"
    redis = RedisServer(workdir / "redis").start()
    worker = api = None
    try:
        worker = start_worker(workdir / "worker", redis, env={"CONCURRENCY": "1"})
        api = start_api(workdir / "api", redis,
                        env={"UI_COLOR": UI_COLOR, "UI_MESSAGE": UI_MESSAGE})
        yield api
    finally:
        for proc in (api, worker, redis):
            if proc is not None:
                proc.close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--proxy-server=direct://", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(stack, browser):
    browser.get(stack.url("/"))
    text(browser, "readiness", lambda t: t != "checking")
    return browser


def text(driver, element_id: str, until=None) -> str:
    """The rendered text of #element_id, once `until(text)` holds (when given)."""
    if until is None:
        return driver.find_element(By.ID, element_id).text
    WebDriverWait(driver, WAIT, poll_frequency=0.1).until(
        lambda d: until(d.find_element(By.ID, element_id).text),
        f"#{element_id} never reached the expected text")
    return driver.find_element(By.ID, element_id).text


def console_errors(driver, allowed=()) -> list[str]:
    """The console errors since the last call, less those containing one of `allowed`."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"
            and not any(part in entry["message"] for part in allowed)]


def rgb(css: str) -> tuple[int, int, int]:
    """rgb(r, g, b) or rgba(r, g, b, a) as computed by the browser."""
    inner = css[css.index("(") + 1:css.index(")")]
    return tuple(int(float(v)) for v in inner.split(",")[:3])


def check_screenshot(data: bytes, colour: tuple[int, int, int]) -> None:
    """A real rendering: many colours (text, card, background), `colour` the background around
    the card (one of the three commonest colours, a tenth of the image or more) and dark text."""
    shares = png.colour_shares(data)
    assert len(shares) >= 20, f"only {len(shares)} colours: a blank or flat screenshot"
    top = [c for c, _ in shares.most_common(3)]
    assert colour in top and shares[colour] >= 0.1, \
        f"{colour} covers {shares.get(colour, 0):.1%}; most common {shares.most_common(3)}"
    dark = sum(share for (r, g, b), share in shares.items() if r + g + b < 200)
    assert dark > 0.001, f"no dark (text) pixels: {dark:.4%}"


def check_not_run(driver) -> None:
    """The message's <script> did not run, and the page holds only its own script."""
    assert driver.execute_script("return window.pwned === undefined"), "the message's script ran"
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 1


# --- JSON clients ----------------------------------------------------------------------------
@pytest.mark.parametrize("accept", [None, "*/*", "application/json",
                                    "application/json, text/html;q=0.9", "text/*;q=0.5, */*"])
def test_json_clients_keep_the_json(stack, accept):
    resp = stack.get("/", headers={"Accept": accept} if accept else {})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["service"] == "october-api" and body["ready"] is True


@pytest.mark.parametrize("accept", [
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # Chromium's
    "text/html", "application/json;q=0.5, text/html"])
def test_browsers_get_the_page(stack, accept):
    resp = stack.get("/", headers={"Accept": accept})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "Accept" in resp.headers.get("Vary", "")
    assert UI_COLOR in resp.text
    # No external assets, and the page's own requests never use an absolute path.
    assert not re.search(r"""(src|href)=["'](?!data:)""", resp.text)
    assert not re.search(r"""fetch\(\s*["'`/]""", resp.text)
    assert "http:" not in resp.text and "https:" not in resp.text


# --- the page in Chromium --------------------------------------------------------------------
def test_page_shows_the_values(stack, page):
    version = stack.get("/version").json()
    root = stack.get("/").json()
    assert text(page, "service") == "october-api"
    assert text(page, "version") == version["version"]
    assert text(page, "revision") == version["revision"]
    assert text(page, "hostname") == root["hostname"]
    assert text(page, "message") == UI_MESSAGE
    assert text(page, "readiness") == "ready"
    assert page.title == f"october-api {version['version']}"
    first = int(text(page, "uptime"))
    assert first >= 0
    text(page, "uptime", lambda t: int(t) > first)  # it keeps counting
    background = page.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert rgb(background) == UI_RGB
    check_not_run(page)
    assert console_errors(page) == []


def test_screenshot_shows_the_page(page):
    shot = page.get_screenshot_as_png()
    check_screenshot(shot, UI_RGB)
    assert console_errors(page) == []


def test_task_box_follows_the_task_to_success(stack, page):
    box = page.find_element(By.ID, "task-body")
    box.clear()
    box.send_keys('{"name": "add", "args": [20, 22]}')
    page.find_element(By.ID, "task-submit").click()
    task_id = text(page, "task-id", lambda t: t not in ("none", "submitting"))
    assert not task_id.startswith("refused"), text(page, "task-state")
    text(page, "task-state", lambda t: t == "SUCCESS")
    assert text(page, "task-result") == "42"
    assert stack.get(f"/tasks/{task_id}").json()["status"] == "SUCCESS"
    assert console_errors(page) == []


def test_task_box_shows_the_state_as_it_changes(page):
    box = page.find_element(By.ID, "task-body")
    box.clear()
    box.send_keys('{"name": "sleep", "args": [1.5]}')
    page.find_element(By.ID, "task-submit").click()
    seen: list[str] = []

    def finished(driver):
        seen.append(driver.find_element(By.ID, "task-state").text)
        return seen[-1] == "SUCCESS"

    WebDriverWait(page, WAIT, poll_frequency=0.05).until(finished, "no SUCCESS shown")
    assert set(seen) & {"PENDING", "STARTED"}, seen  # shown before it finished
    assert text(page, "task-result") == "1.5"
    assert console_errors(page) == []


def test_task_box_shows_a_refusal(page):
    box = page.find_element(By.ID, "task-body")
    box.clear()
    box.send_keys('{"name": "no_such_task"}')
    page.find_element(By.ID, "task-submit").click()
    text(page, "task-id", lambda t: t == "refused (400)")
    assert "no_such_task" in text(page, "task-result")
    # The browser reports the 400 itself; nothing else may be in the console.
    assert console_errors(page, allowed=["tasks - Failed to load resource"]) == []


def test_readiness_follows_the_drill_switch(stack, page):
    try:
        assert stack.post("/ready/disable").status_code == 200
        shown = text(page, "readiness", lambda t: t.startswith("not ready"))
        assert "POST /ready/disable" in shown
        assert page.find_element(By.ID, "readiness").get_attribute("class") == "not-ready"
    finally:
        stack.post("/ready/enable")
    text(page, "readiness", lambda t: t == "ready")
    # The 503s of /ready while disabled are the browser's own network log lines.
    assert console_errors(page, allowed=["ready - Failed to load resource"]) == []


# --- behind a path prefix --------------------------------------------------------------------
class PrefixProxy(ThreadingHTTPServer):
    """An ingress rewrite in miniature: serves the api under /october (the prefix stripped
    before forwarding) and 404s everything else; records the paths the browser asked for."""

    daemon_threads = True
    prefix = "/october"

    def __init__(self, api):
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def forward(self):
                outer.paths.append(self.path)
                if self.path != outer.prefix and not self.path.startswith(outer.prefix + "/"):
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                conn = http.client.HTTPConnection(LOOPBACK, api.port, timeout=10)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("accept", "content-type")}
                conn.request(self.command, self.path[len(outer.prefix):] or "/", body, headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.getheader("Content-Type", ""))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = forward  # noqa: N815 (http.server's naming)

            def log_message(self, *args):
                pass

        super().__init__((LOOPBACK, 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}{path}"


@pytest.fixture
def proxy(stack):
    server = PrefixProxy(stack)
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("page_path", ["/october/", "/october"])
def test_works_behind_a_path_prefix(proxy, browser, page_path):
    browser.get(proxy.url(page_path))
    text(browser, "readiness", lambda t: t == "ready")
    box = browser.find_element(By.ID, "task-body")
    box.clear()
    box.send_keys('{"name": "add", "args": [1, 2]}')
    browser.find_element(By.ID, "task-submit").click()
    text(browser, "task-state", lambda t: t == "SUCCESS")
    assert text(browser, "task-result") == "3"
    assert console_errors(browser) == []
    asked = set(proxy.paths)
    assert {page_path, "/october/ready", "/october/tasks"} <= asked, asked
    assert all(p.startswith("/october") for p in asked), asked


# --- the checks refuse broken variants -------------------------------------------------------
def test_screenshot_check_refuses_a_blank_or_other_coloured_image():
    blank = png.encode(80, 60, lambda x, y: (255, 255, 255))
    with pytest.raises(AssertionError, match="blank or flat"):
        check_screenshot(blank, UI_RGB)
    noisy_other = png.encode(80, 60, lambda x, y: ((x * 3) % 256, (y * 4) % 256, 17))
    with pytest.raises(AssertionError, match="covers"):
        check_screenshot(noisy_other, UI_RGB)


def test_script_check_catches_an_unescaped_message(stack, browser):
    # The served page with the message put back raw, as a page that forgot to escape would be.
    html = stack.get("/", headers={"Accept": "text/html"}).text
    escaped = "canary v2 &lt;script&gt;window.pwned = 1&lt;/script&gt; &amp; &quot;friends&quot;"
    assert escaped in html
    broken = html.replace(escaped, UI_MESSAGE)
    browser.get("data:text/html;charset=utf-8," + broken.replace("#", "%23"))
    with pytest.raises(AssertionError, match="script ran"):
        check_not_run(browser)
    browser.get_log("browser")  # its failed relative fetches are not the real page's


# --- settings --------------------------------------------------------------------------------
@pytest.mark.parametrize("env,name", [
    ({"UI_COLOR": "blurple"}, "UI_COLOR"),
    ({"UI_COLOR": "#12345"}, "UI_COLOR"),
    ({"UI_COLOR": "red;}body{display:none"}, "UI_COLOR"),
    ({"UI_MESSAGE": "x" * 501}, "UI_MESSAGE"),
    ({"UI_MESSAGE": "line\nbreak"}, "UI_MESSAGE"),
])
def test_bad_ui_settings_exit_2_naming_them(env, name):
    assert_rejected(run_api_binary(env=env), name)


def test_named_colour_is_accepted(tmp_path, redis_server):
    api = start_api(tmp_path, redis_server, env={"UI_COLOR": "Teal"})
    try:
        assert "background: Teal;" in api.get("/", headers={"Accept": "text/html"}).text
    finally:
        api.close()
