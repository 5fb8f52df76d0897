"""What the cells of a sheet hold, judged a whole column at a time: normalised text, which
cells are blank, which hold numbers and which text. A filled return is tens of thousands of
cells; looking at each in Python is what would make reading it slow.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas._libs import lib

_SPACES = re.compile(r"\s+")


def norm_text(value) -> str:
    """Full-width to half-width, no spaces or line breaks, no required-field asterisks."""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACES.sub("", text).replace("*", "").replace("＊", "").upper()


def norm_series(values: pd.Series, upper: bool = True) -> pd.Series:
    """norm_text over a whole column at once (codes keep their case: upper=False)."""
    text = (values.where(values.notna(), "").astype(str).str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
            .str.replace("*", "", regex=False))
    return text.str.upper() if upper else text


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


def ascii_digits(texts: np.ndarray) -> np.ndarray:
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
class Classified:
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


def classify(columns: np.ndarray) -> Classified:
    """`columns`: cells as (columns, rows). A filled return is runs of float cells and of
    text: a run all of one type is recognised in one pass in C (pandas'); a run of
    mixed types is halved until its halves are of one type or short, and only those
    short runs (around blank cells, 合计, signatures...) are typed cell by cell. The odd
    cells (None, dates, booleans...) go through is_empty."""
    shape = columns.shape
    numbers = np.full(shape, np.nan)
    floats, ints, texts, nones = (np.zeros(shape, dtype=bool) for _ in range(4))

    def one_run(j: int, start: int, stop: int) -> None:
        run = columns[j, start:stop]
        if lib.is_float_array(run):
            floats[j, start:stop] = True
            numbers[j, start:stop] = run.astype(float)
        elif lib.is_string_array(run, skipna=False):
            texts[j, start:stop] = True
        elif stop - start > TYPED_ROWS:
            middle = (start + stop) // 2
            one_run(j, start, middle)
            one_run(j, middle, stop)
        else:
            kinds = _TYPE(run)
            floats[j, start:stop], ints[j, start:stop] = kinds == float, kinds == int
            texts[j, start:stop], nones[j, start:stop] = kinds == str, kinds == type(None)
            held = floats[j, start:stop] | ints[j, start:stop]
            numbers[j, start:stop][held] = run[held].astype(float)

    for j in range(shape[0]):
        for start in range(0, shape[1], CLASSIFY_ROWS):
            one_run(j, start, min(start + CLASSIFY_ROWS, shape[1]))
    blank = (floats & np.isnan(numbers)) | nones
    other = ~(floats | ints | texts | nones)
    for j, cells in enumerate(columns):
        if texts[j].any():
            blank[j, texts[j]] = _blank_texts(cells[texts[j]])
        if other[j].any():
            blank[j, other[j]] = is_empty(pd.Series(cells[other[j]], dtype=object)).to_numpy(
                dtype=bool)
    return Classified(numbers, floats, ints, texts, nones, blank)


def as_pandas_infers(columns: np.ndarray, found: Classified) -> None:
    """The cells of a column of numbers as pandas would type it: where ints meet floats or
    None, all are floats (None NaN), so that a value quoted in a message reads the same as
    when the raw sheet was a DataFrame (which the file's few int cells, from .xls, expose)."""
    numeric = (found.floats | found.ints | found.nones).all(axis=1)
    widened = (numeric & (found.floats | found.ints).any(axis=1)
               & (found.floats | found.nones).any(axis=1) & (found.ints | found.nones).any(axis=1))
    for j in np.flatnonzero(widened):
        cast = found.ints[j] | found.nones[j]
        columns[j, cast] = found.numbers[j, cast].tolist()


