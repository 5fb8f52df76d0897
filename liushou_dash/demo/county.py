"""Synthetic monthly returns over the real demo county (纳雍县) in data/demo/.

`seed_demo` fills an empty database with months of township submissions that look like a
county's real ones: left-behind shares that differ between 街道, 镇 and 乡, enrolment that
changes in September, archiving and pairing rising toward 100%, homes opening month by month,
special funds allocated in spring and spent through the year — and the misbehaviour the
dashboards exist to show: townships that lag, submit late, skip a month or have not yet
submitted, a returned submission and a few corrected ones. Every school row obeys every
validation rule of DESIGN.md, so the data could have come through the uploader.

Everything is drawn from one numpy Generator with a fixed seed, school values as whole
(period × school) arrays, so the same call always yields the same database, quickly. It is
written as whole tables (scale.store_bulk), exactly as storing it upload by upload
through ingest.store would leave it (tests/test_scale.py stores it both ways): 24 months
upload by upload took about a minute, in bulk a few seconds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from liushou_dash import catalog
from liushou_dash.core.models import (
    APPROVED,
    RETURNED,
    SUBMITTED,
    School,
    Township,
    Village,
)
from liushou_dash.ingest.issues import issue

SEED = 520525
DEADLINE_DAY = 5
REVIEWER = "staff"  # one of the demo accounts (auth.create_demo_accounts)
DEMO_KEY, DEADLINE_KEY = "demo", "deadline_day"
SCHOOL_KEYS = tuple(f.key for f in catalog.SCHOOLS.fields)
HOME_KEYS = tuple(f.key for f in catalog.HOMES.fields)
FUNDING_KEYS = tuple(f.key for f in catalog.FUNDING.fields)
SHEETS_ALL = ("schools", "homes", "funding")

# Left-behind share of enrolment by kind of township: towns keep more parents at home.
SHARE_BY_KIND = {"街道": 0.27, "镇": 0.35, "乡": 0.41}

RETURN_COMMENTS = (
    "{school}留守儿童数较上月变化较大，请核实后重新上报。",
    "{school}已结对帮扶人数少于上月，请说明原因或更正后重新上报。",
    "{school}寄宿人数与学校实际寄宿生情况不符，请核实后重新上报。",
)
COPY_COMMENT = "学校月报与上月数据完全相同，疑似未更新，请核实后重新上报。"


# --- Periods and township behaviour --------------------------------------------------------

def demo_periods(months: int, today: dt.date) -> list[str]:
    """`months` periods (YYYY-MM) ending with the last complete month before `today`."""
    last = today.year * 12 + today.month - 2          # months since year 0, zero-based
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(last - months + 1, last + 1)]


def _period_end(period: str) -> dt.date:
    year, month = int(period[:4]), int(period[5:])
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def _progress(n_periods: int) -> np.ndarray:
    """0 at the first period, 1 at the last: the position of a month in the demo window."""
    return np.linspace(0.0, 1.0, n_periods) if n_periods > 1 else np.ones(1)


def township_kind(name: str) -> str:
    return "街道" if name.endswith("街道") else "乡" if name.endswith("乡") else "镇"


@dataclass(frozen=True)
class Profile:
    """How one township behaves over the demo window."""
    code: str
    name: str
    kind: str
    share: float                          # its typical left-behind share of enrolment
    lagging: bool = False                 # low pairing and visiting, slow homes, slow spending
    late_prone: bool = False              # usually submits after the deadline
    skipped: frozenset[int] = frozenset()  # period indexes with no submission at all
    latest_missing: bool = False          # the latest month is not yet in
    returned_latest: bool = False         # the county sent the latest month back

    @property
    def clerk(self) -> str:
        return f"clerk{self.code[-3:]}"


def township_profiles(townships: pd.DataFrame, n_periods: int,
                      rng: np.random.Generator) -> dict[str, Profile]:
    """Give a handful of townships each kind of misbehaviour, drawn from disjoint groups
    (except that one late township has also not yet sent its latest month)."""
    codes = list(townships["code"])
    names = dict(zip(townships["code"], townships["name"]))
    rural = [c for c in codes if township_kind(names[c]) != "街道"]
    lagging = {str(c) for c in rng.choice(rural, size=3, replace=False)}
    order = [str(c) for c in rng.permutation(codes)]
    late, skippers, returned = order[:3], order[3:5], order[5:7]
    latest_missing = {late[0], skippers[0]}
    profiles = {}
    for code in codes:
        kind = township_kind(names[code])
        skipped = frozenset()
        if code in skippers and n_periods >= 3:
            # "now and then": about one month in eight, never the first or the latest
            count = max(1, round((n_periods - 2) / 8))
            skipped = frozenset(int(i) for i in rng.choice(
                np.arange(1, n_periods - 1), size=count, replace=False))
        profiles[code] = Profile(
            code=code, name=names[code], kind=kind,
            share=float(np.clip(SHARE_BY_KIND[kind] + rng.normal(0, 0.03), 0.22, 0.46)),
            lagging=code in lagging, late_prone=code in late, skipped=skipped,
            latest_missing=code in latest_missing,
            returned_latest=code in returned)
    return profiles


# --- 学校月报: every school in every period, as (period × school) arrays ---------------------

# Care-work rates: (first month, last month) ranges per school, then the same for the
# schools of lagging townships. Everything climbs toward the 100% targets; laggards trail.
WORK_RATES = {
    "archived": ((0.80, 0.92), (0.985, 1.0), (0.62, 0.75), (0.86, 0.92)),
    "paired": ((0.65, 0.82), (0.94, 1.0), (0.45, 0.58), (0.74, 0.84)),
    "visited": ((0.60, 0.80), (0.85, 0.98), (0.35, 0.50), (0.55, 0.68)),     # of paired
    "parent_contact": ((0.80, 0.92), (0.92, 0.99), (0.60, 0.72), (0.72, 0.82)),
}


def _work_rate(rng, key: str, lagging: np.ndarray, progress: np.ndarray) -> np.ndarray:
    """A (period × school) rate moving from its first-month to its last-month draw, with
    small monthly noise."""
    start, end, lag_start, lag_end = WORK_RATES[key]
    size = len(lagging)

    def draw(usual, lagged):
        return np.where(lagging, rng.uniform(*lagged, size), rng.uniform(*usual, size))

    first, last = draw(start, lag_start), draw(end, lag_end)
    rate = first[None, :] + (last - first)[None, :] * progress[:, None]
    return np.clip(rate + rng.normal(0, 0.01, rate.shape), 0.0, 1.0)


def _enrolment(rng, schools: pd.DataFrame, periods: list[str], towns: np.ndarray) -> np.ndarray:
    """Students per period and school: the master-data baseline in the current school year,
    a step each September (town schools grow, rural ones shrink) and a few transfers."""
    school_year = np.array([int(p[:4]) - (int(p[5:]) < 9) for p in periods])
    years = np.unique(school_year)
    factor = np.ones((len(years), len(schools)))
    for k in range(len(years) - 2, -1, -1):         # walk back from the current school year
        growth = np.clip(rng.normal(np.where(towns, 0.02, -0.015), 0.02), -0.05, 0.05)
        factor[k] = factor[k + 1] / (1 + growth)
    base = schools["students"].to_numpy(float) * factor[np.searchsorted(years, school_year)]
    transfers = rng.normal(0, 0.003, base.shape)
    return np.maximum(np.rint(base * (1 + transfers)), 1).astype(np.int64)


def _left_behind_share(rng, schools: pd.DataFrame, periods: list[str],
                       profiles: dict[str, Profile]) -> np.ndarray:
    """The school's share drifts a little each month and moves more when the school year
    starts; the steps are bounded so that, with the enrolment step, the number of
    left-behind children moves well under 10% from one month to the next."""
    township_share = schools["township_code"].map(lambda c: profiles[c].share).to_numpy()
    share0 = np.clip(township_share + rng.normal(0, 0.035, len(schools)), 0.15, 0.5)
    september = np.array([p.endswith("-09") for p in periods])[:, None]
    steps = np.where(september, np.clip(rng.normal(0, 0.02, (len(periods), len(schools))),
                                        -0.035, 0.035),
                     np.clip(rng.normal(0, 0.006, (len(periods), len(schools))), -0.015, 0.015))
    steps[0] = 0.0
    return np.clip(share0[None, :] * np.exp(np.cumsum(steps, axis=0)), 0.12, 0.55)


def _split(total: np.ndarray, share: np.ndarray) -> np.ndarray:
    """The part of `total` given by `share` (0..1), in whole children."""
    return np.minimum(np.floor(total * np.clip(share, 0, 1) + 0.5), total).astype(np.int64)


def _stages(rng, types: np.ndarray, left: np.ndarray) -> dict[str, np.ndarray]:
    """学前/小学/初中 as the school type allows: 幼儿园 all preschool, 小学 all primary,
    教学点 primary with a preschool class in some, 初中 and 完全中学 all junior,
    九年一贯制 primary and junior."""
    n = len(types)
    pre_share = np.select([types == "幼儿园", types == "教学点"],
                          [np.ones(n), rng.uniform(0.1, 0.3, n) * (rng.random(n) < 0.5)], 0.0)
    junior_share = np.select([np.isin(types, ("初中", "完全中学")), types == "九年一贯制"],
                             [np.ones(n), rng.uniform(0.28, 0.4, n)], 0.0)
    preschool = _split(left, pre_share[None, :])
    junior = np.minimum(_split(left, junior_share[None, :]), left - preschool)
    return {"preschool": preschool, "primary": left - preschool - junior, "junior": junior}


def _unguarded(rng, schools: pd.DataFrame, left: np.ndarray) -> np.ndarray:
    """无人监护: a handful of larger rural schools (3–6 county-wide) with 1–3 children each,
    the same schools every month so that the alert tells a story; everyone else 0."""
    candidates = np.flatnonzero((left.min(axis=0) >= 30)
                                & ~schools["township_kind"].eq("街道").to_numpy())
    count = min(len(candidates), int(rng.integers(3, 7)))
    none = np.zeros(len(schools), dtype=np.int64)
    none[rng.choice(candidates, size=count, replace=False)] = rng.integers(1, 4, count)
    return np.broadcast_to(none, left.shape).copy()


def _composition(rng, schools: pd.DataFrame, left: np.ndarray) -> dict[str, np.ndarray]:
    """Who the left-behind children are: sex, stage, guardians, boarding, difficulty."""
    size, types = len(schools), schools["type"].to_numpy()
    values = {"both_parents_away": _split(left, rng.uniform(0.4, 0.65, size)[None, :])}
    values["boys"] = _split(left, np.clip(rng.normal(0.52, 0.025, size), 0.4, 0.64)[None, :])
    values["girls"] = left - values["boys"]
    values.update(_stages(rng, types, left))
    # Guardians: grandparents ~56%, relatives ~18%, the rest entrusted to others.
    none = _unguarded(rng, schools, left)
    grand = np.minimum(_split(left, rng.normal(0.56, 0.04, size)[None, :]), left - none)
    relatives = np.minimum(_split(left, rng.normal(0.18, 0.03, size)[None, :]),
                           left - none - grand)
    values.update(guardian_grandparents=grand, guardian_relatives=relatives,
                  guardian_other=left - grand - relatives - none, guardian_none=none)
    # Only boarding schools board, junior schools the most of their pupils.
    boarding_share = np.select(
        [np.isin(types, ("初中", "完全中学")), types == "九年一贯制", types == "小学"],
        [rng.uniform(0.5, 0.85, size), rng.uniform(0.35, 0.6, size),
         rng.uniform(0.15, 0.35, size)], 0.0) * schools["boarding"].to_numpy(bool)
    values["boarding"] = _split(left, boarding_share[None, :])
    values["in_difficulty"] = _split(left, rng.uniform(0.02, 0.08, size)[None, :])
    return values


def _care_work(rng, lagging: np.ndarray, progress: np.ndarray,
               left: np.ndarray) -> dict[str, np.ndarray]:
    """Files, pairs, mentors, visits (of the paired) and calls to parents."""
    archived = _split(left, _work_rate(rng, "archived", lagging, progress))
    paired = np.minimum(_split(left, _work_rate(rng, "paired", lagging, progress)), archived)
    # Each mentor takes 2–3 children; a few schools stretch their teachers further.
    load = np.clip(rng.normal(2.6, 0.35, len(lagging)), 2.0, 3.6)
    return {"archived": archived, "paired": paired,
            "mentors": np.where(paired > 0, np.ceil(paired / load[None, :]), 0).astype(np.int64),
            "visited": _split(paired, _work_rate(rng, "visited", lagging, progress)),
            "parent_contact": _split(left, _work_rate(rng, "parent_contact", lagging, progress))}


def _staff_and_events(rng, schools: pd.DataFrame, periods: list[str],
                      left: np.ndarray) -> dict[str, np.ndarray]:
    """Counsellors (0–2: none in most small schools, two in big ones), rare dropouts (more
    at junior level) and rare safety incidents (more in the summer, drownings)."""
    size, types = len(schools), schools["type"].to_numpy()
    small = np.isin(types, ("幼儿园", "教学点"))
    big = schools["students"].to_numpy() >= 1000
    psych = np.where(small, rng.random(size) < 0.1, np.where(big, 2, rng.random(size) < 0.85))
    junior_level = np.isin(types, ("初中", "九年一贯制", "完全中学"))
    summer = np.array([p[5:] in ("06", "07", "08") for p in periods])[:, None]

    def rare(rate):
        return np.minimum(rng.poisson(np.broadcast_to(rate, left.shape)), left).astype(np.int64)

    return {"psych_teachers": np.broadcast_to(psych.astype(np.int64), left.shape).copy(),
            "dropouts": rare(np.where(junior_level, 0.02, 0.003)[None, :]),
            "safety_incidents": rare(np.where(summer, 0.02, 0.004))}


def school_returns(schools: pd.DataFrame, periods: list[str], profiles: dict[str, Profile],
                   rng: np.random.Generator) -> pd.DataFrame:
    """Every school's row of every period (one long frame with `period` and
    `township_code` besides the catalogue keys)."""
    n, size = len(periods), len(schools)
    lagging = schools["township_code"].map(lambda c: profiles[c].lagging).to_numpy()
    towns = schools["township_kind"].eq("街道").to_numpy()
    students = _enrolment(rng, schools, periods, towns)
    left = np.minimum(_split(students, _left_behind_share(rng, schools, periods, profiles)),
                      students)
    values = {"students": students, "left_behind": left,
              **_composition(rng, schools, left),
              **_care_work(rng, lagging, _progress(n), left),
              **_staff_and_events(rng, schools, periods, left)}

    frame = pd.DataFrame({key: values[key].ravel() for key in catalog.SCHOOL_COUNT_KEYS})
    frame.insert(0, "period", np.repeat(periods, size))
    frame.insert(1, "township_code", np.tile(schools["township_code"].to_numpy(), n))
    frame.insert(2, "school_code", np.tile(schools["code"].to_numpy(), n))
    frame.insert(3, "school_name", np.tile(schools["name"].to_numpy(), n))
    frame["note"] = np.where(frame["guardian_none"] > 0, "已报乡镇民政办，正在落实委托监护", None)
    return frame


# --- 留守儿童之家: a registry of homes, each listed from the month it opened ------------------

def _inside(lon: float, lat: float, geometry: dict | None) -> bool:
    """Point in a GeoJSON Polygon/MultiPolygon (even-odd over all rings, so holes count)."""
    if not geometry:
        return True
    polygons = (geometry["coordinates"] if geometry["type"] == "MultiPolygon"
                else [geometry["coordinates"]])
    crossings = 0
    for ring in (np.asarray(r, float) for polygon in polygons for r in polygon):
        x0, y0 = ring[:-1, 0], ring[:-1, 1]
        x1, y1 = ring[1:, 0], ring[1:, 1]
        spans = (y0 > lat) != (y1 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
        crossings += int(np.sum(spans & (lon < x_at)))
    return crossings % 2 == 1


def _point_near(rng, lon: float, lat: float, radius: float, boundary: dict | None):
    """A point within `radius` degrees of a school and inside its township; the school's
    own point when ten tries all fall outside."""
    for _ in range(10):
        candidate = (round(lon + rng.uniform(-radius, radius), 5),
                     round(lat + rng.uniform(-radius, radius), 5))
        if _inside(*candidate, boundary):
            return candidate
    return lon, lat


def _short_village_name(name: str) -> str:
    return re.sub(r"(村民委员会|居民委员会|村委员会)$", "", name)


def _opening_index(u: np.ndarray, start: float, end: float, progress: np.ndarray) -> np.ndarray:
    """The first period in which a host with draw `u` has a home when coverage climbs from
    `start` to `end`: -1 for homes older than the window, len(progress) for never."""
    coverage = start + (end - start) * progress
    opened = u[:, None] < coverage[None, :]
    first = np.where(opened.any(axis=1), opened.argmax(axis=1), len(progress))
    return np.where(u < start, -1, first)


def home_registry(schools: pd.DataFrame, villages: pd.DataFrame, boundaries: dict,
                  profiles: dict[str, Profile], periods: list[str],
                  rng: np.random.Generator) -> pd.DataFrame:
    """Every home that exists by the end of the window, with the period index in which it
    opened. Village coverage climbs from ~50% to ~90%, school coverage from ~50% to ~80%
    (kindergartens and teaching points lag, boarding schools got theirs first); lagging
    townships build more slowly."""
    progress = _progress(len(periods))
    township_offset = {c: rng.normal(0, 0.05) + (0.12 if p.lagging else 0.0)
                       for c, p in profiles.items()}

    school_u = (rng.random(len(schools)) + schools["township_code"].map(township_offset)
                - 0.15 * schools["boarding"] + 0.12 * schools["type"].isin(("幼儿园", "教学点")))
    school_homes = pd.DataFrame({
        "home_code": "ZJ" + schools["code"], "name": schools["name"] + "留守儿童之家",
        "host_type": "学校", "host_code": schools["code"], "lon": schools["lon"],
        "lat": schools["lat"], "township_code": schools["township_code"],
        "opens": _opening_index(school_u.to_numpy(float), 0.6, 0.9, progress),
        "children_served": np.maximum(5, np.rint(
            schools["students"] * rng.uniform(0.08, 0.2, len(schools)))).astype(np.int64)})

    # A village home sits near the village's school, else near one of the township's schools.
    by_village = schools.dropna(subset=["village_code"]).drop_duplicates("village_code") \
        .set_index("village_code")
    by_township = {c: g for c, g in schools.groupby("township_code")}
    points = []
    for village in villages.itertuples(index=False):
        if village.code in by_village.index:
            anchor, radius = by_village.loc[village.code], 0.003
        else:
            local = by_township[village.township_code]
            anchor, radius = local.iloc[int(rng.integers(len(local)))], 0.015
        points.append(_point_near(rng, anchor["lon"], anchor["lat"], radius,
                                  boundaries.get(village.township_code)))
    village_u = rng.random(len(villages)) + villages["township_code"].map(township_offset)
    village_homes = pd.DataFrame({
        "home_code": "ZJ" + villages["code"],
        "name": villages["name"].map(_short_village_name) + "留守儿童之家",
        "host_type": "村(居)委会", "host_code": villages["code"],
        "lon": [p[0] for p in points], "lat": [p[1] for p in points],
        "township_code": villages["township_code"],
        "opens": _opening_index(village_u.to_numpy(float), 0.5, 0.9, progress),
        "children_served": rng.integers(12, 80, len(villages))})

    homes = pd.concat([school_homes, village_homes], ignore_index=True)
    homes = homes[homes["opens"] < len(periods)].reset_index(drop=True)
    count = len(homes)
    window_start = _period_end(periods[0]).replace(day=1)
    older = pd.Timestamp("2016-01-01") + pd.to_timedelta(
        rng.integers(0, (window_start - dt.date(2016, 1, 1)).days, count), unit="D")
    opened_in = pd.to_datetime([f"{periods[max(i, 0)]}-01" for i in homes["opens"]]) \
        + pd.to_timedelta(rng.integers(0, 28, count), unit="D")
    homes["established"] = np.where(homes["opens"] < 0, older.date, opened_in.date)
    # Standardised (五有五全): ~30% at the start, ~38% by the end, upgrades kept for good.
    homes["standard_draw"] = rng.random(count)
    homes["phone_draw"], homes["video_draw"] = rng.random(count), rng.random(count)
    homes["books"] = rng.integers(200, 3000, count)
    homes["open_hours"] = rng.choice([6.0, 8.0, 10.0, 12.0, 15.0, 20.0], count)
    homes["staff"] = rng.integers(1, 4, count)
    return homes


def homes_frame(registry: pd.DataFrame, progress: float) -> pd.DataFrame:
    """The sheet for one period: the homes open by then, standardised ones fully equipped."""
    standardized = registry["standard_draw"].to_numpy() < 0.28 + 0.10 * progress
    frame = registry[[k for k in HOME_KEYS if k in registry.columns]].reset_index(drop=True)
    frame["standardized"] = standardized.tolist()             # Python bools, as the reader's
    frame["has_phone"] = (standardized | (registry["phone_draw"].to_numpy() < 0.88)).tolist()
    frame["has_video"] = (standardized | (registry["video_draw"].to_numpy() < 0.5)).tolist()
    frame["books"] = np.where(standardized, np.maximum(registry["books"].to_numpy(), 800),
                              registry["books"].to_numpy())
    return frame[list(HOME_KEYS)]


# --- 资金: each township's ledger for each year, cut at each period's end --------------------

EXPENSES = {  # category -> (weight, descriptions)
    "困难救助": (0.22, ("困境留守儿童临时救助", "春季学期困难留守儿童生活补助", "重病留守儿童医疗救助")),
    "之家建设运行": (0.25, ("留守儿童之家运行维护", "留守儿童之家图书及文体器材购置",
                      "留守儿童之家管理人员补贴")),
    "亲情沟通": (0.10, ("亲情电话话费", "亲情视频通话设备购置")),
    "心理健康": (0.08, ("心理健康辅导讲座", "心语交流室设施购置")),
    "宿舍食堂": (0.12, ("寄宿制学校床上用品购置", "学校食堂设施维修")),
    "关爱活动": (0.12, ("六一关爱活动", "暑期防溺水安全教育活动", "中秋节关爱慰问活动")),
    "培训": (0.06, ("帮扶责任人业务培训", "乡镇儿童督导员培训")),
    "其他": (0.05, ("宣传资料印制", "建档资料及档案盒购置")),
}
# Allocations: (source, share of the year's fund, month it arrives, purpose, description)
ALLOCATIONS = (("中央", 0.35, 3, "困难救助", "中央财政农村留守儿童关爱专项资金"),
               ("省级", 0.25, 4, "之家建设运行", "省级农村留守儿童关爱保护专项资金"),
               ("县级", 0.30, 5, "关爱活动", "县级农村留守儿童关爱配套资金"))
# Spending starts after the first allocation and bunches toward the year's end.
SPEND_WEIGHTS = dict(zip(range(4, 13), (0.5, 0.8, 1.0, 0.8, 0.6, 1.0, 1.0, 1.2, 1.6)))


def _ledger(rng, year: int, fund: float, spend_share: float) -> pd.DataFrame:
    """One township's whole year: allocations in spring (plus a donation in some years),
    then expenditures across the categories adding up to `spend_share` of the money."""
    rows = [{"date": dt.date(year, month, int(rng.integers(1, 29))), "kind": "下达",
             "source": source, "category": category, "amount": round(fund * share, -2),
             "description": f"{year}年{text}"}
            for source, share, month, category, text in ALLOCATIONS]
    if rng.random() < 0.6:
        rows.append({"date": dt.date(year, int(rng.choice([5, 9])), int(rng.integers(1, 29))),
                     "kind": "下达", "source": "社会捐赠", "category": "关爱活动",
                     "amount": round(fund * rng.uniform(0.02, 0.08), -2),
                     "description": "爱心企业捐赠留守儿童关爱资金"})
    allocated = sum(r["amount"] for r in rows)
    count = int(rng.integers(14, 25))
    months = rng.choice(list(SPEND_WEIGHTS), size=count,
                        p=np.array(list(SPEND_WEIGHTS.values())) / sum(SPEND_WEIGHTS.values()))
    cents = np.floor(rng.dirichlet(np.full(count, 2.0)) * allocated * spend_share * 100)
    categories = rng.choice(list(EXPENSES), size=count,
                            p=[w for w, _ in EXPENSES.values()])
    shares = np.array([a[1] for a in ALLOCATIONS])
    sources = rng.choice([a[0] for a in ALLOCATIONS], size=count, p=shares / shares.sum())
    for month, amount, category, source in zip(months, cents, categories, sources):
        texts = EXPENSES[category][1]
        rows.append({"date": dt.date(year, int(month), int(rng.integers(1, 29))),
                     "kind": "支出", "source": str(source), "category": str(category),
                     "amount": max(amount, 100.0) / 100,
                     "description": texts[int(rng.integers(len(texts)))]})
    ledger = pd.DataFrame(rows).sort_values(["date", "kind"], kind="stable")
    # Vouchers numbered in date order per kind: unique within the township and year.
    number = ledger.groupby("kind").cumcount() + 1
    prefix = ledger["kind"].map({"下达": f"XD{year}-", "支出": f"ZC{year}-"})
    ledger["voucher"] = prefix + number.map("{:03d}".format)
    return ledger.reset_index(drop=True)


def funding_ledgers(profiles: dict[str, Profile], children: pd.Series, years: list[int],
                    rng: np.random.Generator) -> dict[tuple[str, int], pd.DataFrame]:
    """(township, year) -> ledger. The fund is ~180–260 yuan per left-behind child; lagging
    townships spend the least of it (85–88%), others 87–95%, by December."""
    ledgers = {}
    for code, profile in profiles.items():
        for year in years:
            fund = float(children.get(code, 100)) * rng.uniform(180, 260)
            spend = rng.uniform(0.85, 0.88) if profile.lagging else rng.uniform(0.87, 0.95)
            ledgers[code, year] = _ledger(rng, year, fund, spend)
    return ledgers


# --- Submissions: who sends what when, and what the county did with it --------------------

@dataclass
class Upload:
    township: str
    index: int                    # period index
    submitted_at: dt.datetime
    status: str = SUBMITTED
    comment: str | None = None
    copied_last_month: bool = False  # a first version the county sent back, then corrected
    sheets: tuple[str, ...] = SHEETS_ALL
    reviewed_at: dt.datetime | None = None


def _clamp(moment: dt.datetime, today: dt.date) -> dt.datetime:
    """Nothing happens after the end of `today`'s working day, nor, when `today` is the real
    today, after now (a database seeded in the morning would list uploads "later today")."""
    end = dt.datetime.combine(today, dt.time(17, 30))
    if today == dt.date.today():
        end = min(end, dt.datetime.now().replace(second=0, microsecond=0))
    return min(moment, end)


def _submitted_at(rng, profile: Profile, period: str, today: dt.date) -> dt.datetime:
    """Most clerks send in the first days of the next month; late-prone ones usually miss
    the deadline by a few days to two weeks, others rarely."""
    due = _period_end(period) + dt.timedelta(days=DEADLINE_DAY)
    late = rng.random() < (0.6 if profile.late_prone else 0.04)
    day = due + dt.timedelta(days=int(rng.integers(1, 13)) if late else -int(rng.integers(0, 5)))
    moment = dt.datetime.combine(day, dt.time(int(rng.integers(8, 18)), int(rng.integers(60))))
    return _clamp(moment, today)


def _review(rng, upload: Upload, status: str, today: dt.date, comment: str | None = None):
    upload.status, upload.comment = status, comment
    upload.reviewed_at = _clamp(upload.submitted_at + dt.timedelta(
        days=int(rng.integers(1, 4)), hours=int(rng.integers(0, 6))), today)


def plan_uploads(profiles: dict[str, Profile], periods: list[str], schools: pd.DataFrame,
                 today: dt.date, rng: np.random.Generator) -> list[Upload]:
    """Every upload in the order it is stored. Older months are approved, the latest is
    mostly awaiting review with one or two sent back; a few older months were first sent
    with last month's school sheet copied over, returned, and corrected."""
    latest = len(periods) - 1
    uploads: list[Upload] = []
    for index, period in enumerate(periods):
        for code, profile in profiles.items():
            if index in profile.skipped or (index == latest and profile.latest_missing):
                continue
            upload = Upload(code, index, _submitted_at(rng, profile, period, today))
            if index < latest:
                _review(rng, upload, APPROVED, today)
            elif profile.returned_latest:
                names = schools.loc[schools["township_code"] == code, "name"].to_numpy()
                comment = RETURN_COMMENTS[int(rng.integers(len(RETURN_COMMENTS)))]
                _review(rng, upload, RETURNED, today,
                        comment.format(school=names[int(rng.integers(len(names)))]))
            uploads.append(upload)
    return _with_corrections(uploads, latest, today, rng)


