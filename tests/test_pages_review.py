"""审核 through AppTest: the queue and its comparisons, approve (lock), return, unlock and
roll back, each checked in the database and the audit trail."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from liushou_dash.core.db import session_maker
from liushou_dash.core.models import APPROVED, RETURNED, SUBMITTED, Submission
from liushou_dash.core.periods import period_label
from liushou_dash.workflow import review, uploads
from tests.apptest import app_on, fine, press, widget  # noqa: F401
from tests.fixtures import TOWNSHIP, audit_rows, make_user, school_frame
from tests.returns import workbook

PERIOD = uploads.open_period()
LAST_MONTH = uploads.recent_periods()[1]


@pytest.fixture
def people(engine):
    return {"staff": make_user(engine, "staffx", "staff"),
            "clerk": make_user(engine, "clerk108", "clerk", TOWNSHIP)}


@pytest.fixture
def page(engine, people, app_on):
    """The review page as the county's reviewer sees it."""
    return lambda: app_on(engine, people["staff"], "app_pages/review.py")


def submit(engine, people, frame=None, period=PERIOD) -> int:
    frame = school_frame(engine) if frame is None else frame
    report = uploads.upload(engine, people["clerk"], TOWNSHIP, period,
                            workbook({"schools": frame}), "月报.xlsx", dry_run=False)
    assert report.accepted, report.errors
    return report.submission_id


def status(engine, submission_id) -> tuple[str, bool]:
    with session_maker(engine)() as session:
        row = session.get(Submission, submission_id)
        return row.status, row.is_current


def choose_month(app: AppTest, township: str = TOWNSHIP, period: str = PERIOD) -> AppTest:
    widget(app.selectbox, "乡镇").set_value(township)
    fine(app.run())
    widget(app.selectbox, "月份").set_value(period)
    return fine(app.run())


def test_the_queue_shows_what_changed_since_the_previous_submission(engine, people, page):
    earlier_month = submit(engine, people, period=LAST_MONTH)
    first = school_frame(engine)
    submit(engine, people, first)
    second = first.copy()
    second.loc[0, "psych_teachers"] = 3
    latest = submit(engine, people, second)

    app = page()

    queue = app.dataframe[0].value   # current submissions only, oldest first
    assert queue["编号"].tolist() == [earlier_month, latest]
    widget(app.selectbox, "选择要审核的提交").set_value(latest)
    fine(app.run())
    assert any("学校月报：有变化的单元格" in m.value for m in app.markdown)
    changes = [d.value for d in app.dataframe if "原值" in d.value.columns and "代码" in
               d.value.columns]
    assert changes[0][["代码", "项目", "原值", "新值"]].values.tolist() == [
        [first.loc[0, "school_code"], "心理辅导教师", "1", "3"]]
    assert [t.label for t in app.tabs][:2] == ["与本月上次提交比较", "与上月比较"]


COMMENT = "审核意见（退回时必填，填报员会看到）"
APPROVE = "审核通过（锁定该月数据）"


def asked(app: AppTest) -> str:
    """The confirmation's question (the dialog's one text), after pressing 审核通过."""
    press(app, APPROVE)
    [question] = [m.value for m in app.markdown if "确认审核通过" in m.value]
    return question


def test_approve_locks_the_month_only_once_confirmed(engine, people, page):
    submission = submit(engine, people)
    app = page()

    widget(app.text_area, COMMENT).input("数据无误。")
    question = asked(app)

    assert "张家湾镇" in question and period_label(PERIOD) in question
    assert "数据无误。" in question and "。。" not in question
    assert status(engine, submission) == (SUBMITTED, True)   # asked, not yet recorded
    press(app, "确认")

    assert status(engine, submission) == (APPROVED, True)
    assert "已审核通过" in app.success[0].value
    assert any("没有待审核" in i.value for i in app.info)
    assert not [b for b in app.button if b.label == "确认"]          # the dialog is gone
    [approved] = audit_rows(engine, "approve", "staffx")
    assert approved.after_id == submission
    assert json.loads(approved.detail)["comment"] == "数据无误。"
    locked = uploads.upload(engine, people["clerk"], TOWNSHIP, PERIOD,
                            workbook({"schools": school_frame(engine)}), "again.xlsx", False)
    assert [e.code for e in locked.errors] == ["E15"]


