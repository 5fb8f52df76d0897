"""The clerk's own workbook handed back on 数据上报 with every faulty cell marked, so that
they fix each mistake where they typed it.

An .xlsx/.xlsm upload comes back as itself: errors filled red, warnings yellow, the message
in each cell's comment, and a first sheet 校验结果 listing every finding (also those that
name no cell, such as a missing column). An .xls, .ods or CSV upload cannot be edited in
place, so it comes back as an .xlsx rebuilt from the cells the reader read, at the same
addresses. A file the reader could not open cannot be marked; the note says so.

It is built in the reader worker (ingest/worker.py), under the same memory and time ceilings
as reading: openpyxl holds each of a workbook's cells as an object, so a large workbook that
passed the checks may still be too large to mark; the note then says so too.
"""
from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePath

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from liushou_dash.ingest import worker
from liushou_dash.ingest.issues import Issue
from liushou_dash.ingest.parse import parse_sheets
from liushou_dash.ingest.read import ZIP_MAGIC, RawSheet, Unreadable, read_file

ERROR_FILL = PatternFill("solid", fgColor="FF7C80")
WARNING_FILL = PatternFill("solid", fgColor="FFE699")
SUMMARY_SHEET = "校验结果"
SUMMARY_HEADER = ("代码", "工作表", "单元格", "问题说明")
AUTHOR = "上报校验"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MACRO_MIME = "application/vnd.ms-excel.sheet.macroEnabled.12"
UNREADABLE_NOTE = "文件无法读取，不能在原文件上标注问题，请按上表逐条修改。"
TOO_LARGE_NOTE = "文件较大，未能在限定的时间和内存内生成标注问题的文件，请按上表逐条修改。"
HANDBACK_SECONDS = 120  # openpyxl takes some 20 s for a 20,000-school return
CONVERTED_NOTE = ("上传的是 .xls、.ods 或 CSV 文件，无法在原文件上标注，已按读取到的内容生成 .xlsx："
                  "出错的单元格标红、警告标黄，问题写在单元格批注中。请在原文件中按同样位置修改，"
                  "或直接修改这份 .xlsx 后上传。")
MARKED_NOTE = ("出错的单元格已标红、警告标黄，问题写在单元格批注中（鼠标移到单元格上查看）；"
               "第一个工作表“校验结果”列出了全部问题。修改后请删除该工作表或直接上传。")


@dataclass(frozen=True)
class Handback:
    data: bytes | None       # None when the file could not be marked
    file_name: str
    note: str                # what the clerk should know about it, in Chinese

    @property
    def mime(self) -> str:
        return MACRO_MIME if self.file_name.endswith(".xlsm") else XLSX_MIME


def hand_back(data: bytes, file_name: str, errors: list[Issue],
              warnings: list[Issue] = ()) -> Handback:
    """The uploaded file with the cells named by `errors` (red) and `warnings` (yellow),
    built in the reader worker. A file refused as unreadable (E01) is not read again."""
    if any(found.code == "E01" for found in errors):
        return Handback(None, "", UNREADABLE_NOTE)
    try:
        return worker.call(_marked, data, file_name, list(errors), list(warnings),
                           returns=(Handback, Unreadable), timeout=HANDBACK_SECONDS)
    except Unreadable:
        return Handback(None, "", UNREADABLE_NOTE)
    except worker.WorkerLost:
        return Handback(None, "", TOO_LARGE_NOTE)


def _marked(data: bytes, file_name: str, errors: list[Issue], warnings: list[Issue]) -> Handback:
    """hand_back's work, in the worker: read as the ingest read, then marked."""
    raw = read_file(data)  # the reader's own bomb and type checks come first
    names = _sheet_names(raw)
    native = data.startswith(ZIP_MAGIC) and _is_excel(data)
    workbook = _load(data) if native else _rebuild(raw, names)
    _mark(workbook, names, errors, warnings)
    _add_summary(workbook, names, [*errors, *warnings])
    out = io.BytesIO()
    workbook.save(out)
    suffix = ".xlsm" if native and workbook.vba_archive else ".xlsx"
    return Handback(out.getvalue(), f"{PurePath(file_name).stem}_已标注{suffix}",
                    MARKED_NOTE if native else CONVERTED_NOTE)


