"""Tables for download: CSV (UTF-8 with BOM) and XLSX, formula-injection safe.

One frame is built from metrics and written either way, so the command line and the
download page hand out the same numbers. Columns: the id columns of the level, then the
catalogue's keys (README "命令行").
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Mapping

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog.columns import (
    COUNT,
    ID_COLUMNS,
    LEVELS,
    MONEY,
    PERCENT,
    RATIO,
    TEXT,
    column_kind,
    value_columns,
)
from liushou_dash.core import filtering, periods
from liushou_dash.core.cell_text import defuse, defused_text, display_width
from liushou_dash.indicators import readers, stored

FORMATS = ("csv", "xlsx")
SHEET_TITLES = {"township": "乡镇月度指标", "school": "学校月度指标"}
XLSX_NUMBER_FORMATS = {COUNT: "0", PERCENT: "0.0%", RATIO: "0.00", MONEY: "#,##0.00", TEXT: "@"}
RATE_DECIMALS, MONEY_DECIMALS = 4, 2
XLSX_MAX_ROWS = 1_048_576  # Excel's limit, header row included



def export_table(engine: Engine, period_from: str, period_to: str,
                 townships: Iterable[str] | None = None, level: str = "township",
                 fmt: str = "csv", columns: Iterable[str] | None = None,
                 labelled: bool = False) -> bytes:
    """The table of `level` ("township" or "school") for the months from `period_from` to
    `period_to`, as CSV or XLSX bytes. `columns` picks catalogue keys (ids always come).
    Months outside the stored ones have no rows: any range may be asked for (a whole
    century included), and one without data gives the header alone."""
    periods.periods_between(period_from, period_to)  # a malformed or reversed range: ValueError
    span = readers.period_span(engine)  # "YYYY-MM" compare as months do
    first, last = (max(period_from, span[0]), min(period_to, span[1])) if span else ("", "")
    if span is None or first > last:
        return frame_bytes(pd.DataFrame(columns=export_columns(level, columns)), fmt,
                           SHEET_TITLES[level], labelled=labelled)
    flt = filtering.Filter.between(first, last,
                                 townships=None if townships is None else tuple(townships))
    return export_bytes(engine, flt, level, fmt, columns, labelled)


def export_bytes(engine: Engine, flt: filtering.Filter, level: str = "township",
                 fmt: str = "csv", columns: Iterable[str] | None = None,
                 labelled: bool = False) -> bytes:
    """The file for any filter (school types and approved data only included): what the
    download page hands out, and what `export_table` writes for the command line."""
    return frame_bytes(export_frame(engine, flt, level, columns), fmt, SHEET_TITLES[level],
                       labelled=labelled)


def frame_bytes(frame: pd.DataFrame, fmt: str, title: str = "数据",
                kinds: Mapping[str, str] | None = None,
                labels: Mapping[str, str] | None = None, labelled: bool = False) -> bytes:
    """Any frame as CSV or XLSX. The XLSX has Chinese headers; the CSV has the catalogue's
    keys, which scripts read, unless `labelled` (what the pages hand to people, and
    `export --labels`)."""
    if fmt not in FORMATS:
        raise ValueError(f"不支持的导出格式：{fmt}")
    if fmt == "xlsx":
        return to_xlsx(frame, title, kinds, labels)
    return to_csv(frame, kinds, labels, labelled)


def export_columns(level: str, columns: Iterable[str] | None = None) -> list[str]:
    available = value_columns(level)
    chosen = available if columns is None else tuple(columns)
    unknown = [key for key in chosen if key not in available]
    if unknown:
        raise ValueError(f"{level} 级数据表没有这些列：{', '.join(unknown)}")
    return [*ID_COLUMNS[level], *chosen]


def export_frame(engine: Engine, flt: filtering.Filter, level: str = "township",
                 columns: Iterable[str] | None = None) -> pd.DataFrame:
    """The frame both writers write: one row per org unit and period."""
    if level not in LEVELS:
        raise ValueError(f"导出级别应为 township 或 school：{level}")
    reader = stored.township_table if level == "township" else readers.school_table
    return reader(engine, flt)[export_columns(level, columns)]


# --- Formula-injection safety ------------------------------------------------------------------

# --- CSV ---------------------------------------------------------------------------------------

def kind_of(key: str, kinds: Mapping[str, str] | None = None) -> str:
    """The column's kind: given for frames that are not metrics tables, else by its key."""
    return kinds[key] if kinds and key in kinds else column_kind(key)


