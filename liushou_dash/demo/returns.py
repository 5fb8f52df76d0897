"""The demo's 学校月报: every school's row in every period, drawn as (period × school)
arrays so that a province's 1.2 million rows take seconds. Every row obeys every validation
rule of catalog/validation.py (男 + 女, the stages and the guardians add up to the
left-behind children; the parts never exceed them; visits never exceed the paired)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from liushou_dash import catalog
from liushou_dash.core.periods import parse_period
from liushou_dash.demo.profiles import Profile, window_progress

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
    school_year = np.array([year - (month < 9) for year, month in map(parse_period, periods)])
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
    summer = np.array([parse_period(p)[1] in (6, 7, 8) for p in periods])[:, None]

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
              **_care_work(rng, lagging, window_progress(n), left),
              **_staff_and_events(rng, schools, periods, left)}

    frame = pd.DataFrame({key: values[key].ravel() for key in catalog.SCHOOL_COUNT_KEYS})
    frame.insert(0, "period", np.repeat(periods, size))
    frame.insert(1, "township_code", np.tile(schools["township_code"].to_numpy(), n))
    frame.insert(2, "school_code", np.tile(schools["code"].to_numpy(), n))
    frame.insert(3, "school_name", np.tile(schools["name"].to_numpy(), n))
    frame["note"] = np.where(frame["guardian_none"] > 0, "已报乡镇民政办，正在落实委托监护", None)
    return frame