def _is_excel(data: bytes) -> bool:
    """An Excel workbook (not an .ods, which is a zip too)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "xl/workbook.xml" in archive.namelist()


def _load(data: bytes) -> Workbook:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        has_macros = "xl/vbaProject.bin" in archive.namelist()
    return load_workbook(io.BytesIO(data), keep_vba=has_macros, rich_text=True)


def _sheet_names(raw: list[RawSheet]) -> dict[str, str]:
    """The catalogue label each finding names (学校月报) -> the sheet's name in the file,
    found as the ingest found it (clerks rename sheets; a CSV has no sheet name)."""
    parsed, _ = parse_sheets(raw)
    return {p.sheet.label: p.source_name or p.sheet.label for p in parsed.values()}


# --- A workbook rebuilt from what the reader read (.xls, .ods, CSV) ---------------------------

def _cell_value(value):
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _rebuild(raw: list[RawSheet], names: dict[str, str]) -> Workbook:
    workbook = Workbook()
    workbook.remove(workbook.active)
    unnamed = next(iter(names.values()), "Sheet1")  # a CSV's one sheet
    for sheet in raw:
        ws = workbook.create_sheet(sheet.name or unnamed)
        for r, row in enumerate(sheet.rows, start=1):
            for c, value in enumerate(row, start=1):
                if value not in (None, ""):
                    _write_text_safe(ws.cell(r, c), _cell_value(value))
        for (r0, c0), (r1, c1) in sheet.merged:
            ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1,
                           end_column=c1 + 1)
    return workbook


def _write_text_safe(cell, value) -> None:
    """Text stays text: a cell typed as "=..." in a CSV must not become a live formula."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


# --- Marking ---------------------------------------------------------------------------------

def _anchor(ws, address: str):
    """The cell to mark: a merged range is marked on its top-left cell."""
    cell = ws[address]
    if not isinstance(cell, MergedCell):
        return cell
    for merged in ws.merged_cells.ranges:
        if address in merged:
            return ws.cell(merged.min_row, merged.min_col)
    return cell


def _mark(workbook: Workbook, names: dict[str, str], errors: list[Issue],
          warnings: list[Issue]) -> None:
    by_cell: dict[tuple[str, str], list[Issue]] = defaultdict(list)
    for found in [*errors, *warnings]:
        sheet = names.get(found.sheet or "")
        if found.cell and sheet in workbook.sheetnames:
            by_cell[(sheet, found.cell)].append(found)
    for (sheet, address), found in by_cell.items():
        cell = _anchor(workbook[sheet], address)
        cell.fill = ERROR_FILL if any(i.is_error for i in found) else WARNING_FILL
        text = "\n".join(i.message for i in found)
        cell.comment = Comment(text, AUTHOR, width=320, height=40 + 40 * len(found))


def _add_summary(workbook: Workbook, names: dict[str, str], found: list[Issue]) -> None:
    title = SUMMARY_SHEET
    while title in workbook.sheetnames:
        title += "_"
    ws = workbook.create_sheet(title, 0)
    ws.append(SUMMARY_HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row, item in enumerate(found, start=2):
        values = (item.code, names.get(item.sheet or "", item.sheet or ""), item.cell or "",
                  item.message)
        for column, value in enumerate(values, start=1):
            _write_text_safe(ws.cell(row, column), value)
        if item.is_error:
            ws.cell(row, 1).fill = ERROR_FILL
    for column, width in zip("ABCD", (8, 16, 10, 100)):
        ws.column_dimensions[column].width = width
    for sheet in workbook.worksheets:  # only one selected tab, else Excel groups them
        sheet.sheet_view.tabSelected = sheet is ws
    workbook.active = 0

