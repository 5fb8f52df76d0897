"""Find each return sheet in a file and cut out its data rows.

A sheet is recognised by its name (学校月报, 之家, 资金, ...) or, failing that, by how many
catalogue labels its header carries (header.py). Below the header, rows that are no data —
blank rows, 合计 and signature rows, one-cell notes — are dropped; what a look at every cell
found (cells.py) goes along with the sheet, so that the normaliser need not look again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from pandas._libs import lib

from liushou_dash import catalog
from liushou_dash.ingest.cells import (
    Classified,
    as_pandas_infers,
    ascii_digits,
    classify,
    norm_series,
    norm_text,
)
from liushou_dash.ingest.header import SHEET_NAMES, find_header, normed_rows
from liushou_dash.ingest.issues import Issue, issue
from liushou_dash.ingest.read import RawSheet

MIN_MATCHED_FIELDS = 3
_MARKERS = "合计", "小计", "总计", "填表人", "填报人", "审核人", "填报日期", "负责人", "制表", "联系电话"
_NOTE = re.compile(r"[\u4e00-\u9fff]{6,}")
_DIGITS, _DIGIT = re.compile(r"\d+"), re.compile(r"\d")


@dataclass
class ParsedSheet:
    sheet: catalog.Sheet
    source_name: str                   # the sheet's name in the file ("" for CSV)
    frame: pd.DataFrame                # raw cell values, columns = catalogue keys found
    excel_rows: pd.Series              # the row number Excel shows, aligned with frame
    letters: dict[str, str] = field(default_factory=dict)   # key -> column letter
    blank: pd.DataFrame | None = None  # which cells of frame are empty (is_empty), if known
    # key -> what the parse learnt of the column's cells, so the normaliser need not look again
    columns: dict[str, "Column"] = field(default_factory=dict)


@dataclass
class Column:
    """What one pass over a column's cells found: the value of each cell held as a number
    (int or float, NaN elsewhere and where the cell is NaN) and which cells hold text."""
    numbers: np.ndarray
    texts: np.ndarray


def _looks_like_id_by_cell(ident: list, sheet: catalog.Sheet) -> list[bool]:
    """_looks_like_id_slowly for a few cells, one at a time (no pandas overhead)."""
    digit_needed = sheet.field(sheet.id_key).kind == catalog.CODE
    looks = []
    for value in ident:
        if _DIGITS.fullmatch(str(value)):
            looks.append(True)
            continue
        text = "" if pd.isna(value) else norm_text(value)
        looks.append(bool(text) and not text.startswith(_MARKERS)
                     and (not digit_needed or _DIGIT.search(text) is not None))
    return looks


def _looks_like_id_slowly(ident: pd.Series, sheet: catalog.Sheet) -> pd.Series:
    if len(ident) <= 100:
        return pd.Series(_looks_like_id_by_cell(ident.tolist(), sheet), index=ident.index,
                         dtype=bool)
    plain = ident.astype(str).str.fullmatch(r"\d+").astype(bool)
    looks = pd.Series(True, index=ident.index)
    text = norm_series(ident[~plain])
    others = text.ne("") & ~text.str.startswith(_MARKERS).astype(bool)
    if sheet.field(sheet.id_key).kind == catalog.CODE:
        others &= text.str.contains(r"\d").astype(bool)
    looks[~plain] = others.to_numpy(dtype=bool)
    return looks


def _looks_like_id(ident: np.ndarray, texts: np.ndarray, sheet: catalog.Sheet) -> np.ndarray:
    """Which cells of the id column hold an id: a code of ASCII digits, as most are, needs
    no normalising; the others are judged one by one."""
    looks = np.zeros(len(ident), dtype=bool)
    looks[texts] = ascii_digits(ident[texts])
    unsure = ~looks
    if unsure.any():
        looks[unsure] = _looks_like_id_slowly(pd.Series(ident[unsure], dtype=object),
                                              sheet).to_numpy(dtype=bool)
    return looks


def _marker_or_note(cells) -> bool:
    """A 合计 or signature row (a cell starts with a marker), or a one-cell note."""
    texts = [text for text in (norm_text(c) for c in cells if not pd.isna(c)) if text]
    return (any(text.startswith(_MARKERS) for text in texts)
            or (len(texts) == 1 and bool(_NOTE.search(texts[0]))))


def _is_junk(keys: list[str], columns: np.ndarray, found: Classified, grid: np.ndarray,
             sheet: catalog.Sheet) -> np.ndarray:
    """Blank rows, 合计 rows, signature rows and one-cell notes are not data."""
    junk = found.blank.all(axis=0)
    # A pre-filled school row without a single number was not filled in: it is reported
    # as a missing school (W05), not stored as zeros.
    counts = [keys.index(f.key) for f in sheet.count_fields if f.key in keys]
    if counts:
        junk |= found.blank[counts].all(axis=0)
    # Only rows without a proper id can be 合计, signature or note rows: look at those alone.
    candidates = np.flatnonzero(~junk)
    if sheet.id_key in keys:
        j = keys.index(sheet.id_key)
        looks = _looks_like_id(columns[j, candidates], found.texts[j, candidates], sheet)
    else:
        looks = _looks_like_id_slowly(pd.Series("", index=range(len(candidates))),
                                      sheet).to_numpy(dtype=bool)
    for i in candidates[~looks]:  # row by row: a handful of rows under the data, as a rule
        if _marker_or_note(grid[i]):
            junk[i] = True
    return junk


def _grid(body: list[list], width: int) -> np.ndarray:
    """The body's cells as a 2-D object array (one C pass over the rows; pandas' is three
    times numpy's speed at it)."""
    grid = lib.to_object_array(body) if body else np.empty((0, width), dtype=object)
    if grid.shape != (len(body), width):  # a cell numpy would unpack: never from the readers
        grid = np.empty((len(body), width), dtype=object)
        for i, row in enumerate(body):
            for c, value in enumerate(row):
                grid[i, c] = value
    return grid


