"""Validation codes and the rules between columns, declared as data.

A code is a contract: clerks, reviewers and scripts reading `ingest --json` know E07 as
“男 + 女 ≠ 留守儿童数”, so a code keeps its meaning for good and a new check gets a new code.
CODES is the one table of them; README's table is checked against it
(tests/test_validation_rules.py), and ingest/issues.py refuses an issue with a code not in it.

RULES declares the checks between the columns of a row (sums, parts of a whole, bounds).
ingest/validate.py enforces them and the template's 填报说明 states them, both from these
declarations, so a rule added here is checked and explained without an edit anywhere else.
Checks that need master data, dates or last month (E03, E04, E13, W02, W03, W05) stay in code.
"""
from __future__ import annotations

from dataclasses import dataclass

from liushou_dash.catalog.fields import SCHOOLS, SHEETS_BY_KEY, Sheet

ERROR, WARNING = "错误", "警告"


@dataclass(frozen=True)
class Code:
    code: str
    meaning: str     # one line, as README's table gives it

    @property
    def severity(self) -> str:
        return severity_of(self.code)


CODES = (
    Code("E01", "文件无法读取或类型不符：超大文件、压缩炸弹、"
                "表格区域过大（指出哪张表的哪个单元格）、文件已加密、网页格式另存的 .xls"),
    Code("E02", "缺少必需的工作表或列"),
    Code("E03", "学校或依托单位代码不存在，或不属于本乡镇"),
    Code("E04", "学校、之家编号或凭证号重复"),
    Code("E05", "不是大于等于 0 的整数（金额：不是大于等于 0 的金额）"),
    Code("E06", "留守儿童数大于在校学生数"),
    Code("E07", "男 + 女 ≠ 留守儿童数"),
    Code("E08", "学前 + 小学 + 初中 ≠ 留守儿童数"),
    Code("E09", "四类监护人数之和 ≠ 留守儿童数"),
    Code("E10", "分项（父母均外出、寄宿、困境、已建档、已结对、亲情联系）大于留守儿童数"),
    Code("E11", "走访人数大于已结对帮扶人数"),
    Code("E12", "类型、来源、用途、依托类型、是/否 填写了不可选的值"),
    Code("E13", "日期超出报表年度或晚于报表月份，或坐标不在本县"),
    Code("E14", "报表月份格式错误或晚于当前月份"),
    Code("E15", "无权为该乡镇报送，或该月已审核锁定"),
    Code("W01", "空白按 0 计"),
    Code("W02", "学校名称与主数据不一致"),
    Code("W03", "留守儿童数较上月变化过大"),
    Code("W04", "有无人监护儿童"),
    Code("W05", "应报学校未填报"),
    Code("W06", "已建档或已结对少于留守儿童数"),
)
CODES_BY_CODE = {c.code: c for c in CODES}


def is_error(code: str) -> bool:
    """Errors refuse the whole file, warnings are stored with it: told by the letter, so that
    a reader of the report (or of the JSON) needs no table to know which is which."""
    return code.startswith("E")


def severity_of(code: str) -> str:
    return ERROR if is_error(code) else WARNING


def warning_sentence(breach: str) -> str:
    """How 填报说明 states a warning: what makes it, and that it does not stop the upload."""
    return f"{breach}时，系统会提示核实（不影响上报）。"


def _labels(sheet: Sheet, keys: tuple[str, ...]) -> list[str]:
    return [sheet.field(k).label for k in keys]


@dataclass(frozen=True)
class _Rule:
    """What every declared rule has: its code and the sheet whose rows it checks. The clerk's
    sentence is the requirement for an error, and the breach with warning_sentence for a
    warning."""
    code: str

    @property
    def severity(self) -> str:
        return severity_of(self.code)

    @property
    def sheet(self) -> Sheet:
        return SHEETS_BY_KEY[self.sheet_key]

    @property
    def sentence(self) -> str:
        if is_error(self.code):
            return f"{self.requirement}。"
        return warning_sentence(self.breach)


