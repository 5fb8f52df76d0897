"""metrics: expected values are computed here from the frames that were stored."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import func, select

from liushou_dash import catalog
from liushou_dash.catalog import columns
from liushou_dash.core import periods, settings, township_months
from liushou_dash.core.db import make_engine, session_maker, transaction
from liushou_dash.core.filtering import Filter
from liushou_dash.core.masterdata import DEMO_DIR
from liushou_dash.core.models import APPROVED, School, Setting, Village
from liushou_dash.indicators import ratios, readers, stored
from liushou_dash.ingest.store import store_submission
from tests.fixtures import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    funding_frame,
    home_frame,
    school_frame,
    township_schools,
)

# Rates whose numerator and denominator are both school counts.
SCHOOL_RATES = [i for i in catalog.INDICATORS
                if i.is_rate and i.numerator in catalog.SCHOOL_COUNT_KEYS
                and i.denominator in catalog.SCHOOL_COUNT_KEYS]


def submit(engine, township, period, frames, submitted_at=None, approved=False) -> int:
    with transaction(engine) as session:
        submission = store_submission(session, township_code=township, period=period,
                                      frames=frames, submitted_at=submitted_at)
        if approved:  # what workflow.approve does, without an account
            submission.status = APPROVED
            session.flush()
            township_months.refresh(session.connection(), township, period)
        return submission.id


def row_of(table: pd.DataFrame, period: str, township: str = TOWNSHIP) -> pd.Series:
    rows = table[(table["period"] == period) & (table["township_code"] == township)]
    assert len(rows) == 1
    return rows.iloc[0]


def village_codes(engine, township) -> list[str]:
    with session_maker(engine)() as session:
        return list(session.scalars(select(Village.code).where(
            Village.township_code == township).order_by(Village.code)))


def master_count(engine, model, township) -> int:
    with session_maker(engine)() as session:
        return session.scalar(select(func.count()).select_from(model).where(
            model.township_code == township))


def set_setting(engine, key, value):
    with transaction(engine) as session:
        session.merge(Setting(key=key, value=value))


# --- Counts and rates --------------------------------------------------------------------------

def test_township_row_sums_the_return_and_recomputes_its_rates(engine):
    frame = school_frame(engine)
    submit(engine, TOWNSHIP, "2026-03", {"schools": frame})

    row = row_of(stored.township_table(engine, Filter(("2026-03",))), "2026-03")

    for key in catalog.SCHOOL_COUNT_KEYS:
        assert row[key] == frame[key].sum(), key
    for indicator in SCHOOL_RATES:
        expected = frame[indicator.numerator].sum() / frame[indicator.denominator].sum()
        assert row[indicator.key] == pytest.approx(expected), indicator.key
    assert row["archived_rate"] == pytest.approx(frame.archived.sum() / frame.left_behind.sum())


def test_county_rates_are_recomputed_from_sums_not_averaged(engine):
    small = school_frame(engine, TOWNSHIP).head(2)
    large = school_frame(engine, OTHER_TOWNSHIP, seed=1)
    small["archived"] = small["left_behind"] // 2      # a small township at about 50 %
    submit(engine, TOWNSHIP, "2026-03", {"schools": small})
    submit(engine, OTHER_TOWNSHIP, "2026-03", {"schools": large})

    summary = stored.county_summary(engine, Filter(("2026-03",)))

    both = pd.concat([small, large])
    expected = both.archived.sum() / both.left_behind.sum()
    averaged = (small.archived.sum() / small.left_behind.sum() + 1.0) / 2
    assert summary["archived_rate"] == pytest.approx(expected)
    assert not math.isclose(expected, averaged, rel_tol=1e-3)  # the test can tell them apart
    assert summary["left_behind"] == both.left_behind.sum()
    assert summary["period"] == "2026-03"


def test_township_without_return_has_missing_counts_and_rates(engine):
    submit(engine, TOWNSHIP, "2026-03", {"schools": school_frame(engine)})

    row = row_of(stored.township_table(engine, Filter(("2026-03",))), "2026-03", OTHER_TOWNSHIP)

    assert pd.isna(row["left_behind"]) and pd.isna(row["archived_rate"])
    assert row["expected"] == 1 and row["reported"] == 0 and row["report_rate"] == 0


def test_zero_denominators_give_missing_rates_not_zero(engine):
    frame = school_frame(engine)
    frame["mentors"] = 0
    frame.loc[frame.index[0], [*catalog.SCHOOL_COUNT_KEYS]] = 0  # one school with no pupils
    submit(engine, TOWNSHIP, "2026-03", {"schools": frame})
    flt = Filter(("2026-03",))

    row = row_of(stored.township_table(engine, flt), "2026-03")
    assert pd.isna(row["mentor_load"])              # paired / 0 mentors
    assert pd.isna(row["disbursement_rate"])        # no ledger: nothing allocated
    assert pd.isna(row["standardized_rate"])        # no homes
    schools = readers.school_table(engine, flt).set_index("school_code")
    empty_school = schools.loc[frame.iloc[0]["school_code"]]
    assert pd.isna(empty_school["archived_rate"]) and pd.isna(empty_school["left_behind_rate"])


def test_indicator_value_of_one_row():
    row = {"archived": 9, "left_behind": 10, "paired": 3, "mentors": 0, "guardian_none": 2}
    assert ratios.indicator_value(row, "archived_rate") == pytest.approx(0.9)
    assert math.isnan(ratios.indicator_value(row, "mentor_load"))
    assert ratios.indicator_value(row, catalog.INDICATORS_BY_KEY["guardian_none"]) == 2
    assert math.isnan(ratios.indicator_value({"left_behind": None}, "archived_rate"))


# --- Which submissions count -------------------------------------------------------------------

def test_superseded_submissions_are_ignored(engine):
    first, second = school_frame(engine, seed=1), school_frame(engine, seed=2)
    assert first.left_behind.sum() != second.left_behind.sum()
    submit(engine, TOWNSHIP, "2026-03", {"schools": first})
    submit(engine, TOWNSHIP, "2026-03", {"schools": second})

    row = row_of(stored.township_table(engine, Filter(("2026-03",))), "2026-03")
    assert row["left_behind"] == second.left_behind.sum()
    schools = readers.school_table(engine, Filter(("2026-03",)))
    assert len(schools) == len(second)


def test_approved_only_counts_approved_submissions(engine):
    approved = school_frame(engine, TOWNSHIP)
    pending = school_frame(engine, OTHER_TOWNSHIP)
    submit(engine, TOWNSHIP, "2026-03", {"schools": approved}, approved=True)
    submit(engine, OTHER_TOWNSHIP, "2026-03", {"schools": pending})

    everything = stored.county_summary(engine, Filter(("2026-03",)))
    only_approved = stored.county_summary(engine, Filter(("2026-03",), approved_only=True))

    assert everything["left_behind"] == approved.left_behind.sum() + pending.left_behind.sum()
    assert only_approved["left_behind"] == approved.left_behind.sum()
    assert (everything["reported"], only_approved["reported"]) == (2, 1)
    assert readers.latest_period(engine, approved_only=True) == "2026-03"


def test_filters_by_township_and_school_type(engine):
    frame = school_frame(engine)
    submit(engine, TOWNSHIP, "2026-03", {"schools": frame})
    submit(engine, OTHER_TOWNSHIP, "2026-03", {"schools": school_frame(engine, OTHER_TOWNSHIP)})
    types = {s.code: s.type for s in township_schools(engine)}
    primary = frame[frame.school_code.map(types) == "小学"]
    assert 0 < len(primary) < len(frame)

    flt = Filter(("2026-03",), townships=(TOWNSHIP,), school_types=("小学",))
    table = stored.township_table(engine, flt)

    assert list(table["township_code"]) == [TOWNSHIP]
    assert table.iloc[0]["left_behind"] == primary.left_behind.sum()
    assert table.iloc[0]["schools"] == sum(1 for t in types.values() if t == "小学")
    schools = readers.school_table(engine, flt)
    assert set(schools["school_code"]) == set(primary["school_code"])


# --- Homes and funding "as of" -----------------------------------------------------------------

def homes_with_village_hosts(engine) -> pd.DataFrame:
    """The fixture's two school-hosted homes plus: two homes in one village and one in a
    community of the township (two villages covered), and one whose host village belongs
    to another township (covers nothing)."""
    own = village_codes(engine, TOWNSHIP)
    foreign = village_codes(engine, OTHER_TOWNSHIP)[0]
    base = home_frame(engine)
    extra = pd.DataFrame([
        base.iloc[0].to_dict() | {"home_code": f"HV{i}", "host_type": host_type,
                                  "host_code": host, "standardized": standardized}
        for i, (host_type, host, standardized) in enumerate([
            ("村(居)委会", own[0], True), ("村(居)委会", own[0], False), ("社区", own[1], True),
            ("村(居)委会", foreign, True)])])
    return pd.concat([base, extra], ignore_index=True)


def test_homes_as_of_the_latest_submission_that_carried_them(engine):
    january = homes_with_village_hosts(engine)
    february = home_frame(engine).head(1)
    submit(engine, TOWNSHIP, "2026-01", {"schools": school_frame(engine), "homes": january})
    submit(engine, TOWNSHIP, "2026-02", {"homes": february})
    submit(engine, TOWNSHIP, "2026-03", {"schools": school_frame(engine)})   # no homes sheet
    flt = Filter(("2025-12", "2026-01", "2026-02", "2026-03"))

    table = stored.township_table(engine, flt)

    jan = row_of(table, "2026-01")
    assert jan["homes"] == len(january)
    assert jan["homes_standardized"] == january.standardized.sum()
    assert jan["villages_with_home"] == 2
    assert jan["schools_with_home"] == 2
    assert jan["villages"] == master_count(engine, Village, TOWNSHIP)
    assert jan["schools"] == master_count(engine, School, TOWNSHIP)
    assert jan["village_coverage"] == pytest.approx(2 / jan["villages"])
    for period in ("2026-02", "2026-03"):  # March carried no homes: February's list holds
        row = row_of(table, period)
        assert (row["homes"], row["schools_with_home"], row["villages_with_home"]) == (1, 1, 0)
    assert row_of(table, "2025-12")["homes"] == 0
    # The same answer when the filter starts after the submission that holds the homes.
    assert row_of(stored.township_table(engine, Filter(("2026-03",))), "2026-03")["homes"] == 1
    assert row_of(table, "2026-01", OTHER_TOWNSHIP)["homes"] == 0


def test_homes_as_of_respects_approved_only(engine):
    submit(engine, TOWNSHIP, "2026-01", {"homes": home_frame(engine)}, approved=True)
    submit(engine, TOWNSHIP, "2026-02", {"homes": home_frame(engine).head(1)})

    approved = stored.township_table(engine, Filter(("2026-02",), approved_only=True))
    assert row_of(approved, "2026-02")["homes"] == 2


def test_funding_year_to_date_as_of_the_month(engine):
    ledger = funding_frame(2026)
    june_entry = ledger.iloc[[1]].assign(date=dt.date(2026, 6, 15), amount=500.0, voucher="Z2")
    submit(engine, TOWNSHIP, "2026-05", {"funding": pd.concat([ledger, june_entry])})
    flt = Filter(("2026-04", "2026-05", "2026-06", "2027-01"))

    table = stored.township_table(engine, flt)

    allocated = ledger.loc[ledger.kind == "下达", "amount"].sum()
    disbursed = ledger.loc[ledger.kind == "支出", "amount"].sum()
    may = row_of(table, "2026-05")
    assert may["allocated"] == pytest.approx(allocated)
    assert may["disbursed"] == pytest.approx(disbursed)       # June's entry is after May
    assert may["disbursement_rate"] == pytest.approx(disbursed / allocated)
    june = row_of(table, "2026-06")
    assert june["disbursed"] == pytest.approx(disbursed + 500.0)
    assert row_of(table, "2026-04")["allocated"] == 0          # nothing submitted yet
    assert row_of(table, "2027-01")["allocated"] == 0          # a new year starts at zero
    assert pd.isna(row_of(table, "2027-01")["disbursement_rate"])
    for period in ("2026-06", "2027-01"):  # a filter that starts after the submission
        alone = row_of(stored.township_table(engine, Filter((period,))), period)
        assert alone["disbursed"] == pytest.approx(row_of(table, period)["disbursed"])


def test_a_newer_ledger_replaces_the_older_one(engine):
    submit(engine, TOWNSHIP, "2026-05", {"funding": funding_frame(2026)})
    newer = funding_frame(2026).assign(amount=[200000.0, 50000.0])
    submit(engine, TOWNSHIP, "2026-07", {"funding": newer})

    table = stored.township_table(engine, Filter(("2026-06", "2026-08")))
    assert row_of(table, "2026-06")["allocated"] == pytest.approx(100000.0)
    assert row_of(table, "2026-08")["allocated"] == pytest.approx(200000.0)
    assert row_of(table, "2026-08")["disbursed"] == pytest.approx(50000.0)


# --- Reporting ---------------------------------------------------------------------------------

def test_reporting_counts_and_timeliness(engine):
    frames = {"schools": school_frame(engine)}
    other = {"schools": school_frame(engine, OTHER_TOWNSHIP)}
    submit(engine, TOWNSHIP, "2026-03", frames, submitted_at=dt.datetime(2026, 4, 5, 23, 59))
    submit(engine, TOWNSHIP, "2026-03", frames, submitted_at=dt.datetime(2026, 4, 20))  # fix
    submit(engine, OTHER_TOWNSHIP, "2026-03", other, submitted_at=dt.datetime(2026, 4, 6, 0, 1))
    flt = Filter(("2026-03",), townships=(TOWNSHIP, OTHER_TOWNSHIP))

    table = stored.township_table(engine, flt)
    assert row_of(table, "2026-03")["on_time"] == 1           # judged on the first upload
    assert row_of(table, "2026-03", OTHER_TOWNSHIP)["on_time"] == 0
    summary = stored.county_summary(engine, flt)
    assert (summary["expected"], summary["reported"], summary["on_time"]) == (2, 2, 1)
    assert summary["on_time_rate"] == pytest.approx(0.5)

    set_setting(engine, "deadline_day", "6")
    assert stored.county_summary(engine, flt)["on_time"] == 2


def test_every_township_is_expected(engine):
    submit(engine, TOWNSHIP, "2026-03", {"schools": school_frame(engine)})
    summary = stored.county_summary(engine, Filter(("2026-03",)))
    townships = pd.read_csv(DEMO_DIR / "townships.csv", dtype=str)
    assert summary["expected"] == len(townships)
    assert summary["report_rate"] == pytest.approx(1 / len(townships))


# --- Over time ---------------------------------------------------------------------------------

def test_a_range_aggregates_each_field_by_its_over_time_rule(engine):
    january, february = school_frame(engine, seed=1), school_frame(engine, seed=2)
    january["dropouts"], february["dropouts"] = 1, 2
    february["visited"] = february["paired"]
    submit(engine, TOWNSHIP, "2026-01", {"schools": january})
    submit(engine, TOWNSHIP, "2026-02", {"schools": february})
    flt = Filter.between("2026-01", "2026-02", townships=(TOWNSHIP, OTHER_TOWNSHIP))

    collapsed = ratios.collapse_periods(stored.township_table(engine, flt))
    row = collapsed.set_index("township_code").loc[TOWNSHIP]

    assert catalog.SCHOOLS.field("left_behind").over_time == "last"
    assert row["left_behind"] == february.left_behind.sum()                       # last
    assert row["dropouts"] == january.dropouts.sum() + february.dropouts.sum()    # sum
    mean_visited = (january.visited.sum() + february.visited.sum()) / 2
    assert row["visited"] == pytest.approx(mean_visited)                          # mean
    assert row["visit_rate"] == pytest.approx(mean_visited / february.paired.sum())
    assert (row["expected"], row["reported"]) == (2, 2)
    assert (row["period_from"], row["period_to"]) == ("2026-01", "2026-02")
    assert pd.isna(collapsed.set_index("township_code").loc[OTHER_TOWNSHIP, "left_behind"])


def test_last_takes_the_latest_month_that_has_a_value(engine):
    january = school_frame(engine)
    submit(engine, TOWNSHIP, "2026-01", {"schools": january})
    flt = Filter.between("2026-01", "2026-02", townships=(TOWNSHIP,))

    schools = ratios.collapse_periods(readers.school_table(engine, flt), "school")
    township = ratios.collapse_periods(stored.township_table(engine, flt)).iloc[0]

    assert township["left_behind"] == january.left_behind.sum()
    assert township["reported"] == 1 and township["report_rate"] == pytest.approx(0.5)
    assert schools["left_behind"].sum() == january.left_behind.sum()


# --- Periods, filter, small readers, formatting ------------------------------------------------

def test_periods_and_due_dates():
    assert periods.periods_between("2025-11", "2026-02") == (
        "2025-11", "2025-12", "2026-01", "2026-02")
    assert periods.previous_period("2026-01") == "2025-12"
    assert periods.due_date("2026-12") == dt.date(2027, 1, 5)
    assert periods.due_date("2026-01", 31) == dt.date(2026, 2, 28)
    assert periods.period_end("2028-02") == dt.date(2028, 2, 29)
    with pytest.raises(ValueError):
        periods.periods_between("2026-03", "2026-01")
    with pytest.raises(ValueError):
        Filter(("2026-13",))


def test_filter_is_normalised_and_hashable():
    flt = Filter(["2026-02", "2026-01", "2026-02"], townships=[TOWNSHIP])
    assert flt.periods == ("2026-01", "2026-02") and flt.latest == "2026-02"
    assert hash(flt) == hash(Filter(("2026-01", "2026-02"), townships=(TOWNSHIP,)))
    assert flt.only("2026-01").periods == ("2026-01",)


def test_empty_database_and_demo_flag(engine, tmp_path):
    assert readers.latest_period(engine) is None
    assert not settings.is_demo(engine)
    set_setting(engine, "demo", "1")
    assert settings.is_demo(engine)
    no_schema = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert readers.latest_period(no_schema) is None and not settings.is_demo(no_schema)
    no_schema.dispose()


def test_table_columns_follow_the_catalogue():
    rates = [i.key for i in catalog.INDICATORS if i.is_rate]
    school_rates = [i.key for i in catalog.INDICATORS if i.is_rate and "school" in i.levels]
    measures = [m.key for m in catalog.MEASURES]
    read = {key for i in catalog.INDICATORS if i.is_rate and "township" in i.levels
            for key in (i.numerator, i.denominator)}
    tallies = [key for key in catalog.SCHOOL_TALLY_KEYS if key in read]  # those rates read
    assert columns.table_columns("township") == (
        "period", "township_code", "township_name", *catalog.SCHOOL_COUNT_KEYS, *tallies,
        *measures, *rates)
    assert columns.value_columns("school") == (*catalog.SCHOOL_COUNT_KEYS, *school_rates)


def test_formatting_helpers():
    assert columns.format_percent(0.97314) == "97.3%"
    assert columns.format_percent(float("nan")) == "—"
    assert columns.format_wan_yuan(123456.7) == "12.35 万元"
    assert columns.format_count(12345) == "12,345"
    assert columns.format_value("archived_rate", 1.0) == "100.0%"
    assert columns.format_value("mentor_load", 2.96) == "3.0"
    assert columns.format_value("left_behind", pd.NA) == "—"
