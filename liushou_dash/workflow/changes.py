"""What a reviewer looks at before approving (审核): what changed in a
submission against the previous submission of the same month and against last month.

Schools and homes are compared cell by cell on their codes (added, removed, changed cells);
the ledger has no key (a voucher is optional), so its rows are compared as a multiset:
rows of the new ledger that the old one does not have, and the other way round.
Only reviewers may read this (auth.acting refuses and audits anyone else).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from liushou_dash import catalog
from liushou_dash.core.actors import Actor
from liushou_dash.core.models import APPROVED, STATUS_LABELS, Submission, Township
from liushou_dash.core.periods import period_label, previous_period
from liushou_dash.ingest.store import MODELS
from liushou_dash.workflow import review
from liushou_dash.workflow.auth import acting
from liushou_dash.workflow.review import REVIEWERS

CHANGE_COLUMNS = ("代码", "名称", "项目", "原值", "新值")
NAME_KEYS = {"schools": "school_name", "homes": "name"}


@dataclass
class Diff:
    """How a submission differs from `base` (another submission), as tables to show."""
    base_label: str
    totals: pd.DataFrame                      # 项目, 原值, 新值, 变化 (school counts)
    sections: dict[str, pd.DataFrame] = field(default_factory=dict)  # title -> rows

    @property
    def unchanged(self) -> bool:
        return not self.sections


@dataclass
class Review:
    submission: dict                          # id, township, period, status...
    warnings: pd.DataFrame
    against_previous: Diff | None             # the previous submission of the same month
    against_last_month: Diff | None           # the current submission of the month before


# --- Loading a submission's rows ---------------------------------------------------------------

def _rows(session: Session, sheet_key: str, submission_id: int) -> pd.DataFrame:
    model = MODELS[sheet_key]
    keys = [f.key for f in catalog.SHEETS_BY_KEY[sheet_key].fields]
    query = select(*[getattr(model, k) for k in keys]).where(
        model.submission_id == submission_id).order_by(model.id)
    return pd.DataFrame(session.execute(query).all(), columns=keys)


def _snapshot(session: Session, submission_id: int) -> dict[str, pd.DataFrame]:
    return {key: _rows(session, key, submission_id) for key in MODELS}


# --- Comparing ---------------------------------------------------------------------------------

def shown(value) -> str:
    """A cell as text for a mixed column: 是/否, whole numbers without '.0', '' for empty."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return catalog.YES if value else catalog.NO
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _same(a, b) -> bool:
    return shown(a) == shown(b)


