"""Settings stored in the database (the reporting deadline, whether it holds the demo).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from liushou_dash.core.db import has_schema
from liushou_dash.core.models import Setting
from liushou_dash.core.periods import DEFAULT_DEADLINE_DAY

DEADLINE_SETTING = "deadline_day"  # Setting key; admin.set_deadline_day writes it


def setting_in(conn: Connection, key: str) -> str | None:
    if not has_schema(conn):
        return None
    return conn.scalar(select(Setting.value).where(Setting.key == key))


def deadline_day_in(conn: Connection) -> int:
    value = setting_in(conn, DEADLINE_SETTING)
    return int(value) if value and value.strip().isdigit() else DEFAULT_DEADLINE_DAY


def setting(engine: Engine, key: str, default: str | None = None) -> str | None:
    with engine.connect() as conn:
        value = setting_in(conn, key)
    return default if value is None else value


def is_demo(engine: Engine) -> bool:
    """True when the database holds the synthetic demo data (Setting demo = "1")."""
    return setting(engine, "demo") == "1"


def deadline_day(engine: Engine) -> int:
    with engine.connect() as conn:
        return deadline_day_in(conn)