@dataclass(frozen=True)
class PartsOfWhole(_Rule):
    """The parts add up to the whole (男 + 女 = 留守儿童数): a wrong sum is reported once,
    at the first part, naming every part."""
    whole: str
    parts: tuple[str, ...]
    sheet_key: str = SCHOOLS.key

    def _group(self) -> str:
        """'性别：' when the parts are one group of a two-level header, as the clerk sees them."""
        groups = {self.sheet.field(p).group for p in self.parts}
        return f"{groups.pop()}：" if len(groups) == 1 and None not in groups else ""

    @property
    def requirement(self) -> str:
        return (f"{self._group()}{'＋'.join(_labels(self.sheet, self.parts))}"
                f"必须等于{self.sheet.field(self.whole).label}")

    @property
    def breach(self) -> str:
        return (f"{'＋'.join(_labels(self.sheet, self.parts))}"
                f"不等于{self.sheet.field(self.whole).label}")


@dataclass(frozen=True)
class _PartsAgainstWhole(_Rule):
    """Each part compared with the whole on its own, and reported at its own column."""
    parts: tuple[str, ...]
    whole: str
    sheet_key: str = SCHOOLS.key

    def _said(self, each: str, verb: str) -> str:
        """'已建档、已结对帮扶都不能大于留守儿童数' (each) or '已建档或已结对帮扶大于…' (any)."""
        labels = _labels(self.sheet, self.parts)
        many = len(labels) > 1
        joined = ("、" if each else "或").join(labels)
        return f"{joined}{each if many else ''}{verb}{self.sheet.field(self.whole).label}"


@dataclass(frozen=True)
class AtMost(_PartsAgainstWhole):
    """No part exceeds the whole (已建档 ≤ 留守儿童数, 留守儿童数 ≤ 在校学生数)."""

    @property
    def requirement(self) -> str:
        return self._said("都", "不能大于")

    @property
    def breach(self) -> str:
        return self._said("", "大于")


@dataclass(frozen=True)
class AtLeast(_PartsAgainstWhole):
    """Every part reaches the whole (已建档 = 留守儿童数 when every child has a file)."""

    @property
    def requirement(self) -> str:
        return self._said("都", "不能少于")

    @property
    def breach(self) -> str:
        return self._said("", "少于")


@dataclass(frozen=True)
class Bound(_Rule):
    """A column's value does not pass a fixed number (无人监护 above 0)."""
    key: str
    most: int
    message: str = ""      # the clerk's text for a row, {value} the cell ("无人监护 3 大于 0")
    sheet_key: str = SCHOOLS.key

    @property
    def requirement(self) -> str:
        return f"{self.sheet.field(self.key).label}不能大于{self.most}"

    @property
    def breach(self) -> str:
        return f"{self.sheet.field(self.key).label}大于{self.most}"


Rule = PartsOfWhole | AtMost | AtLeast | Bound

_GUARDIANS = ("guardian_grandparents", "guardian_relatives", "guardian_other", "guardian_none")
_PARTS_OF_LEFT_BEHIND = ("both_parents_away", "boarding", "in_difficulty", "archived", "paired",
                         "parent_contact")

RULES: tuple[Rule, ...] = (
    AtMost("E06", parts=("left_behind",), whole="students"),
    PartsOfWhole("E07", whole="left_behind", parts=("boys", "girls")),
    PartsOfWhole("E08", whole="left_behind", parts=("preschool", "primary", "junior")),
    PartsOfWhole("E09", whole="left_behind", parts=_GUARDIANS),
    AtMost("E10", parts=_PARTS_OF_LEFT_BEHIND, whole="left_behind"),
    AtMost("E11", parts=("visited",), whole="paired"),
    Bound("W04", key="guardian_none", most=0,
          message="有 {value} 名无人监护的留守儿童，请立即落实监护责任"),
    AtLeast("W06", parts=("archived", "paired"), whole="left_behind"),
)


def rules_of(sheet_key: str, errors: bool) -> tuple[Rule, ...]:
    """The declared errors (or warnings) of a sheet, in the order declared: the validator
    checks a sheet's errors before its warnings, as a clerk fixes them."""
    return tuple(r for r in RULES if r.sheet_key == sheet_key and is_error(r.code) == errors)
