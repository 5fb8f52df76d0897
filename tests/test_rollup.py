"""The rollup (submission_totals) always equals what the raw rows say.

Recomputed here with pandas from the stored rows, independently of rollup.py's SQL, after
uploads, a correction that carries over sheets, a roll back, a review and a rebuild."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
from sqlalchemy import delete, text

from liushou_dash import catalog
from liushou_dash.core import filtering, periods, rollup
from liushou_dash.core.db import transaction
from liushou_dash.core.models import SubmissionTotals
from liushou_dash.demo.seed import seed_demo
from liushou_dash.indicators import readers
from liushou_dash.ingest import ingest_file
from liushou_dash.ingest.store import store_submission
from liushou_dash.workflow import review
from tests.fixtures import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    assert_same_tables,
    funding_frame,
    home_frame,
    make_user,
    school_frame,
)
from tests.returns import workbook

PERIOD = "2026-10"
TODAY = dt.date(2026, 11, 22)
COUNT_KEYS = list(catalog.SCHOOL_COUNT_KEYS)
VILLAGE_HOSTS = ("村(居)委会", "社区")


def read(engine, sql: str) -> pd.DataFrame:
    return pd.read_sql(text(sql), engine)


def _home_measures(engine) -> pd.DataFrame:
    homes = read(engine, "SELECT * FROM homes")
    villages = read(engine, "SELECT code, township_code FROM villages")
    schools = read(engine, "SELECT code, township_code FROM schools")

    def hosted(kinds, units):
        own = homes[homes["host_type"].isin(kinds)].merge(
            units, left_on=["host_code", "township_code"], right_on=["code", "township_code"])
        return own.groupby("submission_id")["host_code"].nunique()

    grouped = homes.groupby("submission_id")
    return pd.DataFrame({
        "homes": grouped.size(),
        "homes_standardized": grouped["standardized"].sum(),
        "villages_with_home": hosted(VILLAGE_HOSTS, villages),
        "schools_with_home": hosted(("学校",), schools)}).fillna(0)


def recomputed(engine) -> pd.DataFrame:
    """Every submission's totals from its rows (NaN where it has no rows of a sheet)."""
    ids = read(engine, "SELECT id AS submission_id FROM submissions").set_index("submission_id")
    rows = read(engine, "SELECT * FROM school_returns")
    returns = rows.groupby("submission_id")
    # schools with more than 0 of each count, per submission
    tallies = rows[list(COUNT_KEYS)].gt(0).groupby(rows["submission_id"]).sum().rename(
        columns=catalog.schools_with)
    funding = read(engine, "SELECT f.submission_id, f.kind, f.amount, f.date, s.period "
                           "FROM funding f JOIN submissions s ON s.id = f.submission_id")
    money = funding.pivot_table(index="submission_id", columns="kind", values="amount",
                                aggfunc="sum").reindex(columns=list(catalog.FUNDING_KINDS))
    money = money.fillna(0).set_axis(["allocated", "disbursed"], axis=1)
    # A ledger with entries dated after its month has no totals (the readers sum its rows).
    later = funding[funding["date"].astype(str).str[:7] > funding["period"]]["submission_id"]
    money.loc[money.index.isin(later)] = float("nan")
    frame = ids.join(returns.size().rename("schools_reported")).join(returns[COUNT_KEYS].sum()) \
        .join(tallies).join(_home_measures(engine)).join(money)
    frame["schools_reported"] = frame["schools_reported"].fillna(0)
    return frame.sort_index()


def stored(engine) -> pd.DataFrame:
    frame = read(engine, "SELECT * FROM submission_totals").set_index("submission_id")
    return frame[list(rollup.TOTAL_COLUMNS[1:])].sort_index()


def assert_rollup_matches(engine) -> None:
    expected, actual = recomputed(engine), stored(engine)
    assert list(actual.index) == list(expected.index)
    pd.testing.assert_frame_equal(actual.astype(float), expected[actual.columns].astype(float),
                                  check_exact=False, rtol=1e-9)


