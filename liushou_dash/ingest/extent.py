"""The size a township return may have, and the scans that find a filled cell beyond it before
a reader builds its grid.

python-calamine builds a dense grid from A1 to the furthest cell that holds something, 32
bytes a cell: one stray value at XFD1048576 asks for 16,384 × 1,048,576 cells (512 GiB), one
at ALL20000 for 20 million (almost 1 GB). The cost follows where the filled cells are, not
how large the file is; so the sheets of an .xlsx/.xlsm and the content.xml of an .ods are
scanned as they are inflated, and a sheet reaching beyond the caps is refused, naming the
cell, before calamine runs (read.py). What no scan sees (an .xls, a cell reference written as
no common program writes it) is held to the same caps once calamine has built the grid, under
the worker's memory ceiling.

The caps, generous for a return and chosen for memory (rows × columns is what it follows):
- MAX_ROWS: a real township lists tens to a few hundred schools, homes or ledger lines; the
  largest return the system is measured with lists 20,000 schools (a whole city's, in one
  township: bench/ingest_bench.py), plus its title, header, total and signature rows.
- MAX_COLUMNS: the widest sheet, 学校月报, has 25 catalogue columns (34 with the fields the
  open issues add); 序号, remarks and helper columns a clerk adds stay well below 100.
- Together at most 3 million cells: calamine's grid of them is about 100 MB and the Python rows
  another 24 MB, well within the reader worker's memory ceiling (worker.MEMORY_CEILING).
"""
from __future__ import annotations

import re
from xml.parsers import expat

import numpy as np

MAX_ROWS = 30_000
MAX_COLUMNS = 100


