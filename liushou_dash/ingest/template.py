"""The Excel template a township clerk downloads, fills and uploads, built from catalog.py.

Every column, header, format and dropdown comes from the catalogue's fields, so a field added
to catalog.py appears in the template (and in its instructions) without an edit here; so does
a rule declared in catalog/validation.py in the instructions' 校验规则. The reader (ingest/)
finds headers by the same labels, so what this writes it can read back.
"""
from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from liushou_dash import catalog
from liushou_dash.catalog import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    ENUM,
    MONEY,
    NUMBER,
    TEXT,
    Field,
    Sheet,
    validation,
)
from liushou_dash.catalog.rules import load_rules
from liushou_dash.core import periods, settings
from liushou_dash.core.cell_text import defuse_cells
from liushou_dash.core.db import session_maker
from liushou_dash.core.models import School, Submission, Township
from liushou_dash.ingest.store import MODELS

INSTRUCTIONS = "填报说明"
EMPTY_ROWS = 300          # rows below a list sheet's data that still get formats and dropdowns
SIGNATURE = ("填表人：", "审核人：", "填报日期：")

NUMBER_FORMATS = {COUNT: "0", MONEY: "#,##0.00", DATE: "yyyy-mm-dd", CODE: "@", TEXT: "@"}
KIND_HINTS = {
    CODE: "代码，按文本填写，不要加空格",
    TEXT: "文字",
    COUNT: "整数（人、个、册），大于等于0，没有请填0",
    NUMBER: "数值，可带小数",
    MONEY: "金额（元），大于等于0，最多两位小数",
    DATE: "日期，格式如 2026-10-15",
    ENUM: "从下拉列表中选择",
    BOOL: "从下拉列表中选择“是”或“否”",
}
OVER_TIME_HINTS = {"last": "填月末实有数", "sum": "只填本月新发生的数", "mean": "填本月的人数"}

BOLD = Font(bold=True)
THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
PREFILLED_FILL = PatternFill("solid", fgColor="F2F2F2")   # master data: do not edit
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


# --- What the template needs from the database -------------------------------------------

def _check_period(period: str) -> tuple[int, int]:
    parsed = periods.period_or_none(period)
    if parsed is None:
        raise ValueError(f"报表月份“{period}”格式错误，应为 YYYY-MM，例如 2026-10")
    return parsed


def _township(session: Session, code: str) -> Township:
    township = session.get(Township, code)
    if township is None:
        raise ValueError(f"乡镇代码“{code}”不存在")
    return township


def _school_records(session: Session, township_code: str) -> list[dict]:
    schools = session.scalars(select(School).where(School.township_code == township_code)
                              .order_by(School.code))
    return [{catalog.SCHOOLS.id_key: s.code, "school_name": s.name} for s in schools]


def _current_records(session: Session, sheet: Sheet, township_code: str, period: str,
                     since: str = "") -> list[dict]:
    """Rows of `sheet` in the township's current submission of the latest period between
    `since` and `period` that carried the sheet: the list the clerk is to keep up to date."""
    flag = getattr(Submission, f"has_{sheet.key}")
    submission = session.scalars(
        select(Submission).where(Submission.township_code == township_code,
                                 Submission.is_current.is_(True), flag.is_(True),
                                 Submission.period <= period, Submission.period >= since)
        .order_by(Submission.period.desc())).first()
    if submission is None:
        return []
    model = MODELS[sheet.key]
    rows = session.scalars(select(model).where(model.submission_id == submission.id)
                           .order_by(model.id))
    return [{f.key: getattr(row, f.key) for f in sheet.fields} for row in rows]


# --- Writing one sheet from its catalogue fields ------------------------------------------

def _cell_value(f: Field, value):
    if value is None:
        return None
    if f.kind == BOOL:
        return catalog.YES if value else catalog.NO
    if f.kind == CODE:
        return str(value)   # text, so Excel neither shows 5.21E+09 nor drops leading zeros
    return value


