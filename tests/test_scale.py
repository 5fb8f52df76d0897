"""Demo data written in bulk: the county, city and province demos store what the upload path
would; at a small size, the clones are consistent counties and the rollup agrees with the
rows."""
from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest
from sqlalchemy import text

from liushou_dash.core import audit, township_months
from liushou_dash.core.db import make_engine, transaction
from liushou_dash.core.periods import parse_period, period_end
from liushou_dash.demo import scale
from liushou_dash.demo.bulk import (
    FUNDING_KEYS,
    REVIEWER,
    SCHOOL_KEYS,
    file_name,
    file_sha256,
    unguarded_warnings,
)
from liushou_dash.demo.county import DemoData, generate
from liushou_dash.demo.homes import homes_frame
from liushou_dash.demo.profiles import window_progress
from liushou_dash.demo.seed import seed_demo
from liushou_dash.demo.uploads import SHEETS_ALL, Upload
from liushou_dash.ingest.store import store_submission
from tests.fixtures import fresh_engine
from tests.test_demo import assert_school_rules, inside
from tests.test_rollup import assert_rollup_matches

TODAY = dt.date(2026, 11, 22)
SMALL = scale.Scale(counties=3, school_factor=1.5, months=3)
# Rows that differ between two databases only by their own ids and write times.
TABLES = {"submissions": ["id"], "school_returns": ["submission_id", "school_code"],
          "homes": ["submission_id", "home_code"], "funding": ["submission_id", "voucher"],
          "submission_totals": ["submission_id"], "counties": ["code"], "townships": ["code"],
          "villages": ["code"], "schools": ["code"],
          "township_months": ["period", "approved_only", "township_code"]}
ROW_IDS = {"school_returns", "homes", "funding"}


def read(engine, sql: str) -> pd.DataFrame:
    return pd.read_sql(text(sql), engine)


def table(engine, name: str) -> pd.DataFrame:
    frame = read(engine, f"SELECT * FROM {name}")
    if name in ROW_IDS:
        frame = frame.drop(columns="id")
    return frame.sort_values(TABLES[name], ignore_index=True)


def submit_audit(engine) -> pd.DataFrame:
    return read(engine, "SELECT username, action, object_type, object_id, before_id, after_id, "
                        "detail FROM audit WHERE action = 'submit' ORDER BY after_id")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    engine = fresh_engine(f"sqlite:///{tmp_path_factory.mktemp('scale') / 'small.db'}")
    with engine.begin() as conn:
        summary = scale.seed_counties(conn, SMALL, SMALL.months, TODAY)
    return engine, summary


def upload_frames(data: DemoData, upload: Upload) -> dict[str, pd.DataFrame]:
    """The sheets of one upload as the reader would hand them to the store, cut from the
    drawn data one upload at a time (the bulk writer cuts them all at once, by joins)."""
    period = data.periods[upload.index]
    source = data.periods[upload.index - 1] if upload.copied_last_month else period
    returns, registry = data.returns, data.registry
    schools = returns[(returns["township_code"] == upload.township)
                      & (returns["period"] == source)]
    homes = registry[(registry["township_code"] == upload.township)
                     & (registry["opens"] <= upload.index)]
    ledger = data.ledgers[upload.township, parse_period(period)[0]]
    sheets = {"schools": schools[list(SCHOOL_KEYS)].reset_index(drop=True),
              "homes": homes_frame(homes, window_progress(len(data.periods))[upload.index]),
              "funding": ledger[ledger["date"] <= period_end(period)][
                  list(FUNDING_KEYS)].reset_index(drop=True)}
    return {key: sheets[key] for key in upload.sheets}


def seed_upload_by_upload(engine, months: int) -> None:
    """The demo county as its clerks would send it: each upload through ingest.store and
    then the county's review, the township months rebuilt at the end as seed_demo does.
    This is what the bulk writer has to store."""
    with transaction(engine) as session:
        data = generate(session.connection(), months, TODAY)
        for upload in data.uploads:
            profile, period = data.profiles[upload.township], data.periods[upload.index]
            frames = upload_frames(data, upload)
            submission = store_submission(
                session, township_code=upload.township, period=period, frames=frames,
                username=profile.clerk,
                file_name=file_name(profile, period, upload.sheets != SHEETS_ALL),
                sha256=file_sha256(upload, period),
                warnings=unguarded_warnings(frames["schools"]),
                submitted_at=upload.submitted_at)
            if upload.reviewed_at is not None:
                submission.status, submission.review_comment = upload.status, upload.comment
                submission.reviewed_by, submission.reviewed_at = REVIEWER, upload.reviewed_at
        township_months.rebuild(session.connection())


