"""export: CSV and XLSX contents against metrics, formats, formula-injection safety, CLI."""
from __future__ import annotations

import csv
import io
import re

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import update

from liushou_dash import catalog
from liushou_dash.cli import main
from liushou_dash.core import cell_text, filtering
from liushou_dash.core.db import transaction
from liushou_dash.core.models import School
from liushou_dash.indicators import readers, stored
from liushou_dash.ingest.store import store_submission
from liushou_dash.reports import export
from tests.fixtures import (
    OTHER_TOWNSHIP,
    TOWNSHIP,
    funding_frame,
    home_frame,
    school_frame,
    township_schools,
)

MALICIOUS_NAMES = ('=HYPERLINK("http://evil.example","点我")', "+1", "@x", "-2")
PERIODS = ("2026-04", "2026-05")
RATES = {i.key for i in catalog.INDICATORS if i.is_rate}
MONEY = {m.key for m in catalog.MEASURES if m.money}
COUNTS = set(catalog.SCHOOL_COUNT_KEYS) | {m.key for m in catalog.MEASURES if not m.money}


def expected_header(level: str) -> list[str]:
    ids = ["period", "township_code", "township_name"]
    measures = [m.key for m in catalog.MEASURES]
    if level == "school":
        ids += ["school_code", "school_name"]
        measures = []
    rates = [i for i in catalog.INDICATORS if i.is_rate and level in i.levels]
    read = {key for i in rates for key in (i.numerator, i.denominator)}
    tallies = [k for k in catalog.SCHOOL_TALLY_KEYS if k in read and level == "township"]
    return [*ids, *catalog.SCHOOL_COUNT_KEYS, *tallies, *measures, *(i.key for i in rates)]


@pytest.fixture
def db(engine):
    """Two months of returns for two townships; four schools carry formula-like names."""
    renamed = township_schools(engine)[:len(MALICIOUS_NAMES)]
    with transaction(engine) as session:
        for school, name in zip(renamed, MALICIOUS_NAMES):
            session.execute(update(School).where(School.code == school.code).values(name=name))
    for seed, period in enumerate(PERIODS):
        with transaction(engine) as session:
            store_submission(session, township_code=TOWNSHIP, period=period, frames={
                "schools": school_frame(engine, seed=seed), "homes": home_frame(engine),
                "funding": funding_frame(2026)})
            store_submission(session, township_code=OTHER_TOWNSHIP, period=period, frames={
                "schools": school_frame(engine, OTHER_TOWNSHIP, seed=seed)})
    return engine