def _with_corrections(uploads: list[Upload], latest: int, today: dt.date,
                      rng: np.random.Generator) -> list[Upload]:
    """About one township-month in a hundred (at least one) gets a returned first version."""
    candidates = [i for i, u in enumerate(uploads) if 1 <= u.index < latest]
    if not candidates:
        return uploads
    chosen = set(rng.choice(candidates, size=max(1, round(len(candidates) / 100)),
                            replace=False).tolist())
    result = []
    for i, upload in enumerate(uploads):
        if i in chosen:
            first = Upload(upload.township, upload.index, upload.submitted_at,
                           copied_last_month=True)
            first.status, first.comment = RETURNED, COPY_COMMENT
            first.reviewed_at = first.submitted_at + dt.timedelta(hours=int(rng.integers(2, 6)))
            # The clerk re-sends only the school sheet; homes and funding carry over.
            upload.submitted_at = first.reviewed_at + dt.timedelta(
                days=int(rng.integers(1, 3)), hours=int(rng.integers(0, 4)))
            upload.sheets = ("schools",)
            _review(rng, upload, upload.status, today, upload.comment)
            result.append(first)
        result.append(upload)
    return result


# --- Putting it together -------------------------------------------------------------------

@dataclass
class Master:
    """The org units the demo is drawn over: townships (code, name, boundary as GeoJSON
    text), villages (code, name, township_code) and schools (master columns plus
    township_kind), each ordered by code, and the townships' parsed boundaries."""
    townships: pd.DataFrame
    villages: pd.DataFrame
    schools: pd.DataFrame
    boundaries: dict

    @classmethod
    def of(cls, townships: pd.DataFrame, villages: pd.DataFrame,
           schools: pd.DataFrame) -> Master:
        """From master frames as stored (schools without township_kind)."""
        if schools.empty:
            raise ValueError("数据库中没有学校主数据，无法生成示例数据")
        schools = schools.copy()
        schools["students"] = schools["students"].fillna(300).astype(int)
        schools["boarding"] = schools["boarding"].astype(bool)
        kinds = dict(zip(townships["code"], townships["name"].map(township_kind)))
        schools["township_kind"] = schools["township_code"].map(kinds)
        boundaries = {c: json.loads(b)
                      for c, b in zip(townships["code"], townships["boundary"]) if b}
        return cls(townships, villages, schools, boundaries)