def current_view(engine, approved_only: bool = False) -> pd.DataFrame:
    """The dashboards' sums per township and month, once from the rollup, once raw."""
    status = "AND s.status = 'approved'" if approved_only else ""
    sums = ", ".join(f'SUM(r."{k}") AS "{k}"' for k in COUNT_KEYS)
    raw = read(engine, f"SELECT s.period, s.township_code, {sums} FROM school_returns r "
                       f"JOIN submissions s ON s.id = r.submission_id WHERE s.is_current "
                       f"{status} GROUP BY s.period, s.township_code")
    columns = ", ".join(f't."{k}"' for k in COUNT_KEYS)
    rolled = read(engine, f"SELECT s.period, s.township_code, {columns} FROM submission_totals t "
                          f"JOIN submissions s ON s.id = t.submission_id WHERE s.is_current "
                          f"{status} AND t.schools_reported > 0")
    order = ["period", "township_code"]
    return (raw.sort_values(order, ignore_index=True).astype({k: float for k in COUNT_KEYS}),
            rolled.sort_values(order, ignore_index=True).astype({k: float for k in COUNT_KEYS}))


def store(engine, township=TOWNSHIP, period=PERIOD, seed=0, sheets=("schools", "homes",
                                                                     "funding")) -> int:
    frames = {"schools": school_frame(engine, township, seed=seed),
              "homes": home_frame(engine, township), "funding": funding_frame(2026)}
    with transaction(engine) as session:
        return store_submission(session, township_code=township, period=period,
                                frames={k: frames[k] for k in sheets}).id


def test_an_upload_writes_its_totals_in_the_same_transaction(any_engine):
    data = workbook({"schools": school_frame(any_engine), "homes": home_frame(any_engine),
                     "funding": funding_frame()})
    report = ingest_file(any_engine, data, "月报.xlsx", TOWNSHIP, PERIOD, today=TODAY)
    assert report.accepted, report.errors
    totals = stored(any_engine).loc[report.submission_id]
    assert totals["left_behind"] == report.totals["left_behind"]
    assert totals["schools_reported"] == report.rows["schools"]
    assert totals["homes"] == 2 and totals["homes_standardized"] == 1
    assert totals["schools_with_home"] == 2 and totals["villages_with_home"] == 0
    assert float(totals["allocated"]) == 100000.00 and float(totals["disbursed"]) == 12345.67
    assert_rollup_matches(any_engine)


def test_a_correction_counts_the_sheets_it_carried_over(any_engine):
    first = store(any_engine, seed=1)
    second = store(any_engine, seed=2, sheets=("schools",))
    totals = stored(any_engine)
    assert totals.loc[second, "homes"] == totals.loc[first, "homes"] == 2
    assert totals.loc[second, "allocated"] == totals.loc[first, "allocated"]
    assert totals.loc[second, "left_behind"] != totals.loc[first, "left_behind"]
    assert_rollup_matches(any_engine)


def test_a_return_without_school_rows_has_no_counts(any_engine):
    only_homes = store(any_engine, sheets=("homes",))
    totals = stored(any_engine).loc[only_homes]
    assert totals["schools_reported"] == 0 and pd.isna(totals["left_behind"])
    assert totals["homes"] == 2
    assert_rollup_matches(any_engine)


def test_roll_back_and_review_change_which_totals_count_not_the_totals(any_engine):
    staff = make_user(any_engine, "staffx", "staff")
    first = store(any_engine, seed=1)
    store(any_engine, seed=2)
    store(any_engine, OTHER_TOWNSHIP, seed=3)
    store(any_engine, period="2026-09", seed=4)
    before = stored(any_engine)
    raw, rolled = current_view(any_engine)
    pd.testing.assert_frame_equal(raw, rolled)

    review.roll_back(any_engine, staff, first)
    review.approve(any_engine, staff, first)
    pd.testing.assert_frame_equal(stored(any_engine), before)  # never rewritten
    for approved_only in (False, True):
        raw, rolled = current_view(any_engine, approved_only)
        pd.testing.assert_frame_equal(raw, rolled)
    assert len(current_view(any_engine, True)[1]) == 1
    assert_rollup_matches(any_engine)


def test_rebuild_writes_the_same_totals(any_engine):
    store(any_engine, seed=1)
    store(any_engine, seed=2, sheets=("schools",))
    store(any_engine, OTHER_TOWNSHIP, sheets=("homes", "funding"))
    before = stored(any_engine)
    with transaction(any_engine) as session:
        session.execute(delete(SubmissionTotals))
        rollup.rebuild(session)
    pd.testing.assert_frame_equal(stored(any_engine), before)
    assert_rollup_matches(any_engine)


