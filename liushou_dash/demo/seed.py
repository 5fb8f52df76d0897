"""seed-demo: an empty database filled with the demo county (or its city or province clones),
its accounts and settings, in one transaction."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from liushou_dash.core import audit, township_months
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import transaction
from liushou_dash.core.masterdata import load_master
from liushou_dash.core.models import SchoolReturn, Setting, Submission, Township
from liushou_dash.core.settings import DEADLINE_SETTING
from liushou_dash.demo.scale import SCALES, Progress, quiet, seed_counties, seed_county
from liushou_dash.demo.uploads import DEADLINE_DAY
from liushou_dash.workflow.accounts import create_demo_accounts

DEMO_KEY = "demo"  # the setting that marks a demo database (settings.is_demo)


class AlreadyFilled(ValueError):
    """The database already holds returns: demo data may only go into an empty one."""


def _refuse_if_filled(session) -> None:
    if session.scalar(select(func.count()).select_from(Submission)):
        raise AlreadyFilled("数据库中已有上报数据，不能再生成示例数据（示例数据只能写入空库）")


def seed_demo(engine: Engine, months: int | None = None, scale: str = "county",
              today: dt.date | None = None, progress: Progress = quiet) -> dict:
    """Fill an empty database with `months` of synthetic returns and mark it as a demo.

    scale "county": the demo county (its master data loaded first if the database has no
    townships), 24 months by default. "city" and "province": the demo county and its clones
    (scale.py), 60 months by default. Both are written in bulk. `progress` is told
    each step, since a province takes minutes. Refuses a database that already holds
    submissions."""
    if scale not in SCALES:
        raise ValueError(f"示例数据规模“{scale}”不支持，可选："
                         f"{'、'.join(SCALES)}")
    months = SCALES[scale].months if months is None else months
    if months < 1:
        raise ValueError("示例数据至少需要 1 个月")
    today = today or dt.date.today()
    with transaction(engine) as session:
        _refuse_if_filled(session)
        has_townships = session.scalar(select(func.count()).select_from(Township))
    if scale == "county" and not has_townships:
        progress("正在导入示例县的乡镇、村(居)、学校主数据……")
        load_master(engine)
    with transaction(engine) as session:
        _refuse_if_filled(session)  # again inside the writing transaction: no double seed
        if scale == "county":
            summary = seed_county(session.connection(), months, today, progress)
        else:
            summary = seed_counties(session.connection(), SCALES[scale],
                                               months, today, progress)
        session.merge(Setting(key=DEMO_KEY, value="1"))
        session.merge(Setting(key=DEADLINE_SETTING, value=str(DEADLINE_DAY)))
        # The uploads have their own audit rows; the reviews and settings written with
        # them are this one's.
        audit.record(session, Actor.system().username, "seed_demo", "setting", DEMO_KEY,
                     scale=scale, **summary)
        session.flush()
        # The township months: the bulk writer leaves them out, so they are written once,
        # for the whole demo.
        progress("正在计算看板月表……")
        township_months.rebuild(session.connection())
        summary["school_rows"] = session.scalar(select(func.count()).select_from(SchoolReturn))
    progress("正在创建示例账号……")
    summary["accounts"] = create_demo_accounts(engine)
    return summary
