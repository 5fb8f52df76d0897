"""Files that used to take the server down, each refused (E01, in Chinese) by the reader worker
while this process carries on, the worker's memory staying under 400 MB.

The bombs are the ones seen: the township's own template with one cell at XFD1048576 (512 GiB
of grid for calamine), one at ALL20000, a formatted space at A1048576, a million rows of three
numbers, an encrypted workbook and a web page named .xls; and the ones no XML scan sees: an
.xls whose grid outgrows the worker's memory (it dies: E01, a new one reads the next file), an
.ods that repeats a row a million times, and CSV. They are written as raw XML, zipped, or by
the writers clerks' programs use.
"""
from __future__ import annotations

import io
import os
import pathlib
import pickle
import re
import time
import zipfile

import msoffcrypto.format.ooxml
import openpyxl
import pytest
import xlwt

from liushou_dash import catalog
from liushou_dash.ingest import extent, ingest_file, template, worker
from liushou_dash.ingest.read import ENCRYPTED, READ_TOO_LARGE, WEB_PAGE
from tests.fixtures import TOWNSHIP, school_frame
from tests.returns import grid, to_csv, workbook

PERIOD = "2026-10"
MB = 1024 * 1024
WORKER_PEAK = 400 * MB
FIRST_SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture
def the_template(engine) -> bytes:
    return template.build_template(engine, TOWNSHIP, PERIOD)


def check(engine, data: bytes, name: str = "月报.xlsx"):
    return ingest_file(engine, data, name, TOWNSHIP, PERIOD, dry_run=True)


def refused_with(report, text: str, sheet: str | None = None) -> None:
    """The report refuses the file with one E01 saying `text`, naming `sheet`, and the worker
    that read it stayed under the memory the reader may take."""
    assert not report.accepted
    assert [(e.code, e.sheet) for e in report.errors] == [("E01", sheet)], report.errors
    assert text in report.errors[0].message, report.errors[0].message
    assert worker.peak_memory() < WORKER_PEAK


def the_reader_still_reads(engine) -> None:
    report = check(engine, workbook({"schools": school_frame(engine)}))
    assert report.accepted, report.errors


def first_sheet_name(data: bytes) -> str:
    return openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames[0]


def replaced(data: bytes, member: str, edit) -> bytes:
    """The zip `data` with `member`'s text passed through `edit`, the rest as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(item.filename, edit(content) if item.filename == member else content)
    return out.getvalue()


def with_cell(data: bytes, cell_xml: bytes) -> bytes:
    """The workbook with one more row, holding `cell_xml`, at the end of its first sheet."""
    row = int(re.search(rb'r="[A-Z]+([0-9]+)"', cell_xml).group(1))
    return replaced(data, FIRST_SHEET, lambda xml: xml.replace(
        b"</sheetData>", b'<row r="%d">%s</row></sheetData>' % (row, cell_xml)))


def sheet_xlsx(rows_xml: bytes) -> bytes:
    """A one-sheet workbook (学校月报) whose sheetData is `rows_xml`, written as raw XML."""
    book = io.BytesIO()
    openpyxl.Workbook().save(book)
    book.seek(0)
    renamed = replaced(book.getvalue(), "xl/workbook.xml",
                       lambda xml: re.sub(rb'name="[^"]*"', 'name="学校月报"'.encode(), xml, 1))
    return replaced(renamed, FIRST_SHEET, lambda xml: re.sub(
        rb"<sheetData\s*/>|<sheetData>.*</sheetData>",
        lambda _: b"<sheetData>" + rows_xml + b"</sheetData>", xml, flags=re.S))


@pytest.mark.parametrize("cell_xml, cell", [
    (b'<c r="XFD1048576"><v>1</v></c>', "XFD1048576"),
    (b'<c r="ALL20000"><v>1</v></c>', "ALL20000"),
    (b'<c r="A1048576" s="1" t="inlineStr"><is><t xml:space="preserve"> </t></is></c>',
     "A1048576"),
], ids=["XFD1048576", "ALL20000", "styled_space_A1048576"])
def test_one_far_cell_in_the_template_is_refused_naming_sheet_and_cell(engine, the_template,
                                                                        cell_xml, cell):
    data = with_cell(the_template, cell_xml)
    assert len(data) < 64 * 1024
    report = check(engine, data)
    refused_with(report, f"表格区域过大：内容延伸到单元格 {cell}", sheet=first_sheet_name(data))
    assert f"A1:{extent.LAST_CELL}" in report.errors[0].message
    the_reader_still_reads(engine)


def test_a_formatted_blank_far_away_is_no_content(engine, the_template):
    """A self-closed cell is a format without a value: calamine leaves it out, and so do we."""
    data = with_cell(the_template, b'<c r="XFD1048576" s="1"/>')
    assert not any(e.code == "E01" for e in check(engine, data).errors)


def test_a_million_rows_of_three_numbers_are_refused(engine):
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%d</v></c>'
                    b'<c r="C%d"><v>%d</v></c></row>'
                    % (i, i, i * 7919 % 100_003, i, i * 104_729 % 99_991, i, i % 977)
                    for i in range(1, 1_000_001))
    data = sheet_xlsx(rows)
    assert 10 * MB < len(data) < 20 * MB
    refused_with(check(engine, data),
                 f"表格区域过大：内容延伸到单元格 A{extent.MAX_ROWS + 1}", sheet="学校月报")


def test_the_largest_return_within_the_caps_is_read(engine):
    """A cell at the last row and column of the caps is content the checks then judge."""
    data = sheet_xlsx(b'<row r="1"><c r="A1"><v>1</v></c></row><row r="%d"><c r="%s"><v>1</v>'
                      b'</c></row>' % (extent.MAX_ROWS, extent.LAST_CELL.encode()))
    report = check(engine, data)
    assert not any(e.code == "E01" for e in report.errors), report.errors
    assert worker.peak_memory() < WORKER_PEAK


def test_an_encrypted_workbook_says_so(engine, the_template):
    encrypted = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(the_template)).encrypt("密码123", encrypted)
    refused_with(check(engine, encrypted.getvalue()), ENCRYPTED)


@pytest.mark.parametrize("page", [
    "<html xmlns:x=\"urn:schemas-microsoft-com:office:excel\"><body><table><tr><td>学校代码</td>"
    "<td>学校名称</td></tr></table></body></html>".encode("utf-8"),
    "\ufeff\r\n<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body><table>"
    "<tr><td>学校代码</td></tr></table></body></html>".encode("utf-8"),
    b"MIME-Version: 1.0\r\nX-Document-Type: Workbook\r\nContent-Type: multipart/related; "
    b'boundary="----=_NextPart"\r\n\r\n------=_NextPart\r\n',
], ids=["excel_html", "html_with_bom", "mhtml"])
def test_a_web_page_named_xls_says_so(engine, page):
    refused_with(check(engine, page, "月报.xls"), WEB_PAGE)


def test_an_xls_too_large_for_the_workers_memory_is_refused_and_the_next_file_read(engine):
    """An .xls has no XML to scan: calamine builds its grid, 65,536 × 256 cells here (512 MB),
    and the worker's memory ceiling stops it."""
    book = xlwt.Workbook()
    sheet = book.add_sheet(catalog.SCHOOLS.label)
    sheet.write(0, 0, 1)
    sheet.write(65535, 255, 1)
    data = io.BytesIO()
    book.save(data)
    refused_with(check(engine, data.getvalue(), "月报.xls"), READ_TOO_LARGE)
    the_reader_still_reads(engine)


