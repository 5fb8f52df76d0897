"""Alerts: 无人监护 schools, returns missing after the deadline, townships below the pass
mark three months running, money not disbursed from the end of the third quarter."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pandas as pd
import pytest

from liushou_dash import catalog
from liushou_dash.catalog.rules import load_rules
from liushou_dash.core import periods, settings
from liushou_dash.core.filtering import Filter
from liushou_dash.indicators import alerts, stored
from liushou_dash.reports.export import export_table
from liushou_dash.workflow import review
from tests.demo_db import LATEST, TODAY, demo_engine  # noqa: F401  (a fixture)
from tests.fixtures import OTHER_TOWNSHIP, TOWNSHIP, funding_frame, make_user, school_frame
from tests.test_metrics import submit

VISITS_ONLY = dataclasses.replace(load_rules(), pass_marks={"visit_rate": 0.8})


def with_unguarded(frame: pd.DataFrame, counts: dict[int, int]) -> pd.DataFrame:
    """`frame` with 无人监护 only in the given rows (row index -> children), the four guardian
    columns still adding up to left_behind."""
    frame = frame.copy()
    frame["guardian_other"] += frame["guardian_none"]
    frame["guardian_none"] = 0
    for index, count in counts.items():
        frame.loc[index, "guardian_none"] = count
        frame.loc[index, "guardian_other"] -= count
    assert (frame["guardian_other"] >= 0).all()
    return frame


def visiting(engine, share: float, seed: int = 0) -> pd.DataFrame:
    frame = school_frame(engine, seed=seed)
    frame["visited"] = (frame["paired"] * share).astype("int64")
    return frame


# --- 无人监护 --------------------------------------------------------------------------------

def test_each_school_with_unguarded_children_is_a_danger_alert(engine):
    frame = with_unguarded(school_frame(engine), {0: 2, 3: 1})
    submit(engine, TOWNSHIP, "2026-06", {"schools": frame})

    found = alerts.unguarded(engine, "2026-06")

    assert [(a.school_code, a.level, a.kind) for a in found] == [
        (frame.loc[0, "school_code"], alerts.DANGER, alerts.UNGUARDED),
        (frame.loc[3, "school_code"], alerts.DANGER, alerts.UNGUARDED)]
    assert "2名留守儿童无人监护" in found[0].message
    assert frame.loc[0, "school_name"] in found[0].message
    assert found[0].township_code == TOWNSHIP


def test_no_unguarded_children_no_alert(engine):
    submit(engine, TOWNSHIP, "2026-06", {"schools": with_unguarded(school_frame(engine), {})})
    assert alerts.unguarded(engine, "2026-06") == []


def test_approved_only_still_alerts_an_unattended_child_marked_unreviewed(engine):
    """No filter hides a child without a guardian: the approved-only view alerts the
    current return's, marked 未审核."""
    submit(engine, TOWNSHIP, "2026-06", {"schools": with_unguarded(school_frame(engine), {0: 1})})
    everyone, approved = (alerts.unguarded(engine, "2026-06", approved_only=flag)
                          for flag in (False, True))
    assert everyone == approved and len(approved) == 1
    assert approved[0].message.endswith("（未审核）") and approved[0].count == 1


def test_a_returned_return_still_alerts_its_unattended_child(engine):
    """Returned means not counted (figures, rankings), never unseen: the alert stays,
    marked 已退回待重报, while the township's figures leave the table."""
    staff = make_user(engine, "staff9", "staff")
    sid = submit(engine, TOWNSHIP, "2026-06",
                 {"schools": with_unguarded(school_frame(engine), {0: 2})})
    review.return_submission(engine, staff, sid, "学校数据需核实")
    found = alerts.unguarded(engine, "2026-06")
    assert [a.count for a in found] == [2] and "已退回待重报" in found[0].message
    month = stored.township_table(engine, Filter(("2026-06",)))
    row = month.set_index("township_code").loc[TOWNSHIP]
    assert row["reported"] == 0 and row["returned"] == 1 and pd.isna(row["guardian_none"])


# --- 逾期未报 --------------------------------------------------------------------------------