def test_the_county_demo_and_the_bulk_writer_store_what_uploading_stores(tmp_path,
                                                                          county_db_file):
    """The demo county stored upload by upload through ingest.store, by seed_demo and by
    the city and province writer (scale.seed_counties, master data included) gives
    the same tables, row for row, and the same sealed chain of submit rows."""
    engines = {}
    for name in ("uploaded", "seeded"):
        shutil.copy(county_db_file, tmp_path / f"{name}.db")
        engines[name] = make_engine(f"sqlite:///{tmp_path / name}.db")
    engines["bulk"] = fresh_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    seed_upload_by_upload(engines["uploaded"], months=3)  # 3: a returned and corrected month
    seed_demo(engines["seeded"], months=3, today=TODAY)
    with transaction(engines["bulk"]) as session:
        scale.seed_counties(session.connection(), scale.Scale(1, 1.0, 3), 3, TODAY)
        township_months.rebuild(session.connection())
    uploaded = engines.pop("uploaded")
    assert table(uploaded, "submissions")["previous_id"].notna().any()  # a correction
    for way, engine in engines.items():
        for name in TABLES:
            pd.testing.assert_frame_equal(table(engine, name), table(uploaded, name),
                                          check_dtype=False, obj=f"{way}: {name}")
        pd.testing.assert_frame_equal(submit_audit(engine), submit_audit(uploaded), obj=way)
        assert audit.verify(engine).intact, way


def test_clones_are_counties_of_their_own(small):
    engine, summary = small
    counties = read(engine, "SELECT * FROM counties ORDER BY code")
    assert list(counties["code"]) == ["520525", "520590", "520591"]
    assert summary["counties"] == 3 and summary["townships"] == 3 * 29
    townships = read(engine, "SELECT * FROM townships")
    assert (townships["code"].str[:6] == townships["county_code"]).all()
    assert townships["name"].is_unique
    clone = townships[townships["county_code"] == "520590"]
    assert clone["name"].str.startswith("东山").all()
    schools = read(engine, "SELECT * FROM schools")
    per_county = schools.groupby(schools["code"].str[:6]).size()
    assert per_county["520525"] == 187
    assert 187 * 1.4 <= per_county["520590"] <= 187 * 1.6
    assert (schools["code"].str[:6] == schools["township_code"].str[:6]).all()
    villages = read(engine, "SELECT code, township_code FROM villages")
    known = schools["village_code"].dropna()
    assert known.isin(villages["code"]).all()
    assert summary["schools"] == len(schools)


def test_every_clone_school_lies_in_its_own_shifted_county(small):
    engine, _ = small
    boundaries = read(engine, "SELECT code, boundary FROM counties")
    shapes = {c: json.loads(b) for c, b in zip(boundaries["code"], boundaries["boundary"])}
    schools = read(engine, "SELECT code, lon, lat FROM schools")
    outside = [c for c, lon, lat in zip(schools["code"], schools["lon"], schools["lat"])
               if not inside(lon, lat, shapes[c[:6]])]
    assert len(outside) <= 0.01 * len(schools)   # the demo county's own rare edge cases
    assert shapes["520525"] != shapes["520590"]


def test_every_school_row_obeys_the_rules(small):
    engine, _ = small
    assert_school_rules(read(engine, "SELECT * FROM school_returns"),
                        read(engine, "SELECT * FROM schools"))


def test_each_county_misbehaves_like_a_county(small):
    engine, summary = small
    subs = read(engine, "SELECT * FROM submissions")
    assert len(subs) == summary["submissions"]
    current = subs.groupby(["township_code", "period"])["is_current"].sum()
    assert (current == 1).all()
    latest = subs[subs["period"] == subs["period"].max()]
    for county, rows in latest.groupby(latest["township_code"].str[:6]):
        assert len(rows["township_code"].unique()) < 29, f"{county}: no township missing"
        assert (rows["status"] == "returned").any(), f"{county}: nothing returned"


def test_the_rollup_agrees_with_the_rows(small):
    assert_rollup_matches(small[0])


def test_a_city_through_seed_demo(tmp_path):
    engine = fresh_engine(f"sqlite:///{tmp_path / 'city.db'}")
    summary = seed_demo(engine, months=1, scale="city", today=TODAY)
    assert summary["counties"] == 8 and summary["periods"] == 1
    assert 2_700 <= summary["schools"] <= 3_000
    stored = read(engine, "SELECT COUNT(*) AS n FROM school_returns").iloc[0, 0]
    assert summary["school_rows"] == stored
    assert 0.85 * summary["schools"] <= stored <= summary["schools"]   # a few not yet in
    assert "leader" in summary["accounts"]


def test_the_bulk_writer_on_postgresql(pg_engine):
    with pg_engine.begin() as conn:
        scale.seed_counties(conn, scale.Scale(2, 1.2, 2), 2, TODAY)
    assert_rollup_matches(pg_engine)
    assert_school_rules(read(pg_engine, "SELECT * FROM school_returns"),
                        read(pg_engine, "SELECT * FROM schools"))
    with pg_engine.begin() as conn:  # the id sequence moved past the bulk-written ids
        conn.execute(text("INSERT INTO submissions (township_code, period, submitted_at, "
                          "file_name, file_sha256, has_schools, has_homes, has_funding, "
                          "carried, warnings, status, is_current) VALUES ('520525001', "
                          "'2026-11', now(), '', '', false, false, false, '', '[]', "
                          "'submitted', true)"))