def test_an_xls_beyond_the_caps_is_refused_naming_the_sheet(engine):
    book = xlwt.Workbook()
    book.add_sheet(catalog.SCHOOLS.label).write(extent.MAX_ROWS, 2, 1)
    data = io.BytesIO()
    book.save(data)
    refused_with(check(engine, data.getvalue(), "月报.xls"),
                 f"内容延伸到单元格 C{extent.MAX_ROWS + 1}", sheet=catalog.SCHOOLS.label)


def test_an_ods_repeating_a_row_a_million_times_is_refused(engine):
    value = '<table:table-cell office:value-type="float" office:value="1"/>'
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="资金">'
        f'<table:table-row>{value}</table:table-row>'
        '<table:table-row table:number-rows-repeated="1000000">'
        f'<table:table-cell table:number-columns-repeated="2"/>{value}</table:table-row>'
        '</table:table></office:spreadsheet></office:body></office:document-content>')
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as ods:
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        ods.writestr("content.xml", content)
    assert len(data.getvalue()) < 2048
    refused_with(check(engine, data.getvalue(), "月报.ods"), "内容延伸到单元格 C1000001",
                 sheet="资金")


def test_csv_beyond_the_caps_is_refused_and_blank_lines_are_not_content(engine):
    rows, _ = grid(catalog.SCHOOLS, school_frame(engine))
    tall = to_csv(rows) + b"\r\n" * extent.MAX_ROWS + b"x\r\n"
    refused_with(check(engine, tall, "月报.csv"), f"内容延伸到单元格 A{len(rows) + extent.MAX_ROWS + 1}")
    wide = to_csv(rows) + b"," * extent.MAX_COLUMNS + b"x\r\n"
    refused_with(check(engine, wide, "月报.csv"),
                 f"内容延伸到单元格 {extent.column_letters(extent.MAX_COLUMNS + 1)}{len(rows) + 1}")
    trailing = to_csv(rows) + b"\r\n" * extent.MAX_ROWS + b"," * 100_000 + b"\r\n"
    assert check(engine, trailing, "月报.csv").accepted


# --- The worker itself: what happens to one that fails, and what it may send back -------------

def test_a_worker_out_of_time_is_killed_and_replaced():
    with pytest.raises(worker.WorkerLost) as lost:
        worker.call(time.sleep, 60, timeout=0.5)
    assert lost.value.timed_out
    assert worker.call(os.getpid) != os.getpid()


@pytest.mark.parametrize("job, args", [(os._exit, (3,)), (bytearray, (1024 * MB,))],
                         ids=["dies", "out_of_memory"])
def test_a_worker_that_dies_or_runs_out_of_memory_is_replaced(job, args):
    with pytest.raises(worker.WorkerLost) as lost:
        worker.call(job, *args)
    assert not lost.value.timed_out
    assert worker.call(os.getpid) != os.getpid()
    assert worker.peak_memory() < WORKER_PEAK


def test_a_worker_sends_back_only_the_classes_asked_for():
    assert worker.call(os.getcwd) == os.getcwd()
    with pytest.raises(pickle.UnpicklingError, match="pathlib"):
        worker.call(pathlib.Path.cwd)
    assert worker.call(pathlib.Path.cwd, returns=(pathlib.PosixPath,)) == pathlib.Path.cwd()
