"""The dashboards' readers against the seeded demo county: the home list, the fund's ledger,
the reporting statuses and the children's composition must add up to the numbers
stored.township_table gives for the same month (what the cards and the map show)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select

from liushou_dash.catalog import messages
from liushou_dash.core import audit, filtering, orgunits
from liushou_dash.core.models import STATUS_LABELS, AuditEntry, Submission
from liushou_dash.core.periods import due_date, period_end, periods_between
from liushou_dash.indicators import composition, homes, ledger, ratios, stored
from liushou_dash.workflow import progress, review
from liushou_dash.workflow.downloads import audit_download
from tests.demo_db import LATEST, PREVIOUS, TODAY, demo_engine  # noqa: F401  (a fixture)
from tests.fixtures import TOWNSHIP, make_user, school_frame
from tests.test_metrics import submit


@pytest.fixture(scope="module")
def month(demo_engine):
    return stored.township_table(demo_engine, filtering.Filter((LATEST,))).set_index(
        "township_code")


@pytest.fixture(scope="module")
def home_list(demo_engine):
    return homes.home_list(demo_engine, LATEST)


# --- Homes -------------------------------------------------------------------------------------

def test_the_home_list_is_what_the_measures_count(home_list, month):
    per_township = home_list.groupby("township_code").size()
    assert per_township.sum() == month["homes"].sum() > 0
    assert (per_township.reindex(month.index, fill_value=0) == month["homes"]).all()
    standardized = home_list.groupby("township_code")["standardized"].sum()
    assert (standardized.reindex(month.index, fill_value=0)
            == month["homes_standardized"]).all()


def test_uncovered_villages_and_schools_are_the_complement_of_the_coverage(
        demo_engine, home_list, month):
    villages = homes.uncovered_villages(orgunits.villages(demo_engine), home_list)
    schools = homes.uncovered_schools(orgunits.schools(demo_engine), home_list)
    assert len(villages) == (month["villages"] - month["villages_with_home"]).sum() > 0
    assert len(schools) == (month["schools"] - month["schools_with_home"]).sum() > 0
    covered = set(home_list["host_code"])
    assert not covered & set(villages["village_code"])
    assert not covered & set(schools["school_code"])


def test_equipment_shares_are_counted_from_the_list(home_list):
    table = homes.equipment_by_township(home_list)
    county = homes.county_equipment(home_list)
    assert county["township_name"] == homes.COUNTY_NAME
    assert county["homes"] == len(home_list) == table["homes"].iloc[:-1].sum()
    complete = (home_list["has_phone"] & home_list["has_video"]
                & (home_list["books"] >= homes.BOOKS_STANDARD)
                & (home_list["open_hours"] >= homes.HOURS_STANDARD))
    assert county["complete"] == pytest.approx(complete.mean())
    assert county["standardized_rate"] == pytest.approx(home_list["standardized"].mean())


def test_the_readable_list_says_yes_and_no_in_chinese(home_list):
    readable = homes.readable(home_list)
    assert set(readable["has_phone"]) <= {"是", "否"}
    assert list(readable.columns) == homes.LIST_COLUMNS


# --- Ledger ------------------------------------------------------------------------------------

def test_the_ledger_sums_to_the_allocated_and_disbursed_measures(demo_engine, month):
    entries = ledger.entries(demo_engine, LATEST)
    by_township = ledger.summary(entries, "township_code").set_index("township_code")
    for key in ("allocated", "disbursed"):
        assert by_township[key].reindex(month.index, fill_value=0).to_numpy() == pytest.approx(
            month[key].to_numpy())
    assert (pd.to_datetime(entries["date"]) <= pd.Timestamp(period_end(LATEST))).all()
    assert set(pd.to_datetime(entries["date"]).dt.year) == {int(LATEST[:4])}


def test_summaries_by_category_and_source_keep_the_catalogue_order(demo_engine):
    entries = ledger.entries(demo_engine, LATEST)
    for by in ("category", "source"):
        summary = ledger.summary(entries, by)
        assert summary["allocated"].sum() == pytest.approx(
            entries.loc[entries["kind"] == "下达", "amount"].sum())
        rate = summary["disbursed"] / summary["allocated"].where(summary["allocated"] > 0)
        pd.testing.assert_series_equal(summary["disbursement_rate"], rate, check_names=False)


def test_the_cumulative_curve_ends_at_the_year_to_date_and_paces_evenly(demo_engine, month):
    entries = ledger.entries(demo_engine, LATEST)
    curve = ledger.cumulative(entries, LATEST)
    last = int(LATEST[5:])
    assert list(curve["month"]) == list(range(1, 13))
    assert curve.loc[last - 1, "disbursed"] == pytest.approx(month["disbursed"].sum())
    assert curve["disbursed"].iloc[last:].isna().all()
    assert curve["disbursed"].iloc[:last].is_monotonic_increasing
    assert curve["even_pace"].iloc[-1] == pytest.approx(month["allocated"].sum())


def test_picking_entries_by_kind_source_and_text(demo_engine):
    entries = ledger.entries(demo_engine, LATEST)
    spent = ledger.pick(entries, kinds=["支出"], sources=["中央"])
    assert len(spent) and set(spent["kind"]) == {"支出"} and set(spent["source"]) == {"中央"}
    voucher = entries["voucher"].dropna().iloc[0]
    assert voucher in set(ledger.pick(entries, text=voucher)["voucher"])
    assert len(ledger.pick(entries)) == len(entries)


# --- Reporting progress ------------------------------------------------------------------------

def test_statuses_follow_the_current_submissions_and_the_deadline(demo_engine, month):
    found = progress.statuses(demo_engine, (PREVIOUS, LATEST), TODAY)
    assert len(found) == 2 * len(month)
    with demo_engine.connect() as conn:
        current = dict(conn.execute(select(Submission.township_code, Submission.status).where(
            Submission.period == LATEST, Submission.is_current.is_(True))).all())
    latest = found[found["period"] == LATEST].set_index("township_code")
    for code, status in latest["status"].items():
        expected = STATUS_LABELS[current[code]] if code in current else (
            messages.OVERDUE if TODAY > due_date(LATEST) else messages.NOT_DUE)
        assert status == expected, code
    owing = ~month["reported"].astype(bool) & ~month["returned"].astype(bool)
    assert set(latest.index[owing]) == set(latest.index[latest["status"] == messages.OVERDUE])


def test_before_the_deadline_a_missing_return_is_not_yet_overdue(demo_engine):
    early = due_date(LATEST) - dt.timedelta(days=2)
    found = progress.statuses(demo_engine, (LATEST,), early)
    assert messages.NOT_DUE in set(found["status"])
    assert messages.OVERDUE not in set(found["status"])
    chase = progress.chase_list(demo_engine, found, early)
    assert (chase["days_left"] == 2).all()


def test_the_chase_list_names_the_townships_that_owe_their_return(demo_engine):
    found = progress.statuses(demo_engine, (LATEST,), TODAY)
    chase = progress.chase_list(demo_engine, found, TODAY)
    owing = found[found["status"].isin(progress.OWING)]
    assert set(chase["township_code"]) == set(owing["township_code"]) and len(chase)
    assert (chase["days_left"] == (due_date(LATEST) - TODAY).days).all()
    returned = chase[chase["status"] == STATUS_LABELS["returned"]]
    assert (returned["review_comment"] != "").all()


def test_the_matrix_has_a_row_per_township_and_a_column_per_month(demo_engine, month):
    periods = periods_between("2026-05", LATEST)
    table = progress.matrix(progress.statuses(demo_engine, periods, TODAY))
    assert table.shape == (len(month), len(periods))
    assert list(table.columns) == [progress.short_month(p) for p in periods]
    assert set(table.stack()) <= set(progress.STATUS_ORDER)


def test_data_as_of_follows_every_change_that_moves_a_figure(engine):
    """数据截至 is the last upload, review, return or roll back, not the last upload only;
    a download or a login moves no figure."""
    staff = make_user(engine, "staff7", "staff")
    sid = submit(engine, TOWNSHIP, "2026-06", {"schools": school_frame(engine)})
    uploaded = audit.last_figure_change(engine)
    review.return_submission(engine, staff, sid, "请核实")
    with engine.connect() as conn:
        returned_at = conn.scalar(select(func.max(AuditEntry.at))
                                  .where(AuditEntry.action == "return"))
    assert audit.last_figure_change(engine) == returned_at >= uploaded
    audit_download(engine, staff, "export", file="x.csv")
    assert audit.last_figure_change(engine) == returned_at


def test_the_reporting_period_is_the_month_before_today():
    assert progress.reporting_period(dt.date(2026, 11, 3)) == "2026-10"
    assert progress.reporting_period(dt.date(2027, 1, 31)) == "2026-12"


# --- Composition -------------------------------------------------------------------------------

def test_every_dimension_adds_up_to_the_left_behind_children(month):
    totals = ratios.totals(month.reset_index())
    parts = composition.composition(totals)
    for dimension, rows in parts.groupby("dimension"):
        assert rows["count"].sum() == totals["left_behind"], dimension
        assert rows["share"].sum() == pytest.approx(1.0)
    assert set(parts["dimension"]) == set(composition.DIMENSIONS)


def test_by_township_has_the_reporting_townships_only(month):
    long = composition.by_township(month.reset_index(), "监护类型")
    reported = month["left_behind"].notna().sum()
    assert long["township_code"].nunique() == reported
    sums = long.groupby("township_code")["count"].sum()
    assert (sums == month.loc[sums.index, "left_behind"]).all()
