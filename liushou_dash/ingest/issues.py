"""Validation findings: stable codes, Chinese messages naming sheet, row and column."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from operator import attrgetter

ERROR_TITLES = {
    "E01": "文件无法读取或类型不符",
    "E02": "缺少必需的工作表或列",
    "E03": "代码不存在或不属于本乡镇",
    "E04": "重复记录",
    "E05": "不是大于等于0的整数（金额：不是大于等于0的金额）",
    "E06": "留守儿童数大于在校学生数",
    "E07": "男+女不等于留守儿童数",
    "E08": "学前+小学+初中不等于留守儿童数",
    "E09": "四类监护人数之和不等于留守儿童数",
    "E10": "分项人数大于留守儿童数",
    "E11": "走访人数大于已结对帮扶人数",
    "E12": "填写的值不在可选范围内",
    "E13": "日期或坐标超出范围",
    "E14": "报表月份格式错误或晚于当前月份",
    "E15": "无权为该乡镇报送，或该月数据已审核锁定",
}
WARNING_TITLES = {
    "W01": "空白单元格按0计",
    "W02": "学校名称与主数据不一致",
    "W03": "留守儿童数较上月变化过大",
    "W04": "有无人监护的留守儿童",
    "W05": "应报学校未出现在表中",
    "W06": "已建档或已结对帮扶人数少于留守儿童数",
}
TITLES = {**ERROR_TITLES, **WARNING_TITLES}

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
        return self.code.startswith("E")

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
    place = where(sheet, row, column, letter)
    text = f"{code} {place}：{message}" if place else f"{code} {message}"
    cell = f"{letter}{row}" if letter and row else None
    return Issue(code, sheet, row, column, text, cell)


def has_error(issues: list[Issue]) -> bool:
    """Whether any issue is an error: by the codes present (a warning may be repeated for
    each of 20,000 rows, see validate._Sheet.flag)."""
    return any(code.startswith("E") for code in set(map(attrgetter("code"), issues)))


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
