"""Rules across columns and against master data, vectorised over whole sheets.

Errors E03/E04/E06-E11/E13 refuse the file; warnings W02-W06 are stored with it. The rules
between the columns of a row (E06-E11, W04, W06) are declared in catalog/validation.py and
checked here from the declarations (check_rules); the rest need master data, dates or last
month and are written out below.
"""
from __future__ import annotations

import operator
from collections.abc import Iterable
from itertools import repeat

import numpy as np
import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog import validation
from liushou_dash.catalog.rules import load_rules
from liushou_dash.catalog.validation import AtLeast, AtMost, Bound, PartsOfWhole, Rule
from liushou_dash.core import geo
from liushou_dash.core.periods import period_end
from liushou_dash.ingest import plausibility
from liushou_dash.ingest.cells import norm_series
from liushou_dash.ingest.context import Context
from liushou_dash.ingest.issues import MAX_LISTED_PER_CODE, Issue, issue
from liushou_dash.ingest.parse import ParsedSheet

SCHOOL = catalog.SCHOOLS


class _Rows:
    """The listed rows of a frame; a column's values are taken out (as Python's own: int,
    float, bool, the objects, as DataFrame.to_dict gives them) when a message first asks."""

    def __init__(self, frame: pd.DataFrame, positions: np.ndarray):
        self.frame, self.positions, self.columns = frame, positions, {}

    def values(self, key: str) -> list:
        if key not in self.columns:
            column = self.frame[key].iloc[self.positions]
            self.columns[key] = (column.tolist() if column.dtype.kind in "iufbO"
                                 else list(column))
        return self.columns[key]


class _Row:
    """One row's values by key and as attributes, as the message functions read them."""
    __slots__ = ("_rows", "_i")

    def __init__(self, rows: _Rows, i: int):
        self._rows, self._i = rows, i

    def __getitem__(self, key: str):
        return self._rows.values(key)[self._i]

    __getattr__ = __getitem__


class _Sheet:
    """A typed frame with the parsed sheet's row numbers and column letters, for messages."""

    def __init__(self, frame: pd.DataFrame, parsed: ParsedSheet | None):
        self.frame, self.parsed = frame, parsed
        self.sheet = parsed.sheet if parsed else None
        self.found: list[Issue] = []

    def flag(self, mask, code: str, key: str, message) -> None:
        """Add an issue for every row where mask is true; message(row) -> text.

        A warning may hold for every one of 20,000 rows, and issues.cap lists only the
        first MAX_LISTED_PER_CODE of a code and counts the rest. So only those first rows
        get a message; each further row is counted by repeating the last listed issue,
        which cap counts and never lists."""
        flagged = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(flagged):
            return
        letter = self.parsed.letters.get(key) if self.parsed is not None else None
        label = self.sheet.field(key).label
        listed = flagged[:MAX_LISTED_PER_CODE]
        rows = _Rows(self.frame, listed)
        numbers = (self.parsed.excel_rows.iloc[listed].tolist() if self.parsed is not None
                   else [None] * len(listed))
        found = [issue(code, message(_Row(rows, i)), self.sheet.label, number, label, letter)
                 for i, number in enumerate(numbers)]
        self.found += found + found[-1:] * (len(flagged) - len(found))


def _codes_of_township(context: Context) -> tuple[set[str], dict[str, str], dict[str, str]]:
    return context.school_index


def _present(values: list) -> np.ndarray:
    """Which values are not None: the missing of a normalised code or text column, and of a
    look-up (a pass in C over a list, where isna on an object column costs several)."""
    return np.fromiter(map(operator.is_not, values, repeat(None)), bool, len(values))


def _looked_up(values: list, mapping: dict) -> list:
    """mapping[value] for each value, None where it has none: dict look-ups, where
    Series.map(dict) and Series.isin(dict) first turn a township's 20,000 codes into an
    index of their own."""
    return list(map(mapping.get, values))


def _duplicates(s: _Sheet, key: str, what: str) -> None:
    values = s.frame[key]
    s.flag(values.notna() & values.duplicated(keep="first"), "E04", key,
           lambda r: f"{what}“{r[key]}”重复出现")


def _check_school_codes(s: _Sheet, context: Context) -> None:
    _, township_of, _ = _codes_of_township(context)
    codes = s.frame["school_code"].tolist()
    township = _looked_up(codes, township_of)
    # As a rule every code is there and names a school of the township: two passes in C.
    if codes.count(None) or township.count(context.township_code) != len(township):
        present, known = _present(codes), _present(township)
        s.flag(~present, "E03", "school_code", lambda r: "学校代码为空")
        s.flag(present & ~known, "E03", "school_code",
               lambda r: f"学校代码“{r.school_code}”在主数据中不存在")
        foreign = known & np.fromiter(
            map(operator.ne, township, repeat(context.township_code)), bool, len(township))
        s.flag(foreign, "E03", "school_code",
               lambda r: f"学校“{r.school_code}”不属于{context.township_name}")
    _duplicates(s, "school_code", "学校代码")