def _keyed(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.drop_duplicates(key).set_index(key)


def cell_changes(old: pd.DataFrame, new: pd.DataFrame, sheet: catalog.Sheet) -> pd.DataFrame:
    """One row per changed cell of a row present in both (matched on the sheet's id)."""
    key, name_key = sheet.id_key, NAME_KEYS[sheet.key]
    before, after = _keyed(old, key), _keyed(new, key)
    rows = []
    for code in after.index.intersection(before.index):
        for f in sheet.fields:
            if f.key != key and not _same(before.at[code, f.key], after.at[code, f.key]):
                rows.append((code, shown(after.at[code, name_key]), f.label,
                             shown(before.at[code, f.key]), shown(after.at[code, f.key])))
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


def added(old: pd.DataFrame, new: pd.DataFrame, key: str, name_key: str) -> pd.DataFrame:
    """Rows of `new` whose code `old` does not have, as (代码, 名称)."""
    rows = new[~new[key].isin(old[key])]
    return pd.DataFrame({"代码": rows[key].map(shown), "名称": rows[name_key].map(shown)}
                        ).reset_index(drop=True)


def ledger_added(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Ledger rows of `new` not in `old`, counting duplicates (two equal rows are two)."""
    def counted(frame: pd.DataFrame) -> pd.DataFrame:
        text = frame.map(shown)
        return text.assign(_n=text.groupby(list(text.columns)).cumcount())

    old_rows, new_rows = counted(old), counted(new)
    merged = new_rows.merge(old_rows, how="left", indicator=True)
    fresh = merged[merged["_merge"] == "left_only"].drop(columns=["_n", "_merge"])
    return fresh.rename(columns={f.key: f.label for f in catalog.FUNDING.fields}
                        ).reset_index(drop=True)


def totals(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The school sheet's sums before and after, for every count."""
    keys = catalog.SCHOOL_COUNT_KEYS
    before = old[list(keys)].sum() if len(old) else pd.Series(0, index=keys)
    after = new[list(keys)].sum() if len(new) else pd.Series(0, index=keys)
    return pd.DataFrame({"项目": [catalog.label_of(k) for k in keys],
                         "原值": before.astype(int).values, "新值": after.astype(int).values,
                         "变化": (after - before).astype(int).values})


def diff(old: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame], base_label: str) -> Diff:
    """Every difference between two snapshots, as titled tables (empty ones left out)."""
    schools, homes = catalog.SCHOOLS, catalog.HOMES
    sections = {
        "学校月报：有变化的单元格": cell_changes(old["schools"], new["schools"], schools),
        "学校月报：新增的学校": added(old["schools"], new["schools"], "school_code", "school_name"),
        "学校月报：减少的学校": added(new["schools"], old["schools"], "school_code", "school_name"),
        "留守儿童之家：新增": added(old["homes"], new["homes"], "home_code", "name"),
        "留守儿童之家：减少": added(new["homes"], old["homes"], "home_code", "name"),
        "留守儿童之家：有变化的单元格": cell_changes(old["homes"], new["homes"], homes),
        "资金台账：新增的记录": ledger_added(old["funding"], new["funding"]),
        "资金台账：删除的记录": ledger_added(new["funding"], old["funding"]),
    }
    return Diff(base_label, totals(old["schools"], new["schools"]),
                {title: table for title, table in sections.items() if len(table)})


# --- What the 审核 page reads -------------------------------------------------------------------

def _label(submission: Submission) -> str:
    return (f"{submission.period} 第 {submission.id} 号提交"
            f"（{submission.submitted_at:%Y-%m-%d %H:%M}，"
            f"{STATUS_LABELS.get(submission.status, submission.status)}）")


def _previous_same_month(session: Session, submission: Submission) -> Submission | None:
    return session.scalars(select(Submission).where(
        Submission.township_code == submission.township_code,
        Submission.period == submission.period, Submission.id < submission.id)
        .order_by(Submission.id.desc())).first()


def _current_of(session: Session, township_code: str, period: str) -> Submission | None:
    return session.scalars(select(Submission).where(
        Submission.township_code == township_code, Submission.period == period,
        Submission.is_current.is_(True))).first()


def _warnings(submission: Submission) -> pd.DataFrame:
    found = json.loads(submission.warnings or "[]")
    return pd.DataFrame([{"代码": w.get("code"), "说明": w.get("message")} for w in found],
                        columns=["代码", "说明"])


def _summary(session: Session, submission: Submission) -> dict:
    return {"id": submission.id, "township_code": submission.township_code,
            "township_name": session.get(Township, submission.township_code).name,
            "period": submission.period, "username": submission.username,
            "submitted_at": submission.submitted_at, "file_name": submission.file_name,
            "status": submission.status, "is_current": submission.is_current}


def review_of(engine, actor: Actor, submission_id: int) -> Review:
    """The submission with its warnings and both comparisons (None where nothing to compare)."""
    with acting(engine, actor, "view_review", *REVIEWERS, object_type="submission",
                object_id=str(submission_id)) as (session, _):
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise ValueError(f"提交记录 {submission_id} 不存在")
        snapshot = _snapshot(session, submission.id)
        bases = (_previous_same_month(session, submission),
                 _current_of(session, submission.township_code,
                             previous_period(submission.period)))
        diffs = [diff(_snapshot(session, base.id), snapshot, _label(base)) if base else None
                 for base in bases]
        return Review(_summary(session, submission), _warnings(submission), *diffs)


def approval_question(submission: dict, comment: str) -> str:
    """What the reviewer confirms before approving: the township and month by name (the
    month locks, so it must be the one meant) and the comment that will be stored with it,
    which the reviewer may have written for a return."""
    stored = (f"审核意见：{review.comment_sentence(comment)}" if (comment or "").strip()
              else "未填写审核意见。")
    return (f"确认审核通过：{submission['township_name']} {period_label(submission['period'])}？"
            f"审核通过后该月锁定，乡镇不能再修改。\n\n{stored}")


# --- Lists for the page ------------------------------------------------------------------------

QUEUE_COLUMNS = {"id": "编号", "township_name": "乡镇", "period": "月份",
                 "submitted_at": "提交时间", "username": "提交人", "file_name": "文件名",
                 "warning_count": "警告数"}
HISTORY_COLUMNS = {**QUEUE_COLUMNS, "status_label": "状态", "current": "当前有效",
                   "reviewed_by": "审核人", "review_comment": "审核意见"}


def queue_table(frame: pd.DataFrame) -> pd.DataFrame:
    """review.pending (or .submissions) with Chinese headers, for reading."""
    return frame[list(QUEUE_COLUMNS)].rename(columns=QUEUE_COLUMNS)


def choices(frame: pd.DataFrame) -> dict[int, str]:
    """Submission id -> 乡镇 月份（第 N 号）, for a select box."""
    return {int(row.id): f"{row.township_name} {row.period}（第 {row.id} 号提交）"
            for row in frame.itertuples()}


@dataclass
class MonthHistory:
    """Every submission of one township's month and what may be done with them."""
    table: pd.DataFrame
    current_id: int | None
    approved: bool                         # the current one is approved: unlock first
    earlier: dict[int, str]                # not current: may be rolled back to


def month_history(engine, actor: Actor, township_code: str, period: str) -> MonthHistory:
    frame = review.submissions(engine, actor, township_code, period)
    current = frame[frame["is_current"]]
    return MonthHistory(
        frame[list(HISTORY_COLUMNS)].rename(columns=HISTORY_COLUMNS),
        int(current["id"].iloc[0]) if len(current) else None,
        bool(len(current)) and current["status"].iloc[0] == APPROVED,
        choices(frame[~frame["is_current"]]))


def periods_of(engine, actor: Actor, township_code: str) -> list[str]:
    """The months in which the township submitted anything, newest first."""
    frame = review.submissions(engine, actor, township_code)
    return sorted(frame["period"].unique(), reverse=True)
