"""The demo's 留守儿童之家: a registry of every home the county has by the end of the window,
each listed from the month it opened, at schools and in villages, inside its township."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from liushou_dash import catalog
from liushou_dash.core.periods import period_start
from liushou_dash.demo.profiles import Profile, window_progress

HOME_KEYS = tuple(f.key for f in catalog.HOMES.fields)


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


def point_near(rng, lon: float, lat: float, radius: float, boundary: dict | None):
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
    progress = window_progress(len(periods))
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
        points.append(point_near(rng, anchor["lon"], anchor["lat"], radius,
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
    window_start = period_start(periods[0])
    older = pd.Timestamp("2016-01-01") + pd.to_timedelta(
        rng.integers(0, (window_start - dt.date(2016, 1, 1)).days, count), unit="D")
    opened_in = pd.to_datetime([period_start(periods[max(i, 0)]) for i in homes["opens"]]) \
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
