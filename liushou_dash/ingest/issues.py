"""Validation findings: stable codes, Chinese messages naming sheet, row and column.

The codes and their meanings are declared in catalog/validation.py (CODES); an issue may
only carry a declared code, so a new check cannot slip past README's table."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from operator import attrgetter

from liushou_dash.catalog.validation import CODES_BY_CODE, is_error

MAX_LISTED_PER_CODE = 200  # a whole sheet of one mistake is reported once per cell up to here


@dataclass(frozen=True)
class Issue:
    code: str
    sheet: str | None
    row: int | None          # the row number Excel shows
    column: str | None       # the column's Chinese label
    message: str
    cell: str | None = None  # e.g. "E7", for marking the clerk's own workbook

    @property
    def is_error(self) -> bool:
        return is_error(self.code)

    def as_json(self) -> dict:
        return {"code": self.code, "sheet": self.sheet, "row": self.row, "column": self.column,
                "message": self.message}


def where(sheet: str | None, row: int | None, column: str | None, letter: str | None) -> str:
    """'学校月报 第7行 E列（留守儿童数）' — the place a clerk looks for."""
    parts = []
    if sheet:
        parts.append(f"工作表“{sheet}”")
    if row:
        parts.append(f"第{row}行")
    if column:
        parts.append(f"{letter}列（{column}）" if letter else f"“{column}”列")
    return " ".join(parts)


def as_typed(value):
    """A cell's value as the clerk typed it, for a message: a spreadsheet hands a typed -3 over
    as the float -3.0, and "“-3.0”不是整数" would blame the clerk for a decimal point."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def issue(code: str, message: str, sheet: str | None = None, row: int | None = None,
          column: str | None = None, letter: str | None = None) -> Issue:
    if code not in CODES_BY_CODE:
        raise ValueError(f"校验代码 {code} 未在 catalog/validation.py 的 CODES 中登记")
    place = where(sheet, row, column, letter)
    text = f"{code} {place}：{message}" if place else f"{code} {message}"
    cell = f"{letter}{row}" if letter and row else None
    return Issue(code, sheet, row, column, text, cell)


def has_error(issues: list[Issue]) -> bool:
    """Whether any issue is an error: by the codes present (a warning may be repeated for
    each of 20,000 rows, see validate._Sheet.flag)."""
    return any(map(is_error, set(map(attrgetter("code"), issues))))


def cap(issues: list[Issue]) -> list[Issue]:
    """Keep at most MAX_LISTED_PER_CODE issues per code, then one line saying how many more."""
    seen = Counter(map(attrgetter("code"), issues))
    if all(count <= MAX_LISTED_PER_CODE for count in seen.values()):
        return list(issues)
    kept, listed = [], dict.fromkeys(seen, 0)
    for item in issues:
        if listed[item.code] < MAX_LISTED_PER_CODE:
            listed[item.code] += 1
            kept.append(item)
    for code, count in seen.items():
        if count > MAX_LISTED_PER_CODE:
            kept.append(Issue(code, None, None, None,
                              f"{code} 另有{count - MAX_LISTED_PER_CODE}处同类问题未逐条列出"))
    return kept