def _header_rows(sheet: Sheet) -> int:
    return 2 if any(f.group for f in sheet.fields) else 1


def _write_header(ws: Worksheet, sheet: Sheet, top: int) -> None:
    """One header row, or two when fields have groups: the group merged across its fields
    above their labels, other labels merged down over both rows (as statistical forms do)."""
    two = _header_rows(sheet) == 2
    for col, f in enumerate(sheet.fields, start=1):
        for row in range(top, top + _header_rows(sheet)):
            cell = ws.cell(row, col)
            cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEADER_FILL, CENTER, BORDER
        if not two:
            ws.cell(top, col, f.label)
        elif f.group:
            ws.cell(top + 1, col, f.label)
        else:
            ws.cell(top, col, f.label)
            ws.merge_cells(start_row=top, end_row=top + 1, start_column=col, end_column=col)
    if two:
        for group, first, last in _group_spans(sheet):
            ws.cell(top, first, group)
            if last > first:
                ws.merge_cells(start_row=top, end_row=top, start_column=first, end_column=last)


def _group_spans(sheet: Sheet) -> list[tuple[str, int, int]]:
    """(group, first column, last column) of each run of adjacent fields sharing a group."""
    spans: list[tuple[str, int, int]] = []
    for col, f in enumerate(sheet.fields, start=1):
        if f.group and spans and spans[-1][0] == f.group and spans[-1][2] == col - 1:
            spans[-1] = (f.group, spans[-1][1], col)
        elif f.group:
            spans.append((f.group, col, col))
    return spans


def _write_rows(ws: Worksheet, sheet: Sheet, records: list[dict], first: int,
                shade: bool) -> None:
    """Data rows; every cell of a row gets its format and border, even when empty. With
    `shade`, the pre-filled cells (master data the clerk must not edit) are greyed."""
    for row, record in enumerate(records, start=first):
        for col, f in enumerate(sheet.fields, start=1):
            cell = ws.cell(row, col, _cell_value(f, record.get(f.key)))
            cell.border = BORDER
            if f.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[f.kind]
            if shade and f.key in record:
                cell.fill = PREFILLED_FILL


def _validation(f: Field, last_day: dt.date) -> DataValidation | None:
    """The Excel check that stops a wrong entry as it is typed, per field kind."""
    if f.kind in (ENUM, BOOL):
        return DataValidation(type="list", formula1=f'"{",".join(f.choices)}"',
                              error=f"请从下拉列表中选择：{'、'.join(f.choices)}")
    if f.kind == COUNT:
        return DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                              error="请填写大于等于0的整数，没有请填0")
    if f.kind == MONEY:
        return DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                              error="请填写大于等于0的金额（元），最多两位小数")
    if f.kind == DATE:
        return DataValidation(type="date", operator="lessThanOrEqual",
                              formula1=str(int(to_excel(last_day))),
                              error=f"请填写日期，格式如 {last_day:%Y-%m-%d}，且不晚于报表月份的最后一天")
    return None


def _add_validations(ws: Worksheet, sheet: Sheet, first: int, last: int,
                     last_day: dt.date) -> None:
    for col, f in enumerate(sheet.fields, start=1):
        validation = _validation(f, last_day)
        if validation is None:
            continue
        validation.allow_blank = True
        validation.showErrorMessage = True
        validation.errorTitle = f"“{f.label}”填写有误"
        letter = get_column_letter(col)
        validation.add(f"{letter}{first}:{letter}{last}")
        ws.add_data_validation(validation)


def _format_columns(ws: Worksheet, sheet: Sheet) -> None:
    """Widths, and column-wide number formats so rows the clerk adds get them too."""
    for col, f in enumerate(sheet.fields, start=1):
        dimension = ws.column_dimensions[get_column_letter(col)]
        dimension.width = f.width
        if f.kind in NUMBER_FORMATS:
            dimension.number_format = NUMBER_FORMATS[f.kind]


