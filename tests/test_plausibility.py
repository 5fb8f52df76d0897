"""Plausibility checks that suit small numbers: month-to-month change past an absolute AND a
relative threshold, students drifting from the enrolment on record, a return copied forward."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from liushou_dash import catalog
from liushou_dash.catalog.rules import load_rules
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import AuditEntry, School, Submission
from liushou_dash.ingest import plausibility
from liushou_dash.ingest.store import store_submission
from liushou_dash.reports.export import export_table
from liushou_dash.workflow import progress, uploads, verification
from tests.apptest import app_on, fine, press, table_with, widget  # noqa: F401
from tests.demo_db import LATEST, PREVIOUS, demo_engine  # noqa: F401  (a fixture)
from tests.fixtures import TOWNSHIP, audit_rows, make_user, school_frame
from tests.returns import workbook
from tests.test_ingest import with_left_behind
from tests.test_metrics import submit

RULES = load_rules()
STOCKS = plausibility.STOCK_KEYS


def school(code: str, township: str = "T1", **counts) -> dict:
    """One school row: every count 0 but students, unless given."""
    row = {"township_code": township, "township_name": f"{township}镇", "school_code": code,
           "school_name": f"{code}小学", **{key: 0 for key in catalog.SCHOOL_COUNT_KEYS}}
    row["students"] = 400
    return row | counts


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def checks(found) -> list[tuple]:
    return [(f.school_code, f.check, f.column) for f in found]


# --- Month-to-month change -----------------------------------------------------------------

@pytest.mark.parametrize("before, now, flagged", [
    (12, 16, False),     # +33% but 4 children: a village school's ordinary month
    (500, 560, False),   # 60 children but +12%: a big school's ordinary churn
    (40, 60, True),      # +20 and +50%
    (60, 40, True),      # -20 and -33%
    (0, 15, True),       # from nothing
    (40, 49, False),     # +22% but 9 children
])
def test_a_change_is_flagged_only_past_both_thresholds(before, now, flagged):
    found = plausibility.find(frame(school("S1", left_behind=now, visited=1)),
                              frame(school("S1", left_behind=before)), {}, RULES)
    assert checks(found) == ([("S1", plausibility.CHANGE, "left_behind")] if flagged else [])


def test_the_reason_gives_both_months_and_the_change():
    found = plausibility.find(frame(school("S1", archived=60, visited=1)),
                              frame(school("S1", archived=40)), {}, RULES)
    reason = found[0].reason
    assert "已建档由上月40人变为本月60人" in reason and "增加20人" in reason and "+50%" in reason
    assert f"超过{RULES.change_abs}人且超过{RULES.change_rel:.0%}" in reason
    assert (found[0].value, found[0].reference) == (60, 40)


def test_the_rule_is_the_same_over_a_whole_sheet():
    """The upload's W03 applies `changed` to arrays: the same answers as school by school."""
    before, now = np.array([3, 200, 12, 500, 40, 0]), np.array([5, 120, 16, 560, 60, 15])
    assert plausibility.changed(now, before, RULES).tolist() == [
        plausibility.changed(float(n), float(b), RULES) for n, b in zip(now, before)] == [
        False, True, False, False, True, True]
    assert plausibility.change_reason("left_behind", 120, 200, RULES).startswith(
        "留守儿童数由上月200人变为本月120人，减少80人（-40%）")


def test_monthly_flows_may_swing():
    found = plausibility.find(frame(school("S1", visited=90, parent_contact=80, dropouts=12)),
                              frame(school("S1", visited=10, parent_contact=5)), {}, RULES)
    assert found == []
    assert not {"visited", "parent_contact", "dropouts", "safety_incidents"} & set(STOCKS)


def test_a_school_new_this_month_is_not_compared():
    assert plausibility.find(frame(school("S2", left_behind=90)), frame(school("S1")), {},
                             RULES) == []


# --- Enrolment on record ---------------------------------------------------------------------

