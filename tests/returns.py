"""Build township return files the way clerks really make them, from typed frames.

`grid()` lays one sheet out as rows of cells under a ClerkStyle (title above, header
anywhere, one or two header levels, 序号 and remark columns, 合计 and signature rows, numbers
as text, full-width digits, thousands separators, dashes for zero...). The writers turn grids
into .xlsx, .xls (as WPS saves it), .ods and CSV in UTF-8 (with or without BOM) or GB18030.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import openpyxl
import pandas as pd
import xlwt
from openpyxl.utils import get_column_letter

from liushou_dash import catalog

FULL_WIDTH = str.maketrans("0123456789,.", "０１２３４５６７８９，．")


@dataclass(frozen=True)
class ClerkStyle:
    title_rows: int = 0          # title and blank rows above the header
    leading_cols: int = 0        # empty columns left of the table
    serial: bool = False         # a 序号 column first
    two_level: bool = False      # group labels (性别, 学段, 监护类型) above their columns
    header_noise: bool = False   # spaces and line breaks inside header cells
    extra_column: bool = False   # a column the catalogue does not know (联系人)
    numbers: str = "number"      # "number", "text", "fullwidth", "thousands"
    zero_as: str | None = None   # write zero counts as "—", "-", "/", "无"
    blank_zeros: bool = False    # leave zero counts empty
    total_row: bool = False      # a 合计 row under the data
    signature: bool = False      # 填表人/审核人/填报日期 under the data
    reorder: bool = False        # columns in another order than the template


def _header_text(f: catalog.Field, style: ClerkStyle) -> str:
    label = f.label
    if style.header_noise and len(label) > 2:
        return f" {label[:2]}\n{label[2:]} "
    return label


def _count_cell(value, style: ClerkStyle):
    if value == 0 and style.blank_zeros:
        return None
    if value == 0 and style.zero_as:
        return style.zero_as
    if style.numbers == "text":
        return str(value)
    if style.numbers == "fullwidth":
        return str(value).translate(FULL_WIDTH)
    if style.numbers == "thousands":
        return f"{value:,}"
    return value


def _cell(f: catalog.Field, value, style: ClerkStyle):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if f.kind == catalog.BOOL and isinstance(value, bool):
        return catalog.YES if value else catalog.NO
    if f.kind == catalog.COUNT and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _count_cell(int(value), style)
    if f.kind == catalog.MONEY and style.numbers == "thousands":
        return f"{value:,.2f}"
    return value


def grid(sheet: catalog.Sheet, frame: pd.DataFrame, style: ClerkStyle = ClerkStyle()
         ) -> tuple[list[list], list[tuple[int, int, int, int]]]:
    """(rows of cells, merges as (row0, col0, row1, col1) 0-based) for one sheet."""
    fields = list(sheet.fields)
    if style.reorder:
        fields = fields[:2] + fields[2:][::-1]
    pad = [None] * style.leading_cols
    lead = ["序号"] if style.serial else []
    tail = ["联系人"] if style.extra_column else []
    rows: list[list] = []
    merges = []
    if style.title_rows:
        rows.append(pad + [f"{sheet.label}（2026年10月）"])
        rows += [[] for _ in range(style.title_rows - 1)]
    top = len(rows)
    first = style.leading_cols + len(lead)
    lower = pad + lead + [_header_text(f, style) for f in fields] + tail
    if style.two_level:
        upper = pad + lead + [f.group or _header_text(f, style) for f in fields] + tail
        for offset, f in enumerate(fields):
            c = first + offset
            if not f.group:
                lower[c] = None
                merges.append((top, c, top + 1, c))
            elif offset == 0 or fields[offset - 1].group != f.group:
                span = sum(1 for _ in _run(fields, offset))
                merges.append((top, c, top, c + span - 1))
            else:
                upper[c] = None
        rows.append(upper)
    rows.append(lower)
    for n, record in enumerate(frame.to_dict("records"), start=1):
        cells = [_cell(f, record[f.key], style) for f in fields]
        rows.append(pad + ([n] if style.serial else []) + cells + (["王老师"] if tail else []))
    if style.total_row:
        totals = [int(frame[f.key].sum()) if f.kind == catalog.COUNT else None for f in fields]
        rows.append(pad + (["合计"] if style.serial else []) +
                    ([None if style.serial else "合计"] + totals[1:]))
    if style.signature:
        rows += [[], pad + ["填表人：张三", None, "审核人：李四", None, "填报日期：2026年11月3日"]]
    return rows, merges


def _run(fields, offset):
    group = fields[offset].group
    for f in fields[offset:]:
        if f.group != group:
            return
        yield f


def to_xlsx(sheets: dict[str, tuple[list[list], list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, (rows, merges) in sheets.items():
        ws = workbook.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(r, c, value)
        for r0, c0, r1, c1 in merges:
            ws.merge_cells(f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def to_xls(sheets: dict[str, tuple[list[list], list]]) -> bytes:
    workbook = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for name, (rows, merges) in sheets.items():
        ws = workbook.add_sheet(name)
        merged_cells = {(r0, c0): (r1, c1) for r0, c0, r1, c1 in merges}
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if (r, c) in merged_cells:
                    r1, c1 = merged_cells[(r, c)]
                    ws.write_merge(r, r1, c, c1, value)
                elif value is not None and not _inside_merge(r, c, merges):
                    if isinstance(value, dt.date):
                        ws.write(r, c, value, date_style)
                    else:
                        ws.write(r, c, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _inside_merge(r, c, merges) -> bool:
    return any(r0 <= r <= r1 and c0 <= c <= c1 for r0, c0, r1, c1 in merges)


def to_ods(sheets: dict[str, tuple[list[list], list]]) -> bytes:
    out = io.BytesIO()
    with pd.ExcelWriter(out, engine="odf") as writer:
        for name, (rows, _) in sheets.items():
            pd.DataFrame(rows).to_excel(writer, sheet_name=name, header=False, index=False)
    return out.getvalue()


def to_csv(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows([["" if v is None else v for v in row] for row in rows])
    return text.getvalue().encode(encoding)


def workbook(frames: dict[str, pd.DataFrame], style: ClerkStyle = ClerkStyle(),
             writer=to_xlsx, names: dict[str, str] | None = None) -> bytes:
    """A whole return file: one sheet per frame, named like the template unless `names`."""
    names = names or {}
    return writer({names.get(key, catalog.SHEETS_BY_KEY[key].label):
                   grid(catalog.SHEETS_BY_KEY[key], frame, style)
                   for key, frame in frames.items()})
