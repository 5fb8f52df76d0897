"""The app in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Like Streamlit's own e2e fixtures: start the server on a free port, poll /_stcore/health,
open each page, wait for the script to stop running, fail on any stException, and record
every request the page makes: none may leave the machine (the app runs on an intranet).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from liushou_dash.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

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
def demo_db(tmp_path_factory):
    from liushou_dash.db import init_db
    from liushou_dash.demo import seed_demo
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed_demo(engine, months=13)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def server(demo_db):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    port = _free_port()
    env = {**os.environ, "LIUSHOU_DATABASE_URL": demo_db}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, url: str, requests: list[str]):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.on("request", lambda request: requests.append(request.url))
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
    page.wait_for_timeout(500)  # let charts and tables finish their own drawing


def assert_all_local(requests: list[str]) -> None:
    outside = [u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
               and urlparse(u).hostname not in LOCAL_HOSTS]
    assert not outside, f"requests left the machine: {outside[:5]}"


def test_cockpit_shows_headline_numbers_offline(server, browser):
    requests: list[str] = []
    page = open_page(browser, server, requests)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "cockpit.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0
    metrics = page.locator("[data-testid='stMetric']")
    assert metrics.count() >= 6
    assert "留守儿童数" in page.inner_text("body")
    assert "示例数据" in page.inner_text("body")
    assert requests, "the browser made no request at all"
    assert_all_local(requests)
    page.close()
