"""The app in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Like Streamlit's own e2e fixtures: start the server on a free port, poll /_stcore/health,
log in, open every page through the sidebar, wait for the script to stop running, fail on
any stException, and record every request the pages make: none may leave the machine (the
app runs on an intranet). A screenshot of each page lands in tests/screenshots/ (ignored by
git) for a person to look at.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from liushou_dash.web.navigation import PAGES

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ADMIN, DEMO_PASSWORD = "admin", "demo"  # the demo database's accounts (auth.DEMO_ACCOUNTS)
# Every page an administrator sees, except the clerk's upload page.
ADMIN_PAGES = [spec for spec in PAGES if "admin" in spec.roles and (ROOT / spec.path).exists()]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, seeded_demo_file):
    """This module's own copy of the seeded demo: what its server and its tests write stays
    in it."""
    path = tmp_path_factory.mktemp("browser_copy") / "demo.db"
    shutil.copy(seeded_demo_file, path)
    return f"sqlite:///{path}"


@contextmanager
def streamlit_server(database_url: str, **environment: str):
    """`streamlit run app.py` on a free port of this machine, on `database_url` (with
    `environment` added), until the block ends: its URL once it is healthy."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env={**os.environ, "LIUSHOU_DATABASE_URL": database_url, **environment},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(demo_db):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    with streamlit_server(demo_db) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def requests() -> list[str]:
    return []


def open_page(browser, url: str, requests: list[str], width: int = 1400):
    context = browser.new_context(viewport={"width": width, "height": 1000}, locale="zh-CN")
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(url)
    wait_idle(page)
    return page


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit has finished running the script and drawn every element."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stSkeleton'], "
        "[data-testid='stAppSkeleton']\")", timeout=timeout)
    page.wait_for_timeout(800)  # let charts, maps and tables finish their own drawing


def log_in(page, username: str = ADMIN) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    # The logout button shows for every role (a clerk has one page, so no page list).
    page.get_by_text("退出登录").first.wait_for(timeout=60_000)
    wait_idle(page)


def go_to(page, title: str) -> None:
    """Open a page through the sidebar, which keeps the session (and its login)."""
    links = page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title)
    if links.count() == 0:  # a role with a single page has no page list and is already on it
        assert title in page.inner_text("[data-testid='stMain']")
        return
    links.first.click()
    page.wait_for_timeout(300)
    wait_idle(page)


def assert_all_local(requests: list[str]) -> None:
    outside = [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname not in LOCAL_HOSTS]
    assert not outside, f"requests left the machine: {outside[:5]}"


def as_projector(page) -> None:
    """The meeting screen as the joint meeting sees it: 1920 × 1080, the sidebar folded."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
    page.wait_for_timeout(1500)


def as_desktop(page) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.get_by_test_id("stExpandSidebarButton").click()
    page.wait_for_selector("[data-testid='stSidebarNav']")


def exceptions(page) -> list[str]:
    return [e.inner_text() for e in page.locator("[data-testid='stException']").all()]


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def screenshot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, not the document, so the
    window is made as tall as that block for the picture."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate("document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 8000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.set_viewport_size(size)


def test_every_page_renders_offline_without_an_exception(server, browser, requests):
    page = open_page(browser, server, requests)
    screenshot(page, "login")
    log_in(page)
    for spec in ADMIN_PAGES:
        go_to(page, spec.title)
        body = page.inner_text("body")
        assert not exceptions(page), (spec.title, exceptions(page))
        assert "出错" not in body and "Traceback" not in body, spec.title
        assert spec.title in body and "示例数据" in body, spec.title
        if spec.path == "app_pages/map.py":
            page.wait_for_selector("canvas", timeout=30_000)
            page.wait_for_timeout(1500)  # deck.gl draws after its first frame
        if spec.path == "app_pages/meeting.py":
            as_projector(page)
            screenshot(page, Path(spec.path).stem)
            as_desktop(page)
        else:
            screenshot(page, Path(spec.path).stem)
    assert requests, "the browser made no request at all"
    assert_all_local(requests)
    page.context.close()


def test_cockpit_shows_headline_numbers(server, browser, requests):
    page = open_page(browser, server, requests)
    log_in(page)
    assert page.locator("[data-testid='stMetric']").count() >= 9
    body = page.inner_text("body")
    for label in ("留守儿童数", "无人监护人数", "建档率", "结对率", "上报率"):
        assert label in body
    page.context.close()


def test_filters_are_written_into_the_url_and_kept_across_pages(server, browser, requests):
    page = open_page(browser, server, requests)
    log_in(page)
    assert {"from", "to"} <= set(query_of(page))
    box = page.get_by_role("combobox", name="乡镇")
    box.click()
    box.fill("张家湾")
    page.get_by_role("option", name="张家湾镇").click()
    page.keyboard.press("Escape")
    wait_idle(page)
    assert query_of(page).get("township") == ["520525108"]

    go_to(page, "留守儿童")
    assert query_of(page).get("township") == ["520525108"]
    assert "张家湾镇" in page.locator("[data-testid='stSidebar']").inner_text()
    copied = page.url
    page.context.close()

    # The copied link opens the same filters in a new session, after logging in. (The login
    # screen knows no pages yet, so Streamlit says "page not found" and the user lands on
    # the cockpit: the page itself is lost at the gate, the filters are not.)
    other = open_page(browser, copied, requests)
    other.keyboard.press("Escape")
    log_in(other)
    assert query_of(other).get("township") == ["520525108"]
    assert "张家湾镇" in other.locator("[data-testid='stSidebar']").inner_text()
    assert_all_local(requests)
    other.context.close()
