"""Alerts the leading group must act on: the cockpit, the meeting screen, the bulletin.

Four kinds, each a small function of the engine and a month; thresholds come from rules.toml:
- unguarded:      a school reports children with 无人监护 (each one needs a guardian now);
- missing_return: a township's return for the month is still missing after the deadline;
- below_target:   a township below the pass mark of an indicator `months_running` months in
                  a row (a month without a value breaks the run: nothing shows it lagged);
- funds_idle:     from the end of the third quarter, a township that has disbursed less than
                  `funds_min_rate` of the money allocated to it this year.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog import messages, wording
from liushou_dash.catalog.columns import format_percent
from liushou_dash.catalog.rules import Rules, load_rules
from liushou_dash.core import settings
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import (
    APPROVED,
    RETURNED,
    STATUS_LABELS,
    SUBMITTED,
    Township,
    TownshipMonth,
)
from liushou_dash.core.periods import (
    due_date,
    month_number,
    parse_period,
    period_label,
    period_of_month_number,
)
from liushou_dash.indicators import readers
from liushou_dash.indicators.stored import township_table

UNGUARDED, MISSING_RETURN, BELOW_TARGET, FUNDS_IDLE = (
    "guardian_none", "missing_return", "below_target", "funds_idle")
KINDS = (UNGUARDED, MISSING_RETURN, BELOW_TARGET, FUNDS_IDLE)
KIND_LABELS = {UNGUARDED: "无人监护", MISSING_RETURN: "逾期未报", BELOW_TARGET: "连续未达标",
               FUNDS_IDLE: "资金拨付滞后"}
DANGER, WARNING = "danger", "warning"
LEVEL_LABELS = {DANGER: "紧急", WARNING: "提醒"}
ON_TIME, LATE, MISSING, NOT_DUE, RESUBMIT = "on_time", "late", "missing", "not_due", "returned"
REPORT_LABELS = {ON_TIME: "按时报送", LATE: "逾期报送", MISSING: "逾期未报", NOT_DUE: "未到截止日",
                 RESUBMIT: messages.RESUBMIT}


@dataclass(frozen=True)
class Alert:
    kind: str                 # one of KINDS
    level: str                # DANGER or WARNING
    township_code: str
    township_name: str
    school_code: str | None
    school_name: str | None
    message: str              # Chinese, for the user
    count: int | None = None  # the children concerned (无人监护), where the alert counts any


def alerts(engine: Engine, period: str, approved_only: bool = False,
           today: dt.date | None = None, rules: Rules | None = None) -> list[Alert]:
    """Every alert of `period`: by kind (most urgent first), then township and school."""
    rules = rules or load_rules()
    recent = township_table(engine, recent_months(period, rules, approved_only))
    return from_tables(period, recent, unguarded_schools(engine, period, approved_only),
                       reporting_status(engine, period, today), rules)


def recent_months(period: str, rules: Rules, approved_only: bool = False) -> Filter:
    """The months 连续未达标 looks at: `months_running` up to `period`."""
    first = period_of_month_number(month_number(period) - rules.months_running + 1)
    return Filter.between(first, period, approved_only=approved_only)


def from_tables(period: str, recent: pd.DataFrame, unguarded_rows: pd.DataFrame,
                status: pd.DataFrame, rules: Rules) -> list[Alert]:
    """`alerts` from what it reads: the township table of recent_months, the 无人监护
    school rows and the reporting status of `period` (a page passes the ones it has)."""
    found = [*_unguarded_alerts(unguarded_rows), *_missing_alerts(status, period),
             *_below_target_alerts(recent, period, rules),
             *_funds_idle_alerts(recent[recent["period"] == period], rules)]
    return sorted(found, key=lambda a: (KINDS.index(a.kind), a.township_code, a.school_code or ""))


def as_frame(found: list[Alert]) -> pd.DataFrame:
    """Alerts as a table with Chinese headers, for the pages and the bulletin's workbook."""
    return pd.DataFrame({
        "级别": [LEVEL_LABELS[a.level] for a in found],
        "类型": [KIND_LABELS[a.kind] for a in found],
        "乡镇": [a.township_name for a in found],
        "学校": [a.school_name or "" for a in found],
        "说明": [a.message for a in found]})


