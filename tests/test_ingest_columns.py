"""The ingest's whole-column shortcuts judge every cell as the cell-by-cell rules do."""
from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from liushou_dash import catalog
from liushou_dash.core.bulk import insert_frame
from liushou_dash.core.db import init_db, make_engine
from liushou_dash.core.models import County
from liushou_dash.ingest import cells, parse
from liushou_dash.ingest.normalise import _Column, _counts, normalise_sheet
from liushou_dash.ingest.read import RawSheet

ODD_CELLS = ["", " ", "\n", "*", " ＊ ", "—", "无", "１２", "1,234", "12", "abc", "合计", None,
             float("nan"), True, False, 3, -2, 7.5, 0.0, dt.datetime(2026, 10, 3),
             dt.date(2026, 9, 1), "5205251080"]


def _mixed_column(rng: random.Random, rows: int, odd_share: float) -> list:
    return [rng.choice(ODD_CELLS) if rng.random() < odd_share else float(rng.randint(0, 900))
            for _ in range(rows)]


_EMPTY: dict = {}


def _empty(value) -> bool:
    """is_empty of the one cell (the same few values recur: judged once each)."""
    key = (type(value), repr(value))
    if key not in _EMPTY:
        _EMPTY[key] = bool(cells.is_empty(pd.Series([value], dtype=object)).iloc[0])
    return _EMPTY[key]


@pytest.mark.parametrize("odd_share", [0.0, 0.0005, 0.05, 0.5, 1.0])
def test_classify_types_every_cell_as_one_look_at_it_would(odd_share):
    rng = random.Random(7)
    rows = cells.CLASSIFY_ROWS * 2 + cells.TYPED_ROWS + 3  # runs of every length
    columns = np.empty((3, rows), dtype=object)
    for j in range(3):
        columns[j] = _mixed_column(rng, rows, odd_share)
    found = cells.classify(columns)
    for j in range(3):
        column = columns[j]
        kinds = [type(v) for v in column]
        numbers = np.array([float(v) if k in (float, int) else np.nan
                            for v, k in zip(column, kinds)])
        np.testing.assert_array_equal(found.numbers[j], numbers)
        assert found.floats[j].tolist() == [k is float for k in kinds]
        assert found.ints[j].tolist() == [k is int for k in kinds]
        assert found.texts[j].tolist() == [k is str for k in kinds]
        assert found.nones[j].tolist() == [v is None for v in column]
        assert found.blank[j].tolist() == [_empty(v) for v in column]


def test_ascii_digits_and_blank_texts():
    texts = np.array(["123", "", "12a", "１２", "填表人：", " 1", "007"], dtype=object)
    assert cells.ascii_digits(texts).tolist() == [True, False, False, False, False, False,
                                                   True]
    assert cells.ascii_digits(np.array(["1", "22"], dtype=object)).tolist() == [True, True]
    texts = np.array(["", " ", "\n*\t", "＊", "学校", "a b", "-", "_"], dtype=object)
    assert cells._blank_texts(texts).tolist() == [True, True, True, True, False, False, False,
                                                  False]


def _parsed(rows: list[list]) -> parse.ParsedSheet:
    header = [f.label for f in catalog.SCHOOLS.fields]
    parsed, _ = parse.parse_sheets([RawSheet(catalog.SCHOOLS.label, [header, *rows])])
    return parsed["schools"]


def test_count_columns_at_once_read_as_one_column_at_a_time():
    rng = random.Random(3)
    width = len(catalog.SCHOOLS.fields)
    rows = [[f"52052510{i:03d}", f"学校{i}"] + _mixed_column(rng, width - 3, 0.3) + [""]
            for i in range(300)]
    one = _parsed(rows)
    at_once = _counts(one)
    assert set(at_once) == {f.key for f in catalog.SCHOOLS.count_fields}
    for f in catalog.SCHOOLS.count_fields:
        column = _Column(one, f)
        alone = column.count()
        values, bad = at_once[f.key]
        assert alone.tolist() == values.tolist(), f.key
        together = _Column(one, f)
        together.counted(values, bad)
        assert together.issues == column.issues, f.key
    # and without what the parse found of the cells (the normaliser's fallback)
    bare = parse.ParsedSheet(one.sheet, one.source_name, one.frame, one.excel_rows, one.letters)
    frame, issues = normalise_sheet(bare)
    expected, expected_issues = normalise_sheet(one)
    pd.testing.assert_frame_equal(frame, expected)
    assert issues == expected_issues


def test_codes_names_and_notes_read_as_before():
    zeros = [0.0] * (len(catalog.SCHOOLS.count_fields) - 1)   # every count after 在校学生数
    rows = [["5205251080", " 学校 ", 100.0] + zeros + [" 备注 "],
            [5205251081.0, "", 100.0] + zeros + [""],
            ["５２０５２５１０８２", None, 100.0] + zeros + [7.0],
            ["'5205251083", "学校", 100.0] + zeros + ["*"]]
    frame, _ = normalise_sheet(_parsed(rows))
    assert frame["school_code"].tolist() == ["5205251080", "5205251081", "5205251082",
                                             "5205251083"]
    assert frame["school_name"].tolist() == ["学校", None, None, "学校"]
    assert frame["note"].tolist() == ["备注", None, "7.0", None]


@pytest.mark.parametrize("count", [1, 34, 35, 36, 71, 1000])
def test_insert_frame_stores_every_row_in_order(tmp_path, count):
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    init_db(engine)
    frame = pd.DataFrame({"code": [f"{i:06d}" for i in range(count)],
                          "name": [f"县{i}" for i in range(count)],
                          "boundary": [f"{{{i}}}" if i % 3 else None for i in range(count)]})
    with engine.begin() as conn:
        insert_frame(conn, County.__table__, frame)
    with engine.connect() as conn:
        stored = conn.execute(select(County.code, County.name, County.boundary)
                              .order_by(County.code)).all()
    assert [tuple(r) for r in stored] == list(frame.itertuples(index=False, name=None))