MASTER_SCHOOL_COLUMNS = (School.code, School.name, School.township_code, School.village_code,
                         School.type, School.boarding, School.students, School.lon, School.lat)


def _load_master(connection: Connection) -> Master:
    townships = pd.read_sql(select(Township.code, Township.name, Township.boundary)
                            .order_by(Township.code), connection)
    villages = pd.read_sql(select(Village.code, Village.name, Village.township_code)
                           .order_by(Village.code), connection)
    schools = pd.read_sql(select(*MASTER_SCHOOL_COLUMNS).order_by(School.code), connection)
    return Master.of(townships, villages, schools)


def _warnings(schools_frame: pd.DataFrame) -> list[dict]:
    """W04 for each school with 无人监护 children, as the validator would report it."""
    sheet, column = catalog.SCHOOLS.label, catalog.SCHOOLS.field("guardian_none").label
    flagged = schools_frame["guardian_none"].to_numpy() > 0
    return [issue("W04", f"{name}有{count}名无人监护留守儿童，请立即落实监护责任",
                  sheet=sheet, column=column).as_json()
            for name, count in zip(schools_frame["school_name"].to_numpy()[flagged],
                                   schools_frame["guardian_none"].to_numpy()[flagged])]


def _file_name(profile: Profile, period: str, corrected: bool) -> str:
    suffix = "（更正）" if corrected else ""
    return f"{profile.name}留守儿童关爱工作月报{period[:4]}年{int(period[5:])}月{suffix}.xlsx"