def _identity_columns(sheet: Sheet) -> int:
    """How many leading columns name the row (code, name): they stay visible when scrolling."""
    count = 0
    for f in sheet.fields:
        if f.kind not in (CODE, TEXT):
            break
        count += 1
    return count


def _write_table(ws: Worksheet, sheet: Sheet, records: list[dict], top: int,
                 empty_rows: int, last_day: dt.date, shade: bool = False) -> int:
    """Header at `top`, then the records; returns the last data row."""
    _format_columns(ws, sheet)
    _write_header(ws, sheet, top)
    first = top + _header_rows(sheet)
    _write_rows(ws, sheet, records, first, shade)
    last = first + len(records) - 1
    _add_validations(ws, sheet, first, max(last + empty_rows, first), last_day)
    ws.freeze_panes = ws.cell(first, _identity_columns(sheet) + 1)
    return last


# --- The sheets --------------------------------------------------------------------------

def _month_text(period: str) -> str:
    year, month = _check_period(period)
    return f"{year}年{month}月"


def _schools_sheet(wb: Workbook, township: Township, period: str, records: list[dict],
                   last_day: dt.date) -> None:
    sheet = catalog.SCHOOLS
    ws = wb.create_sheet(sheet.label)
    width = len(sheet.fields)
    title = ws.cell(1, 1, f"{township.name}留守儿童关爱工作月报（{_month_text(period)}）")
    title.font, title.alignment = Font(bold=True, size=16), CENTER
    ws.merge_cells(start_row=1, end_row=1, start_column=1, end_column=width)
    ws.row_dimensions[1].height = 30
    last = _write_table(ws, sheet, records, top=2, empty_rows=0, last_day=last_day,
                        shade=True)
    # A blank line, then the signatures a paper return carries, spread across the width.
    for i, text in enumerate(SIGNATURE):
        ws.cell(last + 2, 1 + i * width // len(SIGNATURE), text).font = BOLD


def _list_sheet(wb: Workbook, sheet: Sheet, records: list[dict], last_day: dt.date) -> None:
    ws = wb.create_sheet(sheet.label)
    _write_table(ws, sheet, records, top=1, empty_rows=EMPTY_ROWS, last_day=last_day)


def _field_hint(f: Field) -> str:
    hints = [f.help or KIND_HINTS[f.kind]]
    if f.kind == COUNT and f.over_time in OVER_TIME_HINTS:
        hints.append(OVER_TIME_HINTS[f.over_time])
    hints.append("必填" if f.required else "可不填")
    return "；".join(hints)


def _declared_rules() -> list[tuple[str, str]]:
    """(code, sentence) of every rule declared in catalog/validation.py: the very rules the
    validator checks, stated from the same declarations."""
    return [(rule.code, rule.sentence) for rule in validation.RULES]


def _coded_rules() -> list[tuple[str, str]]:
    """(codes, sentence) of the checks written out in ingest/validate.py, which need master
    data, dates or last month, with the catalogue's labels and rules.toml's thresholds."""
    label, rules = catalog.label_of, load_rules()
    school_code = catalog.SCHOOLS.field(catalog.SCHOOLS.id_key).label
    return [
        ("E03、E04", f"{school_code}必须是本乡镇的学校，同一学校只能填一行；"
                     "学校名单有误请联系县教育局更新主数据。"),
        ("E03、E04", f"{catalog.HOMES.label}：{label('home_code')}在全县不能重复；"
                     f"{label('host_code')}必须是本乡镇的学校或村(居)代码。"),
        ("E04、E05、E13", f"{catalog.FUNDING.label}：{label('date')}必须在本年度内且不晚于"
                          f"报表月份月末；{label('amount')}大于等于0；{label('voucher')}"
                          "在本乡镇本年度内不能重复。"),
        ("W03", validation.warning_sentence(
            f"{label('left_behind')}比上月变化超过{rules.change_abs}人"
            f"且超过{rules.change_rel:.0%}")),
    ]


def _rule_lines() -> list[tuple[str, str]]:
    """Every rule, errors (which stop the upload) before warnings, each kind as declared."""
    return sorted(_declared_rules() + _coded_rules(),
                  key=lambda line: not validation.is_error(line[0]))


def _instructions_sheet(wb: Workbook, township: Township, period: str,
                        deadline: dt.date) -> None:
    ws = wb.create_sheet(INSTRUCTIONS, 0)
    for letter, width in zip("ABCD", (16, 16, 60, 40)):
        ws.column_dimensions[letter].width = width
    lines: list[tuple] = [
        (f"{township.name}留守儿童关爱工作月报 填报说明",),
        (),
        ("填报单位", f"{township.name}（代码 {township.code}）"),
        ("报表月份", f"{_month_text(period)}（{period}）"),
        ("报送截止", f"{deadline.year}年{deadline.month}月{deadline.day}日前"),
        (),
        ("填报步骤",),
        ("1", f"“{catalog.SCHOOLS.label}”每所学校一行，学校代码和名称已预先填好，请勿修改；"
              "在各数字栏填写整数，没有的填0，不要留空。"),
        ("2", f"“{catalog.HOMES.label}”是本乡镇全部现有之家的名单，已按上次报送的内容预填："
              "新建的在下面添行，撤销的删除整行，有变化的直接修改。"),
        ("3", f"“{catalog.FUNDING.label}”是本年度1月至本月的全部资金记录（下达和支出），"
              "已按上次报送的内容预填，每笔一行，本月新发生的在下面添行。"),
        ("4", "带下拉箭头的栏目请从列表中选择；请勿改动表头、工作表名称，不要插入或删除列。"),
        ("5", "填好后保存为 .xlsx 文件，登录平台在“数据上报”页面上传；上传的工作表将替换本乡镇"
              "本月的相应数据。系统指出的错误请按提示修改后重新上传。"),
        (),
        ("各栏目说明",),
        ("工作表", "栏目", "填写要求", "可选值"),
    ]
    for sheet in catalog.SHEETS:
        for f in sheet.fields:
            name = f"{f.label}（{f.group}）" if f.group else f.label
            lines.append((sheet.label, name, _field_hint(f), " / ".join(f.choices)))
    lines += [(), ("校验规则（左列代码即系统校验结果中的代码）",)]
    lines += _rule_lines()
    for row, values in enumerate(lines, start=1):
        for col, value in enumerate(values, start=1):
            ws.cell(row, col, value).alignment = Alignment(vertical="top", wrap_text=col > 2)
        if len(values) == 1 or values[:1] == ("工作表",):   # headings
            ws.cell(row, 1).font = BOLD
    ws.cell(1, 1).font = Font(bold=True, size=16)
    ws.cell(1, 1).alignment = Alignment(vertical="center")


def build_template(engine: Engine, township_code: str, period: str) -> bytes:
    """The .xlsx a township's clerk fills for `period` (YYYY-MM): instructions, the school
    return pre-filled with the township's schools, and its current homes and ledger."""
    year, _ = _check_period(period)
    last_day = periods.period_end(period)
    with session_maker(engine)() as session:
        township = _township(session, township_code)
        # The same due date the progress page and the alerts use.
        deadline = periods.due_date(period, settings.deadline_day(session.get_bind()))
        schools = _school_records(session, township_code)
        homes = _current_records(session, catalog.HOMES, township_code, period)
        funding = _current_records(session, catalog.FUNDING, township_code, period,
                                   since=f"{year}-01")
    wb = Workbook()
    wb.remove(wb.active)
    _instructions_sheet(wb, township, period, deadline)
    _schools_sheet(wb, township, period, schools, last_day)
    _list_sheet(wb, catalog.HOMES, homes, last_day)
    _list_sheet(wb, catalog.FUNDING, funding, last_day)
    defuse_cells(wb)  # names and notes from the database, never a live formula
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
