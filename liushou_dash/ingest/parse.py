"""Find each return sheet in a file and its header, wherever the clerk put them.

A sheet is recognised by its name (学校月报, 之家, 资金, ...) or, failing that, by how many
catalogue labels its header carries. The header may start on any of the first rows, span one
or two rows (a group label such as 性别 over 男/女, merged or not), contain spaces and line
breaks, and sit among extra columns (序号, remarks) that are ignored.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from pandas._libs import lib

from liushou_dash import catalog
from liushou_dash.ingest.issues import Issue, issue
from liushou_dash.ingest.read import RawSheet

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
    # key -> what the parse learnt of the column's cells, so the normaliser need not look again
    columns: dict[str, "Column"] = field(default_factory=dict)


@dataclass
class Column:
    """What one pass over a column's cells found: the value of each cell held as a number
    (int or float, NaN elsewhere and where the cell is NaN) and which cells hold text."""
    numbers: np.ndarray
    texts: np.ndarray


def _field_for(sheet_key: str, *texts: str) -> str | None:
    for text in texts:
        if text:
            key = _field_of(sheet_key, text)
            if key:
                return key
    return None


@functools.lru_cache(maxsize=8192)
def _field_of(sheet_key: str, text: str) -> str | None:
    """The field a normalised header text names in a sheet. A file's header texts are
    looked up for every catalogue sheet, on each of its first rows and at both header
    depths: mostly the same few dozen texts, upload after upload."""
    index = SPELLINGS[sheet_key]
    text = _SUB_ITEM.sub("", text)  # "其中：女" names the same column as "女"
    return index.get(text) or index.get(_TRAILING_UNIT.sub("", text))


def _normed(raw: RawSheet) -> list[list[str]]:
    """norm_text of every cell of the rows a header may occupy, once per raw sheet (each
    catalogue sheet and both header depths look at the same cells)."""
    return [[norm_text(v) for v in row] for row in raw.rows[:HEADER_SEARCH_ROWS]]


def _upper_labels(rows: list[list], r: int, merged: list,
                  normed: list[list[str]]) -> list[str]:
    """The row above the header, with merged group labels spread over their columns."""
    upper = list(normed[r - 1])
    for (r0, c0), (r1, c1) in merged:
        if r0 <= r - 1 <= r1 and rows[r0][c0] != "":
            label = normed[r0][c0] if r0 < len(normed) else norm_text(rows[r0][c0])
            for c in range(c0, min(c1 + 1, len(upper))):
                upper[c] = label
    if not merged:  # no merge information (xls, csv): carry a group label to the right
        for c in range(1, len(upper)):
            if not upper[c] and rows[r][c] != "" and upper[c - 1] and rows[r][c - 1] != "":
                upper[c] = upper[c - 1]
    return upper


def _match_header(rows: list[list], r: int, sheet_key: str, merged: list,
                  two_level: bool, normed: list[list[str]]) -> dict[str, int]:
    lower = normed[r]
    upper = _upper_labels(rows, r, merged, normed) if two_level else [""] * len(lower)
    found: dict[str, int] = {}
    for c, text in enumerate(lower):
        # The lower label alone, then under its group; a blank lower cell under a label
        # that is merged down (学校代码 over two header rows) takes the upper label.
        key = _field_for(sheet_key, text, upper[c] + text if text else "",
                         "" if text else upper[c])
        if key and key not in found:
            found[key] = c
    return found


def find_header(raw: RawSheet, sheet: catalog.Sheet,
                normed: list[list[str]] | None = None) -> tuple[int, dict[str, int]]:
    """(index of the last header row, key -> column) with the most catalogue fields."""
    normed = _normed(raw) if normed is None else normed
    best: tuple[int, int, dict[str, int]] = (0, -1, {})
    for r in range(min(HEADER_SEARCH_ROWS, len(raw.rows))):
        for two_level in (False, True) if r else (False,):
            found = _match_header(raw.rows, r, sheet.key, raw.merged, two_level, normed)
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


_TYPE = np.frompyfunc(type, 1, 1)
_WORD = re.compile(r"\w")
_DIGITS, _DIGIT = re.compile(r"\d+"), re.compile(r"\d")


def _ascii_digits(texts: np.ndarray) -> np.ndarray:
    """Which of `texts` (all str) are ASCII digits and nothing else: most codes. One pass in C
    over the whole column when every code is such (the join), else one check per text."""
    listed = texts.tolist()
    joined = "".join(listed)
    if joined.isascii() and joined.encode("ascii").isdigit():  # bytes: no Unicode look-ups
        return texts != ""
    return (np.fromiter(map(str.isdigit, listed), bool, len(listed))
            & np.fromiter(map(str.isascii, listed), bool, len(listed)))


def _blank_texts(texts: np.ndarray) -> np.ndarray:
    """Which of `texts` (all str) are empty: "", or spaces, line breaks and asterisks only."""
    blank = texts == ""
    rest = np.flatnonzero(~blank)
    if not len(rest):
        return blank
    # Only a text without a letter or digit can be spaces, line breaks and asterisks only;
    # names and codes are letters and digits through and through (checked in C).
    listed = texts[rest].tolist()
    if "".join(listed).isalnum():
        return blank
    unsure = np.flatnonzero(~np.fromiter(map(str.isalnum, listed), bool, len(listed)))
    rest, candidates = rest[unsure], texts[rest[unsure]]
    wordless = np.fromiter((_WORD.search(t) is None for t in candidates.tolist()), bool,
                           len(candidates))
    if wordless.any():
        blank[rest[wordless]] = norm_series(pd.Series(candidates[wordless])).eq("").to_numpy()
    return blank


@dataclass
class _Classified:
    """What a look at the type of every cell of some columns found, each (columns, rows):
    numbers (the value of each cell held as int or float, NaN elsewhere), which cells are
    held as float, as int, as str, which are None, and which are blank (as is_empty judges
    them)."""
    numbers: np.ndarray
    floats: np.ndarray
    ints: np.ndarray
    texts: np.ndarray
    nones: np.ndarray
    blank: np.ndarray


CLASSIFY_ROWS = 4096  # rows recognised at once, when they are all of one type
TYPED_ROWS = 256      # rows of mixed types short enough to type cell by cell


def _classify(columns: np.ndarray) -> _Classified:
    """`columns`: cells as (columns, rows). A filled return is runs of float cells and of
    text: a run all of one type is recognised in one pass in C (pandas'); a run of
    mixed types is halved until its halves are of one type or short, and only those
    short runs (around blank cells, 合计, signatures...) are typed cell by cell. The odd
    cells (None, dates, booleans...) go through is_empty."""
    shape = columns.shape
    numbers = np.full(shape, np.nan)
    floats, ints, texts, nones = (np.zeros(shape, dtype=bool) for _ in range(4))

    def classify(j: int, start: int, stop: int) -> None:
        run = columns[j, start:stop]
        if lib.is_float_array(run):
            floats[j, start:stop] = True
            numbers[j, start:stop] = run.astype(float)
        elif lib.is_string_array(run, skipna=False):
            texts[j, start:stop] = True
        elif stop - start > TYPED_ROWS:
            middle = (start + stop) // 2
            classify(j, start, middle)
            classify(j, middle, stop)
        else:
            kinds = _TYPE(run)
            floats[j, start:stop], ints[j, start:stop] = kinds == float, kinds == int
            texts[j, start:stop], nones[j, start:stop] = kinds == str, kinds == type(None)
            held = floats[j, start:stop] | ints[j, start:stop]
            numbers[j, start:stop][held] = run[held].astype(float)

    for j in range(shape[0]):
        for start in range(0, shape[1], CLASSIFY_ROWS):
            classify(j, start, min(start + CLASSIFY_ROWS, shape[1]))
    blank = (floats & np.isnan(numbers)) | nones
    other = ~(floats | ints | texts | nones)
    for j, cells in enumerate(columns):
        if texts[j].any():
            blank[j, texts[j]] = _blank_texts(cells[texts[j]])
        if other[j].any():
            blank[j, other[j]] = is_empty(pd.Series(cells[other[j]], dtype=object)).to_numpy(
                dtype=bool)
    return _Classified(numbers, floats, ints, texts, nones, blank)


def _as_pandas_infers(columns: np.ndarray, found: _Classified) -> None:
    """The cells of a column of numbers as pandas would type it: where ints meet floats or
    None, all are floats (None NaN), so that a value quoted in a message reads the same as
    when the raw sheet was a DataFrame (which the file's few int cells, from .xls, expose)."""
    numeric = (found.floats | found.ints | found.nones).all(axis=1)
    widened = (numeric & (found.floats | found.ints).any(axis=1)
               & (found.floats | found.nones).any(axis=1) & (found.ints | found.nones).any(axis=1))
    for j in np.flatnonzero(widened):
        cast = found.ints[j] | found.nones[j]
        columns[j, cast] = found.numbers[j, cast].tolist()


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
    looks[texts] = _ascii_digits(ident[texts])
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


def _is_junk(keys: list[str], columns: np.ndarray, found: _Classified, grid: np.ndarray,
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
    found = _classify(cells)
    keep = np.flatnonzero(~_is_junk(keys, cells, found, grid, sheet))
    if found.ints.any() or found.nones.any():
        _as_pandas_infers(cells, found)
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
        normed = _normed(raw)
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
