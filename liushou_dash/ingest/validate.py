"""Rules across columns and against master data, vectorised over whole sheets.

Errors E03/E04/E06-E11/E13 refuse the file; warnings W02-W06 are stored with it.
"""
from __future__ import annotations

import pandas as pd

from .. import catalog, geo
from .context import Context, period_end
from .issues import MAX_LISTED_PER_CODE, Issue, issue
from .parse import ParsedSheet, norm_series

SCHOOL = catalog.SCHOOLS
PARTS_OF_LEFT_BEHIND = ("both_parents_away", "boarding", "in_difficulty", "archived", "paired",
                        "parent_contact")
SUMS_TO_LEFT_BEHIND = {  # code -> the columns that must add up to 留守儿童数
    "E07": ("boys", "girls"),
    "E08": ("preschool", "primary", "junior"),
    "E09": ("guardian_grandparents", "guardian_relatives", "guardian_other", "guardian_none"),
}
LEFT_BEHIND_CHANGE_WARNING = 0.30


class _Row(dict):
    """One row's values by key and as attributes, as the message functions read them."""
    __getattr__ = dict.__getitem__


class _Sheet:
    """A typed frame with the parsed sheet's row numbers and column letters, for messages."""

    def __init__(self, frame: pd.DataFrame, parsed: ParsedSheet | None):
        self.frame, self.parsed = frame, parsed
        self.sheet = parsed.sheet if parsed else None
        self.found: list[Issue] = []

    def flag(self, mask: pd.Series, code: str, key: str, message) -> None:
        """Add an issue for every row where mask is true; message(row) -> text.

        A warning may hold for every one of 20,000 rows, and issues.cap lists only the
        first MAX_LISTED_PER_CODE of a code and counts the rest. So only those first rows
        get a message; each further row is counted by repeating the last listed issue,
        which cap counts and never lists."""
        flagged = int(mask.sum())
        if not flagged:
            return
        letter = self.parsed.letters.get(key) if self.parsed is not None else None
        label = self.sheet.field(key).label
        listed = mask & (mask.cumsum() <= MAX_LISTED_PER_CODE)
        rows = self.frame.loc[listed].to_dict("records")
        numbers = (self.parsed.excel_rows.loc[listed].tolist() if self.parsed is not None
                   else [None] * len(rows))
        found = [issue(code, message(_Row(row)), self.sheet.label, number, label, letter)
                 for row, number in zip(rows, numbers)]
        self.found += found + found[-1:] * (flagged - len(found))


def _codes_of_township(context: Context) -> tuple[set[str], dict[str, str], dict[str, str]]:
    return context.school_index


def _duplicates(s: _Sheet, key: str, what: str) -> None:
    values = s.frame[key]
    s.flag(values.notna() & values.duplicated(keep="first"), "E04", key,
           lambda r: f"{what}“{r[key]}”重复出现")


def _check_school_codes(s: _Sheet, context: Context) -> None:
    own, township_of, _ = _codes_of_township(context)
    code = s.frame["school_code"]
    s.flag(code.isna(), "E03", "school_code", lambda r: "学校代码为空")
    unknown = code.notna() & ~code.isin(township_of)
    s.flag(unknown, "E03", "school_code", lambda r: f"学校代码“{r.school_code}”在主数据中不存在")
    foreign = code.isin(township_of) & ~code.isin(own)
    s.flag(foreign, "E03", "school_code",
           lambda r: f"学校“{r.school_code}”不属于{context.township_name}")
    _duplicates(s, "school_code", "学校代码")


def _check_school_arithmetic(s: _Sheet, _context: Context) -> None:
    f = s.frame
    left = f["left_behind"]
    s.flag(left > f["students"], "E06", "left_behind",
           lambda r: f"留守儿童数 {r.left_behind} 大于在校学生数 {r.students}")
    for code, parts in SUMS_TO_LEFT_BEHIND.items():
        total = f[list(parts)].sum(axis=1)
        labels = "+".join(SCHOOL.field(p).label for p in parts)
        s.flag(total != left, code, parts[0], lambda r, parts=parts, labels=labels:
               f"{labels} = {sum(r[p] for p in parts)}，不等于留守儿童数 {r.left_behind}")
    for part in PARTS_OF_LEFT_BEHIND:
        label = SCHOOL.field(part).label
        s.flag(f[part] > left, "E10", part, lambda r, part=part, label=label:
               f"{label} {r[part]} 大于留守儿童数 {r.left_behind}")
    s.flag(f["visited"] > f["paired"], "E11", "visited",
           lambda r: f"本月走访人数 {r.visited} 大于已结对帮扶 {r.paired}")


def _school_warnings(s: _Sheet, context: Context) -> None:
    f = s.frame
    _, _, names = _codes_of_township(context)
    expected = f["school_code"].map(names)
    given = f["school_name"]
    # Normalise only the names that differ as typed: most are copied from the template.
    differs = given.notna() & expected.notna() & given.ne(expected)
    differs[differs] = (norm_series(given[differs]) != norm_series(expected[differs])).to_numpy()
    s.flag(differs, "W02", "school_name",
           lambda r: f"学校名称“{r.school_name}”与主数据“{names.get(r.school_code)}”不一致")
    last = f["school_code"].map(context.last_month_left_behind)
    jump = last.notna() & (last > 0) & (
        (f["left_behind"] - last).abs() > LEFT_BEHIND_CHANGE_WARNING * last)
    s.flag(jump, "W03", "left_behind", lambda r: (
        f"留守儿童数 {r.left_behind} 较上月 {int(context.last_month_left_behind[r.school_code])} "
        f"变化超过30%，请核实"))
    s.flag(f["guardian_none"] > 0, "W04", "guardian_none",
           lambda r: f"有 {r.guardian_none} 名无人监护的留守儿童，请立即落实监护责任")
    archived_below = f["archived"] < f["left_behind"]
    paired_below = ~archived_below & (f["paired"] < f["left_behind"])
    for key, mask in (("archived", archived_below), ("paired", paired_below)):
        s.flag(mask, "W06", key, lambda r: (
            f"已建档 {r.archived}、已结对帮扶 {r.paired}，少于留守儿童数 {r.left_behind}"))
    missing = sorted(set(names) - set(f["school_code"].dropna()))
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
    late = f["established"].map(lambda d: d is not None and d > end)
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


def validate(context: Context, frames: dict[str, pd.DataFrame],
             parsed: dict[str, ParsedSheet]) -> list[Issue]:
    found: list[Issue] = []
    checks = {"schools": (_check_school_codes, _check_school_arithmetic, _school_warnings),
              "homes": (_check_homes,), "funding": (_check_funding,)}
    for key, frame in frames.items():
        s = _Sheet(frame, parsed.get(key))
        for check in checks[key]:
            check(s, context)
        found += s.found
    return found