# --- 无人监护 --------------------------------------------------------------------------------

UNGUARDED_COUNTS = ("left_behind", "guardian_none")  # what the alerts and the bulletin show


# A child without a guardian is alerted from the current data under every filter: approved
# only, or returned to the township, the alert stays, marked with the return's state.
UNREVIEWED_MARKS = {SUBMITTED: messages.UNREVIEWED, RETURNED: messages.RESUBMIT, APPROVED: ""}


def unguarded_schools(engine: Engine, period: str, approved_only: bool = False) -> pd.DataFrame:
    """The school rows of `period` that report children with 无人监护, by township and school:
    ids, names, UNGUARDED_COUNTS and the return's review status. Read from every current
    return whatever `approved_only` says (kept in the signature: every reader takes it)."""
    return readers.school_table(engine, Filter((period,)), positive_only="guardian_none",
                                counts=UNGUARDED_COUNTS, counted=False)


def unguarded(engine: Engine, period: str, approved_only: bool = False) -> list[Alert]:
    return _unguarded_alerts(unguarded_schools(engine, period, approved_only))


def _unguarded_alerts(rows: pd.DataFrame) -> list[Alert]:
    return [Alert(UNGUARDED, DANGER, row.township_code, row.township_name, row.school_code,
                  row.school_name, f"{wording.place(row.township_name, row.school_name)}有"
                  f"{int(row.guardian_none)}名留守儿童无人监护，须逐一落实监护责任"
                  + _mark(row.status), int(row.guardian_none))
            for row in rows.itertuples()]


def _mark(status: str) -> str:
    mark = UNREVIEWED_MARKS.get(status, "")
    return f"（{mark}）" if mark else ""


# --- 报送情况 --------------------------------------------------------------------------------

def reporting_status(engine: Engine, period: str, today: dt.date | None = None) -> pd.DataFrame:
    """One row per township: first_submitted (the first upload, as metrics judges
    timeliness), days_late, review status of the current submission and `state` (ON_TIME,
    LATE, MISSING after the deadline, NOT_DUE before it), by township code."""
    today = today or dt.date.today()
    due = due_date(period, settings.deadline_day(engine))
    with engine.connect() as conn:
        found = pd.DataFrame(conn.execute(_status_statement(period)).all(),
                             columns=["township_code", "township_name", "first", "current"])
    first = pd.to_datetime(found.pop("first")).dt.normalize()
    late_days = (first - pd.Timestamp(due)).dt.days.clip(lower=0).astype("Int64")
    current = found.pop("current")
    state = _states(current.notna() & (current != RETURNED), (late_days > 0).fillna(False),
                    due, today, current == RETURNED)
    return found.assign(
        first_submitted=first.dt.date.astype(object).where(first.notna(), None), due=due,
        days_late=late_days, status=current.map(STATUS_LABELS).fillna(""), state=state)


def _states(reported: pd.Series, late: pd.Series, due: dt.date, today: dt.date,
            returned) -> np.ndarray:
    """A returned return is not counted as reported (queries.current_conditions), nor is it
    missing: the township has been told to submit it again."""
    return np.select([returned, reported & late, reported], [RESUBMIT, LATE, ON_TIME],
                     MISSING if today > due else NOT_DUE)


def month_status(month: pd.DataFrame, due: dt.date, today: dt.date) -> pd.DataFrame:
    """What the alerts need of reporting_status (township_code, township_name, due, state)
    from a township table of the month over every return (not approved ones only), which a
    page has read already: reported is a current return, on_time its first upload's."""
    reported = month["reported"].to_numpy() > 0
    late = month["on_time"].to_numpy() == 0
    returned = month["returned"].to_numpy() > 0
    return month[["township_code", "township_name"]].assign(
        due=due, state=_states(reported, late, due, today, returned))