def _csv_cells(frame: pd.DataFrame, kinds: Mapping[str, str] | None) -> pd.DataFrame:
    """Text disarmed, money as 2-decimal strings; counts stay integers (<NA> -> empty) and
    rates stay floats for to_csv's 4-decimal float format."""
    cells = {}
    for key in frame.columns:
        kind = kind_of(key, kinds)
        if kind == TEXT:
            cells[key] = defused_text(frame[key])
        elif kind == MONEY:
            cells[key] = frame[key].map(lambda v: "" if pd.isna(v) else f"{v:.{MONEY_DECIMALS}f}")
        elif kind == COUNT:
            cells[key] = frame[key].astype("Int64")
        else:
            cells[key] = frame[key].astype("float64")
    return pd.DataFrame(cells, index=frame.index)


def to_csv(frame: pd.DataFrame, kinds: Mapping[str, str] | None = None,
           labels: Mapping[str, str] | None = None, labelled: bool = False) -> bytes:
    """UTF-8 with BOM (so Excel opens Chinese text right), the frame's columns as headers
    (their Chinese labels when `labelled`)."""
    buffer = io.StringIO()
    cells = _csv_cells(frame, kinds)
    if labelled:
        cells.columns = [column_label(key, labels) for key in cells.columns]
    cells.to_csv(buffer, index=False, float_format=f"%.{RATE_DECIMALS}f", lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


# --- XLSX --------------------------------------------------------------------------------------

def column_label(key: str, labels: Mapping[str, str] | None = None) -> str:
    """The label given, else the catalogue's; a column already named for people keeps it."""
    if labels and key in labels:
        return labels[key]
    try:
        return catalog.label_of(key)
    except KeyError:
        return key


def _column_width(key: str, label: str) -> float:
    catalogue_width = next((f.width for s in catalog.SHEETS for f in s.fields if f.key == key), 10)
    return max(catalogue_width, display_width(label) + 2)


def _xlsx_value(value, kind: str):
    """A cell value openpyxl accepts: None for missing, plain Python numbers, clean text."""
    if value is None or pd.isna(value):
        return None
    if kind == TEXT:
        return defuse(ILLEGAL_CHARACTERS_RE.sub("", str(value)))
    if kind == COUNT:
        return int(value)
    # Rounded as in the CSV, so both formats hand out the same numbers.
    return round(float(value), MONEY_DECIMALS if kind == MONEY else RATE_DECIMALS)


def _prototype_cells(sheet, kinds: list[str]) -> list[WriteOnlyCell]:
    """One styled cell per column, re-filled for every row: a write-only sheet serialises a
    row as soon as it is appended, so re-using the cells saves building a style per value."""
    cells = []
    for kind in kinds:
        cell = WriteOnlyCell(sheet)
        cell.number_format = XLSX_NUMBER_FORMATS[kind]
        cells.append(cell)
    return cells


def _fill(cell: WriteOnlyCell, value, kind: str) -> WriteOnlyCell:
    cell.value = value
    if kind == TEXT and value is not None:
        cell.data_type = "s"  # never a formula, whatever the text
    return cell


def to_xlsx(frame: pd.DataFrame, title: str = "数据", kinds: Mapping[str, str] | None = None,
            labels: Mapping[str, str] | None = None) -> bytes:
    """Chinese headers, frozen header row, catalogue column widths and number formats."""
    if len(frame) + 1 > XLSX_MAX_ROWS:
        raise ValueError(f"共 {len(frame)} 行，超过 Excel 单表上限，请缩小月份或乡镇范围，或导出 CSV")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    keys = list(frame.columns)
    column_kinds = [kind_of(key, kinds) for key in keys]
    headers = [column_label(key, labels) for key in keys]
    for index, (key, header) in enumerate(zip(keys, headers), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _column_width(key, header)
    sheet.append([_header_cell(sheet, header) for header in headers])
    cells = _prototype_cells(sheet, column_kinds)
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_fill(cell, _xlsx_value(value, kind), kind)
                      for cell, value, kind in zip(cells, row, column_kinds)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _header_cell(sheet, header: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=header)
    cell.font = Font(bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return cell