def read_csv(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def assert_equal_values(cell: str, value, key: str):
    if pd.isna(value):
        assert cell == "", key
    elif key in RATES:
        assert float(cell) == pytest.approx(round(float(value), 4), abs=1e-9), key
    elif key in MONEY:
        assert float(cell) == pytest.approx(round(float(value), 2), abs=1e-9), key
    elif key in COUNTS:
        assert int(cell) == value, key
    else:
        assert cell == str(value), key


# --- CSV ---------------------------------------------------------------------------------------

def test_csv_has_bom_keys_and_the_metrics_values(db):
    data = export.export_table(db, *PERIODS)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = read_csv(data)
    assert list(rows[0]) == expected_header("township")

    table = stored.township_table(db, filtering.Filter(PERIODS))
    assert len(rows) == len(table)
    for row, (_, expected) in zip(rows, table.iterrows()):
        for key in expected_header("township"):
            assert_equal_values(row[key], expected[key], key)
    assert any(row["left_behind"] for row in rows)


def test_csv_numbers_are_integers_4_decimal_rates_and_2_decimal_money(db):
    rows = read_csv(export.export_table(db, *PERIODS, townships=[TOWNSHIP]))
    assert {row["township_code"] for row in rows} == {TOWNSHIP}
    for row in rows:
        for key, cell in row.items():
            if cell == "":
                continue
            if key in RATES:
                assert re.fullmatch(r"\d+\.\d{4}", cell), (key, cell)
            elif key in MONEY:
                assert re.fullmatch(r"\d+\.\d{2}", cell), (key, cell)
            elif key in COUNTS:
                assert re.fullmatch(r"\d+", cell), (key, cell)
    assert rows[0]["archived_rate"] == "1.0000"


def test_school_level_csv(db):
    rows = read_csv(export.export_table(db, *PERIODS, level="school"))
    assert list(rows[0]) == expected_header("school")
    table = readers.school_table(db, filtering.Filter(PERIODS))
    assert len(rows) == len(table) == 2 * (len(school_frame(db)) +
                                           len(school_frame(db, OTHER_TOWNSHIP)))
    for row, (_, expected) in zip(rows, table.iterrows()):
        assert row["school_code"] == expected["school_code"]
        assert int(row["left_behind"]) == expected["left_behind"]
        assert_equal_values(row["paired_rate"], expected["paired_rate"], "paired_rate")


def test_formula_like_text_is_neutralised_in_csv(db):
    rows = read_csv(export.export_table(db, *PERIODS, level="school"))
    names = {row["school_name"] for row in rows}
    for name in MALICIOUS_NAMES:
        assert "'" + name in names
        assert name not in names
    assert all(not re.match(r"[=+\-@\t\r]", row[key]) for row in rows for key in row)


def test_columns_can_be_chosen(db):
    rows = read_csv(export.export_table(db, *PERIODS, columns=["left_behind", "archived_rate"]))
    assert list(rows[0]) == ["period", "township_code", "township_name", "left_behind",
                             "archived_rate"]
    with pytest.raises(ValueError):
        export.export_table(db, *PERIODS, level="school", columns=["allocated"])
    with pytest.raises(ValueError):
        export.export_table(db, *PERIODS, fmt="pdf")


# --- XLSX --------------------------------------------------------------------------------------

def load_sheet(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_xlsx_has_chinese_headers_frozen_row_formats_and_the_values(db):
    sheet = load_sheet(export.export_table(db, *PERIODS, fmt="xlsx"))
    keys = expected_header("township")
    headers = [cell.value for cell in sheet[1]]
    assert headers[:3] == ["月份", "乡镇代码", "乡镇名称"]
    assert headers[3:] == [catalog.label_of(key) for key in keys[3:]]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width >= 8

    table = stored.township_table(db, filtering.Filter(PERIODS))
    assert sheet.max_row == len(table) + 1
    reported = int(table.index[table["left_behind"].notna()][0])
    cells = dict(zip(keys, sheet[reported + 2]))
    for key in keys[3:]:
        cell, value = cells[key], table.loc[reported, key]
        if pd.isna(value):
            assert cell.value is None, key
            continue
        if key in RATES:
            assert cell.number_format == ("0.0%" if catalog.INDICATORS_BY_KEY[key].is_percent else "0.00"), key
            assert cell.value == pytest.approx(value, abs=5e-5), key
        elif key in MONEY:
            assert cell.number_format == "#,##0.00", key
            assert cell.value == pytest.approx(value, abs=5e-3), key
        else:
            assert cell.number_format == "0", key
            assert cell.value == value and isinstance(cell.value, int), key
    assert cells["township_name"].value == table.loc[reported, "township_name"]


def test_formula_like_text_is_neutralised_in_xlsx(db):
    sheet = load_sheet(export.export_table(db, *PERIODS, level="school", fmt="xlsx"))
    name_column = expected_header("school").index("school_name") + 1
    cells = [row[name_column - 1] for row in sheet.iter_rows(min_row=2)]
    by_value = {cell.value: cell for cell in cells}
    for name in MALICIOUS_NAMES:
        assert name not in by_value
        assert by_value["'" + name].data_type == "s"
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


def test_xlsx_refuses_more_rows_than_excel_holds(db, monkeypatch):
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 3)
    with pytest.raises(ValueError):
        export.export_table(db, *PERIODS, level="school", fmt="xlsx")


# --- Command line ------------------------------------------------------------------------------

def test_cli_writes_the_same_csv_as_export_table(db, tmp_path, capsys):
    url = db.url.render_as_string(hide_password=False)
    output = tmp_path / "schools.csv"
    code = main(["--db", url, "export", "--from", PERIODS[0], "--to", PERIODS[1],
                 "--township", TOWNSHIP, "--level", "school", "--format", "csv",
                 "-o", str(output)])
    assert code == 0
    assert output.read_bytes() == export.export_table(db, *PERIODS, townships=[TOWNSHIP],
                                                      level="school")


def test_cli_labels_put_chinese_headers_over_the_same_cells(db, tmp_path):
    url, keyed, labelled = db.url.render_as_string(), tmp_path / "k.csv", tmp_path / "l.csv"
    for path, extra in ((keyed, []), (labelled, ["--labels"])):
        assert main(["--db", url, "export", "--from", PERIODS[0], "--to", PERIODS[1],
                     "--level", "school", "-o", str(path), *extra]) == 0
    keys, *rows = list(csv.reader(io.StringIO(keyed.read_bytes().decode("utf-8-sig"))))
    labels, *same = list(csv.reader(io.StringIO(labelled.read_bytes().decode("utf-8-sig"))))
    assert keys[:6] == ["period", "township_code", "township_name", "school_code",
                        "school_name", "students"]
    assert labels[:6] == ["月份", "乡镇代码", "乡镇名称", "学校代码", "学校名称", "在校学生数"]
    assert "留守儿童数" in labels and "建档率" in labels and same == rows


def test_cli_writes_the_same_xlsx_cells_as_export_table(db, tmp_path):
    url = db.url.render_as_string(hide_password=False)
    output = tmp_path / "townships.xlsx"
    assert main(["--db", url, "export", "--from", PERIODS[0], "--to", PERIODS[1],
                 "--format", "xlsx", "-o", str(output)]) == 0

    def values(sheet):
        return [[cell.value for cell in row] for row in sheet.iter_rows()]
    # Byte equality is too strict: a workbook records the moment it was created.
    assert values(load_sheet(output.read_bytes())) == values(
        load_sheet(export.export_table(db, *PERIODS, fmt="xlsx")))


def test_defuse():
    for text in ("=1+1", "\tcmd", "\rcmd", " =1", "\u3000@x", "－1", "＝１＋１", "＋1", "＠x"):
        assert cell_text.defuse(text) == "'" + text, repr(text)
    for value in ("张家湾镇", "1-2", "a=b", "", -3, -1.5, None):
        assert cell_text.defuse(value) is value, repr(value)
    assert cell_text.display_width("乡镇a") == 5


def test_defused_frames_keep_numbers_as_numbers():
    frame = pd.DataFrame({"名称": ["=1+1", "张家湾镇", None], "变化": [-3, 2, 0]},
                         index=pd.Index(["@x", "y", "z"], name="乡镇"))
    shown = cell_text.defused(frame)
    assert shown["名称"].tolist()[:2] == ["'=1+1", "张家湾镇"] and shown["名称"].iloc[2] is None
    assert shown["变化"].tolist() == [-3, 2, 0] and shown["变化"].dtype == "int64"
    assert shown.index.tolist() == ["'@x", "y", "z"]
    assert frame.loc["@x", "名称"] == "=1+1"  # a copy: the frame itself is untouched
