"""Accounts, upload, review and administration in a real browser (Chromium via Playwright
against `streamlit run`, on its own copy of the demo database): the demo accounts log in, a
clerk uploads real files through the page, the county approves, a hostile school name stays
text, the server's hardening settings hold, and a meeting screen left open shows the login
once its session ends elsewhere. Screenshots land in tests/screenshots/.
"""
from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import openpyxl
import pytest

from liushou_dash.core.actors import ROLE_LABELS, Actor
from liushou_dash.core.db import make_engine, session_maker
from liushou_dash.core.models import APPROVED, Submission
from liushou_dash.ingest import ingest_file
from liushou_dash.ingest.handback import ERROR_FILL
from liushou_dash.web import views
from liushou_dash.web.navigation import pages_for
from liushou_dash.workflow import accounts, auth, review, uploads
from tests.browser.test_browser import (  # noqa: F401  (fixtures, one server for this module)
    assert_all_local,
    browser,
    demo_db,
    exceptions,
    go_to,
    log_in,
    open_page,
    streamlit_server,
    requests,
    screenshot,
    server,
    wait_idle,
)
from tests.fixtures import TOWNSHIP, school_frame
from tests.returns import workbook

pytestmark = pytest.mark.browser
DEMO_USERS = {"admin": "admin", "leader": "leader", "staff": "staff", "clerk108": "clerk"}
XSS = "<script>alert(1)</script>"
PERIOD = uploads.open_period()


@pytest.fixture(scope="module")
def engine(demo_db):
    engine = make_engine(demo_db)
    yield engine
    engine.dispose()


def nav_titles(page) -> list[str]:
    links = page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()
    return [text.strip().split("\n")[-1].strip() for text in links]


def click_button(page, text: str) -> None:
    """A button by its text (its accessible name also holds its icon's ligature)."""
    page.get_by_role("button").filter(has_text=text).first.click()
    page.wait_for_timeout(300)
    wait_idle(page)


def open_review(browser, server, requests, submission_id: int):
    """A new session of the county's reviewer on 审核, with `submission_id` chosen."""
    page = open_page(browser, server, requests)
    log_in(page, "staff")
    go_to(page, "审核")
    page.get_by_role("combobox", name="选择要审核的提交").click()
    page.get_by_role("option").filter(has_text=f"第 {submission_id} 号提交").click()
    wait_idle(page)
    return page


def approve_confirmed(page, picture: str | None = None) -> str:
    """Press 审核通过 and then 确认 in the dialog it opens (photographed as `picture`): the
    dialog's text."""
    click_button(page, "审核通过")
    dialog = page.get_by_role("dialog")
    asked = dialog.inner_text()
    if picture:
        screenshot(page, picture)
    dialog.get_by_role("button").filter(has_text="确认").click()
    page.wait_for_timeout(300)
    wait_idle(page)
    return asked


def upload_file(page, name: str, data: bytes, index: int = 0) -> None:
    page.locator("[data-testid='stFileUploaderDropzoneInput']").nth(index).set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": data})
    page.wait_for_timeout(500)
    wait_idle(page)


def uploader_words(page) -> list[list[str]]:
    """What each of the uploader's own words shows: (its font size, the text put over it)."""
    return page.evaluate("""() => [...document.querySelectorAll(
        "[data-testid='stFileUploaderDropzone'] [data-testid='stBaseButton-secondary'] p, " +
        "[data-testid='stFileUploaderDropzoneInstructions'] span")].map(
        e => [getComputedStyle(e).fontSize, getComputedStyle(e, '::after').content])""")


def download(page, text: str) -> bytes:
    with page.expect_download() as started:
        page.get_by_role("button").filter(has_text=text).first.click()
    return open(started.value.path(), "rb").read()


def test_each_demo_account_logs_in_sees_its_pages_and_logs_out(server, browser, requests):
    for username, role in DEMO_USERS.items():
        page = open_page(browser, server, requests)
        assert "示例数据" in page.inner_text("body") and "clerk108" in page.inner_text("body")
        screenshot(page, "accounts_login")
        log_in(page, username)

        expected = [spec.title for specs in pages_for(role).values() for spec in specs]
        # Streamlit lists the pages only when there is more than one (a clerk has one).
        assert nav_titles(page) == (expected if len(expected) > 1 else []), username
        assert expected[0] in page.inner_text("[data-testid='stMain']"), username
        assert ROLE_LABELS[role] in page.locator("[data-testid='stSidebar']").inner_text()
        screenshot(page, f"accounts_{role}")
        click_button(page, "退出登录")
        assert page.get_by_role("button", name="登录").count() == 1
        assert "已退出登录" in page.inner_text("body")
        page.context.close()
    assert_all_local(requests)


def open_month(engine) -> None:
    """The month the clerk uploads must not be locked by the demo's own approvals."""
    month = review.submissions(engine, Actor.system(), TOWNSHIP, PERIOD)
    if len(month[month["is_current"] & (month["status"] == APPROVED)]):
        review.unlock(engine, Actor.system(), TOWNSHIP, PERIOD)


