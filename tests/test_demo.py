"""The demo generator: every stored row obeys the validation rules, the county looks real
(shares, trends, homes, money) and misbehaves as a county does (late, missing, returned)."""
from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text

from liushou_dash import catalog
from liushou_dash.core.db import session_maker
from liushou_dash.core.models import (
    APPROVED,
    RETURNED,
    SUBMITTED,
    SchoolReturn,
    Setting,
    Submission,
    Township,
)
from liushou_dash.core.periods import period_end, previous_period
from liushou_dash.core.settings import is_demo
from liushou_dash.demo.seed import seed_demo
from tests.fixtures import county_engine, fresh_engine

TODAY = dt.date(2026, 11, 22)
LATEST = "2026-10"
DEADLINE_DAY = 5
COUNT_KEYS = list(catalog.SCHOOL_COUNT_KEYS)
PARTS = ("both_parents_away", "boarding", "in_difficulty", "archived", "paired",
         "parent_contact")


# --- fixtures and readers ------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Four months: enough for a skipped month, a correction and a trend; quick."""
    engine = county_engine(f"sqlite:///{tmp_path_factory.mktemp('demo4') / 'demo.db'}")
    summary = seed_demo(engine, months=4, today=TODAY)
    return engine, summary


@pytest.fixture(scope="module")
def seeded24(tmp_path_factory):
    engine = county_engine(f"sqlite:///{tmp_path_factory.mktemp('demo24') / 'demo.db'}")
    summary = seed_demo(engine, months=24, today=TODAY)
    return engine, summary


def read(engine, sql: str) -> pd.DataFrame:
    return pd.read_sql(text(sql), engine)


def submissions(engine) -> pd.DataFrame:
    frame = read(engine, "SELECT * FROM submissions")
    for col in ("submitted_at", "reviewed_at"):
        frame[col] = pd.to_datetime(frame[col])
    frame["is_current"] = frame["is_current"].astype(bool)
    return frame


def school_rows(engine, current_only: bool = False) -> pd.DataFrame:
    where = "WHERE s.is_current" if current_only else ""
    return read(engine, "SELECT r.*, s.is_current FROM school_returns r "
                        f"JOIN submissions s ON s.id = r.submission_id {where}")


def sheet_rows(engine, table: str) -> pd.DataFrame:
    """Rows of the homes or funding table with the period and currency of their submission."""
    return read(engine, f"SELECT t.*, s.period, s.is_current FROM {table} t "
                        "JOIN submissions s ON s.id = t.submission_id")


def schools(engine) -> pd.DataFrame:
    return read(engine, "SELECT * FROM schools")


def rate(frame: pd.DataFrame, num: str, den: str) -> float:
    return frame[num].sum() / frame[den].sum()