# --- The declared rules (catalog/validation.py) ---------------------------------------------

def _label(s: _Sheet, key: str) -> str:
    return s.sheet.field(key).label


def _sum_text(s: _Sheet, r: _Row, parts: tuple[str, ...]) -> str:
    """'男（F列）6 + 女（G列）4 = 10': every column of a sum with its letter and value, since
    the sum is wrong as a whole and the issue's own place can name only the first column."""
    letters = s.parsed.letters if s.parsed is not None else {}
    named = [f"{_label(s, p)}（{letters[p]}列）" if letters.get(p) else f"{_label(s, p)} "
             for p in parts]
    return (" + ".join(f"{name}{r[p]}" for name, p in zip(named, parts))
            + f" = {sum(r[p] for p in parts)}")


def _parts_of_whole(s: _Sheet, rule: PartsOfWhole) -> None:
    f, whole = s.frame, _label(s, rule.whole)
    total = sum(f[p].to_numpy() for p in rule.parts)
    s.flag(total != f[rule.whole].to_numpy(), rule.code, rule.parts[0], lambda r: (
        f"{_sum_text(s, r, rule.parts)}，不等于{whole} {r[rule.whole]}，请核对这几列"))


def _exceeds(s: _Sheet, code: str, part: str, whole: str) -> None:
    """One part of an AtMost, flagged at its own column."""
    f, part_label, whole_label = s.frame, _label(s, part), _label(s, whole)
    s.flag(f[part].to_numpy() > f[whole].to_numpy(), code, part,
           lambda r: f"{part_label} {r[part]} 大于{whole_label} {r[whole]}")


def _falls_short(s: _Sheet, code: str, part: str, whole: str) -> None:
    """One part of an AtLeast, at its own column and with the shortfall, so the clerk sees
    which number to look at and by how much."""
    f, part_label, whole_label = s.frame, _label(s, part), _label(s, whole)
    s.flag(f[part].to_numpy() < f[whole].to_numpy(), code, part, lambda r: (
        f"{part_label}少于{whole_label}{r[whole] - r[part]}人"
        f"（{part_label} {r[part]}，{whole_label} {r[whole]}）"))


def _part_by_part(check):
    """An AtMost or AtLeast checks each part against the whole on its own, so that each
    issue sits at the column that is wrong."""
    def each(s: _Sheet, rule: AtMost | AtLeast) -> None:
        for part in rule.parts:
            check(s, rule.code, part, rule.whole)
    return each


def _bound(s: _Sheet, rule: Bound) -> None:
    label = _label(s, rule.key)
    text = rule.message or f"{label} {{value}} 大于 {rule.most}"
    s.flag(s.frame[rule.key].to_numpy() > rule.most, rule.code, rule.key,
           lambda r: text.format(value=r[rule.key]))


_CHECKS = {PartsOfWhole: _parts_of_whole, AtMost: _part_by_part(_exceeds),
           AtLeast: _part_by_part(_falls_short), Bound: _bound}


def _enforce(s: _Sheet, rules: Iterable[Rule]) -> None:
    for rule in rules:
        _CHECKS[type(rule)](s, rule)


def check_rules(frame: pd.DataFrame, parsed: ParsedSheet, rules: Iterable[Rule]) -> list[Issue]:
    """The issues of declared rules over one typed sheet (its parse gives the sheet, the row
    numbers and the column letters): the validator's one way of checking a declaration."""
    s = _Sheet(frame, parsed)
    _enforce(s, rules)
    return s.found


def _declared_errors(s: _Sheet, _context: Context) -> None:
    _enforce(s, validation.rules_of(s.sheet.key, errors=True))


def _declared_warnings(s: _Sheet) -> None:
    _enforce(s, validation.rules_of(s.sheet.key, errors=False))


# --- Warnings --------------------------------------------------------------------------------

def _left_behind_changes(s: _Sheet, context: Context, names: dict[str, str]) -> None:
    """W03 by plausibility's rule (rules.toml [plausibility]): a change must pass an absolute
    AND a relative threshold, so a village school going from 3 to 5 children is no warning
    while one going from 200 to 120 is. Schools without a return last month are not compared."""
    f = s.frame
    last = np.array(_looked_up(f["school_code"].tolist(), context.last_month_left_behind),
                    dtype=float)
    rules = load_rules()
    with np.errstate(invalid="ignore"):
        flagged = ~np.isnan(last) & plausibility.changed(f["left_behind"].to_numpy(), last,
                                                         rules)
    last_of = context.last_month_left_behind
    s.flag(flagged, "W03", "left_behind", lambda r: (
        f"学校“{names.get(r.school_code) or r.school_name or r.school_code}”"
        + plausibility.change_reason("left_behind", r.left_behind, last_of[r.school_code],
                                     rules)))