def test_a_clerk_uploads_real_files_and_the_county_approves(server, browser, requests,
                                                            engine):
    open_month(engine)
    good = school_frame(engine, TOWNSHIP)
    bad = good.copy()
    bad.loc[1, "boys"] += 1
    bad_file = workbook({"schools": bad})
    expected = ingest_file(engine, bad_file, "x.xlsx", TOWNSHIP, PERIOD, dry_run=True)

    page = open_page(browser, server, requests)
    log_in(page, "clerk108")
    go_to(page, "数据上报")
    template = openpyxl.load_workbook(io.BytesIO(download(page, "下载本月模板")))
    assert "学校月报" in template.sheetnames
    # Streamlit's "Upload" and "20MB per file" are hidden under Chinese words
    assert uploader_words(page) == [["0px", f'"{views.UPLOAD_BUTTON}"'],
                                    ["0px", f'"{views.DROP_HINT}"']]

    upload_file(page, "张家湾镇月报.xlsx", bad_file)
    screenshot(page, "upload_refused")
    body = page.inner_text("body")
    assert "未通过校验" in body and "E07" in page.content() and not exceptions(page)
    marked = openpyxl.load_workbook(io.BytesIO(download(page, "下载已标注问题的文件")))
    red = {c.coordinate for row in marked["学校月报"].iter_rows() for c in row
           if c.fill.fill_type == "solid" and c.fill.fgColor.rgb == ERROR_FILL.fgColor.rgb}
    assert red == {e.cell for e in expected.errors}

    upload_file(page, "张家湾镇月报.xlsx", workbook({"schools": good}))
    assert "校验通过" in page.inner_text("body")
    click_button(page, "确认提交")
    assert "等待县级审核" in page.inner_text("body")
    screenshot(page, "upload_stored")
    with session_maker(engine)() as session:
        stored = session.query(Submission).filter_by(
            township_code=TOWNSHIP, period=PERIOD, is_current=True).one()
    assert stored.username == "clerk108" and stored.file_name == "张家湾镇月报.xlsx"
    page.context.close()

    page = open_review(browser, server, requests, stored.id)
    screenshot(page, "review")
    page.get_by_label("审核意见（退回时必填，填报员会看到）").fill("数据无误")
    approve_confirmed(page)
    assert "已审核通过" in page.inner_text("body")
    with session_maker(engine)() as session:
        assert session.get(Submission, stored.id).status == APPROVED
    assert_all_local(requests)
    page.context.close()


def test_a_school_named_like_a_script_is_shown_as_text(server, browser, requests):
    page = open_page(browser, server, requests)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, "admin")
    go_to(page, "管理")
    page.get_by_role("tab", name="主数据").click()
    csv = f"code,name,township_code,type\n5205259999,{XSS},520525001,小学\n"
    upload_file(page, "schools.csv", csv.encode("utf-8-sig"))
    click_button(page, "导入主数据")
    page.get_by_role("tab", name="主数据").click()
    page.wait_for_timeout(500)

    assert "学校 1 所" in page.inner_text("body")
    assert page.get_by_text(XSS, exact=True).count() >= 1      # drawn as the text it is
    assert page.locator("script", has_text="alert(1)").count() == 0
    assert "<script>alert(1)" not in page.content() and not dialogs
    screenshot(page, "admin_xss")
    for tab, name in (("用户", "admin_users"), ("审计日志", "admin_audit")):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(500)
        assert not exceptions(page)
        screenshot(page, name)
    assert_all_local(requests)
    page.context.close()


def test_the_servers_hardening_settings_hold(server, browser, requests):
    refused = urllib.request.Request(f"{server}/_stcore/upload_file/session/file",
                                     data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as error:   # no XSRF token, no upload
        urllib.request.urlopen(refused, timeout=10)
    assert error.value.code == 403

    page = open_page(browser, server, requests)
    log_in(page, "clerk108")
    go_to(page, "数据上报")
    upload_file(page, "太大.xlsx", b"0" * (20 * 1024 * 1024 + 1024))
    screenshot(page, "upload_too_large")
    assert "File must be 20.0MB or smaller." in page.content()     # maxUploadSize = 20
    assert "校验完成" not in page.inner_text("body")                 # never reached the app
    assert page.locator("[data-testid='stAppDeployButton']").count() == 0   # toolbar minimal
    assert_all_local(requests)   # no usage statistics, no CDN
    page.context.close()


def test_a_page_address_opened_first_on_a_fresh_server_asks_for_a_login(demo_db, browser):
    with streamlit_server(demo_db) as url:
        page = open_page(browser, f"{url}/children", [])
        body = page.inner_text("body")
        page.context.close()
    assert "用户名" in body and "留守儿童数" not in body, json.dumps(body[:200])


MEETING_PASSWORD = "Lsz-meeting-2026"


def meeting_screen(browser, url: str, username: str):
    """A leader's meeting screen, logged in through the page and left open."""
    page = open_page(browser, url, [])
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(MEETING_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("退出登录").first.wait_for(timeout=60_000)
    wait_idle(page)
    go_to(page, "会议大屏")
    assert "联席会议大屏" in page.inner_text("[data-testid='stMain']")
    return page


def test_a_meeting_screen_left_open_shows_the_login_once_its_session_ends(demo_db, browser,
                                                                         engine):
    """Nobody touches the screens: their fragment's timer (one second on this server) is
    what finds the password reset and the deactivation, and shows the login."""
    for name in ("meeting_a", "meeting_b"):
        accounts.create_user(engine, Actor.system(), name, "leader", MEETING_PASSWORD)
    with streamlit_server(demo_db, LIUSHOU_MEETING_REFRESH_SECONDS="1") as url:
        reset, deactivated = [meeting_screen(browser, url, name)
                              for name in ("meeting_a", "meeting_b")]
        accounts.reset_password(engine, Actor.system(), "meeting_a", "Lsz-meeting-new-2026")
        accounts.set_active(engine, Actor.system(), "meeting_b", False)
        for page, why, name in ((reset, auth.SESSION_ENDED, "reset"),
                                (deactivated, auth.ACCOUNT_GONE, "deactivated")):
            page.get_by_role("button", name="登录", exact=True).wait_for(timeout=30_000)
            wait_idle(page)
            assert why in page.inner_text("body") and not exceptions(page)
            assert "联席会议大屏" not in page.inner_text("body")
            screenshot(page, f"meeting_ended_{name}")
            page.context.close()