def test_a_return_missing_after_the_deadline_is_an_alert(engine):
    submit(engine, TOWNSHIP, "2026-06", {"schools": school_frame(engine)},
           submitted_at=dt.datetime(2026, 7, 3, 9))

    found = alerts.missing_returns(engine, "2026-06", today=dt.date(2026, 7, 6))

    codes = {a.township_code for a in found}
    assert TOWNSHIP not in codes and OTHER_TOWNSHIP in codes
    assert len(found) == 28                      # the demo county has 29 townships
    assert all(a.kind == alerts.MISSING_RETURN and a.school_code is None for a in found)
    assert "2026年7月5日" in found[0].message


def test_before_the_deadline_nothing_is_missing(engine):
    assert alerts.missing_returns(engine, "2026-06", today=dt.date(2026, 7, 5)) == []


def test_a_late_return_is_late_not_missing(engine):
    submit(engine, TOWNSHIP, "2026-06", {"schools": school_frame(engine)},
           submitted_at=dt.datetime(2026, 7, 9, 16))
    status = alerts.reporting_status(engine, "2026-06", dt.date(2026, 7, 20)).set_index(
        "township_code")
    assert status.loc[TOWNSHIP, "state"] == alerts.LATE
    assert status.loc[TOWNSHIP, "days_late"] == 4
    assert status.loc[OTHER_TOWNSHIP, "state"] == alerts.MISSING
    assert TOWNSHIP not in {a.township_code for a in alerts.missing_returns(
        engine, "2026-06", dt.date(2026, 7, 20))}


# --- 连续未达标 -------------------------------------------------------------------------------

def test_below_the_pass_mark_three_months_running_is_an_alert(engine):
    for month, seed in (("2026-04", 1), ("2026-05", 2), ("2026-06", 3)):
        submit(engine, TOWNSHIP, month, {"schools": visiting(engine, 0.5, seed)})

    found = alerts.below_target(engine, "2026-06", rules=VISITS_ONLY)

    assert [(a.township_code, a.kind) for a in found] == [(TOWNSHIP, alerts.BELOW_TARGET)]
    june = visiting(engine, 0.5, 3)
    rate = june["visited"].sum() / june["paired"].sum()
    assert f"月走访率{rate * 100:.1f}%" in found[0].message
    assert "连续3个月" in found[0].message and "80.0%" in found[0].message


def test_one_month_at_the_pass_mark_breaks_the_run(engine):
    for month, share in (("2026-04", 0.5), ("2026-05", 1.0), ("2026-06", 0.5)):
        submit(engine, TOWNSHIP, month, {"schools": visiting(engine, share)})
    assert alerts.below_target(engine, "2026-06", rules=VISITS_ONLY) == []


def test_a_month_without_a_return_breaks_the_run(engine):
    for month in ("2026-04", "2026-06"):
        submit(engine, TOWNSHIP, month, {"schools": visiting(engine, 0.5)})
    assert alerts.below_target(engine, "2026-06", rules=VISITS_ONLY) == []


# --- 资金拨付滞后 -----------------------------------------------------------------------------

def ledger(disbursed_share: float) -> pd.DataFrame:
    frame = funding_frame(2026)
    frame.loc[frame["kind"] == "支出", "amount"] = round(100000 * disbursed_share, 2)
    return frame


@pytest.mark.parametrize("period, share, alerted", [
    ("2026-09", 0.12, True),     # the end of the third quarter, 12% spent
    ("2026-11", 0.49, True),
    ("2026-08", 0.12, False),    # before the end of the third quarter
    ("2026-09", 0.50, False),    # at the threshold
])
def test_money_not_disbursed_from_the_end_of_the_third_quarter(engine, period, share, alerted):
    submit(engine, TOWNSHIP, period, {"schools": school_frame(engine),
                                      "funding": ledger(share)})

    found = alerts.funds_idle(engine, period)

    assert [a.township_code for a in found] == ([TOWNSHIP] if alerted else [])
    if alerted:
        assert "10.00万元" in found[0].message
        assert f"{share * 100:.1f}%" in found[0].message