def _school_warnings(s: _Sheet, context: Context) -> None:
    f = s.frame
    _, _, names = _codes_of_township(context)
    codes, given = f["school_code"].tolist(), f["school_name"].tolist()
    expected = _looked_up(codes, names)
    # Normalise only the names that differ as typed: most are copied from the template.
    differs = np.zeros(len(given), dtype=bool)
    if given != expected:
        differs = _present(given) & _present(expected) & np.fromiter(
            map(operator.ne, given, expected), bool, len(given))
    if differs.any():
        rows = np.flatnonzero(differs)
        differs[rows] = (norm_series(pd.Series([given[i] for i in rows], dtype=object))
                         != norm_series(pd.Series([expected[i] for i in rows], dtype=object))
                         ).to_numpy()
    s.flag(differs, "W02", "school_name",
           lambda r: f"学校名称“{r.school_name}”与主数据“{names.get(r.school_code)}”不一致")
    _left_behind_changes(s, context, names)
    _declared_warnings(s)
    missing = sorted(names.keys() - set(codes))
    if missing:
        listed = "、".join(f"{names[c]}（{c}）" for c in missing)
        s.found.append(issue("W05", f"以下学校未填报：{listed}", SCHOOL.label))


def _check_homes(s: _Sheet, context: Context) -> None:
    f = s.frame
    own_schools, _, _ = _codes_of_township(context)
    s.flag(f["home_code"].isna(), "E03", "home_code", lambda r: "之家编号为空")
    _duplicates(s, "home_code", "之家编号")
    elsewhere = f["home_code"].isin(context.other_home_codes)
    s.flag(elsewhere, "E04", "home_code", lambda r: (
        f"之家编号“{r.home_code}”已被其他乡镇（{context.other_home_codes[r.home_code]}）使用"))
    host = f["host_code"]
    at_school = f["host_type"] == "学校"
    at_village = f["host_type"].isin(("村(居)委会", "社区"))
    s.flag((at_school | at_village) & host.isna(), "E03", "host_code",
           lambda r: f"依托类型为{r.host_type}时，依托单位代码不能为空")
    s.flag(at_school & host.notna() & ~host.isin(own_schools), "E03", "host_code",
           lambda r: f"依托学校代码“{r.host_code}”不是{context.township_name}的学校")
    s.flag(at_village & host.notna() & ~host.isin(context.villages), "E03", "host_code",
           lambda r: f"依托村(居)代码“{r.host_code}”不是{context.township_name}的村(居)")
    end = period_end(context.period)
    # Vectorised through datetimes: a column with no valid date at all comes as NaT.
    late = pd.to_datetime(f["established"]) > pd.Timestamp(end)
    s.flag(late, "E13", "established", lambda r: f"建成日期 {r.established} 晚于报表月份")
    _check_coordinates(s, context)


def _check_coordinates(s: _Sheet, context: Context) -> None:
    f = s.frame
    lon, lat = f["lon"], f["lat"]
    s.flag(lon.isna() != lat.isna(), "E13", "lon", lambda r: "经度和纬度应同时填写")
    both = lon.notna() & lat.notna()
    if context.county_boundary is None or not both.any():
        return
    inside = pd.Series(False, index=f.index)
    inside[both] = geo.contains(context.county_boundary, lon[both], lat[both])
    s.flag(both & ~inside, "E13", "lon",
           lambda r: f"坐标（{r.lon}, {r.lat}）不在本县范围内，请检查经纬度是否填反或有误")


def _check_funding(s: _Sheet, context: Context) -> None:
    f = s.frame
    end = period_end(context.period)
    dated = f["date"].notna()
    outside = dated & f["date"].map(lambda d: d is not None and (d.year != context.year
                                                                  or d > end))
    s.flag(outside, "E13", "date", lambda r: (
        f"日期 {r.date} 不在 {context.year} 年 1 月 1 日至 {end} 之间"))
    _duplicates(s, "voucher", "凭证号")


def _other_warnings(s: _Sheet, _context: Context) -> None:
    """A list sheet has no warnings of its own in code, only any declared for it."""
    _declared_warnings(s)


def validate(context: Context, frames: dict[str, pd.DataFrame],
             parsed: dict[str, ParsedSheet]) -> list[Issue]:
    found: list[Issue] = []
    checks = {"schools": (_check_school_codes, _declared_errors, _school_warnings),
              "homes": (_check_homes, _declared_errors, _other_warnings),
              "funding": (_check_funding, _declared_errors, _other_warnings)}
    for key, frame in frames.items():
        s = _Sheet(frame, parsed.get(key))
        for check in checks[key]:
            check(s, context)
        found += s.found
    return found
