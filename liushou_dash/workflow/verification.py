"""The plausibility checks (ingest/plausibility.py) over stored returns, for 审核 and 上报进度,
and a reviewer's 已核实: a flagged value confirmed with a note, kept as an audit row."""
from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog import wording
from liushou_dash.core import audit, periods
from liushou_dash.core.actors import Actor
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import (
    AuditEntry,
    School,
    SchoolReturn,
    Submission,
    Township,
)
from liushou_dash.core.periods import period_label
from liushou_dash.indicators import readers
from liushou_dash.ingest.plausibility import (
    CHECK_LABELS,
    COUNT_KEYS,
    Finding,
    find,
)
from liushou_dash.workflow.auth import acting
from liushou_dash.workflow.review import REVIEWERS, reviewable

# --- Readers ---------------------------------------------------------------------------------

def _enrolment(engine: Engine, school_codes) -> dict[str, int]:
    codes = [str(code) for code in school_codes]
    with engine.connect() as conn:
        return dict(conn.execute(select(School.code, School.students).where(
            School.code.in_(codes), School.students.is_not(None))).all())


def check_period(engine: Engine, period: str, townships=None,
                 approved_only: bool = False) -> list[Finding]:
    """Findings for the current returns of `period` (against the current ones of the month
    before), by township and school."""
    previous = periods.previous_period(period)
    schools = readers.school_table(engine, Filter((previous, period), townships=townships,
                                                  approved_only=approved_only))
    current = schools[schools["period"] == period]
    return find(current, schools[schools["period"] == previous],
                _enrolment(engine, current["school_code"]))


def _submission_rows(conn, submission_id: int) -> pd.DataFrame:
    """The school rows of one submission with school and township names."""
    returns, schools, townships = (SchoolReturn.__table__, School.__table__,
                                   Township.__table__)
    statement = select(
        returns.c.township_code, townships.c.name.label("township_name"), returns.c.school_code,
        func.coalesce(schools.c.name, returns.c.school_name, returns.c.school_code)
        .label("school_name"), *[returns.c[key] for key in COUNT_KEYS],
    ).select_from(returns.outerjoin(schools, schools.c.code == returns.c.school_code)
                  .outerjoin(townships, townships.c.code == returns.c.township_code)
                  ).where(returns.c.submission_id == submission_id).order_by(returns.c.school_code)
    result = conn.execute(statement)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def check_submission(engine: Engine, submission_id: int) -> list[Finding]:
    """Findings for one submission's school rows (current or not: a reviewer may look at a
    superseded one) against the current returns of the township's previous month."""
    with engine.connect() as conn:
        submission = conn.execute(select(Submission.township_code, Submission.period)
                                  .where(Submission.id == submission_id)).first()
        if submission is None:
            raise ValueError(f"提交记录 {submission_id} 不存在")
        current = _submission_rows(conn, submission_id)
    township, period = submission
    previous = readers.school_table(
        engine, Filter((periods.previous_period(period),), townships=(township,)))
    return find(current, previous, _enrolment(engine, current["school_code"]))


def as_frame(found: list[Finding]) -> pd.DataFrame:
    """Findings as a table with Chinese headers, for the review and progress pages."""
    return pd.DataFrame({
        "乡镇": [f.township_name for f in found],
        "学校": [f.school_name for f in found],
        "检查项": [CHECK_LABELS[f.check] for f in found],
        "数据项": [catalog.label_of(f.column) if f.column else "全部" for f in found],
        "原因": [f.reason for f in found]})


# --- 已核实: a reviewer's confirmation of a flagged value -------------------------------------
# Kept as audit rows (action VERIFY, object the submission, detail school code, check, key and
# note), not a table of their own: who confirmed what, when and why is exactly an audit row,
# and the chain makes it tamper-evident. A confirmation belongs to one submission: a corrected
# return is a new submission and is looked at afresh.

VERIFY = "verify_value"
WHOLE_ROW = "all"     # the key of a finding about a whole row (疑似照抄上月)
VERIFIED_COLUMN = "核实"


def key_of(f: Finding) -> str:
    return f.column or WHOLE_ROW


