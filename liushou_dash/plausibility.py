"""Plausibility checks of school returns that suit small numbers.

A village school has a dozen left-behind children: one child more is +8%, and a z-score over
such numbers flags noise. So a change counts only when it passes BOTH an absolute threshold
(so small schools are not flagged for a child or two) and a relative one (so big schools are
not flagged for ordinary churn). Thresholds come from rules.toml. Three checks, all warnings
for a reviewer (nothing is refused):
- change:    a stock count (a "last" field: students, left-behind, archived, paired, …)
             moved too far from the school's value last month;
- enrolment: 在校学生数 drifted too far from the enrolment on record in master data (which
             also catches a slow drift that no single month-to-month change shows);
- copied:    every count is identical to last month's, so the return was probably copied
             forward instead of filled in (visits and calls to parents change every month).
This module is the one place of the change rule: the upload's W03 (ingest/validate.py) calls
`changed` and `change_reason` for 留守儿童数. A reviewer may mark a finding 已核实 with a
note (`verify`), kept as an audit row; the 审核 and 上报进度 pages show the marks.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from . import audit, catalog, metrics, wording
from .auth import Actor, acting
from .metrics import Filter, period_label
from .models import AuditEntry, School, SchoolReturn, Submission, Township
from .rules import Rules, load_rules
from .workflow import REVIEWERS, reviewable

CHANGE, ENROLMENT, COPIED = "change", "enrolment", "copied"
CHECK_LABELS = {CHANGE: "较上月变化异常", ENROLMENT: "学生数与学籍不符", COPIED: "疑似照抄上月"}
COUNT_KEYS = catalog.SCHOOL_COUNT_KEYS
# Stocks carry over from month to month, so a jump needs explaining; monthly flows (visits,
# calls, dropouts, incidents) may rightly swing.
STOCK_KEYS = tuple(f.key for f in catalog.SCHOOLS.count_fields if f.over_time == "last")
SCHOOL_IDS = ("township_code", "township_name", "school_code", "school_name")


@dataclass(frozen=True)
class Finding:
    check: str                 # CHANGE, ENROLMENT or COPIED
    township_code: str
    township_name: str
    school_code: str
    school_name: str
    column: str | None         # the catalogue key concerned (None: the whole row)
    value: float | None        # this month's value
    reference: float | None    # last month's value, or the enrolment on record
    reason: str                # Chinese, for the reviewer


def _beyond(value, reference, absolute: float, relative: float):
    """Both thresholds passed. From 0, any absolute jump past the threshold counts.
    Element-wise on arrays, so that the upload's check (W03) over a whole sheet and the
    reviewer's over a month are the same rule."""
    gap = abs(value - reference)
    return (gap >= absolute) & ((reference == 0) | (gap >= relative * reference))


def changed(value, reference, rules: Rules):
    """Whether a stock count moved past both change thresholds since last month (scalars or
    arrays): the one rule behind the upload's W03 and the reviewer's 较上月变化异常."""
    return _beyond(value, reference, rules.change_abs, rules.change_rel)


def _relative_text(value: float, reference: float) -> str:
    return "" if reference == 0 else f"（{(value - reference) / reference:+.0%}）"


def change_reason(key: str, value: float, reference: float, rules: Rules) -> str:
    """'留守儿童数由上月200人变为本月120人，减少80人（-40%），超过10人且超过20%，请核实':
    both months' values, so that whoever reads it needs no second screen."""
    return (f"{catalog.label_of(key)}由上月{wording.count(reference)}人变为本月"
            f"{wording.count(value)}人，{wording.change(value - reference)}"
            f"{_relative_text(value, reference)}，"
            f"超过{rules.change_abs}人且超过{rules.change_rel:.0%}，请核实")


def _finding(row, check: str, column: str | None, value, reference, reason: str) -> Finding:
    return Finding(check, row.township_code, row.township_name, row.school_code,
                   row.school_name, column, value, reference, reason)


def changes(row, before, rules: Rules) -> list[Finding]:
    """Stock counts of one school that moved past both thresholds since last month."""
    found = []
    for key in STOCK_KEYS:
        value, reference = float(getattr(row, key)), float(getattr(before, key))
        if changed(value, reference, rules):
            found.append(_finding(row, CHANGE, key, value, reference,
                                  change_reason(key, value, reference, rules)))
    return found


def enrolment_drift(row, enrolled: int | None, rules: Rules) -> list[Finding]:
    if enrolled is None or pd.isna(enrolled):
        return []
    students = float(row.students)
    if not _beyond(students, float(enrolled), rules.enrolment_abs, rules.enrolment_rel):
        return []
    return [_finding(row, ENROLMENT, "students", students, float(enrolled),
        f"在校学生数{wording.count(students)}人，学籍登记{wording.count(enrolled)}人，"
        f"相差{wording.count(abs(students - enrolled))}人{_relative_text(students, enrolled)}，"
        f"超过{rules.enrolment_abs}人且超过{rules.enrolment_rel:.0%}，请核实")]


def _identical(row, before) -> bool:
    return all(getattr(row, key) == getattr(before, key) for key in COUNT_KEYS)


def copied_forward(pairs: list[tuple], rules: Rules) -> list[Finding]:
    """Schools whose every count equals last month's. A small school may rightly repeat
    itself (12 children, all visited, all called), so it is flagged only when it is big
    enough that this cannot be chance, or when every school of its township repeated
    itself: the clerk copied the whole sheet."""
    identical = [(row, _identical(row, before)) for row, before in pairs]
    per_township = Counter(row.township_code for row, _ in identical)
    changed = {row.township_code for row, same in identical if not same}
    whole_sheet = {code: code not in changed for code in per_township}
    found = []
    for row, same in identical:
        sheet_copied = whole_sheet[row.township_code] and per_township[row.township_code] > 1
        if not same or not (sheet_copied or row.left_behind >= rules.copied_min_left_behind):
            continue
        scope = (f"本乡镇全部{per_township[row.township_code]}所学校的数据" if sheet_copied
                 else f"全部{len(COUNT_KEYS)}项数据")
        found.append(_finding(row, COPIED, None, None, None,
                              f"{scope}与上月完全相同（含本月走访、亲情联系人数），"
                              f"疑似照抄上月，请核实"))
    return found


def find(current: pd.DataFrame, previous: pd.DataFrame, enrolment: Mapping[str, int],
         rules: Rules | None = None) -> list[Finding]:
    """Every finding for the school rows `current` (school ids and every count), given last
    month's rows of the same schools and the enrolment on record (school code -> students),
    by school in the order of `current`."""
    rules = rules or load_rules()
    before = {row.school_code: row for row in previous.itertuples(index=False)}
    rows = list(current.itertuples(index=False))
    pairs = [(row, before[row.school_code]) for row in rows if row.school_code in before]
    found = copied_forward(pairs, rules)
    for row, last in pairs:
        found += changes(row, last, rules)
    for row in rows:
        found += enrolment_drift(row, enrolment.get(row.school_code), rules)
    order = {row.school_code: i for i, row in enumerate(rows)}
    return sorted(found, key=lambda f: order[f.school_code])


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
    previous = metrics.previous_period(period)
    schools = metrics.school_table(engine, Filter((previous, period), townships=townships,
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
    previous = metrics.school_table(
        engine, Filter((metrics.previous_period(period),), townships=(township,)))
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
