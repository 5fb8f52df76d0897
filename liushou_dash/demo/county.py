"""Synthetic monthly returns over the real demo county (纳雍县) in data/demo/.

`seed_demo` fills an empty database with months of township submissions that look like a
county's real ones: left-behind shares that differ between 街道, 镇 and 乡, enrolment that
changes in September, archiving and pairing rising toward 100%, homes opening month by month,
special funds allocated in spring and spent through the year — and the misbehaviour the
dashboards exist to show: townships that lag, submit late, skip a month or have not yet
submitted, a returned submission and a few corrected ones. Every school row obeys every
validation rule (catalog/validation.py), so the data could have come through the uploader.

Everything is drawn from one numpy Generator with a fixed seed, school values as whole
(period × school) arrays, so the same call always yields the same database, quickly: the
townships' behaviour (profiles.py), the 学校月报 (returns.py), the 留守儿童之家 (homes.py), the
资金 ledgers (funding.py) and the uploads (uploads.py), drawn in that order by `generate_for`.
It is written as whole tables (bulk.store_bulk), exactly as storing it upload by upload
through ingest.store would leave it (tests/test_scale.py stores it both ways): 24 months
upload by upload took about a minute, in bulk a few seconds.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from liushou_dash.core.models import School, Township, Village
from liushou_dash.core.periods import parse_period
from liushou_dash.demo.funding import funding_ledgers
from liushou_dash.demo.homes import home_registry
from liushou_dash.demo.profiles import (
    Profile,
    demo_periods,
    township_kind,
    township_profiles,
)
from liushou_dash.demo.returns import school_returns
from liushou_dash.demo.uploads import Upload, plan_uploads

SEED = 520525


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
    years = sorted({parse_period(p)[0] for p in periods})
    ledgers = funding_ledgers(profiles, children.sum(), years, rng)
    uploads = plan_uploads(profiles, periods, schools, today, rng)
    return DemoData(periods, profiles, returns, registry, ledgers, uploads)
