"""The monthly bulletin (月度通报: 每月一通报 ranks townships and names laggards).

`collect` reads everything once, from the township table `export` writes too; its figures
(value, last month over the same townships, change) are figures.py's, the very ones the
cockpit, the meeting screen and `figures --json` show. bulletin_text.content turns it into
blocks (headings, paragraphs, tables, pictures) that bulletin_render writes as DOCX and XLSX
and the page 月度通报 previews. Wording follows the usual form of a county bulletin: overall situation, ranking,
the laggards and what pulls them down, the problems to act on, then the requirements.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
from sqlalchemy import distinct, select
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog.rules import Rules, load_rules
from liushou_dash.core import periods, settings
from liushou_dash.core.db import has_schema
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import County, Submission
from liushou_dash.core.periods import period_label
from liushou_dash.indicators import alerts, figures, ranking, ratios, stored
from liushou_dash.indicators.figures import MonthFigures

TREND_MONTHS = 12
BOTTOM_COUNT = 3
DRAG_COUNT, DRAG_MIN_POINTS = 3, 1.0  # name up to 3 causes, each costing at least 1 point
FIGURE_KEYS = catalog.on(catalog.BULLETIN)  # 表1, the workbook's 主要指标 and the text
GROUP = "留守儿童关爱工作领导小组"
OFFICE = f"{GROUP}办公室"
NUMERALS = "一二三四五六七八九十"
TOWNSHIPS_WORD = "乡镇（街道）"


# --- What the bulletin is built from ---------------------------------------------------------

@dataclass(eq=False)
class Bulletin:
    period: str
    county_name: str
    issued: dt.date
    demo: bool
    rules: Rules
    townships: pd.DataFrame        # export frame (township level) of the month
    before: pd.DataFrame           # the same of the month before
    trend: pd.DataFrame            # county totals, one row per month with returns
    figures: MonthFigures          # figures.py: value, previous, change of every figure
    ranked: pd.DataFrame           # ranking.rank_townships of the month
    unguarded: pd.DataFrame        # school rows with 无人监护 children
    status: pd.DataFrame           # alerts.reporting_status of the month
    deadline_day: int
    alerts: list = field(default_factory=list)

    @cached_property
    def county(self) -> dict:
        return ratios.totals(self.townships)

    @cached_property
    def county_before(self) -> dict:
        return ratios.totals(self.before)

    @property
    def label(self) -> str:
        return period_label(self.period)

    @property
    def missing(self) -> list[str]:
        """Townships without a return for the month (a returned one is `returned`)."""
        frame = self.townships
        return _names(frame, (frame["reported"] == 0) & (frame["returned"] == 0))

    @property
    def returned(self) -> list[str]:
        """Townships whose return was sent back: not counted until submitted again."""
        return _names(self.townships, self.townships["returned"] > 0)

    @property
    def not_counted(self) -> list[str]:
        return [*self.missing, *self.returned]

    @property
    def late(self) -> list[str]:
        frame = self.townships
        return _names(frame, (frame["reported"] == 1) & (frame["on_time"] == 0))

    def alerts_of(self, kind: str) -> list:
        return [a for a in self.alerts if a.kind == kind]


def _names(frame: pd.DataFrame, mask: pd.Series) -> list[str]:
    return list(frame.loc[mask, "township_name"])


def county_name(engine: Engine) -> str:
    with engine.connect() as conn:
        names = list(conn.scalars(select(County.name).order_by(County.code)))
    return names[0] if len(names) == 1 else "、".join(names) or "本县"


def collect(engine: Engine, period: str, approved_only: bool = False,
            today: dt.date | None = None, rules: Rules | None = None) -> Bulletin:
    """Everything the bulletin of `period` says, read once."""
    rules = rules or load_rules()
    today = today or dt.date.today()
    first = periods.period_of_month_number(periods.month_number(period) - TREND_MONTHS + 1)
    frame = stored.township_table(engine, Filter.between(first, period,
                                                         approved_only=approved_only))
    month = frame[frame["period"] == period].reset_index(drop=True)
    before = frame[frame["period"] == periods.previous_period(period)].reset_index(drop=True)
    trend = ratios.county_by_period(frame)
    trend = trend[trend["reported"] > 0].reset_index(drop=True)
    unguarded = alerts.unguarded_schools(engine, period, approved_only)
    status = alerts.reporting_status(engine, period, today)
    recent = stored.township_table(engine, alerts.recent_months(period, rules, approved_only))
    return Bulletin(
        period=period, county_name=county_name(engine), issued=today,
        demo=settings.is_demo(engine), rules=rules, townships=month, before=before, trend=trend,
        figures=figures.month_figures(month, before, period, FIGURE_KEYS, approved_only),
        ranked=ranking.rank_townships(month, rules.weights, before),
        unguarded=unguarded, status=status, deadline_day=settings.deadline_day(engine),
        alerts=alerts.from_tables(period, recent, unguarded, status, rules))


# --- Blocks ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    lead: str = ""        # a lead-in set apart in another face: "（一）基本情况。"


@dataclass(frozen=True, eq=False)
class Table:
    caption: str
    frame: pd.DataFrame   # text cells, Chinese headers
    widths: tuple[float, ...]  # column widths in cm
    note: str = ""


@dataclass(frozen=True)
class Picture:
    caption: str
    png: bytes


# --- Entry points ----------------------------------------------------------------------------

def available_periods(engine: Engine) -> list[str]:
    """Months with at least one current return, newest first: the months a bulletin can
    be built for."""
    with engine.connect() as conn:
        if not has_schema(conn):
            return []
        return list(conn.scalars(select(distinct(Submission.period))
                                 .where(Submission.is_current.is_(True))
                                 .order_by(Submission.period.desc())))


class NoBulletin(ValueError):
    """No bulletin for this month; `usage` when the month itself is wrong (malformed or in
    the future) rather than merely without returns."""

    def __init__(self, message: str, usage: bool):
        super().__init__(message)
        self.usage = usage


def check_period(engine: Engine, period: str, today: dt.date | None = None) -> None:
    """Raise NoBulletin (Chinese message) unless a bulletin can be built for `period`."""
    try:
        periods.parse_period(period)
    except ValueError as exc:
        raise NoBulletin(str(exc), usage=True) from None
    today = today or dt.date.today()
    if period > periods.period_of(today):
        raise NoBulletin(f"{period_label(period)}尚未到来，不能生成通报", usage=True)
    if period not in available_periods(engine):
        raise NoBulletin(f"{period_label(period)}暂无上报数据，不能生成通报", usage=False)