def _file_sha256(upload: Upload, period: str) -> str:
    """A stand-in for the uploaded file's digest: distinct for every upload, the same on
    every run."""
    return hashlib.sha256(f"{upload.township}|{period}|{upload.submitted_at}".encode()) \
        .hexdigest()


@dataclass
class DemoData:
    """Everything generated for one seed, before any of it is stored."""
    periods: list[str]
    profiles: dict[str, Profile]
    returns: pd.DataFrame                          # every school × period
    registry: pd.DataFrame                         # every home with its opening period
    ledgers: dict[tuple[str, int], pd.DataFrame]   # (township, year) -> whole-year ledger
    uploads: list[Upload]


def generate(connection: Connection, months: int, today: dt.date) -> DemoData:
    """Draw the whole demo over the master data in the database; stores nothing."""
    return generate_for(_load_master(connection), months, today, np.random.default_rng(SEED))


def generate_for(master: Master, months: int, today: dt.date,
                 rng: np.random.Generator) -> DemoData:
    """Draw the demo over one county's master data (a city or province seed calls this
    once per county, each with its own generator); stores nothing."""
    periods = demo_periods(months, today)
    townships, villages, schools = master.townships, master.villages, master.schools
    boundaries = master.boundaries
    profiles = township_profiles(townships, len(periods), rng)
    returns = school_returns(schools, periods, profiles, rng)
    registry = home_registry(schools, villages, boundaries, profiles, periods, rng)
    children = returns[returns["period"] == periods[-1]].groupby("township_code")["left_behind"]
    ledgers = funding_ledgers(profiles, children.sum(), sorted({int(p[:4]) for p in periods}),
                              rng)
    uploads = plan_uploads(profiles, periods, schools, today, rng)
    return DemoData(periods, profiles, returns, registry, ledgers, uploads)
