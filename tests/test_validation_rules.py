"""The validation codes and the rules between columns, declared once (catalog/validation.py):
README's table says the same, the validator enforces what is declared, and the template's
填报说明 states it."""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from liushou_dash import catalog
from liushou_dash.catalog import validation
from liushou_dash.catalog.validation import CODES, AtLeast, AtMost, Bound, PartsOfWhole
from liushou_dash.ingest import ingest_file
from liushou_dash.ingest.issues import issue
from liushou_dash.ingest.parse import ParsedSheet
from liushou_dash.ingest.template import INSTRUCTIONS, build_template
from liushou_dash.ingest.validate import check_rules
from tests.fixtures import TOWNSHIP, school_frame
from tests.returns import workbook

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PACKAGE = ROOT / "liushou_dash"
CODE_ROW = re.compile(r"^\|\s*([EW]\d\d)\s*\|\s*(.*?)\s*\|\s*(.*?)\s*\|\s*$", re.MULTILINE)
CODE_IN_SOURCE = re.compile(r"""["']([EW]\d\d)["']""")
PERIOD, TODAY = "2026-10", dt.date(2026, 11, 22)


# --- README's table ------------------------------------------------------------------------

def readme_codes(text: str) -> list[tuple[str, str, str]]:
    """(code, 类别, 含义) of every row of README's code table, in the order written."""
    return CODE_ROW.findall(text)


def declared_codes() -> list[tuple[str, str, str]]:
    return [(c.code, c.severity, c.meaning) for c in CODES]


def test_readme_code_table_lists_exactly_the_declared_codes_and_meanings():
    assert readme_codes(README.read_text(encoding="utf-8")) == declared_codes()


@pytest.mark.parametrize("row, changed", [
    ("| E07 | 错误 | 男 + 女 ≠ 留守儿童数 |", "| E07 | 错误 | 男 + 女 > 留守儿童数 |"),
    ("| W04 | 警告 | 有无人监护儿童 |", "| W04 | 错误 | 有无人监护儿童 |"),
    ("| W06 | 警告 | 已建档或已结对少于留守儿童数 |\n", ""),
])
def test_the_readme_check_can_fail(row, changed):
    text = README.read_text(encoding="utf-8")
    assert row in text
    assert readme_codes(text.replace(row, changed)) != declared_codes()


def test_codes_are_the_old_contract_in_order():
    """Codes are a stable contract: E01-E15 and W01-W06, none dropped, none renumbered."""
    assert [c.code for c in CODES] == ([f"E{i:02d}" for i in range(1, 16)]
                                       + [f"W{i:02d}" for i in range(1, 7)])
    assert [c.severity for c in CODES] == ["错误"] * 15 + ["警告"] * 6