def test_upgrading_a_database_with_returns_fills_the_rollup(engine):
    from alembic import command
    from alembic.config import Config

    from liushou_dash.core.db import MIGRATIONS, init_db

    store(engine, seed=1)
    store(engine, seed=2, sheets=("schools",))
    before = stored(engine)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")   # the schema before the rollup, returns kept
    init_db(engine)                         # upgrades, then refills what a migration marked
    pd.testing.assert_frame_equal(stored(engine), before)


def test_a_ledger_dated_past_its_month_is_read_from_its_rows(any_engine):
    ledger = funding_frame(2026)
    june = ledger.iloc[[1]].assign(date=dt.date(2026, 6, 15), voucher="Z2")  # refused by E13
    with transaction(any_engine) as session:
        sid = store_submission(session, township_code=TOWNSHIP, period="2026-05",
                               frames={"funding": pd.concat([ledger, june])}).id
    assert pd.isna(stored(any_engine).loc[sid, "disbursed"])
    assert_rollup_matches(any_engine)
    assert_same_tables(any_engine, [filtering.Filter(("2026-05", "2026-06"))])


# --- The dashboards read the rollup and get what the rows say ------------------------------

def demo_filters(latest: str) -> list:
    previous = periods.previous_period(latest)
    return [filtering.Filter((latest,)), filtering.Filter((previous,)),
            filtering.Filter.between("2026-01", latest),
            filtering.Filter.between("2026-04", latest, approved_only=True),
            filtering.Filter((latest,), townships=(TOWNSHIP, OTHER_TOWNSHIP)),
            filtering.Filter(("2027-02",)),                          # after the data: as of
            filtering.Filter(("2026-02", latest))]                   # months apart


def test_township_tables_from_the_rollup_equal_those_from_the_rows(any_engine):
    """Over the demo's misbehaviour (skipped and missing months, corrections, returned
    and approved months), then after a roll back and an unlock."""
    seed_demo(any_engine, months=10, today=TODAY)
    assert_same_tables(any_engine, demo_filters(PERIOD))
    staff = make_user(any_engine, "staffx", "staff")
    corrected = read(any_engine, "SELECT id, township_code, period FROM submissions "
                                 "WHERE previous_id IS NOT NULL").iloc[0]
    review.unlock(any_engine, staff, corrected["township_code"], corrected["period"])
    earlier = read(any_engine, f"SELECT previous_id FROM submissions "
                               f"WHERE id = {corrected['id']}").iloc[0, 0]
    review.roll_back(any_engine, staff, int(earlier))
    since = filtering.Filter.between(corrected["period"], PERIOD)  # later months show its homes
    assert_same_tables(any_engine, [since, replace(since, approved_only=True)])


def test_unguarded_schools_through_the_rollup(engine):
    seed_demo(engine, months=2, today=TODAY)
    flt = filtering.Filter((PERIOD,))
    every = readers.school_table(engine, flt)
    unguarded = readers.school_table(engine, flt, positive_only="guardian_none")
    expected = every[every["guardian_none"] > 0].reset_index(drop=True)
    assert len(expected) >= 3
    pd.testing.assert_frame_equal(unguarded, expected)



def test_loading_master_data_refreshes_the_rollup(engine):
    """A home reported at a village that master data learns of later counts once it does."""
    import pandas as pd
    from sqlalchemy import select

    from liushou_dash.core.db import transaction
    from liushou_dash.core.masterdata import MasterData, store
    from liushou_dash.core.models import SubmissionTotals
    from liushou_dash.ingest.store import store_submission
    from tests.fixtures import TOWNSHIP, home_frame
    new_village = TOWNSHIP + "999"
    homes = home_frame(engine).iloc[:1].assign(host_type="村(居)委会", host_code=new_village)
    with transaction(engine) as session:
        sub = store_submission(session, township_code=TOWNSHIP, period="2026-10",
                               frames={"homes": homes})

    def villages_with_home() -> int:
        with engine.connect() as conn:
            return conn.execute(select(SubmissionTotals.villages_with_home).where(
                SubmissionTotals.submission_id == sub.id)).scalar()

    assert villages_with_home() == 0
    store(engine, MasterData(
        pd.DataFrame(columns=["code", "name", "county_code"]),
        pd.DataFrame([{"code": new_village, "name": "新设村", "township_code": TOWNSHIP}]),
        pd.DataFrame(columns=["code", "name", "township_code", "type"])))
    assert villages_with_home() == 1
