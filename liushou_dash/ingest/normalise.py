"""Turn raw cell values into typed columns, one vectorised normaliser per field kind.

Tolerated as clerks send them: numbers stored as text, full-width digits, thousands
separators, '—' '-' '/' '无' for zero, blank count cells (read as 0, warning W01), dates as
Excel dates, serial numbers or text (2026-3-5, 2026/3/5, 2026年3月5日, 20260305).
Refused: E05 (not a whole number >= 0 / not an amount >= 0), E12 (not an allowed value),
E13 (a date that cannot be read).
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pandas._libs import lib

from liushou_dash import catalog
from liushou_dash.ingest.cells import ascii_digits, is_empty, norm_series
from liushou_dash.ingest.issues import Issue, as_typed, issue
from liushou_dash.ingest.parse import ParsedSheet

ZERO_TOKENS = {"-", "--", "---", "—", "——", "–", "―", "/", "//", "\\", "无", "空", "〇"}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_NUMBER_NOISE = r"[,¥￥元]"
NUMBERS_ONLY = frozenset(("empty", "floating", "integer", "mixed-integer-float"))


def _types(raw: pd.Series) -> pd.Series:
    return raw.map(type)


def _numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(float values with NaN where unreadable, mask of cells that are not numbers).

    Cells the spreadsheet already holds as numbers pass straight through; only the others
    (text, full-width digits, dashes) are normalised, so a clean sheet costs little."""
    if lib.infer_dtype(raw, skipna=True) in NUMBERS_ONLY:  # a clean sheet: one pass in C
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        return values, values.isna()
    kinds = _types(raw)
    numeric = kinds.isin((int, float))
    values = pd.Series(np.nan, index=raw.index)
    values[numeric] = raw[numeric].astype(float)
    other = raw[~numeric & ~kinds.eq(bool)]
    if len(other):
        text = norm_series(other).str.replace(_NUMBER_NOISE, "", regex=True)
        values[other.index] = pd.to_numeric(text.where(~text.isin(ZERO_TOKENS), "0"),
                                            errors="coerce")
    return values, values.isna()


def _cells(parsed: ParsedSheet, key: str, mask: pd.Series, code: str, message: str,
           sheet_label: str, label: str) -> list[Issue]:
    rows = parsed.excel_rows[mask]
    values = parsed.frame.loc[mask, key]
    return [issue(code, message.format(value=as_typed(v)), sheet_label, int(r), label,
                  parsed.letters[key])
            for r, v in zip(rows, values)]


