"""Find each return sheet in a file and its header, wherever the clerk put them.

A sheet is recognised by its name (学校月报, 之家, 资金, ...) or, failing that, by how many
catalogue labels its header carries. The header may start on any of the first rows, span one
or two rows (a group label such as 性别 over 男/女, merged or not), contain spaces and line
breaks, and sit among extra columns (序号, remarks) that are ignored.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd
from pandas._libs import lib
from openpyxl.utils import get_column_letter

from .. import catalog
from .issues import Issue, issue
from .read import RawSheet

HEADER_SEARCH_ROWS = 30
MIN_MATCHED_FIELDS = 3
_SPACES = re.compile(r"\s+")
_TRAILING_UNIT = re.compile(r"\([^()]*\)$")
_SUB_ITEM = re.compile(r"^其中[:,]?")
_MARKERS = "合计", "小计", "总计", "填表人", "填报人", "审核人", "填报日期", "负责人", "制表", "联系电话"
_NOTE = re.compile(r"[\u4e00-\u9fff]{6,}")


def norm_text(value) -> str:
    """Full-width to half-width, no spaces or line breaks, no required-field asterisks."""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACES.sub("", text).replace("*", "").replace("＊", "").upper()


def norm_series(values: pd.Series, upper: bool = True) -> pd.Series:
    """norm_text over a whole column at once (codes keep their case: upper=False)."""
    text = (values.where(values.notna(), "").astype(str).str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
            .str.replace("*", "", regex=False))
    return text.str.upper() if upper else text


def _spelling_index(sheet: catalog.Sheet) -> dict[str, str]:
    """Every normalised header spelling of the sheet, alone and under its group label."""
    index: dict[str, str] = {}
    for f in sheet.fields:
        for spelling in f.spellings:
            for text in (spelling, f"{f.group}{spelling}" if f.group else None):
                if text:
                    index.setdefault(norm_text(text), f.key)
                    index.setdefault(_TRAILING_UNIT.sub("", norm_text(text)), f.key)
    return index


SPELLINGS = {sheet.key: _spelling_index(sheet) for sheet in catalog.SHEETS}
SHEET_NAMES = {norm_text(name): sheet.key for sheet in catalog.SHEETS
               for name in (sheet.label, *sheet.aliases)}


@dataclass
class ParsedSheet:
    sheet: catalog.Sheet
    source_name: str                   # the sheet's name in the file ("" for CSV)
    frame: pd.DataFrame                # raw cell values, columns = catalogue keys found
    excel_rows: pd.Series              # the row number Excel shows, aligned with frame
    letters: dict[str, str] = field(default_factory=dict)   # key -> column letter
    blank: pd.DataFrame | None = None  # which cells of frame are empty (is_empty), if known


def _field_for(index: dict[str, str], *texts: str) -> str | None:
    for text in texts:
        if not text:
            continue
        text = _SUB_ITEM.sub("", text)  # "其中：女" names the same column as "女"
        key = index.get(text) or index.get(_TRAILING_UNIT.sub("", text))
        if key:
            return key
    return None


def _upper_labels(rows: list[list], r: int, merged: list) -> list[str]:
    """The row above the header, with merged group labels spread over their columns."""
    upper = [norm_text(v) for v in rows[r - 1]]
    for (r0, c0), (r1, c1) in merged:
        if r0 <= r - 1 <= r1 and rows[r0][c0] != "":
            for c in range(c0, min(c1 + 1, len(upper))):
                upper[c] = norm_text(rows[r0][c0])
    if not merged:  # no merge information (xls, csv): carry a group label to the right
        for c in range(1, len(upper)):
            if not upper[c] and rows[r][c] != "" and upper[c - 1] and rows[r][c - 1] != "":
                upper[c] = upper[c - 1]
    return upper


def _match_header(rows: list[list], r: int, index: dict[str, str], merged: list,
                  two_level: bool) -> dict[str, int]:
    lower = [norm_text(v) for v in rows[r]]
    upper = _upper_labels(rows, r, merged) if two_level else [""] * len(lower)
    found: dict[str, int] = {}
    for c, text in enumerate(lower):
        # The lower label alone, then under its group; a blank lower cell under a label
        # that is merged down (学校代码 over two header rows) takes the upper label.
        key = _field_for(index, text, upper[c] + text if text else "",
                         "" if text else upper[c])
        if key and key not in found:
            found[key] = c
    return found


def find_header(raw: RawSheet, sheet: catalog.Sheet) -> tuple[int, dict[str, int]]:
    """(index of the last header row, key -> column) with the most catalogue fields."""
    index = SPELLINGS[sheet.key]
    best: tuple[int, int, dict[str, int]] = (0, -1, {})
    for r in range(min(HEADER_SEARCH_ROWS, len(raw.rows))):
        for two_level in (False, True) if r else (False,):
            found = _match_header(raw.rows, r, index, raw.merged, two_level)
            if len(found) > best[0]:
                best = (len(found), r, found)
    return best[1], best[2]


NO_TEXT = frozenset(("empty", "floating", "integer", "mixed-integer-float", "decimal",
                     "boolean", "datetime", "datetime64", "date", "time", "timedelta"))


def holds_no_text(cells: pd.Series) -> bool:
    """True when no cell is a string: one pass in C instead of a type check per cell."""
    return lib.infer_dtype(cells, skipna=True) in NO_TEXT


def is_empty(cells: pd.Series) -> pd.Series:
    """Empty cells, judged without normalising every cell (that is the slow part)."""
    if holds_no_text(cells):  # a column of numbers, as most of a filled return is
        return cells.isna()
    # A cell that reads as a number is filled; only the others (a few blanks, a signature
    # row, or a column of text) are looked at one by one.
    unsure = pd.to_numeric(cells, errors="coerce").isna()
    if not unsure.all():
        empty = pd.Series(False, index=cells.index)
        if unsure.any():
            empty[unsure] = is_empty(cells[unsure]).to_numpy(dtype=bool)
        return empty
    empty = cells.isna() | cells.eq("")
    rest = cells[~empty]
    text = rest[rest.map(type).eq(str)]
    # Only a cell without a letter or digit can be spaces, line breaks and asterisks only.
    text = text[~text.str.contains(r"\w", regex=True)]
    if len(text):
        empty[text.index] = norm_series(text).eq("")
    return empty


def _looks_like_id(ident: pd.Series, sheet: catalog.Sheet) -> pd.Series:
    plain = ident.astype(str).str.fullmatch(r"\d+").astype(bool)  # most codes: no need to normalise
    looks = pd.Series(True, index=ident.index)
    text = norm_series(ident[~plain])
    others = text.ne("") & ~text.str.startswith(_MARKERS).astype(bool)
    if sheet.field(sheet.id_key).kind == catalog.CODE:
        others &= text.str.contains(r"\d").astype(bool)
    looks[~plain] = others.to_numpy(dtype=bool)
    return looks


def _marker_or_note(cells) -> bool:
    """A 合计 or signature row (a cell starts with a marker), or a one-cell note."""
    texts = [text for text in (norm_text(c) for c in cells if not pd.isna(c)) if text]
    return (any(text.startswith(_MARKERS) for text in texts)
            or (len(texts) == 1 and bool(_NOTE.search(texts[0]))))


def _is_junk(frame: pd.DataFrame, all_cells: pd.DataFrame,
             sheet: catalog.Sheet) -> tuple[pd.Series, pd.DataFrame]:
    """Blank rows, 合计 rows, signature rows and one-cell notes are not data; also returns
    which cells are empty, for the normaliser."""
    empty = frame.apply(is_empty).astype(bool)
    junk = empty.all(axis=1)
    # A pre-filled school row without a single number was not filled in: it is reported
    # as a missing school (W05), not stored as zeros.
    counts = [f.key for f in sheet.count_fields if f.key in frame]
    if counts:
        junk |= empty[counts].all(axis=1)
    # Only rows without a proper id can be 合计, signature or note rows: look at those alone.
    ident = frame[sheet.id_key] if sheet.id_key in frame else pd.Series("", index=frame.index)
    suspect = ~junk & ~_looks_like_id(ident, sheet)
    if suspect.any():  # row by row: a handful of rows under the data, as a rule
        marked = all_cells[suspect].apply(_marker_or_note, axis=1)
        junk |= marked.reindex(junk.index, fill_value=False).astype(bool)
    return junk, empty


def _parse_one(raw: RawSheet, sheet: catalog.Sheet, header_row: int,
               columns: dict[str, int]) -> ParsedSheet:
    body = raw.rows[header_row + 1:]
    width = max((len(r) for r in body), default=0)
    if any(len(r) < width for r in body):  # CSV rows can be short; spreadsheets' are not
        body = [r + [""] * (width - len(r)) for r in body]
    all_cells = pd.DataFrame(body) if body else pd.DataFrame(columns=range(width))
    frame = pd.DataFrame({key: all_cells[c] if c in all_cells else "" for key, c in
                          columns.items()}, index=all_cells.index)
    excel_rows = pd.Series(all_cells.index + header_row + 2, index=all_cells.index)
    if not len(frame):
        return ParsedSheet(sheet, raw.name, frame, excel_rows,
                           letters={k: get_column_letter(c + 1) for k, c in columns.items()})
    junk, empty = _is_junk(frame, all_cells, sheet)
    return ParsedSheet(sheet, raw.name, frame[~junk].reset_index(drop=True),
                       excel_rows[~junk].reset_index(drop=True),
                       letters={k: get_column_letter(c + 1) for k, c in columns.items()},
                       blank=empty[~junk].reset_index(drop=True))


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
        for sheet in catalog.SHEETS:
            header_row, columns = find_header(raw, sheet)
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