def _flagged(engine: Engine, submission_id: int, school_code: str, check: str,
             key: str) -> bool:
    return any((f.school_code, f.check, key_of(f)) == (school_code, check, key)
               for f in check_submission(engine, submission_id))


def verify(engine: Engine, actor: Actor, submission_id: int, school_code: str, check: str,
           key: str, note: str) -> None:
    """Mark one flagged value of a submission 已核实, with the reviewer's note, in one
    transaction. Only a value the checks flag may be confirmed, only by a reviewer, and not
    by the one who submitted it (the same separation as approving)."""
    note = (note or "").strip()
    if not note:
        raise ValueError("请填写核实说明，例如“已电话核实：学校合并，学生转入”")
    if not _flagged(engine, submission_id, school_code, check, key):
        raise ValueError("该数据不在本次提交需核实的数据之中，无需核实")
    with acting(engine, actor, VERIFY, *REVIEWERS, object_type="submission",
                object_id=str(submission_id)) as (session, me):
        reviewable(session, me, submission_id)
        audit.record(session, me.username, VERIFY, "submission", str(submission_id),
                     school_code=school_code, check=check, key=key, note=note)


def _confirmations(engine: Engine, submission_ids) -> dict[tuple, str]:
    """(submission id as text, school code, check, key) -> '已核实（staff，2026-11-05：note）',
    the latest confirmation of each."""
    ids = sorted({str(i) for i in submission_ids})
    if not ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEntry.object_id, AuditEntry.username, AuditEntry.at,
                                   AuditEntry.detail).where(
            AuditEntry.action == VERIFY, AuditEntry.object_type == "submission",
            AuditEntry.object_id.in_(ids)).order_by(AuditEntry.id)).all()
    found = {}
    for object_id, username, at, detail in rows:
        d = json.loads(detail)
        found[(object_id, d["school_code"], d["check"], d["key"])] = (
            f"已核实（{username}，{wording.date_text(at)}：{d['note']}）")
    return found


def _with_confirmations(engine: Engine, found: list[Finding],
                        submission_of: Mapping[str, int]) -> pd.DataFrame:
    """as_frame with a 核实 column; `submission_of`: township code -> the submission the
    findings of that township were made on."""
    confirmed = _confirmations(engine, submission_of.values())
    table = as_frame(found)
    table[VERIFIED_COLUMN] = [confirmed.get((str(submission_of.get(f.township_code)),
                                             f.school_code, f.check, key_of(f)), "")
                              for f in found]
    return table


def unverified_choices(found: list[Finding], table: pd.DataFrame) -> dict[int, str]:
    """Index in `found` -> '学校 · 数据项 · 检查项', for the findings not yet confirmed (a
    select box on the 审核 page)."""
    return {i: f"{f.school_name} · {catalog.label_of(f.column) if f.column else '全部'} · "
               f"{CHECK_LABELS[f.check]}"
            for i, f in enumerate(found) if not table[VERIFIED_COLUMN].iat[i]}


def submission_table(engine: Engine, submission_id: int) -> tuple[list[Finding], pd.DataFrame]:
    """One submission's findings and, for the 审核 page, their table with 已核实 marks."""
    found = check_submission(engine, submission_id)
    township = {f.township_code for f in found}
    return found, _with_confirmations(engine, found, dict.fromkeys(township, submission_id))


def period_table(engine: Engine, period: str) -> pd.DataFrame:
    """The month's findings over the current returns of every township, with 已核实 marks,
    for the 上报进度 page."""
    found = check_period(engine, period)
    with engine.connect() as conn:
        current = dict(conn.execute(select(Submission.township_code, Submission.id).where(
            Submission.period == period, Submission.is_current.is_(True))).all())
    return _with_confirmations(engine, found, current)


def summary(found: list[Finding], period: str) -> str:
    """One line for a caption: how many schools of how many townships to look at."""
    if not found:
        return f"{period_label(period)}未发现需要核实的数据"
    schools = {f.school_code for f in found}
    townships = {f.township_code for f in found}
    return (f"{period_label(period)}有{len(townships)}个乡镇的{len(schools)}所学校"
            f"共{len(found)}处数据需要核实")