def _parse_one(raw: RawSheet, sheet: catalog.Sheet, header_row: int,
               columns: dict[str, int]) -> ParsedSheet:
    body = raw.rows[header_row + 1:]
    lengths = set(map(len, body))
    width = max(lengths, default=0)
    if len(lengths) > 1:  # CSV rows can be short; spreadsheets' are not
        body = [r + [""] * (width - len(r)) for r in body]
    grid = _grid(body, width)
    keys = list(columns)
    letters = {k: get_column_letter(c + 1) for k, c in columns.items()}
    cells = np.empty((len(keys), len(grid)), dtype=object)  # a row per column
    for j, c in enumerate(columns.values()):
        cells[j] = grid[:, c] if c < width else ""
    if not len(grid):
        return ParsedSheet(sheet, raw.name, pd.DataFrame(cells.T, columns=keys),
                           pd.Series(np.arange(len(grid)) + header_row + 2), letters=letters)
    found = classify(cells)
    keep = np.flatnonzero(~_is_junk(keys, cells, found, grid, sheet))
    if found.ints.any() or found.nones.any():
        as_pandas_infers(cells, found)
    rows = keep if len(keep) and keep[-1] >= len(keep) else slice(0, len(keep))  # no copy
    numbers, texts = found.numbers[:, rows], found.texts[:, rows]
    return ParsedSheet(sheet, raw.name, pd.DataFrame(cells[:, rows].T, columns=keys),
                       pd.Series(keep + header_row + 2),
                       letters=letters, blank=pd.DataFrame(found.blank[:, rows].T, columns=keys),
                       columns={k: Column(numbers[j], texts[j]) for j, k in enumerate(keys)})


def _missing_columns(parsed: ParsedSheet) -> list[Issue]:
    missing = [f.label for f in parsed.sheet.fields if f.required and f.key not in parsed.letters]
    if not missing:
        return []
    return [issue("E02", f"缺少必需的列：{'、'.join(missing)}", sheet=parsed.sheet.label)]


def parse_sheets(raw_sheets: list[RawSheet]) -> tuple[dict[str, ParsedSheet], list[Issue]]:
    """Assign raw sheets to return sheets and cut out their data rows.

    Returns the parsed sheets that carry data (by sheet key) and E02 issues."""
    candidates: dict[str, tuple[int, RawSheet, int, dict[str, int]]] = {}
    for raw in raw_sheets:
        named = SHEET_NAMES.get(norm_text(raw.name))
        normed = normed_rows(raw)
        for sheet in catalog.SHEETS:
            header_row, columns = find_header(raw, sheet, normed)
            by_name = named == sheet.key
            if not by_name and (sheet.id_key not in columns or len(columns) < MIN_MATCHED_FIELDS):
                continue
            score = len(columns) + (1000 if by_name else 0)
            if score > candidates.get(sheet.key, (-1,))[0]:
                candidates[sheet.key] = (score, raw, header_row, columns)
    parsed: dict[str, ParsedSheet] = {}
    found: list[Issue] = []
    claimed: set[int] = set()
    for key, (score, raw, header_row, columns) in sorted(candidates.items(),
                                                          key=lambda kv: -kv[1][0]):
        if id(raw) in claimed:  # one sheet of the file is one return sheet
            continue
        claimed.add(id(raw))
        one = _parse_one(raw, catalog.SHEETS_BY_KEY[key], header_row, columns)
        problems = _missing_columns(one)
        if problems:
            found += problems
        elif len(one.frame):
            parsed[key] = one
        elif key == catalog.SCHOOLS.key:  # a sheet with a header and no rows carries nothing
            found.append(issue("W05", "没有填写任何学校的数据，本次不更新学校月报",
                               sheet=catalog.SCHOOLS.label))
    return parsed, found