@pytest.mark.parametrize("students, enrolled, flagged", [
    (300, 200, True),      # +100, +50%
    (1000, 950, False),    # 50 children but 5%
    (20, 5, False),        # +300% but 15 children
    (140, 200, True),      # -60, -30%
])
def test_students_drifting_from_the_enrolment_on_record(students, enrolled, flagged):
    found = plausibility.find(frame(school("S1", students=students)), frame(), {"S1": enrolled},
                              RULES)
    assert checks(found) == ([("S1", plausibility.ENROLMENT, "students")] if flagged else [])
    if flagged:
        assert f"学籍登记{enrolled}人" in found[0].reason


def test_no_enrolment_on_record_no_check():
    assert plausibility.find(frame(school("S1", students=900)), frame(), {}, RULES) == []


# --- Copied forward --------------------------------------------------------------------------

def test_a_big_school_identical_to_last_month_was_copied():
    row = school("S1", left_behind=RULES.copied_min_left_behind, visited=30)
    found = plausibility.find(frame(row, school("S2", left_behind=5)),
                              frame(row, school("S2", left_behind=6)), {}, RULES)
    assert checks(found) == [("S1", plausibility.COPIED, None)]
    assert "与上月完全相同" in found[0].reason


def test_a_small_school_may_repeat_itself():
    small = school("S1", left_behind=12, visited=12, parent_contact=12)
    found = plausibility.find(frame(small, school("S2", left_behind=50, visited=3)),
                              frame(small, school("S2", left_behind=50, visited=4)), {}, RULES)
    assert found == []


def test_a_whole_township_identical_to_last_month_was_copied():
    rows = (school("S1", left_behind=12, visited=8), school("S2", left_behind=7, visited=5))
    found = plausibility.find(frame(*rows), frame(*rows), {}, RULES)
    assert checks(found) == [("S1", plausibility.COPIED, None), ("S2", plausibility.COPIED, None)]
    assert all("本乡镇全部2所学校" in f.reason for f in found)


def test_a_school_without_left_behind_children_rightly_repeats_its_zeros():
    row = school("S1", left_behind=0)
    assert plausibility.find(frame(row), frame(row), {}, RULES) == []


# --- From the database -----------------------------------------------------------------------

def test_check_submission_finds_a_copied_return_and_check_period_the_same(engine):
    may = school_frame(engine, seed=1)
    submit(engine, TOWNSHIP, "2026-05", {"schools": may})
    copied = submit(engine, TOWNSHIP, "2026-06", {"schools": may})

    found = verification.check_submission(engine, copied)

    assert {f.check for f in found} == {plausibility.COPIED}
    assert [f.school_code for f in found] == list(may["school_code"])
    assert checks(verification.check_period(engine, "2026-06")) == checks(found)
    assert found[0].school_name == may.loc[0, "school_name"]


def test_a_corrected_return_clears_the_warning_but_the_copied_one_keeps_it(engine):
    may = school_frame(engine, seed=1)
    submit(engine, TOWNSHIP, "2026-05", {"schools": may})
    copied = submit(engine, TOWNSHIP, "2026-06", {"schools": may})
    corrected = may.assign(visited=may["visited"] - 1)
    submit(engine, TOWNSHIP, "2026-06", {"schools": corrected})

    assert verification.check_period(engine, "2026-06") == []
    assert len(verification.check_submission(engine, copied)) == len(may)


def test_students_are_checked_against_master_data(engine):
    frame_ = school_frame(engine)
    with session_maker(engine)() as session:
        enrolled = dict(session.execute(select(School.code, School.students).where(
            School.township_code == TOWNSHIP)).all())
    code = frame_.loc[0, "school_code"]
    frame_.loc[0, "students"] = int(enrolled[code] * 1.5) + 40
    sid = submit(engine, TOWNSHIP, "2026-06", {"schools": frame_})

    found = verification.check_submission(engine, sid)

    assert checks(found) == [(code, plausibility.ENROLMENT, "students")]
    assert f"学籍登记{enrolled[code]:,}人" in found[0].reason


