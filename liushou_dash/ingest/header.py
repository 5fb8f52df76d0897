"""Find a return sheet's header, wherever the clerk put it: on any of the first rows, one or
two rows deep (a group label such as 性别 over 男/女, merged or not), with spaces and line
breaks, among extra columns (序号, remarks) that are ignored. A header text names a field by
any of the catalogue's spellings.
"""
from __future__ import annotations

import functools
import re

from liushou_dash import catalog
from liushou_dash.ingest.cells import norm_text
from liushou_dash.ingest.read import RawSheet

HEADER_SEARCH_ROWS = 30
_TRAILING_UNIT = re.compile(r"\([^()]*\)$")
_SUB_ITEM = re.compile(r"^其中[:,]?")


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


def normed_rows(raw: RawSheet) -> list[list[str]]:
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
    normed = normed_rows(raw) if normed is None else normed
    best: tuple[int, int, dict[str, int]] = (0, -1, {})
    for r in range(min(HEADER_SEARCH_ROWS, len(raw.rows))):
        for two_level in (False, True) if r else (False,):
            found = _match_header(raw.rows, r, sheet.key, raw.merged, two_level, normed)
            if len(found) > best[0]:
                best = (len(found), r, found)
    return best[1], best[2]