# --- All together ------------------------------------------------------------------------------

def test_alerts_come_most_urgent_first(engine):
    submit(engine, TOWNSHIP, "2026-09", {"schools": with_unguarded(school_frame(engine), {1: 1}),
                                         "funding": ledger(0.1)})
    found = alerts.alerts(engine, "2026-09", today=dt.date(2026, 10, 20))
    kinds = [a.kind for a in found]
    assert kinds[0] == alerts.UNGUARDED
    assert kinds == sorted(kinds, key=alerts.KINDS.index)
    assert {alerts.MISSING_RETURN, alerts.FUNDS_IDLE} <= set(kinds)
    table = alerts.as_frame(found)
    assert list(table.columns) == ["级别", "类型", "乡镇", "学校", "说明"]
    assert table.loc[0, "类型"] == "无人监护" and table.loc[0, "级别"] == "紧急"


def test_the_demo_countys_alerts_follow_from_its_export(demo_engine):
    def csv(level, first=LATEST):
        return pd.read_csv(io.BytesIO(export_table(demo_engine, first, LATEST, level=level)),
                           encoding="utf-8-sig",
                           dtype={"township_code": str, "school_code": str})

    found = alerts.alerts(demo_engine, LATEST, today=TODAY)
    by_kind = {kind: [a for a in found if a.kind == kind] for kind in alerts.KINDS}
    schools, townships = csv("school"), csv("township", "2026-08")
    month = townships[townships["period"] == LATEST]

    unguarded = schools[schools["guardian_none"] > 0]
    assert len(unguarded) > 0
    alerted = {a.school_code: a for a in by_kind[alerts.UNGUARDED]}
    assert set(unguarded["school_code"]) <= set(alerted)   # the export counts no returned return
    assert all("已退回待重报" in alerted[code].message
               for code in set(alerted) - set(unguarded["school_code"]))
    assert {a.township_code for a in by_kind[alerts.MISSING_RETURN]} == set(
        month.loc[(month["reported"] == 0) & (month["returned"] == 0), "township_code"])
    idle = month[(month["allocated"] > 0) & (month["disbursement_rate"] < 0.5)]
    assert {a.township_code for a in by_kind[alerts.FUNDS_IDLE]} == set(idle["township_code"])
    lagging = set()
    for key, mark in load_rules().pass_marks.items():
        below = townships[townships[key] < mark].groupby("township_code")["period"].nunique()
        lagging |= set(below[below == 3].index)
    assert {a.township_code for a in by_kind[alerts.BELOW_TARGET]} == lagging
    for alert in by_kind[alerts.BELOW_TARGET]:
        assert any(catalog.label_of(k) in alert.message for k in load_rules().pass_marks)


# --- The cockpit's alerts come from the months it has read -----------------------------------

@pytest.mark.parametrize("approved_only", [False, True])
@pytest.mark.parametrize("today", [TODAY, dt.date(2026, 11, 3)])  # after and before the deadline
def test_alerts_from_the_pages_tables_are_the_alerts(demo_engine, approved_only, today):
    """ui.alerts builds them from the cockpit's own township tables (its indicators only)
    and the month's table over every return; the same list as alerts.alerts reads."""
    from liushou_dash.core.filtering import Filter
    from liushou_dash.indicators import cards
    rules, shown = load_rules(), cards.cockpit_indicators()
    recent = stored.township_table(
        demo_engine, alerts.recent_months(LATEST, rules, approved_only), shown)
    every_return = stored.township_table(demo_engine, Filter((LATEST,)), shown)
    due = periods.due_date(LATEST, settings.deadline_day(demo_engine))
    found = alerts.from_tables(LATEST, recent,
                               alerts.unguarded_schools(demo_engine, LATEST, approved_only),
                               alerts.month_status(every_return, due, today), rules)
    expected = alerts.alerts(demo_engine, LATEST, approved_only, today, rules)
    assert {a.kind for a in expected} >= {alerts.BELOW_TARGET, alerts.MISSING_RETURN
                                          if today > due else alerts.BELOW_TARGET}
    assert found == expected
