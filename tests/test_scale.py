"""City and province demo data, at a small size: the bulk writer stores what the upload path
would, the clones are consistent counties, and the rollup agrees with the rows."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from sqlalchemy import text

from liushou_dash import demo_scale
from liushou_dash.demo import seed_demo
from tests.fixtures import county_engine, fresh_engine
from tests.test_demo import assert_school_rules, inside
from tests.test_rollup import assert_rollup_matches

TODAY = dt.date(2026, 11, 22)
SMALL = demo_scale.Scale(counties=3, school_factor=1.5, months=3)
# Rows that differ between two databases only by their own ids and write times.
TABLES = {"submissions": ["id"], "school_returns": ["submission_id", "school_code"],
          "homes": ["submission_id", "home_code"], "funding": ["submission_id", "voucher"],
          "submission_totals": ["submission_id"], "counties": ["code"], "townships": ["code"],
          "villages": ["code"], "schools": ["code"]}
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
        summary = demo_scale.seed_counties(conn, SMALL, SMALL.months, TODAY)
    return engine, summary


def test_the_bulk_writer_stores_what_the_upload_path_stores(tmp_path):
    """The demo county seeded upload by upload (demo._store through ingest.store) and in
    bulk (demo_scale.store_bulk) gives the same tables, row for row."""
    uploaded = county_engine(f"sqlite:///{tmp_path / 'uploaded.db'}")
    seed_demo(uploaded, months=3, today=TODAY)   # 3: a returned and corrected month
    bulk = fresh_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    with bulk.begin() as conn:
        demo_scale.seed_counties(conn, demo_scale.Scale(1, 1.0, 3), 3, TODAY)
    for name in TABLES:
        pd.testing.assert_frame_equal(table(bulk, name), table(uploaded, name),
                                      check_dtype=False, obj=name)
    pd.testing.assert_frame_equal(submit_audit(bulk), submit_audit(uploaded))
    assert table(bulk, "submissions")["previous_id"].notna().any()  # a correction was written


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
        demo_scale.seed_counties(conn, demo_scale.Scale(2, 1.2, 2), 2, TODAY)
    assert_rollup_matches(pg_engine)
    assert_school_rules(read(pg_engine, "SELECT * FROM school_returns"),
                        read(pg_engine, "SELECT * FROM schools"))
    with pg_engine.begin() as conn:  # the id sequence moved past the bulk-written ids
        conn.execute(text("INSERT INTO submissions (township_code, period, submitted_at, "
                          "file_name, file_sha256, has_schools, has_homes, has_funding, "
                          "carried, warnings, status, is_current) VALUES ('520525001', "
                          "'2026-11', now(), '', '', false, false, false, '', '[]', "
                          "'submitted', true)"))
