"""The stored township months: written by every change, always what the rows say.

Each test makes a change the way the app does (an upload, a correction of an earlier month,
a review, a master data load, a new deadline) and compares the dashboards' township table,
read from the stored months, with the one computed from the school, home and ledger rows
(stored.township_table_from_rows, which never reads the stored months)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from liushou_dash.core.db import transaction
from liushou_dash.core.filtering import Filter
from liushou_dash.core.masterdata import load_master
from liushou_dash.core.models import Township, TownshipMonth
from liushou_dash.indicators import stored
from liushou_dash.ingest.store import store_submission
from liushou_dash.workflow import administration, review
from tests.fixtures import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    assert_same_tables,
    funding_frame,
    home_frame,
    make_user,
    school_frame,
)


def store(engine, township, period, sheets=("schools", "homes", "funding"), homes=None,
          seed=0) -> int:
    frames = {"schools": school_frame(engine, township, seed=seed),
              "homes": home_frame(engine, township) if homes is None else homes,
              "funding": funding_frame(int(period[:4]))}
    with transaction(engine) as session:
        return store_submission(session, township_code=township, period=period,
                                frames={k: frames[k] for k in sheets}).id


def stored_cells(engine, period: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(TownshipMonth)
                           .where(TownshipMonth.period == period))


def township_count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Township))


def homes_of(engine, period: str, township: str = TOWNSHIP) -> int:
    table = stored.township_table(engine, Filter((period,), townships=(township,)))
    return int(table["homes"].iloc[0])


def test_the_first_upload_of_a_month_stores_it_for_every_township(any_engine):
    store(any_engine, TOWNSHIP, "2026-03")
    assert stored_cells(any_engine, "2026-03") == 2 * township_count(any_engine)  # two views
    store(any_engine, OTHER_TOWNSHIP, "2026-05", sheets=("schools",))
    for period in ("2026-03", "2026-04", "2026-05"):  # the month between is stored too
        assert stored_cells(any_engine, period) == 2 * township_count(any_engine)
    assert_same_tables(any_engine, [Filter.between("2026-03", "2026-05"),
                                    Filter.between("2026-03", "2026-05", approved_only=True)])


def test_an_earlier_month_uploaded_later_fills_the_months_up_to_the_stored_ones(any_engine):
    store(any_engine, TOWNSHIP, "2026-06")
    store(any_engine, OTHER_TOWNSHIP, "2026-04")
    assert stored_cells(any_engine, "2026-05") == 2 * township_count(any_engine)
    assert_same_tables(any_engine, [Filter.between("2026-04", "2026-06")])


def test_correcting_an_earlier_month_changes_the_later_months_that_show_its_homes(any_engine):
    homes = home_frame(any_engine, TOWNSHIP)
    store(any_engine, TOWNSHIP, "2026-03", homes=homes)
    store(any_engine, TOWNSHIP, "2026-04", sheets=("schools",))     # homes as of March
    assert homes_of(any_engine, "2026-04") == len(homes)
    store(any_engine, TOWNSHIP, "2026-03", homes=homes.iloc[:2], seed=3)  # the correction
    assert homes_of(any_engine, "2026-04") == 2
    assert_same_tables(any_engine, [Filter.between("2026-03", "2026-04")])


def test_reviews_and_roll_backs_rewrite_the_approved_view(engine):
    staff = make_user(engine, "staffx", "staff")
    first = store(engine, TOWNSHIP, "2026-03")
    second = store(engine, TOWNSHIP, "2026-03", seed=2)
    store(engine, TOWNSHIP, "2026-04", sheets=("schools",))
    months = [Filter.between("2026-03", "2026-04"),
              Filter.between("2026-03", "2026-04", approved_only=True)]
    approved = stored.township_table(engine, months[1])
    assert approved["reported"].sum() == 0
    review.approve(engine, staff, second)
    assert stored.township_table(engine, months[1])["reported"].sum() == 1
    assert_same_tables(engine, months)
    review.unlock(engine, staff, TOWNSHIP, "2026-03")
    review.roll_back(engine, staff, first)
    assert_same_tables(engine, months)
    review.return_submission(engine, staff, first, comment="请核对在校生数")
    assert_same_tables(engine, months)


def test_loading_master_data_again_rewrites_every_month(engine):
    store(engine, TOWNSHIP, "2026-03")
    store(engine, OTHER_TOWNSHIP, "2026-04")
    with engine.begin() as conn:  # as a stale row would look: the load must rewrite it
        conn.execute(TownshipMonth.__table__.update().values(villages=0, homes=0))
    load_master(engine)
    assert_same_tables(engine, [Filter.between("2026-03", "2026-04")])


def test_a_new_deadline_judges_stored_months_at_once(engine):
    store(engine, TOWNSHIP, "2026-03")  # uploaded today: long after April's deadline
    flt = Filter(("2026-03",), townships=(TOWNSHIP,))
    assert stored.township_table(engine, flt)["on_time"].iloc[0] == 0
    with engine.begin() as conn:   # an upload on the deadline day itself
        conn.execute(TownshipMonth.__table__.update().values(
            first_upload=pd.Timestamp("2026-04-07 18:00").to_pydatetime()))
    assert stored.township_table(engine, flt)["on_time"].iloc[0] == 0
    administration.set_deadline_day(engine, make_user(engine, "boss", "admin"), 7)
    assert stored.township_table(engine, flt)["on_time"].iloc[0] == 1


def test_a_month_without_any_submission_is_computed_not_missing(engine):
    store(engine, TOWNSHIP, "2026-03")
    flt = Filter(("2026-02", "2026-03", "2026-04"))  # before and after the stored month
    table = stored.township_table(engine, flt)
    assert sorted(table["period"].unique()) == ["2026-02", "2026-03", "2026-04"]
    assert_same_tables(engine, [flt])
