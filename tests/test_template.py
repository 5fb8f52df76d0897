"""The township template: built from the catalogue, pre-filled, and read back by the reader."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from liushou_dash import catalog
from liushou_dash.core.db import session_maker, transaction
from liushou_dash.core.models import Setting
from liushou_dash.ingest import ingest_file
from liushou_dash.ingest.store import MODELS, current_submission, store_submission
from liushou_dash.ingest.template import INSTRUCTIONS, build_template
from tests.fixtures import (
    TOWNSHIP,
    funding_frame,
    home_frame,
    school_frame,
    township_schools,
)

PERIOD = "2026-10"
TODAY = dt.date(2026, 11, 22)
HEADER_SCAN_ROWS = 6


# --- Reading the template the way a person (or a test) finds things in it -----------------

def _open(data: bytes):
    return load_workbook(io.BytesIO(data))


def _columns(ws, sheet: catalog.Sheet) -> tuple[dict[str, int], int]:
    """Column of each field, found by its label in the header, and the last header row."""
    labels = {f.label: f.key for f in sheet.fields}
    columns, last_header = {}, 0
    # Bounded by max_row: iterating past it would create empty cells and move max_row.
    for row in ws.iter_rows(min_row=1, max_row=min(HEADER_SCAN_ROWS, ws.max_row)):
        for cell in row:
            if isinstance(cell.value, str) and cell.value in labels:
                columns[labels[cell.value]] = cell.column
                last_header = max(last_header, cell.row)
    return columns, last_header


def _data_rows(ws, sheet: catalog.Sheet) -> list[dict]:
    """The rows under the header whose id column is filled, as {key: cell value}."""
    columns, header = _columns(ws, sheet)
    id_col = columns[sheet.id_key]
    rows = []
    for row in range(header + 1, ws.max_row + 1):
        value = ws.cell(row, id_col).value
        if value is None or (sheet is catalog.SCHOOLS and not str(value).isdigit()):
            continue   # blank line, signature row
        rows.append({key: ws.cell(row, col).value for key, col in columns.items()})
    return rows


def _as_cells(sheet: catalog.Sheet, record: dict) -> dict:
    """A typed record as a clerk would type it: 是/否 for booleans, plain Python numbers."""
    cells = {}
    for f in sheet.fields:
        value = record.get(f.key)
        if f.kind == catalog.BOOL:
            value = catalog.YES if value else catalog.NO
        elif hasattr(value, "item"):   # numpy scalar
            value = value.item()
        cells[f.key] = value
    return cells


def _append(ws, sheet: catalog.Sheet, records: list[dict]) -> None:
    columns, _ = _columns(ws, sheet)
    for record in records:
        row = ws.max_row + 1
        for key, value in _as_cells(sheet, record).items():
            ws.cell(row, columns[key], value)


def _save(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _validations_of(ws, column: int, row: int) -> list:
    letter = get_column_letter(column)
    return [dv for dv in ws.data_validations.dataValidation if f"{letter}{row}" in dv.sqref]


def _stored(engine, sheet: catalog.Sheet, submission_id: int) -> list[dict]:
    model = MODELS[sheet.key]
    with session_maker(engine)() as session:
        rows = session.scalars(select(model).where(model.submission_id == submission_id)
                               .order_by(model.id))
        return [{f.key: getattr(r, f.key) for f in sheet.fields} for r in rows]


def _store(engine, period: str, **frames) -> int:
    with transaction(engine) as session:
        return store_submission(session, township_code=TOWNSHIP, period=period,
                                frames=frames).id


# --- The workbook's structure ---------------------------------------------------------------

@pytest.fixture
def workbook(engine):
    return _open(build_template(engine, TOWNSHIP, PERIOD))


def test_sheets_in_order(workbook):
    assert workbook.sheetnames == [INSTRUCTIONS, *(s.label for s in catalog.SHEETS)]


@pytest.mark.parametrize("sheet", catalog.SHEETS, ids=lambda s: s.key)
def test_every_field_has_its_header_in_catalogue_order(workbook, sheet):
    columns, _ = _columns(workbook[sheet.label], sheet)
    assert set(columns) == {f.key for f in sheet.fields}             # none dropped
    assert [columns[f.key] for f in sheet.fields] == list(range(1, len(sheet.fields) + 1))


def test_school_sheet_title_and_two_level_header(workbook):
    ws = workbook[catalog.SCHOOLS.label]
    assert ws["A1"].value == "张家湾镇留守儿童关爱工作月报（2026年10月）"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert f"A1:{get_column_letter(len(catalog.SCHOOLS.fields))}1" in merged
    columns, header = _columns(ws, catalog.SCHOOLS)
    assert header == 3
    for f in catalog.SCHOOLS.fields:
        col = columns[f.key]
        letter = get_column_letter(col)
        if f.group:
            assert ws.cell(3, col).value == f.label
            group_cols = [columns[g.key] for g in catalog.SCHOOLS.fields if g.group == f.group]
            assert ws.cell(2, min(group_cols)).value == f.group
            if len(group_cols) > 1:
                first, last = get_column_letter(min(group_cols)), get_column_letter(max(group_cols))
                assert f"{first}2:{last}2" in merged
        else:
            assert ws.cell(2, col).value == f.label
            assert f"{letter}2:{letter}3" in merged


def test_every_school_prefilled_with_code_as_text(engine, workbook):
    ws = workbook[catalog.SCHOOLS.label]
    rows = _data_rows(ws, catalog.SCHOOLS)
    schools = township_schools(engine)
    assert [(r["school_code"], r["school_name"]) for r in rows] == [(s.code, s.name)
                                                                   for s in schools]
    columns, header = _columns(ws, catalog.SCHOOLS)
    for row in range(header + 1, header + 1 + len(schools)):
        assert ws.cell(row, columns["school_code"]).data_type == "s"
        for f in catalog.SCHOOLS.count_fields:
            cell = ws.cell(row, columns[f.key])
            assert cell.value is None and cell.number_format == "0"


def test_signature_row_below_a_blank_line(engine, workbook):
    ws = workbook[catalog.SCHOOLS.label]
    last = 3 + len(township_schools(engine))
    assert all(c.value is None for c in ws[last + 1])
    texts = [c.value for c in ws[last + 2] if c.value]
    assert texts == ["填表人：", "审核人：", "填报日期："]


@pytest.mark.parametrize("sheet", catalog.SHEETS, ids=lambda s: s.key)
def test_validations_for_every_enum_bool_and_count_field(workbook, sheet):
    ws = workbook[sheet.label]
    columns, header = _columns(ws, sheet)
    # The first data row, and for list sheets a row far below where the clerk adds entries.
    rows = [header + 1] + ([] if sheet is catalog.SCHOOLS else [header + 250])
    for f in sheet.fields:
        for row in rows:
            found = _validations_of(ws, columns[f.key], row)
            if f.kind in (catalog.ENUM, catalog.BOOL):
                assert len(found) == 1 and found[0].type == "list", f.label
                assert found[0].formula1.strip('"').split(",") == list(f.choices)
                assert found[0].showErrorMessage and found[0].error
            elif f.kind == catalog.COUNT:
                assert len(found) == 1 and found[0].type == "whole", f.label
                assert found[0].operator == "greaterThanOrEqual" and found[0].formula1 == "0"
                assert "整数" in found[0].error


def test_freeze_panes_and_widths(workbook):
    assert workbook[catalog.SCHOOLS.label].freeze_panes == "C4"   # below header, right of name
    assert workbook[catalog.HOMES.label].freeze_panes == "C2"
    assert workbook[catalog.FUNDING.label].freeze_panes == "A2"
    for sheet in catalog.SHEETS:
        ws = workbook[sheet.label]
        for col, f in enumerate(sheet.fields, start=1):
            assert ws.column_dimensions[get_column_letter(col)].width == f.width


def test_list_sheet_column_formats(workbook):
    ws = workbook[catalog.FUNDING.label]
    columns, _ = _columns(ws, catalog.FUNDING)
    letter = {key: get_column_letter(col) for key, col in columns.items()}
    assert ws.column_dimensions[letter["date"]].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions[letter["amount"]].number_format == "#,##0.00"
    assert ws.column_dimensions[letter["voucher"]].number_format == "@"


def test_instructions_name_township_period_deadline_fields_and_rules(workbook):
    ws = workbook[INSTRUCTIONS]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    rows = {tuple(c.value for c in row[:2]) for row in ws.iter_rows()}
    for expected in ("张家湾镇", "520525108", "2026年10月", "2026-10", "2026年11月5日"):
        assert expected in text
    for sheet in catalog.SHEETS:
        for f in sheet.fields:
            name = f"{f.label}（{f.group}）" if f.group else f.label
            assert (sheet.label, name) in rows, f.label
            for choice in f.choices:
                assert choice in text
    for rule in ("留守儿童数不能大于在校学生数", "男＋女必须等于留守儿童数",
                 "学前＋小学＋初中必须等于留守儿童数",
                 "祖辈监护＋亲友监护＋其他委托监护＋无人监护必须等于留守儿童数",
                 "都不能大于留守儿童数", "本月走访人数不能大于已结对帮扶"):
        assert rule in text


def test_a_field_added_to_the_catalogue_appears_in_the_template(engine, monkeypatch):
    added = catalog.Field("counsellings", "本月心理辅导人次", catalog.COUNT, group="心理健康",
                          over_time="sum")
    schools = dataclasses.replace(catalog.SCHOOLS, fields=(*catalog.SCHOOLS.fields, added))
    monkeypatch.setattr(catalog, "SCHOOLS", schools)
    monkeypatch.setattr(catalog, "SHEETS", (schools, catalog.HOMES, catalog.FUNDING))
    wb = _open(build_template(engine, TOWNSHIP, PERIOD))
    columns, header = _columns(wb[schools.label], schools)
    assert columns["counsellings"] == len(schools.fields)
    assert wb[schools.label].cell(header - 1, len(schools.fields)).value == "心理健康"
    assert _validations_of(wb[schools.label], len(schools.fields), header + 1)
    instructions = {tuple(c.value for c in row[:2]) for row in wb[INSTRUCTIONS].iter_rows()}
    assert (schools.label, "本月心理辅导人次（心理健康）") in instructions


def test_deadline_day_is_configurable(engine):
    with transaction(engine) as session:
        session.add(Setting(key="deadline_day", value="10"))
    ws = _open(build_template(engine, TOWNSHIP, "2026-12"))[INSTRUCTIONS]
    assert any(c.value == "2027年1月10日前" for row in ws.iter_rows() for c in row)


@pytest.mark.parametrize("township, period", [
    ("999999999", PERIOD), (TOWNSHIP, "2026-13"), (TOWNSHIP, "2026-1"), (TOWNSHIP, "202610"),
    (TOWNSHIP, ""), (TOWNSHIP, "2026年10月")])
def test_unknown_township_or_bad_period(engine, township, period):
    with pytest.raises(ValueError, match="乡镇代码|报表月份"):
        build_template(engine, township, period)


# --- Pre-filled homes and ledger ------------------------------------------------------------

def _sheet_records(data: bytes, sheet: catalog.Sheet) -> list[dict]:
    return _data_rows(_open(data)[sheet.label], sheet)


def _expected(sheet: catalog.Sheet, frame) -> list[dict]:
    cells = [_as_cells(sheet, r) for r in frame.to_dict("records")]
    for record in cells:   # openpyxl reads dates back as datetimes
        for f in sheet.fields:
            if f.kind == catalog.DATE and record[f.key] is not None:
                record[f.key] = dt.datetime.combine(record[f.key], dt.time())
    return cells


def test_prefills_current_homes_and_ledger_of_the_year(engine):
    homes, funding = home_frame(engine), funding_frame(2026)
    _store(engine, "2026-08", homes=homes.iloc[:1], funding=funding.iloc[:1])
    _store(engine, "2026-09", homes=homes, funding=funding)
    _store(engine, "2026-09", schools=school_frame(engine))   # supersedes; copies the lists
    data = build_template(engine, TOWNSHIP, PERIOD)
    assert _sheet_records(data, catalog.HOMES) == _expected(catalog.HOMES, homes)
    assert _sheet_records(data, catalog.FUNDING) == _expected(catalog.FUNDING, funding)
    # An earlier month shows the list as it was then; a new year starts an empty ledger.
    earlier = build_template(engine, TOWNSHIP, "2026-08")
    assert len(_sheet_records(earlier, catalog.HOMES)) == 1
    assert len(_sheet_records(earlier, catalog.FUNDING)) == 1
    next_year = build_template(engine, TOWNSHIP, "2027-01")
    assert _sheet_records(next_year, catalog.HOMES) == _expected(catalog.HOMES, homes)
    assert _sheet_records(next_year, catalog.FUNDING) == []
    assert _sheet_records(build_template(engine, TOWNSHIP, "2026-07"), catalog.HOMES) == []


def test_prefilled_cells_are_typed(engine):
    _store(engine, "2026-09", homes=home_frame(engine), funding=funding_frame())
    wb = _open(build_template(engine, TOWNSHIP, PERIOD))
    homes, funding = wb[catalog.HOMES.label], wb[catalog.FUNDING.label]
    h, _ = _columns(homes, catalog.HOMES)
    f, _ = _columns(funding, catalog.FUNDING)
    assert homes.cell(2, h["host_code"]).data_type == "s"
    assert homes.cell(2, h["established"]).number_format == "yyyy-mm-dd"
    assert funding.cell(2, f["date"]).number_format == "yyyy-mm-dd"
    assert funding.cell(2, f["amount"]).number_format == "#,##0.00"


# --- Round trip through the reader ----------------------------------------------------------

def _fill_schools(ws, frame) -> None:
    columns, header = _columns(ws, catalog.SCHOOLS)
    by_code = {r["school_code"]: _as_cells(catalog.SCHOOLS, r) for r in frame.to_dict("records")}
    filled = set()
    for row in range(header + 1, ws.max_row + 1):
        code = ws.cell(row, columns["school_code"]).value
        if code in by_code:
            for f in catalog.SCHOOLS.fields:
                if f.kind == catalog.COUNT or f.key == "note":
                    ws.cell(row, columns[f.key], by_code[code][f.key])
            filled.add(code)
    assert filled == set(by_code)


def test_round_trip_filled_template_is_accepted_and_stored_exactly(engine):
    schools, homes, funding = school_frame(engine), home_frame(engine), funding_frame()
    wb = _open(build_template(engine, TOWNSHIP, PERIOD))
    _fill_schools(wb[catalog.SCHOOLS.label], schools)
    _append(wb[catalog.HOMES.label], catalog.HOMES, homes.to_dict("records"))
    _append(wb[catalog.FUNDING.label], catalog.FUNDING, funding.to_dict("records"))

    report = ingest_file(engine, _save(wb), "t.xlsx", TOWNSHIP, PERIOD, today=TODAY)

    assert report.accepted, report.as_json()
    assert report.errors == []
    assert report.rows == {"schools": len(schools), "homes": len(homes),
                           "funding": len(funding)}
    assert report.totals == {k: int(schools[k].sum()) for k in catalog.SCHOOL_COUNT_KEYS}
    expected = [_as_cells(catalog.SCHOOLS, r) for r in schools.to_dict("records")]
    stored = sorted(_stored(engine, catalog.SCHOOLS, report.submission_id),
                    key=lambda r: r["school_code"])
    assert stored == expected
    assert _stored(engine, catalog.HOMES, report.submission_id) == [
        r for r in homes.to_dict("records")]
    stored_funding = _stored(engine, catalog.FUNDING, report.submission_id)
    assert [r.pop("amount") for r in stored_funding] == [
        Decimal(str(a)) for a in funding["amount"]]
    assert stored_funding == funding.drop(columns="amount").to_dict("records")


def test_untouched_homes_sheet_keeps_the_homes_identical(engine):
    homes = home_frame(engine)
    before = _store(engine, "2026-09", homes=homes)
    wb = _open(build_template(engine, TOWNSHIP, PERIOD))
    for label in (catalog.SCHOOLS.label, catalog.FUNDING.label, INSTRUCTIONS):
        wb.remove(wb[label])   # a file may carry only some sheets

    report = ingest_file(engine, _save(wb), "t.xlsx", TOWNSHIP, PERIOD, today=TODAY)

    assert report.accepted, report.as_json()
    assert report.errors == []
    assert report.rows["homes"] == len(homes)
    with session_maker(engine)() as session:
        current = current_submission(session, TOWNSHIP, PERIOD)
    assert current.id == report.submission_id and current.has_homes
    assert (_stored(engine, catalog.HOMES, report.submission_id)
            == _stored(engine, catalog.HOMES, before) == homes.to_dict("records"))
