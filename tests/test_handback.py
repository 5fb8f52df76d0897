"""The clerk's workbook handed back with the faulty cells marked (liushou_dash.handback)."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from liushou_dash import catalog
from liushou_dash.ingest import handback as handback_module
from liushou_dash.ingest import ingest_file
from liushou_dash.ingest.handback import (
    CONVERTED_NOTE,
    ERROR_FILL,
    MARKED_NOTE,
    SUMMARY_SHEET,
    TOO_LARGE_NOTE,
    UNREADABLE_NOTE,
    WARNING_FILL,
    hand_back,
)
from tests.fixtures import TOWNSHIP, school_frame
from tests.returns import ClerkStyle, grid, to_csv, to_xls, workbook

TODAY, PERIOD = dt.date(2026, 11, 22), "2026-10"
# A title, a blank row, then a two-level header over rows 3-4; data from row 5 on, after
# a 序号 column: where a clerk's own form puts things, not where the template does.
STYLE = ClerkStyle(title_rows=2, two_level=True, serial=True)
FIRST_DATA_ROW, FIRST_FIELD_COLUMN = 5, 2
KEYS = [f.key for f in catalog.SCHOOLS.fields]


def address(index: int, key: str) -> str:
    """Where STYLE puts school `index`'s `key`, worked out from the layout alone."""
    return f"{get_column_letter(FIRST_FIELD_COLUMN + KEYS.index(key))}{FIRST_DATA_ROW + index}"


def check(engine, data: bytes, name: str = "月报.xlsx"):
    report = ingest_file(engine, data, name, TOWNSHIP, PERIOD, dry_run=True, today=TODAY)
    return report, hand_back(data, name, report.errors, report.warnings)


def opened(handback) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(handback.data))


def coloured(sheet, fill) -> set[str]:
    return {cell.coordinate for row in sheet.iter_rows() for cell in row
            if cell.fill.fgColor.rgb == fill.fgColor.rgb and cell.fill.fill_type == "solid"}


def faulty(engine):
    """Two mistakes: one boy too many in school 1 (E07), words for a count in school 3
    (E05), and a school name that differs from master data in school 0 (W02)."""
    frame = school_frame(engine).astype({"psych_teachers": object})
    frame.loc[1, "boys"] += 1
    frame.loc[3, "psych_teachers"] = "两名"
    frame.loc[0, "school_name"] = "改了名字的学校"
    return frame


def test_xlsx_errors_red_warnings_yellow_with_comments_where_the_clerk_typed(engine):
    data = workbook({"schools": faulty(engine)}, STYLE, names={"schools": "Sheet1"})
    report, handback = check(engine, data)

    assert {(i.code, i.cell) for i in report.errors} == {
        ("E07", address(1, "boys")), ("E05", address(3, "psych_teachers"))}
    book = opened(handback)
    sheet = book["Sheet1"]  # the clerk's own sheet name, not the template's
    assert coloured(sheet, ERROR_FILL) == {address(1, "boys"), address(3, "psych_teachers")}
    assert address(0, "school_name") in coloured(sheet, WARNING_FILL)
    for found in report.errors + report.warnings:
        if found.cell:
            assert found.message in sheet[found.cell].comment.text
    assert sheet[address(3, "psych_teachers")].value == "两名"  # the clerk's text, untouched
    assert handback.note == MARKED_NOTE and handback.file_name == "月报_已标注.xlsx"


def test_summary_sheet_comes_first_and_lists_every_finding(engine):
    book = openpyxl.load_workbook(io.BytesIO(workbook({"schools": faulty(engine)})))
    book.active.delete_cols(1 + KEYS.index("girls"))  # E02: a column missing, no cell to mark
    data = io.BytesIO()
    book.save(data)
    report, handback = check(engine, data.getvalue())

    book = opened(handback)
    assert book.sheetnames[0] == SUMMARY_SHEET and book.active.title == SUMMARY_SHEET
    assert [ws.sheet_view.tabSelected for ws in book.worksheets] == [True, False]
    listed = [row[3] for row in book[SUMMARY_SHEET].iter_rows(min_row=2, values_only=True)]
    assert listed == [i.message for i in report.errors + report.warnings]
    assert any(i.code == "E02" and i.cell is None for i in report.errors)


def test_fixing_the_marked_cells_makes_the_file_acceptable(engine):
    frame = faulty(engine)
    report, handback = check(engine, workbook({"schools": frame}, STYLE))
    book = opened(handback)
    sheet = book[catalog.SCHOOLS.label]
    good = school_frame(engine)
    sheet[address(1, "boys")] = int(good.loc[1, "boys"])
    sheet[address(3, "psych_teachers")] = int(good.loc[3, "psych_teachers"])
    fixed = io.BytesIO()
    book.save(fixed)

    again, _ = check(engine, fixed.getvalue())

    assert again.accepted, again.errors  # the 校验结果 sheet does not confuse the reader
    assert [w.message for w in again.warnings] == [w.message for w in report.warnings]


def test_xls_comes_back_as_xlsx_with_the_same_addresses(engine):
    data = workbook({"schools": faulty(engine)}, STYLE, writer=to_xls)
    report, handback = check(engine, data, "月报.xls")

    assert handback.file_name == "月报_已标注.xlsx" and handback.note == CONVERTED_NOTE
    sheet = opened(handback)[catalog.SCHOOLS.label]
    assert coloured(sheet, ERROR_FILL) == {i.cell for i in report.errors}
    assert sheet[address(3, "psych_teachers")].value == "两名"
    assert sheet[address(1, "school_code")].value == school_frame(engine).loc[1, "school_code"]


def test_csv_text_that_looks_like_a_formula_stays_text(engine):
    frame = faulty(engine)
    frame.loc[2, "note"] = "=HYPERLINK(\"http://evil.example\",\"点我\")"
    rows, _ = grid(catalog.SCHOOLS, frame)
    report, handback = check(engine, to_csv(rows, "gb18030"), "月报.csv")

    sheet = opened(handback)[catalog.SCHOOLS.label]
    note = sheet[f"{get_column_letter(1 + KEYS.index('note'))}{2 + 2}"]
    assert note.value == frame.loc[2, "note"] and note.data_type == "s"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert coloured(sheet, ERROR_FILL) == {i.cell for i in report.errors}


@pytest.mark.parametrize("data", [b"%PDF-1.4 not a table", b""])
def test_an_unreadable_file_cannot_be_marked_and_says_so(engine, data):
    report, handback = check(engine, data)
    assert not report.accepted
    assert handback.data is None and handback.note == UNREADABLE_NOTE


def test_a_workbook_the_worker_cannot_mark_in_time_says_so_and_the_next_is_marked(engine,
                                                                                 monkeypatch):
    """The marked copy is built in the reader worker, under its time ceiling (here one no
    workbook can meet): the worker is stopped, the clerk told, the next file marked."""
    data = workbook({"schools": faulty(engine)})
    monkeypatch.setattr(handback_module, "HANDBACK_SECONDS", 0.001)
    report, late = check(engine, data)
    assert late.data is None and late.note == TOO_LARGE_NOTE
    monkeypatch.undo()
    _, handback = check(engine, data)
    assert coloured(opened(handback)[catalog.SCHOOLS.label], ERROR_FILL) == {
        i.cell for i in report.errors}