def _codes_in_source() -> set[str]:
    """Every code written in the package outside the declarations themselves."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        if path != PACKAGE / "catalog" / "validation.py":
            found |= set(CODE_IN_SOURCE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_declared_code_is_used_and_every_used_code_declared():
    used = _codes_in_source() | {rule.code for rule in validation.RULES}
    assert used == {c.code for c in CODES}


def test_an_issue_with_an_undeclared_code_is_refused():
    with pytest.raises(ValueError, match="E99"):
        issue("E99", "没有登记的检查")


# --- The declarations themselves -------------------------------------------------------------

def _keys(rule) -> tuple[str, ...]:
    if isinstance(rule, Bound):
        return (rule.key,)
    return (*rule.parts, rule.whole)


@pytest.mark.parametrize("rule", validation.RULES, ids=lambda r: r.code)
def test_every_rule_compares_counts_of_its_sheet_under_a_declared_code(rule):
    assert rule.code in validation.CODES_BY_CODE
    assert all(rule.sheet.field(k).kind == catalog.COUNT for k in _keys(rule))
    assert not isinstance(rule, PartsOfWhole) or len(rule.parts) >= 2


# --- The validator enforces what is declared -----------------------------------------------

LETTERS = {"students": "C", "left_behind": "D", "boarding": "O", "in_difficulty": "P",
           "mentors": "S", "psych_teachers": "V", "dropouts": "W"}


def check(rows: list[dict], rules) -> list:
    """check_rules over a small typed schools sheet whose rows Excel numbers 5, 6, ..."""
    frame = pd.DataFrame(rows)
    parsed = ParsedSheet(sheet=catalog.SCHOOLS, source_name="学校月报", frame=frame,
                         excel_rows=pd.Series(range(5, 5 + len(rows))), letters=LETTERS)
    return check_rules(frame, parsed, rules)


def test_a_new_sum_is_checked_and_names_every_column_of_it():
    rules = [PartsOfWhole("E09", whole="left_behind", parts=("boarding", "in_difficulty"))]
    found = check([{"left_behind": 5, "boarding": 3, "in_difficulty": 2},
                   {"left_behind": 7, "boarding": 4, "in_difficulty": 4}], rules)
    assert [(i.code, i.row, i.column, i.cell) for i in found] == [("E09", 6, "寄宿", "O6")]
    assert found[0].message == ("E09 工作表“学校月报” 第6行 O列（寄宿）：寄宿（O列）4 + "
                                "困境留守儿童（P列）4 = 8，不等于留守儿童数 7，请核对这几列")


def test_a_new_upper_limit_is_checked_part_by_part():
    rules = [AtMost("E10", parts=("mentors", "psych_teachers"), whole="students")]
    found = check([{"students": 9, "mentors": 9, "psych_teachers": 1},
                   {"students": 9, "mentors": 10, "psych_teachers": 2},
                   {"students": 3, "mentors": 4, "psych_teachers": 5}], rules)
    assert [(i.row, i.column) for i in found] == [(6, "帮扶责任人"), (7, "帮扶责任人"),
                                                  (7, "心理辅导教师")]
    assert found[0].message.endswith("：帮扶责任人 10 大于在校学生数 9")
    assert found[2].message.endswith("：心理辅导教师 5 大于在校学生数 3")
    assert all(i.is_error for i in found)


def test_a_new_lower_limit_warns_with_the_shortfall():
    found = check([{"left_behind": 8, "boarding": 8}, {"left_behind": 8, "boarding": 5}],
                  [AtLeast("W06", parts=("boarding",), whole="left_behind")])
    assert [(i.code, i.row, i.column) for i in found] == [("W06", 6, "寄宿")]
    assert found[0].message.endswith("：寄宿少于留守儿童数3人（寄宿 5，留守儿童数 8）")
    assert not found[0].is_error


@pytest.mark.parametrize("message, expected", [
    ("", "本月辍学 2 大于 0"),
    ("本月有 {value} 名学生辍学，请核实", "本月有 2 名学生辍学，请核实"),
])
def test_a_new_bound_is_checked_with_its_own_words(message, expected):
    found = check([{"dropouts": 0}, {"dropouts": 2}],
                  [Bound("W04", key="dropouts", most=0, message=message)])
    assert [(i.row, i.column) for i in found] == [(6, "本月辍学")]
    assert found[0].message.endswith(f"：{expected}")


def _zero_row() -> dict:
    """A school with no children at all, which every declared rule accepts."""
    return dict.fromkeys(catalog.SCHOOL_COUNT_KEYS, 0)


def _broken(rule) -> tuple[dict, str]:
    """A row that breaks `rule` and no other, and the column the issue must name."""
    row = _zero_row()
    if isinstance(rule, Bound):
        row[rule.key] = rule.most + 1
        return row, rule.key
    if isinstance(rule, PartsOfWhole):
        row[rule.parts[0]] = 1
    elif isinstance(rule, AtMost):
        row[rule.parts[-1]] = 1
        return row, rule.parts[-1]
    else:
        row[rule.whole] = 1
        row.update(dict.fromkeys(rule.parts[1:], 1))
    return row, rule.parts[0]


@pytest.mark.parametrize("rule", validation.RULES, ids=lambda r: r.code)
def test_every_declared_rule_bites(rule):
    row, column = _broken(rule)
    assert check([_zero_row()], [rule]) == []
    found = check([_zero_row(), row], [rule])
    assert [(i.code, i.row, i.column) for i in found] == [
        (rule.code, 6, catalog.SCHOOLS.field(column).label)]


# --- A rule added to the declarations: refused on upload, stated in 填报说明 ----------------

ADDED = AtMost("E10", parts=("dropouts",), whole="left_behind")


@pytest.fixture
def with_added_rule(monkeypatch):
    monkeypatch.setattr(validation, "RULES", (*validation.RULES, ADDED))


def _too_many_dropouts(engine) -> tuple[bytes, int, int]:
    frame = school_frame(engine)
    frame.loc[0, "dropouts"] = frame.loc[0, "left_behind"] + 1
    return (workbook({"schools": frame}), int(frame.loc[0, "dropouts"]),
            int(frame.loc[0, "left_behind"]))


def _upload(engine, data: bytes):
    return ingest_file(engine, data, "return.xlsx", TOWNSHIP, PERIOD, today=TODAY,
                       dry_run=True)


def test_without_the_added_rule_the_return_is_accepted(engine):
    data, _, _ = _too_many_dropouts(engine)
    assert _upload(engine, data).accepted


def test_an_added_rule_refuses_the_upload(engine, with_added_rule):
    data, dropouts, left = _too_many_dropouts(engine)
    report = _upload(engine, data)
    assert not report.accepted
    assert [(e.code, e.row, e.column) for e in report.errors] == [("E10", 2, "本月辍学")]
    assert report.errors[0].message.endswith(f"：本月辍学 {dropouts} 大于留守儿童数 {left}")


def _rule_rows(engine) -> set[tuple]:
    ws = load_workbook(io.BytesIO(build_template(engine, TOWNSHIP, PERIOD)))[INSTRUCTIONS]
    return {tuple(c.value for c in row[:2]) for row in ws.iter_rows()}


def test_an_added_rule_is_stated_in_the_instructions(engine, with_added_rule):
    assert ("E10", "本月辍学不能大于留守儿童数。") in _rule_rows(engine)


def test_the_instructions_state_the_declared_rules_with_their_codes(engine):
    rows = _rule_rows(engine)
    assert ("E10", "本月辍学不能大于留守儿童数。") not in rows
    for expected in [
        ("E06", "留守儿童数不能大于在校学生数。"),
        ("E07", "性别：男＋女必须等于留守儿童数。"),
        ("E09", "监护类型：祖辈监护＋亲友监护＋其他委托监护＋无人监护必须等于留守儿童数。"),
        ("E10", "父母均外出、寄宿、困境留守儿童、已建档、已结对帮扶、本月亲情联系人数"
                "都不能大于留守儿童数。"),
        ("E11", "本月走访人数不能大于已结对帮扶。"),
        ("W04", "无人监护大于0时，系统会提示核实（不影响上报）。"),
        ("W06", "已建档或已结对帮扶少于留守儿童数时，系统会提示核实（不影响上报）。"),
    ]:
        assert expected in rows
    assert len([r for r in rows if r[0] in {rule.code for rule in validation.RULES}]) \
        == len(validation.RULES)
