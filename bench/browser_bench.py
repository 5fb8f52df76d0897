"""page_vs_hello and rss_vs_bare: the cockpit in headless Chromium at province scale.

Servers and browser as in tests/browser/test_browser.py (whose helpers these reuse):
`streamlit run` on a free port, Debian's Chromium through Playwright.
- page: a new tab (a new Streamlit session) opens the cockpit, timed from navigation until
  its KPI cards are visible; the same for /hello, the one-line page served by the same
  server (bench/apps/cockpit.py). The first cockpit load after the server starts computes
  every reader (cold); later sessions share st.cache_data, as real ones do.
- memory: 20 tabs open the cockpit and stay open; the server's peak RSS (VmHWM) is compared
  with that of a bare server (bench/apps/hello.py) after 20 tabs opened its page.
"""
from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, log

from tests.browser.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    _free_port,
    _wait_healthy,
)

COCKPIT_APP = ROOT / "bench" / "apps" / "cockpit.py"
HELLO_APP = ROOT / "bench" / "apps" / "hello.py"
SESSIONS = 20
TIMEOUT_MS = 300_000
KPI_CARDS = "[data-testid='stMetric']"


@contextlib.contextmanager
def server(app: Path, database_url: str):
    port = _free_port()
    env = {**os.environ, "LIUSHOU_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def _cards_shown(page, count: int) -> None:
    page.wait_for_function(
        f"n => [...document.querySelectorAll(\"{KPI_CARDS}\")]"
        ".filter(e => e.offsetParent !== null).length >= n", arg=count, timeout=TIMEOUT_MS)


def _hello_shown(page) -> None:
    page.get_by_test_id("stMainBlockContainer").get_by_text("hello", exact=True).wait_for(
        state="visible", timeout=TIMEOUT_MS)


def _open(browser, url: str, shown, keep: bool = False):
    """Seconds from navigation to `shown(page)` returning, in a new tab (session)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    shown(page)
    elapsed = time.perf_counter() - start
    if not keep:
        page.close()
    return elapsed, page


def measure_page(database_url: str, repeat: int, cards: int) -> dict[str, float]:
    """Median seconds until the cockpit's KPIs, and /hello's text, are visible."""
    with server(COCKPIT_APP, database_url) as (url, _), chromium() as browser:
        def cockpit():
            return _open(browser, url, lambda page: _cards_shown(page, cards))[0]

        def hello():
            return _open(browser, f"{url}/hello", _hello_shown)[0]

        cold = cockpit()      # computes and caches every reader
        hello()               # the first page load of a server warms its own caches too
        pages, hellos = [], []
        for _ in range(repeat):  # in turn, as common.median_seconds does (drift)
            pages.append(cockpit())
            hellos.append(hello())
    result = {"page_cold": cold, "page_cockpit": statistics.median(pages),
              "page_hello": statistics.median(hellos)}
    log("  page: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.items()))
    return result


def _peak_after_sessions(app: Path, database_url: str, path: str, shown) -> float:
    with server(app, database_url) as (url, pid), chromium() as browser:
        pages = [_open(browser, f"{url}{path}", shown, keep=True)[1] for _ in range(SESSIONS)]
        time.sleep(1)  # let the last sessions' runs finish
        peak = peak_rss_mb(pid)
        for page in pages:
            page.close()
    return peak


def measure_memory(database_url: str, cards: int) -> dict[str, float]:
    result = {
        "rss_cockpit_mb": _peak_after_sessions(COCKPIT_APP, database_url, "",
                                               lambda page: _cards_shown(page, cards)),
        "rss_bare_mb": _peak_after_sessions(HELLO_APP, database_url, "", _hello_shown),
    }
    log("  memory: " + ", ".join(f"{k} {v:.0f}" for k, v in result.items()))
    return result
