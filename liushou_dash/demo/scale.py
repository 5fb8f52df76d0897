"""Demo data at city and province scale: the demo county cloned, and the seeds.

A city (8 counties, ~3,000 schools) or a province (90 counties, ~20,000 schools) is the demo
county 纳雍县 plus synthetic counties cloned from its shape: the same townships, villages and
schools under new codes and names, the whole county shifted on a grid so that maps show
distinct counties, and each school of a clone standing for one or more schools (branch
campuses) so that a clone has about as many schools as a county of that city or province.
Each county's returns are drawn by generate_for with its own generator, so every county
has its own laggards, latecomers and corrections and every row obeys every validation rule.

Storing 1.2 million school-months one upload at a time through ingest.store would take an
hour (the demo county's 24 months alone took a minute): each county, the demo county too
(`seed_county`), is written as whole tables by bulk.store_bulk.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from liushou_dash.core.bulk import advance_sequences, insert_frame
from liushou_dash.core.masterdata import DEMO_DIR, read_master
from liushou_dash.core.models import County, School, Submission, Township, Village
from liushou_dash.demo.bulk import store_bulk
from liushou_dash.demo.county import (
    MASTER_SCHOOL_COLUMNS,
    SEED,
    Master,
    generate,
    generate_for,
)
from liushou_dash.demo.homes import point_near

DEMO_COUNTY = "520525"
CLONE_SEED = 7_000


Progress = Callable[[str], None]  # takes one line saying, in Chinese, what is being done


def quiet(message: str) -> None:
    """Progress nobody reads: the library prints nothing unless its caller (seed-demo)
    asks to be told."""


@dataclass(frozen=True)
class Scale:
    counties: int
    school_factor: float   # schools of a clone per school of the demo county
    months: int            # default length of the demo window


SCALES = {
    "county": Scale(1, 1.0, 24),
    "city": Scale(8, 2.0, 60),         # 毕节: 8 counties, ~3,000 schools
    "province": Scale(90, 1.19, 60),   # ~90 counties, ~20,000 schools
}

# Two-character names for the clones ("东山县", "东山雍熙街道"): 10 × 9 = 90 of them.
NAME_FIRST, NAME_SECOND = "东西南北中上下前后新", "山河林溪石坪桥阳水"
BRANCH_SUFFIXES = ("", "分校", "第二分校", "第三分校")


# --- The clones' master data ---------------------------------------------------------------

@dataclass(frozen=True)
class Clone:
    index: int         # 0 is the demo county itself
    code: str          # 6-digit county code
    tag: str           # "" for the demo county
    offset: tuple[float, float]

    @property
    def name(self) -> str:
        return f"{self.tag}县"


def clone_codes(scale: Scale) -> list[str]:
    """County codes of the clones: 52CC90..52CC99 over cities CC (one city for a city
    scale, nine for a province); real county codes never end in 9x."""
    cities = ["05"] if scale.counties <= 10 else [f"{c:02d}" for c in range(1, 10)]
    codes = [f"52{city}{n}" for city in cities for n in range(90, 100)]
    if scale.counties - 1 > len(codes):
        raise ValueError(f"最多支持 {len(codes) + 1} 个县")
    return codes[:scale.counties - 1]


def clones(scale: Scale, extent: tuple[float, float]) -> list[Clone]:
    """The demo county and its clones, laid out on a grid of county-sized cells."""
    columns = math.ceil(math.sqrt(scale.counties))
    width, height = extent
    tags = [a + b for a in NAME_FIRST for b in NAME_SECOND]
    result = [Clone(0, DEMO_COUNTY, "", (0.0, 0.0))]
    for i, code in enumerate(clone_codes(scale), start=1):
        offset = ((i % columns) * width, -(i // columns) * height)
        result.append(Clone(i, code, tags[i - 1], offset))
    return result


def _shift(geometry: dict, offset: tuple[float, float]) -> dict:
    if offset == (0.0, 0.0):
        return geometry

    def move(coords):
        if isinstance(coords[0], (int, float)):
            return [round(coords[0] + offset[0], 5), round(coords[1] + offset[1], 5)]
        return [move(c) for c in coords]
    return {**geometry, "coordinates": move(geometry["coordinates"])}


def _geometry_text(geometry: dict | None) -> str | None:
    return None if geometry is None else json.dumps(geometry, ensure_ascii=False,
                                                    separators=(",", ":"))


@dataclass
class DemoMaster:
    """The demo county's master data, typed as stored."""
    county_name: str
    county_boundary: dict
    townships: pd.DataFrame     # code, name, boundary (geometry dict)
    villages: pd.DataFrame
    schools: pd.DataFrame

    @classmethod
    def read(cls) -> DemoMaster:
        md = read_master(DEMO_DIR)
        shapes = {str(f["properties"]["code"]): f["geometry"]
                  for f in md.township_boundaries["features"]}
        townships = md.townships[["code", "name"]].assign(
            boundary=md.townships["code"].map(shapes))
        schools = md.schools.assign(
            village_code=md.schools["village_code"].replace("", None),
            boarding=md.schools["boarding"].eq("是"),
            students=md.schools["students"].astype(int),
            lon=md.schools["lon"].astype(float), lat=md.schools["lat"].astype(float))
        return cls(md.townships["county_name"].iloc[0],
                   md.county_boundary["features"][0]["geometry"], townships,
                   md.villages[["code", "name", "township_code"]], schools)

    @property
    def extent(self) -> tuple[float, float]:
        ring = np.asarray(self.county_boundary["coordinates"][0], float)
        return tuple(ring.max(axis=0) - ring.min(axis=0) + 0.05)