def test_cancelling_the_confirmation_leaves_the_submission_waiting(engine, people, page):
    submission = submit(engine, people)
    app = page()

    asked(app)
    press(app, "取消")

    assert status(engine, submission) == (SUBMITTED, True)
    assert not audit_rows(engine, "approve", "staffx")
    assert not [b for b in app.button if b.label == "确认"]
    assert widget(app.button, APPROVE)                       # still in the queue
    fine(app.run())                                          # and a later run asks nothing
    assert not [m for m in app.markdown if "确认审核通过" in m.value]


def test_the_comment_box_is_in_no_form(engine, people, page):
    """Ctrl+Enter in a form submits it with its first button; outside any form it only
    keeps the text. No decision on this page may be a form's submit button."""
    submit(engine, people)
    app = page()

    assert not widget(app.text_area, COMMENT).form_id
    assert not [b.label for b in app.main.button if b.proto.is_form_submitter]


def test_return_needs_a_comment_which_the_clerk_then_sees(engine, people, page):
    submission = submit(engine, people)
    app = page()

    press(app, "退回乡镇修改")
    assert review.RETURN_NEEDS_COMMENT in app.error[0].value
    assert status(engine, submission) == (SUBMITTED, True)
    with pytest.raises(ValueError, match="必须填写退回意见"):   # the core refuses it too
        review.return_submission(engine, people["staff"], submission, "  ")

    widget(app.text_area, COMMENT).input("第3行走访人数有误。")
    press(app, "退回乡镇修改")

    assert status(engine, submission) == (RETURNED, True)
    assert not app.error                                    # the refusal is not left shown
    assert "已退回" in app.success[0].value
    notice = uploads.period_notice(engine, people["clerk"], TOWNSHIP, PERIOD)
    assert "退回意见：第3行走访人数有误。请修改后重新上传" in notice and "。。" not in notice


def test_a_refusal_is_gone_once_the_next_action_succeeds(engine, people, page):
    submission = submit(engine, people)
    app = page()

    press(app, "退回乡镇修改")
    assert app.error
    asked(app)
    assert not app.error                                   # asking is already a new run
    press(app, "确认")

    assert status(engine, submission) == (APPROVED, True)
    assert not app.error and "已审核通过" in app.success[0].value


def test_unlock_an_approved_month(engine, people, page):
    submission = submit(engine, people)
    review.approve(engine, people["staff"], submission)
    app = choose_month(page())

    assert any("解锁后乡镇可以重新上传" in c.value for c in app.caption)
    press(app, "解锁该月数据")

    assert status(engine, submission) == (SUBMITTED, True)
    assert "已解锁" in app.success[0].value
    assert audit_rows(engine, "unlock", "staffx")[0].object_id == f"{TOWNSHIP}/{PERIOD}"


def test_roll_back_to_an_earlier_submission(engine, people, page):
    first = submit(engine, people, school_frame(engine, seed=1))
    second = submit(engine, people, school_frame(engine, seed=2))
    app = choose_month(page())

    history = app.dataframe[-1].value
    assert history[["编号", "当前有效"]].values.tolist() == [[second, "是"], [first, "否"]]
    widget(app.selectbox, "回退到较早的提交（成为该月当前有效数据）").set_value(first)
    press(fine(app.run()), "回退")

    assert status(engine, first) == (SUBMITTED, True)
    assert status(engine, second) == (SUBMITTED, False)
    [rolled] = audit_rows(engine, "roll_back", "staffx")
    assert (rolled.before_id, rolled.after_id) == (second, first)


def test_roll_back_waits_for_an_approved_month_to_be_unlocked(engine, people, page):
    first = submit(engine, people, school_frame(engine, seed=1))
    second = submit(engine, people, school_frame(engine, seed=2))
    review.approve(engine, people["staff"], second)

    app = choose_month(page())

    assert widget(app.button, "回退").disabled
    with pytest.raises(ValueError, match="请先解锁"):
        review.roll_back(engine, people["staff"], first)


def test_a_reviewer_is_not_offered_their_own_submission(engine, people, page):
    """Maker-checker on the page: the reviewer's own upload is listed but has no approve
    or return button, and says why."""
    own = uploads.upload(engine, people["staff"], TOWNSHIP, PERIOD,
                         workbook({"schools": school_frame(engine)}), "月报.xlsx", dry_run=False)
    app = page()

    assert app.dataframe[0].value["编号"].tolist() == [own.submission_id]
    labels = {b.label for b in app.button}
    assert not labels & {APPROVE, "退回乡镇修改"}
    assert any("不能审核本人提交的数据" in i.value for i in app.info)
    assert status(engine, own.submission_id) == (SUBMITTED, True)
