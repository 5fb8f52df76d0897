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
`changed` and `change_reason` for 留守儿童数. workflow/verification.py runs the checks over
stored returns for 审核 and 上报进度, where a reviewer may mark a finding 已核实.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog import wording
from liushou_dash.catalog.rules import Rules, load_rules

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