def test_an_unknown_submission_is_refused(engine):
    with pytest.raises(ValueError, match="不存在"):
        verification.check_submission(engine, 12345)


def test_the_demo_countys_copied_returns_are_caught(demo_engine):
    with session_maker(demo_engine)() as session:
        copied = list(session.scalars(select(Submission.id).where(
            Submission.review_comment.like("%完全相同%"))))
    assert copied
    for submission_id in copied:
        found = verification.check_submission(demo_engine, submission_id)
        assert found and {f.check for f in found} == {plausibility.COPIED}


def test_the_demo_countys_month_is_checked_as_its_export_says(demo_engine):
    """Re-derive the change and enrolment findings from the school export and master data."""
    data = pd.read_csv(io.BytesIO(export_table(demo_engine, PREVIOUS, LATEST, level="school")),
                       encoding="utf-8-sig", dtype={"school_code": str, "township_code": str})
    now = data[data["period"] == LATEST].set_index("school_code")
    before = data[data["period"] == PREVIOUS].set_index("school_code")
    with session_maker(demo_engine)() as session:
        enrolled = dict(session.execute(select(School.code, School.students)).all())
    expected = set()
    for code, row in now.iterrows():
        if code in before.index:
            for key in STOCKS:
                gap = abs(row[key] - before.loc[code, key])
                if gap >= RULES.change_abs and gap >= RULES.change_rel * before.loc[code, key]:
                    expected.add((code, plausibility.CHANGE, key))
        gap = abs(row["students"] - enrolled[code])
        if gap >= RULES.enrolment_abs and gap >= RULES.enrolment_rel * enrolled[code]:
            expected.add((code, plausibility.ENROLMENT, "students"))

    found = verification.check_period(demo_engine, LATEST)

    assert {c for c in checks(found) if c[1] != plausibility.COPIED} == expected


def test_findings_as_a_table_and_in_a_sentence():
    found = plausibility.find(frame(school("S1", left_behind=60, visited=1)),
                              frame(school("S1", left_behind=40)), {}, RULES)
    table = verification.as_frame(found)
    assert list(table.columns) == ["乡镇", "学校", "检查项", "数据项", "原因"]
    assert table.loc[0, "检查项"] == "较上月变化异常" and table.loc[0, "数据项"] == "留守儿童数"
    assert verification.summary(found, "2026-06") == "2026年6月有1个乡镇的1所学校共1处数据需要核实"
    assert verification.summary([], "2026-06") == "2026年6月未发现需要核实的数据"
    twice = plausibility.find(frame(school("S1", left_behind=60, archived=60, visited=1)),
                              frame(school("S1", left_behind=40, archived=40)), {}, RULES)
    assert len(twice) == 2 and "1个乡镇的1所学校共2处" in verification.summary(twice, "2026-06")


# --- 已核实 ------------------------------------------------------------------------------------

def _copied_submission(engine) -> tuple[int, list]:
    """A June return copied from May by clerk108: every school flagged 疑似照抄上月."""
    may = school_frame(engine, seed=1)
    with transaction(engine) as session:
        for period in ("2026-05", "2026-06"):
            sid = store_submission(session, township_code=TOWNSHIP, period=period,
                                   username="clerk108", frames={"schools": may}).id
    return sid, verification.check_submission(engine, sid)


def test_a_reviewer_marks_a_flagged_value_verified_and_it_is_audited(engine):
    staff = make_user(engine, "staffx", "staff")
    sid, found = _copied_submission(engine)
    first = found[0]
    key = verification.key_of(first)

    verification.verify(engine, staff, sid, first.school_code, first.check, key,
                        " 已电话核实：学校确无变化 ")

    _, table = verification.submission_table(engine, sid)
    marks = table[verification.VERIFIED_COLUMN].tolist()
    assert marks[0].startswith("已核实（staffx，") and marks[0].endswith("：已电话核实：学校确无变化）")
    assert marks[1:] == [""] * (len(found) - 1)
    with session_maker(engine)() as session:
        row = session.scalars(select(AuditEntry).where(
            AuditEntry.action == verification.VERIFY)).one()
    assert (row.username, row.object_type, row.object_id) == ("staffx", "submission", str(sid))
    assert json.loads(row.detail) == {"school_code": first.school_code, "check": first.check,
                                      "key": key, "note": "已电话核实：学校确无变化"}
    month = verification.period_table(engine, "2026-06")
    assert month[verification.VERIFIED_COLUMN].tolist() == marks
    assert progress.flagged_counts(month).values.tolist() == [
        [found[0].township_name, len(found), 1]]


