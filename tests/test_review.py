"""What a reviewer sees changed (liushou_dash.review), without Streamlit."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from liushou_dash import catalog
from liushou_dash.core.db import transaction
from liushou_dash.ingest.store import store_submission
from liushou_dash.workflow import changes, review
from tests.fixtures import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    audit_rows,
    funding_frame,
    home_frame,
    make_user,
    school_frame,
)

PERIOD, LAST_MONTH = "2026-10", "2026-09"


def submit(engine, frames, period=PERIOD, township=TOWNSHIP, warnings=()) -> int:
    with transaction(engine) as session:
        return store_submission(session, township_code=township, period=period,
                                frames=frames, username="clerk108",
                                warnings=list(warnings)).id


def frames(engine, seed=0) -> dict[str, pd.DataFrame]:
    return {"schools": school_frame(engine, seed=seed), "homes": home_frame(engine),
            "funding": funding_frame()}


@pytest.fixture
def staff(engine):
    return make_user(engine, "staffx", "staff")


def test_cell_level_diff_names_exactly_the_changed_cells(engine, staff):
    first = frames(engine)
    second = {key: frame.copy() for key, frame in first.items()}
    second["schools"].loc[1, "mentors"] += 2
    second["schools"].loc[4, "note"] = "补报"
    submit(engine, first)
    changed = submit(engine, second)

    diff = changes.review_of(engine, staff, changed).against_previous

    school = second["schools"].loc
    cells = diff.sections["学校月报：有变化的单元格"]
    assert cells.to_dict("records") == [
        {"代码": school[1, "school_code"], "名称": school[1, "school_name"], "项目": "帮扶责任人",
         "原值": str(first["schools"].loc[1, "mentors"]), "新值": str(school[1, "mentors"])},
        {"代码": school[4, "school_code"], "名称": school[4, "school_name"], "项目": "备注",
         "原值": "", "新值": "补报"}]
    assert list(diff.sections) == ["学校月报：有变化的单元格"]  # nothing else changed
    mentors = diff.totals.set_index("项目").loc["帮扶责任人"]
    assert mentors["新值"] - mentors["原值"] == mentors["变化"] == 2


def test_added_and_removed_schools_and_homes_and_changed_homes(engine, staff):
    first = frames(engine)
    second = {key: frame.copy() for key, frame in first.items()}
    dropped = second["schools"].iloc[-1]
    second["schools"] = second["schools"].iloc[:-1]
    second["homes"] = second["homes"].iloc[:1].assign(books=900)
    new_home = first["homes"].iloc[[0]].assign(home_code="H-NEW", name="新建之家")
    second["homes"] = pd.concat([second["homes"], new_home], ignore_index=True)
    submit(engine, first)
    changed = submit(engine, second)

    sections = changes.review_of(engine, staff, changed).against_previous.sections

    assert sections["学校月报：减少的学校"].to_dict("records") == [
        {"代码": dropped["school_code"], "名称": dropped["school_name"]}]
    assert sections["留守儿童之家：新增"]["代码"].tolist() == ["H-NEW"]
    assert sections["留守儿童之家：减少"]["代码"].tolist() == [first["homes"].loc[1, "home_code"]]
    assert sections["留守儿童之家：有变化的单元格"][["项目", "原值", "新值"]].values.tolist() == [
        ["图书册数", "500", "900"]]
    assert "学校月报：新增的学校" not in sections


def test_new_ledger_rows_counting_duplicates(engine, staff):
    ledger = funding_frame()
    repeated = pd.concat([ledger, ledger.iloc[[1]], ledger.iloc[[1]]], ignore_index=True)
    submit(engine, {"funding": ledger})
    changed = submit(engine, {"funding": repeated})

    sections = changes.review_of(engine, staff, changed).against_previous.sections

    added = sections["资金台账：新增的记录"]
    assert len(added) == 2  # the same expenditure entered twice more: two new rows
    assert set(added["凭证号"]) == {"ZC-001"} and set(added["金额（元）"]) == {"12345.67"}
    assert "资金台账：删除的记录" not in sections


def test_comparison_with_last_month_and_nothing_to_compare(engine, staff):
    only = submit(engine, frames(engine, seed=1), period=LAST_MONTH)
    assert changes.review_of(engine, staff, only).against_previous is None
    assert changes.review_of(engine, staff, only).against_last_month is None

    this_month = submit(engine, frames(engine, seed=2),
                        warnings=[{"code": "W04", "message": "W04 有无人监护的留守儿童"}])
    shown = changes.review_of(engine, staff, this_month)

    assert shown.against_previous is None
    assert LAST_MONTH in shown.against_last_month.base_label
    left = shown.against_last_month.totals.set_index("项目").loc["留守儿童数"]
    assert (left["原值"], left["新值"]) == (school_frame(engine, seed=1).left_behind.sum(),
                                         school_frame(engine, seed=2).left_behind.sum())
    assert shown.warnings.to_dict("records") == [{"代码": "W04", "说明": "W04 有无人监护的留守儿童"}]
    assert shown.submission["township_code"] == TOWNSHIP


def test_identical_resubmission_is_unchanged(engine, staff):
    submit(engine, frames(engine))
    again = submit(engine, frames(engine))
    assert changes.review_of(engine, staff, again).against_previous.unchanged


@pytest.mark.parametrize("role, township", [("clerk", TOWNSHIP), ("leader", None)])
def test_only_reviewers_see_the_comparison_and_refusals_are_audited(engine, role, township):
    submission = submit(engine, frames(engine))
    actor = make_user(engine, "someone", role, township)

    with pytest.raises(PermissionError):
        changes.review_of(engine, actor, submission)

    [denied] = audit_rows(engine, "denied", "someone")
    assert denied.object_id == str(submission)


def test_month_history_says_what_may_be_done(engine, staff):
    first = submit(engine, frames(engine, seed=1))
    second = submit(engine, frames(engine, seed=2))
    submit(engine, frames(engine), township=OTHER_TOWNSHIP, period=LAST_MONTH)

    month = changes.month_history(engine, staff, TOWNSHIP, PERIOD)
    assert (month.current_id, month.approved, list(month.earlier)) == (second, False, [first])
    assert month.table["当前有效"].tolist() == ["是", "否"]   # never blank

    review.approve(engine, staff, second)
    assert changes.month_history(engine, staff, TOWNSHIP, PERIOD).approved
    assert changes.periods_of(engine, staff, TOWNSHIP) == [PERIOD]
    assert changes.periods_of(engine, staff, OTHER_TOWNSHIP) == [LAST_MONTH]


def test_shown_values_read_as_a_clerk_wrote_them():
    assert [changes.shown(v) for v in (True, False, 3.0, 2.5, None, float("nan"),
                                      dt.date(2026, 3, 1))] == [
        catalog.YES, catalog.NO, "3", "2.5", "", "", "2026-03-01"]


def test_the_approval_question_names_the_township_and_month(engine, staff):
    summary = changes.review_of(engine, staff, submit(engine, frames(engine))).submission

    asked = changes.approval_question(summary, "数据无误。")
    assert asked.startswith("确认审核通过：张家湾镇 2026年10月？审核通过后该月锁定，乡镇不能再修改。")
    assert asked.endswith("审核意见：数据无误。") and "。。" not in asked
    assert changes.approval_question(summary, "  ").endswith("未填写审核意见。")


@pytest.mark.parametrize("typed, shown", [("数据有误", "数据有误。"), ("数据有误。", "数据有误。"),
                                          ("请核对！", "请核对！"), (" 请核对 ", "请核对。")])
def test_a_comment_closes_with_one_mark(typed, shown):
    assert review.comment_sentence(typed) == shown
