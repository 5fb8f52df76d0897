"""审核 in Chromium against `streamlit run`: a keystroke never approves. A reviewer writing
a comment presses Ctrl+Enter (which in a form submits its first button, and 审核通过 used to
be that button): the submission is still 已提交 in the database. Approving takes the
confirmation dialog, which names the township and the month; then it is 已审核.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from liushou_dash.core.db import make_engine
from liushou_dash.core.models import APPROVED, SUBMITTED, Submission
from liushou_dash.core.periods import period_label
from liushou_dash.ingest import ingest_file
from liushou_dash.workflow import uploads
from tests.browser.test_browser import (  # noqa: F401  (fixtures, one server for this module)
    browser,
    demo_db,
    exceptions,
    requests,
    server,
    wait_idle,
)
from tests.browser.test_browser_accounts import (
    approve_confirmed,
    open_month,
    open_review,
)
from tests.fixtures import TOWNSHIP, school_frame
from tests.returns import workbook

pytestmark = pytest.mark.browser
PERIOD = uploads.open_period()
COMMENT = "审核意见（退回时必填，填报员会看到）"


@pytest.fixture(scope="module")
def engine(demo_db):
    engine = make_engine(demo_db)
    yield engine
    engine.dispose()


@pytest.fixture
def waiting(engine) -> int:
    """A clerk's submission of the open month, awaiting review."""
    open_month(engine)
    report = ingest_file(engine, workbook({"schools": school_frame(engine, TOWNSHIP)}),
                         "张家湾镇月报.xlsx", TOWNSHIP, PERIOD, username="clerk108")
    assert report.accepted, report.errors
    return report.submission_id


def status(engine, submission_id: int) -> str:
    with Session(engine) as session:
        return session.get(Submission, submission_id).status


def test_ctrl_enter_in_the_comment_does_not_approve(server, browser, requests, engine,
                                                    waiting):
    page = open_review(browser, server, requests, waiting)

    box = page.get_by_label(COMMENT)
    box.fill("第3行走访人数有误。")
    box.press("Control+Enter")
    # the box has sent the text (its hint "Press Ctrl+Enter to apply" goes) and the page ran
    expect(page.get_by_test_id("InputInstructions")).not_to_contain_text("to apply")
    wait_idle(page)

    assert status(engine, waiting) == SUBMITTED
    assert page.get_by_role("dialog").count() == 0 and not exceptions(page)
    assert box.input_value() == "第3行走访人数有误。"

    asked = approve_confirmed(page, "review_confirm")

    assert f"确认审核通过：张家湾镇 {period_label(PERIOD)}？" in asked
    assert "审核通过后该月锁定，乡镇不能再修改" in asked
    assert "审核意见：第3行走访人数有误。" in asked and "。。" not in asked
    assert "已审核通过" in page.inner_text("body") and not exceptions(page)
    assert status(engine, waiting) == APPROVED
    page.context.close()