@pytest.mark.parametrize("case", ["no note", "not flagged", "own submission", "clerk"])
def test_what_may_not_be_verified(engine, case):
    sid, found = _copied_submission(engine)
    first = found[0]
    who = {"own submission": make_user(engine, "clerk108", "staff"),
           "clerk": make_user(engine, "clerk101", "clerk", TOWNSHIP)}.get(
        case, make_user(engine, "staffx", "staff"))
    note = "" if case == "no note" else "已核实"
    check = plausibility.ENROLMENT if case == "not flagged" else first.check
    error = PermissionError if case in ("own submission", "clerk") else ValueError
    with pytest.raises(error):
        verification.verify(engine, who, sid, first.school_code, check,
                            verification.key_of(first), note)
    with session_maker(engine)() as session:
        assert not session.scalars(select(AuditEntry).where(
            AuditEntry.action == verification.VERIFY)).all()


def test_a_corrected_return_is_looked_at_afresh(engine):
    """A confirmation belongs to the submission it was made on."""
    staff = make_user(engine, "staffx", "staff")
    sid, found = _copied_submission(engine)
    verification.verify(engine, staff, sid, found[0].school_code, found[0].check,
                        verification.key_of(found[0]), "已核实")
    with transaction(engine) as session:
        again = store_submission(session, township_code=TOWNSHIP, period="2026-06",
                                 username="clerk108",
                                 frames={"schools": school_frame(engine, seed=1)}).id
    assert set(verification.submission_table(engine, again)[1][
        verification.VERIFIED_COLUMN]) == {""}


# --- On the pages ------------------------------------------------------------------------------

def test_the_review_page_shows_w03_with_both_values_and_takes_a_confirmation(engine, app_on):
    """A clerk's 200 -> 120 reaches the reviewer with both months' values, and the reviewer's
    已核实 shows on the page and stays in the audit trail."""
    staff, clerk = make_user(engine, "staffx", "staff"), make_user(engine, "clerk108", "clerk",
                                                                   TOWNSHIP)
    period = uploads.open_period()
    last_month = uploads.recent_periods()[1]
    for month, children in ((last_month, 200), (period, 120)):
        frame = with_left_behind(school_frame(engine), 0, children)
        report = uploads.upload(engine, clerk, TOWNSHIP, month, workbook({"schools": frame}),
                                "月报.xlsx", dry_run=False)
        assert report.accepted, report.errors
    sid = report.submission_id
    app = app_on(engine, staff, "app_pages/review.py")
    widget(app.selectbox, "选择要审核的提交").set_value(sid)
    fine(app.run())

    warnings = table_with(app, "说明")
    [w03] = warnings.loc[warnings["代码"] == "W03", "说明"].tolist()
    assert "留守儿童数由上月200人变为本月120人" in w03
    found = verification.check_submission(engine, sid)
    [i] = [i for i, f in enumerate(found) if f.column == "left_behind"]
    widget(app.selectbox, "核实的数据").set_value(i)
    widget(app.text_input, "核实说明（必填，例如：已电话核实，学校合并）").input("学校撤并，已核实")
    press(app, "标记为已核实")

    flagged = table_with(app, verification.VERIFIED_COLUMN)
    assert flagged.loc[i, verification.VERIFIED_COLUMN].endswith("：学校撤并，已核实）")
    [row] = audit_rows(engine, verification.VERIFY, "staffx")
    assert json.loads(row.detail)["key"] == "left_behind" and row.object_id == str(sid)
