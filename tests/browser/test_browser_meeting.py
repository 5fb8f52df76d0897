"""The meeting-screen link in a real browser (Chromium via Playwright against `streamlit run`,
on this module's copy of the demo database), on the projector's 1920 × 1080: the
administrator makes a link on 管理, the meeting PC opens it without a login, a reload (F5)
keeps the screen, the link reaches no other page, the whole screen (cards, ranking, map,
alerts) fits without scrolling, and once the link is revoked the screen says so at its next
refresh. Screenshots land in tests/screenshots/.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from liushou_dash.core.actors import Actor
from liushou_dash.core.db import make_engine, session_maker
from liushou_dash.core.models import MeetingLink
from liushou_dash.workflow import meeting_links
from tests.browser.test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    assert_all_local,
    browser,
    demo_db,
    exceptions,
    as_projector,
    go_to,
    log_in,
    open_page,
    streamlit_server,
    wait_idle,
)
from tests.fixtures import audit_rows

pytestmark = pytest.mark.browser
PROJECTOR = {"width": 1920, "height": 1080}
REFRESH_SECONDS = "2"   # the screen's refresh on this server (a minute in use)


@pytest.fixture(scope="module")
def url(demo_db):
    with streamlit_server(demo_db, LIUSHOU_MEETING_REFRESH_SECONDS=REFRESH_SECONDS) as address:
        yield address


@pytest.fixture(scope="module")
def engine(demo_db):
    engine = make_engine(demo_db)
    yield engine
    engine.dispose()


def make_link_on_the_admin_page(browser, url: str) -> str:
    """The administrator makes a link on 管理 → 会议大屏链接; the address it shows once."""
    page = open_page(browser, url, [])
    log_in(page)
    go_to(page, "管理")
    page.get_by_role("tab", name="会议大屏链接").click()
    page.get_by_label("说明").fill("浏览器测试联席会议")
    page.get_by_role("button", name="生成链接").click()
    page.get_by_text("链接只在此显示这一次").wait_for(timeout=30_000)
    wait_idle(page)
    address = page.locator("[data-testid='stCode'] code").inner_text().strip()
    assert not exceptions(page)
    page.context.close()
    return address


def projector(browser, address: str, requests: list[str]):
    context = browser.new_context(viewport=PROJECTOR, locale="zh-CN")
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    page.goto(address)
    wait_idle(page)
    page.wait_for_selector("canvas", timeout=30_000)
    page.wait_for_timeout(1500)  # deck.gl draws after its first frame
    return page


def assert_meeting_screen(page) -> None:
    main = page.inner_text("[data-testid='stMain']")
    assert "联席会议大屏" in main and not exceptions(page)
    assert page.get_by_label("密码", exact=True).count() == 0          # not the login
    assert page.locator("[data-testid='stSidebarNav']").count() == 0    # no other page
    assert page.locator("[data-testid='stDownloadButton']").count() == 0
    assert page.locator("[data-testid='stMetric']").count() >= 9        # the cards
    assert "前5名" in main and "后5名" in main                          # the ranking
    assert "需要立即处理" in main and "无人监护" in main                  # the alerts
    assert "详见总览页" not in main
    assert page.get_by_text("Page not found").count() == 0


def lowest_element(page) -> float:
    return page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        "[data-testid='stMainBlockContainer'] [data-testid='stElementContainer']")]
        .map(e => e.getBoundingClientRect().bottom))""")


def test_a_meeting_link_keeps_the_screen_up_until_it_is_revoked(browser, url, engine):
    address = make_link_on_the_admin_page(browser, url)
    assert address.startswith(f"{url}/?meeting=")
    token = parse_qs(urlparse(address).query)["meeting"][0]
    with session_maker(engine)() as session:
        [link] = session.scalars(select(MeetingLink).where(
            MeetingLink.token_hash == meeting_links.token_hash(token))).all()
    assert link.note == "浏览器测试联席会议" and link.created_by == "admin"

    requests: list[str] = []
    page = projector(browser, address, requests)
    assert_meeting_screen(page)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "meeting_link.png"))
    # One projector screen: nothing to scroll, neither the document nor Streamlit's main block
    # (which is where Streamlit scrolls), and every element inside the 1080 pixels.
    assert page.evaluate("document.scrollingElement.scrollHeight") <= PROJECTOR["height"]
    main = page.locator("[data-testid='stMain']")
    assert main.evaluate("m => m.scrollHeight - m.clientHeight") <= 1
    assert lowest_element(page) <= PROJECTOR["height"]
    for part in ("[data-testid='stMetric']", "[data-testid='stTable']", "canvas",
                 "[data-testid='stAlertContainer']"):
        box = page.locator(part).last.bounding_box()
        assert box and box["y"] + box["height"] <= PROJECTOR["height"], part

    # F5 on the meeting PC: still the meeting screen, the token still in the address.
    page.reload()
    wait_idle(page)
    page.wait_for_selector("canvas", timeout=30_000)
    assert parse_qs(urlparse(page.url).query)["meeting"] == [token]
    assert_meeting_screen(page)

    # Another page's address with the token opens the meeting screen, nothing else.
    other = projector(browser, f"{url}/admin?meeting={token}", requests)
    assert_meeting_screen(other)
    assert "审计日志" not in other.inner_text("body")
    other.screenshot(path=str(SCREENSHOTS / "meeting_link_other_page.png"))
    other.context.close()

    # Three openings (first, F5, the other address): one audit row each, however many times
    # the screens refreshed meanwhile.
    page.wait_for_timeout(2 * int(REFRESH_SECONDS) * 1000)
    opened = [r for r in audit_rows(engine, meeting_links.OPEN) if r.object_id == str(link.id)]
    assert len(opened) == 3

    # Revoked: the screen's next refresh shows why, and no data.
    meeting_links.revoke(engine, Actor.system(), link.id)
    page.get_by_text("会议大屏链接已被系统管理员撤销").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.locator("[data-testid='stMetric']").count() == 0 and not exceptions(page)
    assert page.get_by_label("密码", exact=True).count() == 0
    page.screenshot(path=str(SCREENSHOTS / "meeting_link_revoked.png"))
    assert_all_local(requests)
    page.context.close()


def test_a_leaders_meeting_screen_fits_the_projector_too(browser, url):
    """Logged in, the sidebar folded (its filters drive the screen): the same one screen."""
    page = open_page(browser, url, [])
    log_in(page, "leader")
    go_to(page, "会议大屏")
    as_projector(page)
    page.wait_for_selector("canvas", timeout=30_000)
    page.wait_for_timeout(1500)
    assert not exceptions(page)
    main = page.locator("[data-testid='stMain']")
    assert main.evaluate("m => m.scrollHeight - m.clientHeight") <= 1
    assert lowest_element(page) <= PROJECTOR["height"]
    page.screenshot(path=str(SCREENSHOTS / "meeting_logged_in.png"))
    page.context.close()