@dataclass
class CountyMaster:
    """One county's org units, as rows of the master tables, ordered by code."""
    county: dict
    townships: pd.DataFrame
    villages: pd.DataFrame
    schools: pd.DataFrame

    def for_demo(self) -> Master:
        return Master.of(self.townships[["code", "name", "boundary"]], self.villages,
                              self.schools[[c.key for c in MASTER_SCHOOL_COLUMNS]])


def _branches(schools: pd.DataFrame, factor: float, rng: np.random.Generator) -> pd.DataFrame:
    """Each school `factor` times on average (the fraction drawn per school): the copies
    are smaller branch campuses (分校) near the main one."""
    whole = int(factor)
    copies = np.maximum(whole + (rng.random(len(schools)) < factor - whole), 1)
    rows = schools.loc[schools.index.repeat(copies)].copy()
    rank = rows.groupby(level=0).cumcount().to_numpy()
    rows["name"] = rows["name"] + [BRANCH_SUFFIXES[min(r, len(BRANCH_SUFFIXES) - 1)]
                                   for r in rank]
    shrink = np.where(rank > 0, rng.uniform(0.4, 0.9, len(rows)), 1.0)
    rows["students"] = np.maximum(20, np.rint(rows["students"] * shrink)).astype(int)
    return rows.reset_index(drop=True).assign(branch=rank > 0)


def county_master(source: DemoMaster, clone: Clone, factor: float) -> CountyMaster:
    """The demo county itself, or a clone of it: codes re-prefixed with the clone's
    county code, names prefixed with its tag, everything shifted by its offset."""
    if clone.index == 0:
        return _county_rows(source, clone, source.county_name, source.townships,
                            source.villages, source.schools)
    rng = np.random.default_rng(CLONE_SEED + clone.index)

    def recode(codes: pd.Series) -> pd.Series:
        return clone.code + codes.str[6:]

    townships = source.townships.assign(
        code=recode(source.townships["code"]), name=clone.tag + source.townships["name"],
        boundary=[_shift(g, clone.offset) if g else None for g in source.townships["boundary"]])
    villages = source.villages.assign(code=recode(source.villages["code"]),
                                      township_code=recode(source.villages["township_code"]))
    schools = _branches(source.schools, factor, rng)
    schools = schools.assign(
        code=[f"{clone.code}{i:04d}" for i in range(1, len(schools) + 1)],
        name=schools["name"].str.replace(source.county_name, clone.name, regex=False),
        township_code=recode(schools["township_code"]),
        village_code=recode(schools["village_code"]).where(schools["village_code"].notna()))
    schools = _place(schools, townships, clone, rng)
    return _county_rows(source, clone, clone.name, townships, villages, schools)


