"""Text that leaves the platform for a spreadsheet (CSV, XLSX, a table copied from a page,
the template that comes back): formula-like text is made inert, never run."""
from __future__ import annotations

import re
import unicodedata

import pandas as pd
from openpyxl import Workbook

# A spreadsheet runs a cell starting with one of these as a formula (or a DDE payload):
# = + - @ after any spaces, their full-width forms (what a Chinese input method types, and
# what Excel and WPS take for them), or a leading tab or carriage return.
FORMULA_TRIGGER = re.compile(r"^(?:[\t\r]|\s*[=+\-@＝＋－＠])")
INERT_PREFIX = "'"  # Excel's own mark for "text as typed": shown, never run


def formula_like(value) -> bool:
    """Whether a spreadsheet would run `value`: text only (-3 as a number is a number)."""
    return isinstance(value, str) and FORMULA_TRIGGER.match(value) is not None


def defuse(value):
    """The rule for every surface that hands text on (CSV, XLSX, the tables on the pages,
    whose cells can be copied into Excel): formula-like text gets a leading apostrophe, so
    it is shown as typed, never run. Anything else (numbers, None) is returned as it is."""
    return INERT_PREFIX + value if formula_like(value) else value


def defused(frame) -> pd.DataFrame:
    """A copy of `frame` (or of anything pd.DataFrame takes) with `defuse` applied to every
    text cell, the index's included; numeric columns are left as they are."""
    shown = pd.DataFrame(frame).copy()
    for key in shown.columns:
        if not pd.api.types.is_numeric_dtype(shown[key]):
            shown[key] = shown[key].map(defuse)
    if not pd.api.types.is_numeric_dtype(shown.index):
        shown.index = shown.index.map(defuse)
    return shown


def defuse_cells(workbook: Workbook) -> None:
    """The same rule for a workbook that comes back (the template a clerk fills and uploads
    again): formula-like text stays as typed, in a text cell with Excel's quote prefix, so it
    is shown, never run, and reads back unchanged (an apostrophe would be stored with it on
    the next upload)."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if formula_like(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True


def defused_text(column: pd.Series) -> pd.Series:
    """`defuse` over a whole text column at once (a province's export has a million rows),
    missing values as empty text."""
    text = column.astype("string").fillna("")
    return text.where(~text.str.match(FORMULA_TRIGGER), INERT_PREFIX + text)


def display_width(text: str) -> int:
    """Width in Latin characters: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
