"""Factories that build real databases and consistent returns for the tests."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from liushou_dash.core.actors import Actor
from liushou_dash.core.db import init_db, make_engine, session_maker
from liushou_dash.core.masterdata import DEMO_DIR, load_master
from liushou_dash.core.models import AuditEntry, School
from liushou_dash.indicators import stored
from liushou_dash.workflow import accounts, auth

TOWNSHIP = "520525108"        # 张家湾镇
OTHER_TOWNSHIP = "520525101"  # 骔岭镇


def fresh_engine(url: str) -> Engine:
    """An empty, migrated database at `url` (PostgreSQL: its public schema is recreated)."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    init_db(engine)
    return engine


def county_engine(url: str) -> Engine:
    """A migrated database holding the demo county's master data and no returns."""
    engine = fresh_engine(url)
    load_master(engine, DEMO_DIR)
    return engine


def township_schools(engine: Engine, township: str = TOWNSHIP) -> list[School]:
    with session_maker(engine)() as session:
        return list(session.scalars(
            select(School).where(School.township_code == township).order_by(School.code)))


def school_frame(engine: Engine, township: str = TOWNSHIP, seed: int = 0) -> pd.DataFrame:
    """A 学校月报 frame (catalogue keys, typed) for every school of the township that obeys
    every validation rule."""
    rng = np.random.default_rng(seed)
    rows = []
    for school in township_schools(engine, township):
        students = int(school.students or 300)
        left = int(students * rng.uniform(0.2, 0.5))
        boys = left // 2
        pre = left // 5 if school.type in ("幼儿园", "教学点") else 0
        junior = left // 3 if school.type in ("初中", "九年一贯制") else 0
        grand = int(left * 0.6)
        rel = int(left * 0.2)
        none = 1 if left > 50 and int(school.code) % 7 == 0 else 0
        paired = left - left // 20
        rows.append({
            "school_code": school.code, "school_name": school.name, "students": students,
            "left_behind": left, "both_parents_away": left // 2, "boys": boys,
            "girls": left - boys, "preschool": pre, "primary": left - pre - junior,
            "junior": junior, "guardian_grandparents": grand, "guardian_relatives": rel,
            "guardian_other": left - grand - rel - none, "guardian_none": none,
            "boarding": left // 4 if school.boarding else 0, "in_difficulty": left // 10,
            "archived": left, "paired": paired, "mentors": max(1, paired // 3),
            "visited": paired // 2, "parent_contact": left - left // 10,
            "psych_teachers": 1, "dropouts": 0, "safety_incidents": 0, "note": None})
    return pd.DataFrame(rows)


def home_frame(engine: Engine, township: str = TOWNSHIP) -> pd.DataFrame:
    schools = township_schools(engine, township)[:2]
    return pd.DataFrame([{
        "home_code": f"H{school.code}", "name": f"{school.name}留守儿童之家",
        "host_type": "学校", "host_code": school.code, "lon": school.lon, "lat": school.lat,
        "established": dt.date(2024, 3, 1), "standardized": i == 0, "has_phone": True,
        "has_video": i == 0, "books": 500 + i, "open_hours": 10.0, "staff": 2,
        "children_served": 40} for i, school in enumerate(schools)])


def funding_frame(year: int = 2026) -> pd.DataFrame:
    return pd.DataFrame([
        {"date": dt.date(year, 3, 10), "kind": "下达", "source": "县级", "category": "之家建设运行",
         "amount": 100000.00, "description": "县级关爱专项资金", "voucher": "XD-001"},
        {"date": dt.date(year, 5, 20), "kind": "支出", "source": "县级", "category": "关爱活动",
         "amount": 12345.67, "description": "六一关爱活动", "voucher": "ZC-001"},
    ])


PASSWORD = "Lsz-pass-2026"


def make_user(engine, username, role, township=None, password=PASSWORD) -> Actor:
    """An account created through the command line's identity, logged in."""
    accounts.create_user(engine, Actor.system(), username, role, password, township_code=township,
                     display_name=f"{username}的姓名")
    return auth.authenticate(engine, username, password)


def audit_rows(engine, action, username=None) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    if username is not None:
        query = query.where(AuditEntry.username == username)
    with session_maker(engine)() as session:
        return list(session.scalars(query))


def assert_same_tables(engine: Engine, filters) -> None:
    """The dashboards' township tables (stored months; computed where a month is not
    stored) equal those computed from the school, home and ledger rows themselves."""
    for flt in filters:
        pd.testing.assert_frame_equal(stored.township_table(engine, flt),
                                      stored.township_table_from_rows(engine, flt),
                                      check_dtype=False, obj=str(flt))
