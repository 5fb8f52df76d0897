"""The township's 数据上报: template, check, store, history.

Every function takes the acting user and the township; a clerk asking for another township
is refused here, and the refusal is audited (auth.acting), before the ingest runs its own
check (E15). The upload is checked twice on purpose: a dry run shows the verdict and the
totals, and only the clerk's confirmation stores the same bytes.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.core.actors import Actor
from liushou_dash.core.models import APPROVED, RETURNED
from liushou_dash.core.periods import period_of, previous_period
from liushou_dash.ingest import Report, ingest_file
from liushou_dash.ingest.context import SUBMITTING_ROLES
from liushou_dash.ingest.issues import Issue
from liushou_dash.ingest.template import build_template
from liushou_dash.workflow import review
from liushou_dash.workflow.auth import acting, require_township

RECENT_MONTHS = 12
ISSUE_COLUMNS = {"code": "代码", "sheet": "工作表", "row": "行", "column": "列",
                 "message": "问题说明"}
HISTORY_COLUMNS = {"period": "月份", "submitted_at": "提交时间", "file_name": "文件名",
                   "status_label": "状态", "current": "当前有效", "review_comment": "审核意见",
                   "reviewed_by": "审核人", "warning_count": "警告数", "id": "提交编号"}


def open_period(today: dt.date | None = None) -> str:
    """The month a township reports now: last month (due early this month)."""
    today = today or dt.date.today()
    return previous_period(period_of(today))


def recent_periods(today: dt.date | None = None, count: int = RECENT_MONTHS) -> list[str]:
    """The open month first, then the months before it (a returned month is re-sent)."""
    periods = [open_period(today)]
    while len(periods) < count:
        periods.append(previous_period(periods[-1]))
    return periods


def fingerprint(data: bytes) -> str:
    """Identifies the exact bytes that were checked, so that only they are confirmed."""
    return hashlib.sha256(data).hexdigest()


def _allow(engine: Engine, actor: Actor, township_code: str, period: str, action: str) -> None:
    """The actor may submit for the township: a read (a refusal is audited all the same);
    the store's own transaction checks again."""
    with acting(engine, actor, action, *SUBMITTING_ROLES, object_type="submission",
                object_id=f"{township_code}/{period}", read_only=True) as (_, me):
        require_township(me, township_code)


def template(engine: Engine, actor: Actor, township_code: str, period: str) -> bytes:
    """The township's template for `period`, pre-filled (its schools, homes and ledger)."""
    _allow(engine, actor, township_code, period, "template")
    return build_template(engine, township_code, period)


def template_name(township_name: str, period: str) -> str:
    return f"{township_name}留守儿童关爱工作月报{period}.xlsx"


def upload(engine: Engine, actor: Actor, township_code: str, period: str, data: bytes,
           file_name: str, dry_run: bool, today: dt.date | None = None) -> Report:
    """Check (dry_run) or check and store the file as the actor's submission."""
    _allow(engine, actor, township_code, period, "check_upload" if dry_run else "upload")
    return ingest_file(engine, data, file_name, township_code, period,
                       username=actor.username, dry_run=dry_run, today=today)


def history(engine: Engine, actor: Actor, township_code: str) -> pd.DataFrame:
    """The township's submissions with their status and the reviewer's comment."""
    frame = review.submissions(engine, actor, township_code)
    return frame[list(HISTORY_COLUMNS)].rename(columns=HISTORY_COLUMNS)


def period_notice(engine: Engine, actor: Actor, township_code: str, period: str) -> str | None:
    """What the clerk must know about the month before uploading: returned (and why) or
    locked; None while it is open as usual."""
    frame = review.submissions(engine, actor, township_code, period)
    current = frame[frame["is_current"]]
    if current.empty:
        return None
    row = current.iloc[0]
    if row["status"] == RETURNED:
        return (f"该月数据已被县级退回，退回意见：{review.comment_sentence(row['review_comment'])}"
                "请修改后重新上传。")
    if row["status"] == APPROVED:
        return "该月数据已审核锁定，不能再上传；如需修改，请联系县级审核人员解锁。"
    return None


# --- The verdict, for reading ------------------------------------------------------------------

def issue_table(issues: list[Issue]) -> pd.DataFrame:
    """Errors or warnings as a table: code, sheet, row, column, message."""
    frame = pd.DataFrame([{key: getattr(i, key) for key in ISSUE_COLUMNS} for i in issues],
                         columns=list(ISSUE_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame.rename(columns=ISSUE_COLUMNS)


def rows_summary(report: Report) -> str:
    """学校月报 12 行、留守儿童之家 3 行、资金 5 行 (the sheets the file carried)."""
    parts = [f"{catalog.SHEETS_BY_KEY[key].label} {count} 行"
             for key, count in report.rows.items() if count]
    return "、".join(parts) or "没有数据行"


def totals_table(report: Report) -> pd.DataFrame:
    """The school sheet's totals, labelled as in the template, for a last look."""
    return pd.DataFrame({"项目": [catalog.label_of(k) for k in report.totals],
                         "合计": list(report.totals.values())})
