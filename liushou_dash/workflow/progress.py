"""上报进度: where each township's monthly return stands, and whom to chase (催报).

A cell of the township × month matrix is the review status of the township's current
submission (已提交 / 已退回 / 已审核) or, without one, 未报 before the deadline and 逾期 after it.
The deadline and the on-time judgement are alerts.reporting_status's, the same as the
cockpit's alerts and the bulletin use.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from liushou_dash.catalog import messages, wording
from liushou_dash.catalog.columns import COUNT
from liushou_dash.core.db import has_schema
from liushou_dash.core.models import APPROVED, RETURNED, STATUS_LABELS, Submission, User
from liushou_dash.core.periods import parse_period, period_of, previous_period
from liushou_dash.indicators.alerts import MISSING, NOT_DUE, reporting_status
from liushou_dash.workflow import verification

STATUS_ORDER = (messages.OVERDUE, messages.NOT_DUE, STATUS_LABELS[RETURNED],
                STATUS_LABELS["submitted"], STATUS_LABELS[APPROVED])
STATUS_STYLES = dict(zip(STATUS_ORDER, (
    "background-color: #f4c7c3; color: #8a1c12", "background-color: #fde9c9",
    "background-color: #fbd5b5", "background-color: #d9e8fb", "background-color: #d4edda")))
CHASE_LABELS = {"status": messages.STATUS, "due": messages.DUE_DATE,
                "days_left": messages.DAYS_LEFT, "review_comment": messages.REVIEW_COMMENT,
                "clerks": messages.CLERKS}
CHASE_KINDS = {"days_left": COUNT}  # every other column is text
OWING = (messages.OVERDUE, messages.NOT_DUE, STATUS_LABELS[RETURNED])  # still owe a return


def reporting_period(today: dt.date) -> str:
    """The month whose return is being collected now: the one before today's."""
    return previous_period(period_of(today))


def statuses(engine: Engine, periods, today: dt.date) -> pd.DataFrame:
    """One row per (period, township): period, township_code, township_name, due,
    first_submitted, days_late and `status` (one of STATUS_ORDER)."""
    frames = []
    for period in periods:
        found = reporting_status(engine, period, today)
        waiting = found["state"].map({MISSING: messages.OVERDUE, NOT_DUE: messages.NOT_DUE})
        frames.append(found.assign(period=period, status=waiting.fillna(found["status"])))
    columns = ["period", "township_code", "township_name", "due", "first_submitted",
               "days_late", "status"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(
        columns=columns)


def short_month(period: str) -> str:
    """26年10月: narrow enough for a year of columns."""
    year, month = parse_period(period)
    return f"{year % 100:02d}年{month}月"


def matrix(found: pd.DataFrame) -> pd.DataFrame:
    """Townships down, months across (as 2026年10月), statuses in the cells."""
    table = found.pivot(index=["township_code", "township_name"], columns="period",
                        values="status")
    table.columns = [short_month(p) for p in table.columns]
    return table.reset_index(level="township_code", drop=True).rename_axis(messages.TOWNSHIP)


def styled_matrix(table: pd.DataFrame):
    """The matrix with each status in its colour."""
    return table.style.map(lambda status: STATUS_STYLES.get(status, ""))


def status_counts(found: pd.DataFrame) -> dict[str, int]:
    counts = found["status"].value_counts()
    return {status: int(counts.get(status, 0)) for status in STATUS_ORDER}


def chase_list(engine: Engine, found: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """The townships of one month's `found` rows that still owe their return, most overdue
    first: township_code, township_name, status, due (as text), days_left (negative: days
    overdue), clerks (whom to phone) and review_comment (why it was returned)."""
    owing = found[found["status"].isin(OWING)]
    comments = _return_comments(engine, owing["period"].unique())
    clerks = _clerks(engine)
    frame = pd.DataFrame({
        "township_code": owing["township_code"], "township_name": owing["township_name"],
        "status": owing["status"], "due": owing["due"].map(wording.date_text),
        "days_left": [(due - today).days for due in owing["due"]],
        "clerks": owing["township_code"].map(clerks).fillna(""),
        "review_comment": owing["township_code"].map(comments).fillna("")})
    return frame.astype({"days_left": "int64"}).sort_values(
        "days_left", kind="stable").reset_index(drop=True)


def flagged_counts(flagged: pd.DataFrame) -> pd.DataFrame:
    """Per township of verification.period_table: how many values the checks flag and how many
    of them a reviewer has already confirmed (已核实), so the county sees what is left open."""
    confirmed = flagged[verification.VERIFIED_COLUMN].ne("")
    return (flagged.assign(confirmed=confirmed).groupby("乡镇", sort=False)
            .agg(需核实=("原因", "size"), 已核实=("confirmed", "sum")).reset_index())


def _return_comments(engine: Engine, periods) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(Submission.township_code, Submission.review_comment).where(
            Submission.period.in_(list(periods)), Submission.is_current.is_(True),
            Submission.status == RETURNED)).all()
    return {code: comment or "" for code, comment in rows}


def _clerks(engine: Engine) -> dict[str, str]:
    """township_code -> the names of its active clerks, for the person who phones them."""
    with engine.connect() as conn:
        if not has_schema(conn):
            return {}
        rows = conn.execute(select(User.township_code, User.display_name, User.username).where(
            User.role == "clerk", User.active.is_(True)).order_by(User.username)).all()
    names: dict[str, list[str]] = {}
    for code, display_name, username in rows:
        names.setdefault(code, []).append(display_name or username)
    return {code: "、".join(found) for code, found in names.items()}