def _status_statement(period: str):
    """Every township with its first upload of `period` and its current submission's
    status, from the stored months (township_months.py; a month not stored has none)."""
    stored = TownshipMonth.__table__
    return (select(Township.code, Township.name, stored.c.first_upload, stored.c.status)
            .select_from(Township.__table__.outerjoin(stored, and_(
                stored.c.township_code == Township.code, stored.c.period == period,
                stored.c.approved_only.is_(False))))
            .order_by(Township.code))


def missing_returns(engine: Engine, period: str, today: dt.date | None = None) -> list[Alert]:
    return _missing_alerts(reporting_status(engine, period, today), period)


def _missing_alerts(status: pd.DataFrame, period: str) -> list[Alert]:
    label = period_label(period)
    return [Alert(MISSING_RETURN, WARNING, row.township_code, row.township_name, None, None,
                  f"{row.township_name}{label}月报截至{wording.date_text(row.due)}未报送")
            for row in status[status["state"] == MISSING].itertuples()]


# --- 连续未达标 -------------------------------------------------------------------------------

def lagging_indicators(table: pd.DataFrame, pass_marks: dict, months: int) -> pd.DataFrame:
    """(township_code, indicator key) pairs below the pass mark in every one of the last
    `months` periods of `table` (a township_table over those months)."""
    periods = sorted(table["period"].unique())[-months:]
    if len(periods) < months:
        return pd.DataFrame(columns=["township_code", "key"])
    recent = table[table["period"].isin(periods)]
    pairs = []
    for key, mark in pass_marks.items():
        below = recent[key].astype("float64") < mark  # NaN compares False: no value, no run
        runs = below.groupby(recent["township_code"]).sum()
        pairs += [(code, key) for code in runs[runs == months].index]
    return pd.DataFrame(pairs, columns=["township_code", "key"])


def below_target(engine: Engine, period: str, approved_only: bool = False,
                 rules: Rules | None = None) -> list[Alert]:
    rules = rules or load_rules()
    table = township_table(engine, recent_months(period, rules, approved_only))
    return _below_target_alerts(table, period, rules)


def _below_target_alerts(table: pd.DataFrame, period: str, rules: Rules) -> list[Alert]:
    lagging = lagging_indicators(table, dict(rules.pass_marks), rules.months_running)
    latest = table[table["period"] == period].set_index("township_code")
    found = []
    for code, keys in lagging.groupby("township_code", sort=True)["key"]:
        row = latest.loc[code]
        parts = "、".join(f"{catalog.label_of(k)}{format_percent(row[k])}"
                         f"（达标线{format_percent(rules.pass_marks[k])}）" for k in keys)
        found.append(Alert(BELOW_TARGET, WARNING, code, row["township_name"], None, None,
                           f"{row['township_name']}连续{rules.months_running}个月未达标，"
                           f"本月{parts}"))
    return found


# --- 资金拨付滞后 -----------------------------------------------------------------------------

def idle_funds(table: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Rows of a one-month township table whose year-to-date disbursement lags."""
    month = parse_period(table["period"].iloc[0])[1] if len(table) else 0
    if month < rules.funds_check_month:
        return table.iloc[0:0]
    rate = table["disbursement_rate"].astype("float64")
    return table[(table["allocated"] > 0) & (rate < rules.funds_min_rate)]


def funds_idle(engine: Engine, period: str, approved_only: bool = False,
               rules: Rules | None = None) -> list[Alert]:
    rules = rules or load_rules()
    table = township_table(engine, Filter((period,), approved_only=approved_only))
    return _funds_idle_alerts(table, rules)


def _funds_idle_alerts(table: pd.DataFrame, rules: Rules) -> list[Alert]:
    wan = wording.wan_yuan
    return [Alert(FUNDS_IDLE, WARNING, row.township_code, row.township_name, None, None,
                  f"{row.township_name}年度累计下达资金{wan(row.allocated)}，已拨付"
                  f"{wan(row.disbursed)}，拨付率{format_percent(row.disbursement_rate)}，"
                  f"低于第三季度末起应达到的{format_percent(rules.funds_min_rate)}")
            for row in idle_funds(table, rules).itertuples()]