def column_letters(column: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD."""
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """A -> 1, AA -> 27, XFD -> 16384."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


LAST_CELL = f"{column_letters(MAX_COLUMNS)}{MAX_ROWS}"


def beyond(row: int, column: int) -> bool:
    """Whether a filled cell at (row, column), 1-based, lies outside a return's size."""
    return row > MAX_ROWS or column > MAX_COLUMNS


def refusal(cell: str) -> str:
    """Why a sheet whose content reaches `cell` is refused, in Chinese."""
    return (f"表格区域过大：内容延伸到单元格 {cell}，超出了月报表格的范围 A1:{LAST_CELL}"
            f"（最多 {MAX_ROWS} 行、{MAX_COLUMNS} 列）。请删除该范围以外的内容"
            "（可整行、整列删除）后保存，再重新上传")


# --- .xlsx / .xlsm: the cell references of a worksheet's XML -------------------------------------

_LETTER, _DIGIT, _SPACE = (np.zeros(256, dtype=bool) for _ in range(3))
_LETTER[[*range(ord("A"), ord("Z") + 1), *range(ord("a"), ord("z") + 1)]] = True
_DIGIT[ord("0"):ord("9") + 1] = True
_SPACE[list(b" \t\r\n")] = True
_LAST_LETTERS, _LAST_DIGITS = column_letters(MAX_COLUMNS), str(MAX_ROWS)
_PADDING = bytes(16)  # past the end of a chunk, for the bytes after its last reference
_REFERENCE = re.compile(rb'([A-Za-z]{1,4})([0-9]{1,9})"')


def _references(a: np.ndarray, end: int) -> np.ndarray:
    """Where the value of each ` r="` attribute before `end` starts: every cell's reference
    (and every row's number, which has no letters)."""
    r = np.flatnonzero(a[:end] == ord("r"))
    return r[_SPACE[a[r - 1]] & (a[r + 1] == ord("=")) & (a[r + 2] == ord('"'))] + 3


def _run(a: np.ndarray, starts: np.ndarray, kind: np.ndarray, most: int) -> np.ndarray:
    """How many bytes of `kind` (letters, digits) follow each start, counting up to `most`."""
    length, going = np.zeros(len(starts), dtype=np.intp), np.ones(len(starts), dtype=bool)
    for k in range(most):
        going &= kind[a[starts + k]]
        length += going
    return length


def _may_exceed(first: np.ndarray, length: np.ndarray, limit: str) -> np.ndarray:
    """Which numbers, spelled `length` long from `first`, may exceed `limit`: longer ones, and
    those as long whose first character is not below `limit`'s."""
    return (length > len(limit)) | ((length == len(limit)) & (first >= ord(limit[0])))


def _candidates(data: bytes, end: int) -> np.ndarray:
    """Where in `data` (up to `end`) a reference starts that may lie beyond the caps: a
    superset, judged exactly by _far_cell, found by a few passes in C over the bytes and the
    half million references of a large sheet (a pattern tried at each of them costs twice)."""
    a = np.frombuffer(data + _PADDING, dtype=np.uint8)
    starts = _references(a, end)
    letters = _run(a, starts, _LETTER, len(_LAST_LETTERS) + 1)
    digits = _run(a, starts + letters, _DIGIT, len(_LAST_DIGITS) + 1)
    far = (_may_exceed(a[starts] & 0xDF, letters, _LAST_LETTERS)  # a-z as A-Z
           | (letters > 0) & _may_exceed(a[starts + letters], digits, _LAST_DIGITS))
    return starts[far]


def _far_cell(data: bytes, start: int) -> str | None:
    """The reference at `start` if its cell lies beyond the caps and may hold something: a
    self-closed cell (`<c r="A9" s="1"/>`, a formatted blank) is left out of calamine's grid."""
    reference = _REFERENCE.match(data, start)
    if reference is None:  # not a cell's reference after all
        return None
    letters, digits = reference.groups()
    if not beyond(int(digits), column_number(letters.decode())):
        return None
    end = data.find(b">", start)
    if end > 0 and data[end - 1:end] == b"/":
        return None
    return (letters + digits).decode().upper()


class FarCell:
    """The first filled cell beyond the caps in the XML of the worksheet `sheet`, fed as it
    is inflated.

    Only its references are looked at. A cell without an `r` attribute, or with one written
    otherwise than `r="A1"` (XML allows `r = 'A1'`; no common program writes it), is not
    seen here; read.py checks the grid calamine builds as well."""

    def __init__(self, sheet: str) -> None:
        self.sheet = sheet
        self.cell: str | None = None
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        if self.cell is None:
            data = self._tail + chunk
            cut = data.rfind(b"<")  # a tag cut by the chunk's end is scanned with the next
            cut = len(data) if cut < 0 else cut
            self._tail = data[cut:]
            self._scan(data, cut)

    def close(self) -> tuple[str, str] | None:
        """(sheet, cell) of the first filled cell beyond the caps, or None."""
        if self.cell is None:
            self._scan(self._tail, len(self._tail))
        return (self.sheet, self.cell) if self.cell else None

    def _scan(self, data: bytes, end: int) -> None:
        for start in _candidates(data, end).tolist():
            self.cell = _far_cell(data, start)
            if self.cell:
                return


# --- .ods: the tables of content.xml -------------------------------------------------------------

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TABLE, ROW = f"{_TABLE} table", f"{_TABLE} table-row"
CELLS = {f"{_TABLE} table-cell", f"{_TABLE} covered-table-cell"}
NAME, VALUE_TYPE = f"{_TABLE} name", f"{_OFFICE} value-type"
ROWS_REPEATED = f"{_TABLE} number-rows-repeated"
COLUMNS_REPEATED = f"{_TABLE} number-columns-repeated"


class OdsFarCell:
    """The first table of an .ods content.xml with a filled cell beyond the caps, and that
    cell, fed as it is inflated. A row or a cell may stand for many (number-rows-repeated,
    number-columns-repeated) and calamine repeats a value as told: a 2 KB file can declare a
    million filled rows. A cell counts when it has a value type, as calamine counts it."""

    def __init__(self) -> None:
        self.found: tuple[str, str] | None = None   # (table, cell)
        self._table = ""
        self._row = self._repeat = self._column = 0
        self._parser = expat.ParserCreate(namespace_separator=" ")
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end

    def feed(self, chunk: bytes) -> None:
        if self.found is None:
            self._parser.Parse(chunk, False)

    def close(self) -> tuple[str, str] | None:
        """(table, cell) of the first filled cell beyond the caps, or None."""
        if self.found is None:
            self._parser.Parse(b"", True)
        return self.found

    def _start(self, name: str, attributes: dict) -> None:
        if name == TABLE:
            self._table, self._row = attributes.get(NAME, ""), 0
        elif name == ROW:
            self._repeat, self._column = int(attributes.get(ROWS_REPEATED, 1)), 0
        elif name in CELLS:
            repeat = int(attributes.get(COLUMNS_REPEATED, 1))
            row, column = self._row + self._repeat, self._column + repeat  # its last cell
            if VALUE_TYPE in attributes and self.found is None and beyond(row, column):
                self.found = (self._table, f"{column_letters(column)}{row}")
            self._column = column

    def _end(self, name: str) -> None:
        if name == ROW:
            self._row += self._repeat