def inside(lon: float, lat: float, geometry: dict) -> bool:
    """Even-odd ray casting over every ring of a Polygon or MultiPolygon."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" \
        else [geometry["coordinates"]]
    result = False
    for polygon in polygons:
        for ring in polygon:
            for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
                if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
                    result = not result
    return result


# --- every school row obeys every validation rule ------------------------------------------

def assert_school_rules(rows: pd.DataFrame, master: pd.DataFrame) -> None:
    assert len(rows) > 0
    counts = rows[COUNT_KEYS]
    assert (counts >= 0).all().all(), "E05: a negative count"
    left = rows["left_behind"]
    assert (left <= rows["students"]).all(), "E06"
    assert (rows["boys"] + rows["girls"] == left).all(), "E07"
    assert (rows["preschool"] + rows["primary"] + rows["junior"] == left).all(), "E08"
    guardians = rows[["guardian_grandparents", "guardian_relatives", "guardian_other",
                      "guardian_none"]].sum(axis=1)
    assert (guardians == left).all(), "E09"
    for part in PARTS:
        assert (rows[part] <= left).all(), f"E10: {part}"
    assert (rows["visited"] <= rows["paired"]).all(), "E11"

    merged = rows.merge(master, left_on="school_code", right_on="code", how="left",
                        suffixes=("", "_master"))
    assert merged["code"].notna().all(), "E03: a school code not in master data"
    assert (merged["township_code"] == merged["township_code_master"]).all(), \
        "E03: a school reported by another township"
    assert (merged["school_name"] == merged["name"]).all(), "W02: name differs"

    kind = merged["type"]
    for stage_type, stage in (("幼儿园", "preschool"), ("小学", "primary"), ("初中", "junior")):
        picked = merged[kind == stage_type]
        assert (picked[stage] == picked["left_behind"]).all(), stage_type
    assert (merged.loc[kind == "教学点", "junior"] == 0).all()
    nine = merged[kind == "九年一贯制"]
    assert (nine["preschool"] == 0).all() and (nine["primary"] > 0).any() \
        and (nine["junior"] > 0).any()
    assert (merged.loc[~merged["boarding_master"].astype(bool), "boarding"] == 0).all(), \
        "boarding children in a day school"
    assert rows["psych_teachers"].between(0, 2).all()
    assert (rows.loc[rows["paired"] > 0, "mentors"] >= 1).all()


def test_every_stored_school_row_obeys_the_rules_over_24_months(seeded24):
    engine, summary = seeded24
    rows = school_rows(engine)
    master = schools(engine)
    assert len(rows) == summary["school_rows"]
    assert_school_rules(rows, master)
    # Every current submission lists every school of its township (no W05).
    current = rows[rows["is_current"].astype(bool)]
    listed = current.groupby("submission_id").agg(township=("township_code", "first"),
                                                  schools=("school_code", "nunique"))
    expected = master.groupby("township_code")["code"].nunique()
    assert (listed["schools"] == listed["township"].map(expected)).all()


def test_rare_events_and_mentor_load(seeded24):
    rows = school_rows(seeded24[0], current_only=True)
    assert (rows["dropouts"] > 0).mean() < 0.03
    assert (rows["safety_incidents"] > 0).mean() < 0.03
    assert rows["dropouts"].sum() > 0           # rare, not absent
    assert 2.0 <= rate(rows, "paired", "mentors") <= 3.5
    load = rows.loc[rows["paired"] >= 10, "paired"] / rows.loc[rows["paired"] >= 10, "mentors"]
    assert load.between(1.5, 3.7).all()
    assert (load > 3).any() and (load > 3).mean() < 0.3  # a few teachers stretched


def test_left_behind_shares_differ_by_township_kind(seeded24):
    engine = seeded24[0]
    rows = school_rows(engine, current_only=True)
    assert 0.25 <= rate(rows, "left_behind", "students") <= 0.45
    big = rows[rows["students"] >= 100]
    assert (big["left_behind"] / big["students"]).between(0.12, 0.55).all()
    names = dict(read(engine, "SELECT code, name FROM townships").to_numpy())
    by_township = rows.groupby("township_code")[["left_behind", "students"]].sum()
    share = by_township["left_behind"] / by_township["students"]
    kind = share.index.map(lambda c: "街道" if names[c].endswith("街道")
                           else "乡" if names[c].endswith("乡") else "镇")
    means = share.groupby(kind).mean()
    assert means["街道"] < means["镇"] < means["乡"]


def test_month_to_month_drift_is_small_and_enrolment_moves_in_september(seeded24):
    rows = school_rows(seeded24[0], current_only=True)
    rows["previous"] = rows["period"].map(previous_period)
    pairs = rows.merge(rows, left_on=["school_code", "previous"],
                       right_on=["school_code", "period"], suffixes=("", "_before"))
    assert len(pairs) > 1000
    change = (pairs["left_behind"] - pairs["left_behind_before"]).abs()
    assert (change <= 0.1 * pairs["left_behind_before"] + 2).all()
    moved = (pairs["students"] - pairs["students_before"]).abs() > 0.02 * pairs["students_before"]
    by_month = moved.groupby(pairs["period"].str[5:]).mean()
    assert by_month["09"] > 0.2
    assert by_month["09"] > 3 * by_month.drop("09").max()


def test_a_handful_of_schools_have_unguarded_children(seeded24):
    rows = school_rows(seeded24[0], current_only=True)
    unguarded = rows[rows["guardian_none"] > 0]
    assert 3 <= unguarded["school_code"].nunique() <= 6
    assert unguarded["guardian_none"].between(1, 3).all()
    per_period = unguarded.groupby("period")["school_code"].nunique()
    assert per_period.reindex(rows["period"].unique(), fill_value=0).between(1, 6).all()
    warned = submissions(seeded24[0]).set_index("id").loc[unguarded["submission_id"].unique()]
    assert warned["warnings"].map(lambda w: any(i["code"] == "W04" for i in json.loads(w))).all()


@pytest.mark.parametrize("db", ["seeded", "seeded24"])
def test_care_work_improves_over_the_months(db, request):
    rows = school_rows(request.getfixturevalue(db)[0], current_only=True)
    first, last = rows[rows["period"] == rows["period"].min()], rows[rows["period"] == LATEST]
    for num, den in (("paired", "left_behind"), ("archived", "left_behind"),
                     ("visited", "paired")):
        assert rate(last, num, den) > rate(first, num, den), num


def test_lagging_townships_stand_out(seeded24):
    rows = school_rows(seeded24[0], current_only=True)
    last = rows[rows["period"] == rows.groupby("township_code")["period"].transform("max")]
    paired = last.groupby("township_code")[["paired", "left_behind"]].sum()
    paired_rate = paired["paired"] / paired["left_behind"]
    assert rate(rows[rows["period"] == LATEST], "paired", "left_behind") > 0.9
    assert 2 <= (paired_rate < 0.88).sum() <= 3
    assert (paired_rate >= 0.9).sum() >= 25


# --- 留守儿童之家 -----------------------------------------------------------------------------

def test_homes_are_hosted_located_and_only_ever_added(seeded24):
    engine = seeded24[0]
    homes = sheet_rows(engine, "homes")
    master = schools(engine)
    villages = read(engine, "SELECT code, township_code FROM villages")
    host_township = {**dict(zip(master["code"], master["township_code"])),
                     **dict(zip(villages["code"], villages["township_code"]))}
    assert (homes["home_code"] == "ZJ" + homes["host_code"]).all()
    assert (homes.loc[homes["host_type"] == "学校", "host_code"].isin(master["code"])).all()
    assert (homes.loc[homes["host_type"] == "村(居)委会", "host_code"]
            .isin(villages["code"])).all()
    assert set(homes["host_type"]) == {"学校", "村(居)委会"}
    assert (homes["host_code"].map(host_township) == homes["township_code"]).all()
    established = pd.to_datetime(homes["established"]).dt.date
    assert (established <= homes["period"].map(period_end)).all()
    for key in ("books", "staff", "children_served"):
        assert (homes[key] >= 0).all()

    county = json.loads(read(engine, "SELECT boundary FROM counties")["boundary"][0])
    outlines = {c: json.loads(b) for c, b in read(
        engine, "SELECT code, boundary FROM townships").to_numpy()}
    located = homes.drop_duplicates("home_code")
    for home in located.itertuples():
        assert inside(home.lon, home.lat, county), home.home_code
        assert inside(home.lon, home.lat, outlines[home.township_code]), home.home_code

    current = homes[homes["is_current"].astype(bool)]
    lists = current.groupby(["township_code", "period"])["home_code"].agg(set)
    for township, by_period in lists.groupby(level=0):
        sets = by_period.sort_index().tolist()
        assert all(a <= b for a, b in zip(sets, sets[1:])), township


def test_home_coverage_grows_and_a_third_are_standardised(seeded24):
    engine = seeded24[0]
    homes = sheet_rows(engine, "homes")
    homes = homes[homes["is_current"].astype(bool)]
    villages = read(engine, "SELECT code FROM villages")
    reporting = read(engine, "SELECT DISTINCT township_code, period FROM submissions")

    def village_coverage(period):
        towns = reporting.loc[reporting["period"] == period, "township_code"]
        all_villages = read(engine, "SELECT code, township_code FROM villages")
        expected = all_villages[all_villages["township_code"].isin(towns)]
        hosted = homes[(homes["period"] == period) & (homes["host_type"] == "村(居)委会")]
        return hosted["host_code"].nunique() / len(expected)

    first = homes["period"].min()
    assert len(villages) == 444
    assert 0.4 <= village_coverage(first) <= 0.6
    assert 0.8 <= village_coverage(LATEST) <= 0.95
    for period in (first, LATEST):
        standardised = homes.loc[homes["period"] == period, "standardized"].astype(bool).mean()
        assert 0.25 <= standardised <= 0.45
    last = homes[homes["period"] == LATEST]
    assert (last.loc[last["standardized"].astype(bool), ["has_phone", "has_video"]]
            .astype(bool).all().all())


# --- 资金 -----------------------------------------------------------------------------------

def test_each_ledger_is_the_year_to_date(seeded24):
    engine = seeded24[0]
    funding = sheet_rows(engine, "funding")
    dates = pd.to_datetime(funding["date"]).dt.date
    assert (dates.map(lambda d: d.year) == funding["period"].str[:4].astype(int)).all()
    assert (funding["year"] == funding["period"].str[:4].astype(int)).all()
    assert (dates <= funding["period"].map(period_end)).all()
    assert (funding["amount"] > 0).all()
    assert ((funding["amount"] * 100).round(6) % 1 == 0).all()
    assert funding["kind"].isin(catalog.FUNDING_KINDS).all()
    assert funding["source"].isin(catalog.FUNDING_SOURCES).all()
    assert funding["category"].isin(catalog.FUNDING_CATEGORIES).all()
    assert not funding.duplicated(["submission_id", "voucher"]).any()
    assert set(funding.loc[funding["kind"] == "支出", "category"]) == \
        set(catalog.FUNDING_CATEGORIES)
    budget = funding[(funding["kind"] == "下达") & funding["source"].isin(("中央", "省级", "县级"))]
    assert pd.to_datetime(budget["date"]).dt.month.between(3, 5).all()
    assert (funding.loc[funding["kind"] == "下达", "source"] == "社会捐赠").any()

    current = funding[funding["is_current"].astype(bool)]
    ledgers = current.groupby(["township_code", "period"])["voucher"].agg(set)
    for (township, period), vouchers in ledgers.items():
        earlier = ledgers.get((township, previous_period(period)))
        if earlier is not None and period[5:] != "01":
            assert earlier <= vouchers, (township, period)   # nothing is dropped or renumbered
    totals = current.pivot_table(index="submission_id", columns="kind", values="amount",
                                 aggfunc="sum", fill_value=0)
    assert (totals["支出"] <= totals["下达"] + 0.005).all()


def test_most_of_the_money_is_spent_by_december(seeded24):
    funding = sheet_rows(seeded24[0], "funding")
    december = funding[funding["is_current"].astype(bool) & (funding["period"] == "2025-12")]
    totals = december.pivot_table(index="township_code", columns="kind", values="amount",
                                  aggfunc="sum")
    assert len(totals) >= 25
    assert (totals["支出"] / totals["下达"]).between(0.85, 0.95).all()
    october = funding[funding["is_current"].astype(bool) & (funding["period"] == LATEST)]
    this_year = october.groupby("kind")["amount"].sum()
    assert this_year["支出"] / this_year["下达"] < 0.85   # the year is not over


# --- submissions, statuses and misbehaviour ------------------------------------------------

@pytest.mark.parametrize("db", ["seeded", "seeded24"])
def test_one_current_submission_per_township_and_period(db, request):
    subs = submissions(request.getfixturevalue(db)[0])
    current = subs.groupby(["township_code", "period"])["is_current"].sum()
    assert (current == 1).all()
    superseded = subs[~subs["is_current"]]
    assert len(superseded) >= 1
    successors = subs.set_index("previous_id").loc[superseded["id"]]
    assert successors["is_current"].all()
    assert (successors["submitted_at"].to_numpy() > superseded["submitted_at"].to_numpy()).all()
    assert (successors["carried"] == "schools").all()          # only the corrected sheet
    assert (successors["has_homes"].astype(bool) & successors["has_funding"].astype(bool)).all()
    assert (superseded["status"] == RETURNED).all() and superseded["review_comment"].notna().all()


def test_a_correction_carries_over_the_sheets_it_did_not_send(seeded):
    engine = seeded[0]
    subs = submissions(engine)
    first = subs[~subs["is_current"]].iloc[0]
    second = subs[subs["previous_id"] == first["id"]].iloc[0]
    for table in ("homes", "funding"):
        counts = read(engine, f"SELECT submission_id, COUNT(*) AS n FROM {table} "
                              f"WHERE submission_id IN ({first['id']}, {second['id']}) "
                              "GROUP BY submission_id").set_index("submission_id")["n"]
        assert counts[first["id"]] == counts[second["id"]] > 0
    rows = school_rows(engine)
    before = rows[rows["submission_id"] == first["id"]].set_index("school_code")[COUNT_KEYS]
    after = rows[rows["submission_id"] == second["id"]].set_index("school_code")[COUNT_KEYS]
    last_month = rows[rows["is_current"].astype(bool)
                      & (rows["period"] == previous_period(first["period"]))
                      & (rows["township_code"] == first["township_code"])]
    assert not before.equals(after)
    if len(last_month):  # the returned version had last month's numbers copied over
        assert before.sort_index().equals(last_month.set_index("school_code")[COUNT_KEYS]
                                          .sort_index())


@pytest.mark.parametrize("db", ["seeded", "seeded24"])
def test_statuses_reviews_and_clerks(db, request):
    subs = submissions(request.getfixturevalue(db)[0])
    current = subs[subs["is_current"]]
    older = current[current["period"] < LATEST]
    assert (older["status"] == APPROVED).all()
    reviewed = subs[subs["status"] != SUBMITTED]
    assert reviewed["reviewed_by"].notna().all()
    assert (reviewed["reviewed_at"] > reviewed["submitted_at"]).all()
    latest = current[current["period"] == LATEST]["status"].value_counts()
    assert 1 <= latest.get(RETURNED, 0) <= 2
    assert latest.get(SUBMITTED, 0) > 20
    returned = current[current["status"] == RETURNED]
    assert returned["review_comment"].str.contains(r"[\u4e00-\u9fff]").all()
    end_of_today = pd.Timestamp(TODAY) + pd.Timedelta(days=1)
    assert (subs["submitted_at"] < end_of_today).all()
    assert (subs["reviewed_at"].dropna() < end_of_today).all()
    assert (subs["username"] == "clerk" + subs["township_code"].str[-3:]).all()


@pytest.mark.parametrize("db", ["seeded", "seeded24"])
def test_some_townships_are_late_or_missing(db, request):
    engine, summary = request.getfixturevalue(db)
    subs = submissions(engine)
    periods = sorted(subs["period"].unique())
    assert len(periods) == summary["periods"] and periods[-1] == LATEST
    due = subs["period"].map(lambda p: pd.Timestamp(period_end(p) + dt.timedelta(
        days=DEADLINE_DAY + 1)))
    late = subs[subs["submitted_at"] >= due]
    assert len(late) >= 1
    assert len(late) < 0.3 * len(subs)
    townships = read(engine, "SELECT code FROM townships")["code"]
    grid = pd.MultiIndex.from_product([townships, periods])
    sent = pd.MultiIndex.from_frame(subs[["township_code", "period"]].drop_duplicates())
    missing = grid.difference(sent)
    assert len(missing) >= 1
    missing_latest = [t for t, p in missing if p == LATEST]
    assert 1 <= len(missing_latest) <= 2
    if len(periods) >= 12:
        assert any(p not in (periods[0], LATEST) for _, p in missing)   # a skipped month
        late_by_township = late.groupby("township_code").size()
        assert 2 <= (late_by_township >= len(periods) // 4).sum() <= 4  # habitual latecomers


# --- the database as a whole ---------------------------------------------------------------

def test_summary_counts_what_was_stored(seeded):
    engine, summary = seeded
    with session_maker(engine)() as session:
        assert summary == {
            "townships": session.scalar(select(func.count()).select_from(Township)),
            "schools": 187,
            "periods": 4,
            "submissions": session.scalar(select(func.count()).select_from(Submission)),
            "school_rows": session.scalar(select(func.count()).select_from(SchoolReturn)),
            "accounts": ["admin", "leader", "staff", "clerk108"],
        }
    assert summary["townships"] == 29
    assert_school_rules(school_rows(engine), schools(engine))


def test_marked_as_demo_with_a_deadline(seeded, engine):
    assert is_demo(seeded[0])
    assert not is_demo(engine)
    with session_maker(seeded[0])() as session:
        assert session.get(Setting, "deadline_day").value == str(DEADLINE_DAY)


def test_second_seed_is_refused(engine):
    seed_demo(engine, months=1, today=TODAY)
    before = submissions(engine)
    with pytest.raises(ValueError, match="已有上报数据"):
        seed_demo(engine, months=1, today=TODAY)
    assert len(submissions(engine)) == len(before)


def test_an_unknown_scale_is_refused(engine):
    with pytest.raises(ValueError, match="不支持"):
        seed_demo(engine, months=1, scale="country", today=TODAY)
    assert len(submissions(engine)) == 0


def test_loads_the_demo_county_into_an_empty_database(tmp_path):
    engine = fresh_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    summary = seed_demo(engine, months=1, today=TODAY)
    assert summary["townships"] == 29 and summary["schools"] == 187
    assert set(submissions(engine)["period"]) == {LATEST}


def test_progress_goes_to_the_caller_and_nothing_is_printed(tmp_path, capsys):
    engine = fresh_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    steps = []
    seed_demo(engine, months=2, today=TODAY, progress=steps.append)
    assert steps == ["正在导入示例县的乡镇、村(居)、学校主数据……", "正在生成示例县数据（2 个月）……",
                     f"正在写入示例县数据：{len(submissions(engine))} 份上报……",
                     "正在计算看板月表……", "正在创建示例账号……"]
    assert capsys.readouterr() == ("", "")


def test_the_command_tells_each_step_and_the_time_taken_on_stderr(engine, capsys):
    from liushou_dash import cli

    url = engine.url.render_as_string(hide_password=False)
    assert cli.main(["--db", url, "seed-demo", "--months", "1"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["submissions"] > 0          # stdout stays one line of JSON
    lines = err.splitlines()
    assert lines[0] == "正在生成示例县数据（1 个月）……"
    assert lines[-1].startswith("示例数据已生成，用时 ") and lines[-1].endswith(" 秒")


def test_same_call_same_data(tmp_path, engine):
    other = county_engine(f"sqlite:///{tmp_path / 'other.db'}")
    for e in (engine, other):
        seed_demo(e, months=2, today=TODAY)
    columns = ["period", "school_code", *COUNT_KEYS]
    ours, theirs = (school_rows(e)[columns].sort_values(columns).reset_index(drop=True)
                    for e in (engine, other))
    pd.testing.assert_frame_equal(ours, theirs)
    assert not ours.empty


def test_default_today_ends_with_last_month(engine):
    seed_demo(engine, months=2)
    today = dt.date.today()
    last = dt.date(today.year, today.month, 1) - dt.timedelta(days=1)
    assert sorted(submissions(engine)["period"].unique())[-1] == f"{last:%Y-%m}"


def test_a_demo_seeded_today_lists_nothing_later_than_now(engine):
    seed_demo(engine, months=2)
    now = pd.Timestamp(dt.datetime.now())
    found = submissions(engine)
    assert pd.to_datetime(found["submitted_at"]).max() <= now
    assert pd.to_datetime(found["reviewed_at"]).dropna().max() <= now


# --- the uploader would accept what the demo stored ----------------------------------------

def _workbook(engine, submission_id: int) -> bytes:
    """The submission's three sheets as a plain workbook with catalogue labels as headers."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    tables = {"schools": "school_returns", "homes": "homes", "funding": "funding"}
    for sheet in catalog.SHEETS:
        frame = read(engine, f"SELECT * FROM {tables[sheet.key]} "
                             f"WHERE submission_id = {submission_id}")
        ws = book.create_sheet(sheet.label)
        ws.append([f.label for f in sheet.fields])
        for record in frame.to_dict("records"):
            row = []
            for f in sheet.fields:
                value = record[f.key]
                if f.kind == catalog.BOOL:
                    value = catalog.YES if value else catalog.NO
                elif f.kind == catalog.DATE and value is not None:
                    value = pd.Timestamp(value).date()
                elif isinstance(value, (np.integer, np.floating)):
                    value = value.item()
                row.append(None if value is None or value != value else value)
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_uploader_accepts_the_latest_demo_returns(seeded):
    from liushou_dash.ingest import ingest_file

    engine = seeded[0]
    subs = submissions(engine)
    open_ones = subs[subs["is_current"] & (subs["period"] == LATEST)
                     & (subs["status"] == SUBMITTED)].iloc[::5]
    assert len(open_ones)
    for sub in open_ones.itertuples():
        report = ingest_file(engine, _workbook(engine, sub.id), "demo.xlsx",
                             sub.township_code, LATEST, dry_run=True, today=TODAY)
        assert report.errors == [], [e.message for e in report.errors]
        assert report.accepted
        assert not [w for w in report.warnings if w.code in ("W02", "W03", "W05")]