def _county_rows(source: DemoMaster, clone: Clone, name: str, townships: pd.DataFrame,
                 villages: pd.DataFrame, schools: pd.DataFrame) -> CountyMaster:
    county = {"code": clone.code, "name": name,
              "boundary": _geometry_text(_shift(source.county_boundary, clone.offset))}
    townships = townships.assign(county_code=clone.code, boundary_synthetic=True,
                                 boundary=townships["boundary"].map(_geometry_text))
    return CountyMaster(county, townships.sort_values("code", ignore_index=True),
                        villages.sort_values("code", ignore_index=True),
                        schools[list(_SCHOOL_COLUMNS)].sort_values("code", ignore_index=True))


_SCHOOL_COLUMNS = ("code", "name", "township_code", "village_code", "type", "boarding",
                   "students", "lon", "lat")


def _place(schools: pd.DataFrame, townships: pd.DataFrame, clone: Clone,
           rng: np.random.Generator) -> pd.DataFrame:
    """Shift every school with its county; a branch campus sits near its main school,
    inside the same township."""
    lon = schools["lon"].to_numpy(float) + clone.offset[0]
    lat = schools["lat"].to_numpy(float) + clone.offset[1]
    shapes = dict(zip(townships["code"], townships["boundary"]))
    for i in np.flatnonzero(schools["branch"].to_numpy()):
        lon[i], lat[i] = point_near(rng, lon[i], lat[i], 0.01,
                                          shapes.get(schools["township_code"].iat[i]))
    return schools.assign(lon=np.round(lon, 5), lat=np.round(lat, 5))


# --- Writing whole tables ------------------------------------------------------------------

def store_master(conn: Connection, master: CountyMaster) -> None:
    insert_frame(conn, County.__table__, pd.DataFrame([master.county]))
    insert_frame(conn, Township.__table__, master.townships)
    insert_frame(conn, Village.__table__, master.villages)
    insert_frame(conn, School.__table__, master.schools)


# --- Putting it together -------------------------------------------------------------------

def seed_county(conn: Connection, months: int, today: dt.date,
                progress: Progress = quiet) -> dict:
    """The demo over the one county whose master data is in the database (the demo
    county's own, or whatever an operator loaded instead)."""
    progress(f"正在生成示例县数据（{months} 个月）……")
    data = generate(conn, months, today)
    progress(f"正在写入示例县数据：{len(data.uploads)} 份上报……")
    submissions = store_bulk(conn, data)
    advance_sequences(conn, [Submission.__table__])  # given explicit ids
    return {"townships": len(data.profiles),
            "schools": int(data.returns["school_code"].nunique()),
            "periods": len(data.periods), "submissions": submissions}


def seed_counties(conn: Connection, scale: Scale, months: int, today: dt.date,
                  progress: Progress = quiet) -> dict:
    """Master data for every county not yet in the database, then every county's demo."""
    source = DemoMaster.read()
    known = set(conn.scalars(select(County.code)))
    counts = {"townships": 0, "schools": 0, "submissions": 0}
    counties = clones(scale, source.extent)
    for number, clone in enumerate(counties, start=1):
        progress(f"正在生成示例数据：第 {number}/{len(counties)} 个县（"
                 f"{clone.name if clone.tag else source.county_name}）……")
        master = county_master(source, clone, scale.school_factor)
        if clone.code not in known:
            store_master(conn, master)
        rng = np.random.default_rng(SEED + clone.index)
        data = generate_for(master.for_demo(), months, today, rng)
        counts["submissions"] += store_bulk(conn, data)
        counts["townships"] += len(master.townships)
        counts["schools"] += len(master.schools)
    advance_sequences(conn, [Submission.__table__])  # given explicit ids
    return {"counties": scale.counties, **counts, "periods": months}
