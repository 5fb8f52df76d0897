"""One way out, in Chromium: no table offers Streamlit's own "Download as CSV" (which
would hand the table out with no audit row and no defusing), while the tables keep their
search and full-screen tools and the pages keep the app's own, audited download buttons.

Every page with a table is opened as the administrator (the upload page as the clerk), each
table is hovered so that its toolbar shows, and the toolbar's buttons are read. A picture of
a hovered table lands in tests/screenshots/ for a person to look at.
"""
from __future__ import annotations

import pytest

from liushou_dash.web.navigation import PAGES
from tests.browser.test_browser import (  # noqa: F401  (fixtures: one server for this module)
    SCREENSHOTS,
    assert_all_local,
    browser,
    demo_db,
    exceptions,
    go_to,
    log_in,
    open_page,
    requests,
    server,
    wait_idle,
)

pytestmark = pytest.mark.browser
TABLE = "[data-testid='stDataFrame']"
TOOLBAR_BUTTON = "[data-testid='stElementToolbarButton'] button"
STREAMLIT_DOWNLOAD = "Download as CSV"
KEPT_TOOLS = ("Search", "Fullscreen")
OUR_DOWNLOAD = "[data-testid='stDownloadButton']"
# Pages whose own download buttons are always there with the demo data (the cockpit's alert
# list and the chase list come and go with the data and the date).
WITH_DOWNLOADS = {"app_pages/funding.py", "app_pages/download.py", "app_pages/bulletin.py"}
ADMIN_TABLE_PAGES = [spec for spec in PAGES if "admin" in spec.roles
                     and spec.path != "app_pages/meeting.py"]  # st.table: no toolbar at all


def toolbar_of(page, table) -> list[str]:
    """Hover `table` and read the labels of the toolbar buttons it shows."""
    table.scroll_into_view_if_needed()
    table.hover()
    page.wait_for_timeout(400)  # the toolbar fades in
    container = table.locator("xpath=ancestor::*[@data-testid='stElementContainer'][1]")
    return [button.get_attribute("aria-label") or ""
            for button in container.locator(TOOLBAR_BUTTON).all() if button.is_visible()]


def assert_no_way_around(page, where: str) -> int:
    """Every visible table of the page: its own tools, but no download. How many tables."""
    tables = [t for t in page.locator(TABLE).all() if t.is_visible()]
    for number, table in enumerate(tables):
        labels = toolbar_of(page, table)
        assert all(tool in " ".join(labels) for tool in KEPT_TOOLS), (where, number, labels)
        assert not [label for label in labels if label.startswith(STREAMLIT_DOWNLOAD)], (
            where, number, labels)
    return len(tables)


def hovered_picture(page, name: str) -> None:
    """The first table hovered, its toolbar showing, as a picture."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    table = page.locator(TABLE).first
    toolbar_of(page, table)
    box = table.bounding_box()
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip={
        "x": max(box["x"] - 10, 0), "y": max(box["y"] - 50, 0),
        "width": min(box["width"] + 20, 1400), "height": min(box["height"] + 60, 500)})


def test_no_table_offers_its_own_download_to_the_administrator(server, browser, requests):
    page = open_page(browser, server, requests)
    log_in(page)
    counted = {}
    for spec in ADMIN_TABLE_PAGES:
        go_to(page, spec.title)
        assert not exceptions(page), (spec.title, exceptions(page))
        if spec.path == "app_pages/admin.py":   # the audit log is on its own tab
            counted["users"] = assert_no_way_around(page, "用户")
            page.get_by_role("tab", name="审计日志").click()
            page.wait_for_timeout(300)
            wait_idle(page)
            assert page.locator(OUR_DOWNLOAD).filter(has_text="下载审计日志").is_visible()
        if spec.path in WITH_DOWNLOADS:
            assert page.locator(OUR_DOWNLOAD).count() >= 2, spec.title
        if spec.path == "app_pages/funding.py":
            hovered_picture(page, "hovered_table_funding")
        counted[spec.title] = assert_no_way_around(page, spec.title)
    assert sum(counted.values()) >= 15, counted   # the checks did see the tables
    assert all(counted[title] for title in ("总览", "资金", "数据下载", "月度通报")), counted
    assert_all_local(requests)
    page.context.close()


def test_no_table_offers_its_own_download_to_the_clerk(server, browser, requests):
    page = open_page(browser, server, requests)
    log_in(page, "clerk108")
    go_to(page, "数据上报")
    assert page.locator(OUR_DOWNLOAD).filter(has_text="下载本月模板").is_visible()
    assert assert_no_way_around(page, "数据上报") >= 1   # the township's history
    hovered_picture(page, "hovered_table_upload")
    page.context.close()