class _Column:
    """One column of one sheet being normalised; collects its issues."""

    def __init__(self, parsed: ParsedSheet, f: catalog.Field):
        self.parsed, self.field = parsed, f
        self.raw = parsed.frame[f.key]
        self.blank = parsed.blank[f.key] if parsed.blank is not None else is_empty(self.raw)
        self.known = parsed.columns.get(f.key)  # what the parse found of the cells, if known
        self.issues: list[Issue] = []
        self.blank_read_as_default = pd.Series(False, index=self.raw.index)

    def flag(self, mask, code: str, message: str) -> None:
        if mask.any():
            self.issues += _cells(self.parsed, self.field.key, mask, code, message,
                                  self.parsed.sheet.label, self.field.label)

    def _numbers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values, unreadable, blank) as arrays. The cells the parse found held as numbers
        are taken as found; only the others that are not blank (text, dashes...) are read
        by _numbers. A blank cell's value is never used: it is NaN here."""
        blank = self.blank.to_numpy(dtype=bool)
        if self.known is None:
            values, unreadable = _numbers(self.raw)
            return values.to_numpy(dtype=float), unreadable.to_numpy(dtype=bool), blank
        values = self.known.numbers.copy()
        todo = np.isnan(values) & ~blank
        if todo.any():
            values[todo] = _numbers(self.raw[todo])[0].to_numpy(dtype=float)
        return values, np.isnan(values), blank

    def _series(self, values) -> pd.Series:
        return pd.Series(values, index=self.raw.index)

    def count(self) -> pd.Series:
        values, unreadable, blank = self._numbers()
        with np.errstate(invalid="ignore"):
            bad = ~blank & (unreadable | (values < 0) | (values % 1 != 0))
        return self.counted(np.where(~blank & ~bad, values, 0).astype("int64"), bad)

    def counted(self, values: np.ndarray, bad: np.ndarray) -> pd.Series:
        """The count column, its values and unreadable cells found (by count or _counts)."""
        self.flag(bad, "E05", "“{value}”不是大于等于0的整数")
        self.blank_read_as_default = self.blank
        return self._series(values)

    def number(self) -> pd.Series:
        values, unreadable, blank = self._numbers()
        bad = ~blank & (unreadable | (values < 0))
        self.flag(bad, "E05", "“{value}”不是大于等于0的数")
        if self.field.required:
            self.blank_read_as_default = self.blank
            return self._series(np.where(~blank & ~bad, values, 0.0))
        return self._series(np.where(~blank & ~bad, values, np.nan))

    def money(self) -> pd.Series:
        values, unreadable, blank = self._numbers()
        cents = values * 100
        with np.errstate(invalid="ignore"):
            bad = blank | unreadable | (values < 0) | (np.abs(cents - cents.round()) > 1e-6)
        self.flag(bad, "E05", "“{value}”不是大于等于0的金额（最多两位小数）")
        return self._series(np.where(~bad, values, 0.0)).round(2)

    def code(self) -> pd.Series:
        blank = self.blank.to_numpy(dtype=bool)
        codes = self.raw.to_numpy(dtype=object).copy()
        # A code of ASCII digits, as most are, is its own normal form.
        plain = np.zeros(len(codes), dtype=bool)
        texts = (self.known.texts if self.known is not None
                 else self.raw.map(type).eq(str).to_numpy(dtype=bool))
        plain[texts] = ascii_digits(codes[texts])
        rest = ~plain & ~blank
        if rest.any():
            codes[rest] = self._code_slowly(self.raw[rest]).to_numpy(dtype=object)
        codes[blank] = None
        return self._series(codes)

    @staticmethod
    def _code_slowly(raw: pd.Series) -> pd.Series:
        kinds = _types(raw)
        as_int = pd.to_numeric(raw.where(kinds.eq(float) | kinds.eq(int)), errors="coerce")
        whole = as_int.notna() & (as_int % 1 == 0)
        text = norm_series(raw, upper=False).str.lstrip("'").str.replace(
            r"\.0$", "", regex=True)
        return text.where(~whole, as_int.where(whole, 0).astype("int64").astype(str))

    def text(self) -> pd.Series:
        blank = self.blank.to_numpy(dtype=bool)
        out = np.full(len(blank), None, dtype=object)
        cells = self.raw.to_numpy(dtype=object)
        texts = (self.known.texts if self.known is not None
                 else self.raw.map(type).eq(str).to_numpy(dtype=bool)) & ~blank
        out[texts] = list(map(str.strip, cells[texts].tolist()))
        rest = ~texts & ~blank
        if rest.any():
            out[rest] = self.raw[rest].astype(str).str.strip().to_numpy(dtype=object)
        return self._series(out)

    def _choice(self, blank_default: str | None) -> pd.Series:
        f = self.field
        lookup = {norm_series(pd.Series([c])).iloc[0]: c for c in f.choices}
        lookup.update({norm_series(pd.Series([a])).iloc[0]: v for a, v in f.choice_aliases})
        values = norm_series(self.raw).map(lookup)
        bad = ~self.blank & values.isna()
        allowed = "、".join(f.choices)
        self.flag(bad, "E12", f"“{{value}}”不是可选值（可选：{allowed}）")
        if blank_default is None:
            self.flag(self.blank, "E12", f"不能为空（可选：{allowed}）")
        else:
            self.blank_read_as_default = self.blank
            values = values.where(~self.blank, blank_default)
        return values

    def enum(self) -> pd.Series:
        return self._choice(blank_default=None)

    def bool(self) -> pd.Series:
        return self._choice(blank_default=catalog.NO).eq(catalog.YES)

    def date(self) -> pd.Series:
        kinds = _types(self.raw)
        native = kinds.isin((dt.date, dt.datetime, pd.Timestamp))
        serial = pd.to_numeric(self.raw.where(kinds.isin((int, float))), errors="coerce")
        text = norm_series(self.raw.where(~native & serial.isna(), ""))
        text = (text.str.replace(r"[年月./]", "-", regex=True).str.replace("日", "")
                .str.replace(r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3", regex=True))
        values = pd.to_datetime(text.where(text.ne("")), format="%Y-%m-%d", errors="coerce")
        values = values.fillna(pd.to_datetime(self.raw.where(native), errors="coerce"))
        in_range = serial.between(20000, 80000)
        values = values.fillna(EXCEL_EPOCH + pd.to_timedelta(serial.where(in_range), unit="D"))
        bad = ~self.blank & values.isna()
        self.flag(bad, "E13", "日期“{value}”无法识别，请填写如 2026-10-15")
        if self.field.required:
            self.flag(self.blank, "E13", "日期不能为空")
        return values.dt.date.where(values.notna(), None)


def _counts(parsed: ParsedSheet) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """key -> (int64 values, unreadable cells) of every count column whose cells the parse
    typed, all at once: a 学校月报 is twenty-two of them, a column at a time costs more in
    per-column overhead than the arithmetic itself. As _Column.count does it."""
    keys = [f.key for f in parsed.sheet.fields
            if f.kind == catalog.COUNT and f.key in parsed.columns and f.key in parsed.frame]
    if not keys or parsed.blank is None:
        return {}
    numbers = np.stack([parsed.columns[key].numbers for key in keys])
    blank = parsed.blank[keys].to_numpy(dtype=bool).T
    todo = np.isnan(numbers) & ~blank
    for j in np.flatnonzero(todo.any(axis=1)):  # text, dashes...: read as _numbers reads them
        numbers[j, todo[j]] = _numbers(parsed.frame[keys[j]][todo[j]])[0].to_numpy(dtype=float)
    # Not a whole number >= 0: as `values % 1 != 0` judges, without its slow division (an
    # infinity is no whole number for either).
    bad = ~blank & (~np.isfinite(numbers) | (numbers < 0) | (np.trunc(numbers) != numbers))
    values = np.where(~blank & ~bad, numbers, 0).astype("int64")
    return {key: (values[j], bad[j]) for j, key in enumerate(keys)}


def _blank_warnings(parsed: ParsedSheet, columns: list[_Column]) -> list[Issue]:
    """One W01 per row, naming the blank cells that were read as 0 (or 否)."""
    blank = np.stack([c.blank_read_as_default.to_numpy(dtype=bool) for c in columns]) if columns \
        else np.zeros((0, len(parsed.frame)), dtype=bool)
    found = []
    for i in np.flatnonzero(blank.any(axis=0)):
        labels = [c.field.label for c, is_blank in zip(columns, blank[:, i]) if is_blank]
        first = next(c for c in columns if c.field.label == labels[0])
        found.append(issue("W01", f"{'、'.join(labels)} 为空，已按0（或“否”）计",
                           parsed.sheet.label, int(parsed.excel_rows.iloc[i]), labels[0],
                           parsed.letters[first.field.key]))
    return found


def normalise_sheet(parsed: ParsedSheet) -> tuple[pd.DataFrame, list[Issue]]:
    typed: dict[str, pd.Series] = {}
    columns: list[_Column] = []
    counts = _counts(parsed)
    for f in parsed.sheet.fields:
        if f.key not in parsed.frame:
            typed[f.key] = pd.Series([None] * len(parsed.frame), index=parsed.frame.index,
                                     dtype=object)
            continue
        column = _Column(parsed, f)
        typed[f.key] = (column.counted(*counts[f.key]) if f.key in counts
                        else getattr(column, f.kind)())
        columns.append(column)
    found = [i for c in columns for i in c.issues]
    return pd.DataFrame(typed, index=parsed.frame.index), found + _blank_warnings(parsed, columns)


def normalise(parsed: dict[str, ParsedSheet]) -> tuple[dict[str, pd.DataFrame], list[Issue]]:
    frames, found = {}, []
    for key, one in parsed.items():
        frames[key], issues_of_sheet = normalise_sheet(one)
        found += issues_of_sheet
    return frames, found
