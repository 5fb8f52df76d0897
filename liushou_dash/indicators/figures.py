"""The figures leaders see: one computation, read by every surface (the cockpit's and the
meeting screen's cards, the bulletin's text, its 表1 and its workbook's 主要指标, and
`figures --json`), so that no two of them can disagree.

Three rules, each decided here once:
- **Coverage.** A county figure counts the townships whose return is counted this month
  (current, not returned: queries.current_conditions). A missing township is left out, not
  carried forward, and every figure says so: `reported` of `expected` townships.
- **Basis of change.** `previous` is last month's figure over the same townships as `value`,
  so `change = value - previous` compares like with like. A township counted now that was
  not counted last month adds the same parts to both months (no change, stated in the
  basis). Figures of homes, funds and reporting cover every township, both months.
  Year-to-date figures (the fund) have no previous in January: last month is another year.
- **Colour.** targets.status against the target of the month (the fund: the even pace).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog import columns, messages
from liushou_dash.catalog.columns import format_change, format_value
from liushou_dash.core import periods
from liushou_dash.core.filtering import Filter
from liushou_dash.indicators import alerts, stored, targets
from liushou_dash.indicators.ratios import indicator_value, totals

TOWNSHIP_WORD = "乡镇"


@dataclass(frozen=True)
class Coverage:
    """Which townships a month's figures cover."""
    expected: int
    reported: int
    missing: tuple[str, ...]       # names of townships without a counted return
    returned: tuple[str, ...]      # of which: returned to the township, to submit again
    approved_only: bool = False    # counted: approved returns only

    @property
    def complete(self) -> bool:
        return self.reported == self.expected

    def text(self) -> str:
        """"27/29个乡镇已报（未报：利园街道、厍东关…）": under every county figure."""
        if self.approved_only:
            return (f"{self.reported}/{self.expected}个{TOWNSHIP_WORD}的月报已审核"
                    f"（{messages.APPROVED_ONLY_NOTE}，未审核的不计入）")
        text = f"{self.reported}/{self.expected}个{TOWNSHIP_WORD}已报"
        waiting = [n for n in self.missing if n not in self.returned]
        notes = ([f"未报：{'、'.join(waiting)}"] if waiting else []) + (
            [f"{messages.RESUBMIT}：{'、'.join(self.returned)}"] if self.returned else [])
        return text + (f"（{'；'.join(notes)}）" if notes else "")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str                     # the catalogue's (its approved_label over approved data)
    value: float                   # NaN: nothing to compute it from
    previous: float                # last month over the same townships (see `basis`)
    status: str | None             # targets.MET / NEAR / MISSED; None without a target
    basis: str                     # Chinese: what `previous` covers
    parts: dict = field(default_factory=dict)   # the summed numerator and denominator

    @property
    def indicator(self) -> catalog.Indicator:
        return catalog.INDICATORS_BY_KEY[self.key]

    @property
    def change(self) -> float:
        return self.value - self.previous  # NaN when either is missing

    @property
    def text(self) -> str:
        return format_value(self.key, self.value)


@dataclass(frozen=True)
class MonthFigures:
    period: str
    coverage: Coverage
    figures: tuple[Figure, ...]

    def __getitem__(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def _counted(rows: pd.DataFrame) -> pd.Series:
    return rows["reported"].to_numpy() > 0


def coverage(month: pd.DataFrame, approved_only: bool = False) -> Coverage:
    counted = _counted(month)
    returned = month["returned"].to_numpy() > 0
    return Coverage(expected=len(month), reported=int(counted.sum()),
                    missing=tuple(month.loc[~counted, "township_name"]),
                    returned=tuple(month.loc[returned & ~counted, "township_name"]),
                    approved_only=approved_only)


def _like_for_like(month: pd.DataFrame, before: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Last month's rows of the townships counted now; a township counted now but not last
    month takes this month's rows (no change). Returns them and how many were taken so."""
    now = month[_counted(month)]
    then = before[_counted(before)].set_index("township_code")
    known = now["township_code"].isin(then.index).to_numpy()
    rows = pd.concat([then.loc[now.loc[known, "township_code"]].reset_index(), now[~known]],
                     ignore_index=True)
    return rows, int((~known).sum())


def _basis(indicator: catalog.Indicator, cover: Coverage, carried: int, period: str) -> str:
    if indicator.year_to_date and periods.starts_year(period):
        return "1月为本年度首月，不与上年比较"
    if not indicator.from_returns:
        return f"较上月，全部{cover.expected}个{TOWNSHIP_WORD}"
    if not cover.reported:
        return f"本月没有计入的{TOWNSHIP_WORD}，无从比较"
    counted = "已审核" if cover.approved_only else "已报"
    text = f"较上月，按本月{counted}的{cover.reported}个{TOWNSHIP_WORD}同口径"
    return text + (f"（其中{carried}个上月未报，按不变计）" if carried else "")


def _parts(indicator: catalog.Indicator, sums: dict) -> dict:
    keys = (indicator.numerator, indicator.denominator) if indicator.is_rate else ()
    return {key: sums.get(key, float("nan")) for key in keys if key}


def month_figures(month: pd.DataFrame, before: pd.DataFrame, period: str,
                  keys: tuple[str, ...], approved_only: bool = False) -> MonthFigures:
    """The figures `keys` of `period` from its township table (`month`, every township of
    the filter) and the month before's (`before`), read over approved returns only when
    `approved_only` (which names them so)."""
    cover = coverage(month, approved_only)
    now, all_before = totals(month), totals(before)
    alike_rows, carried = _like_for_like(month, before)
    alike = totals(alike_rows)
    found = []
    for key in keys:
        indicator = catalog.INDICATORS_BY_KEY[key]
        value = indicator_value(now, indicator)
        if indicator.year_to_date and periods.starts_year(period):
            previous = float("nan")
        else:
            previous = indicator_value(alike if indicator.from_returns else all_before, indicator)
        label = (indicator.approved_label if approved_only else "") or indicator.label
        found.append(Figure(key, label, value, previous, targets.status(key, value, period),
                            _basis(indicator, cover, carried, period), _parts(indicator, now)))
    return MonthFigures(period, cover, tuple(found))


def read(engine: Engine, period: str, townships: tuple[str, ...] | None = None,
         approved_only: bool = False, keys: tuple[str, ...] | None = None) -> MonthFigures:
    """month_figures of `period` (and the townships given), read from the database."""
    keys = keys or catalog.on(catalog.CARD)
    previous = periods.previous_period(period)
    table = stored.township_table(
        engine, Filter((previous, period), townships, approved_only=approved_only), keys)
    return month_figures(table[table["period"] == period].reset_index(drop=True),
                         table[table["period"] == previous].reset_index(drop=True),
                         period, keys, approved_only)


# --- For scripts: `figures --json` -----------------------------------------------------------

def _plain(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def report(engine: Engine, period: str, townships: tuple[str, ...] | None = None,
           approved_only: bool = False, today: dt.date | None = None) -> dict:
    """What the cockpit shows for the filter, as JSON-ready data: the cards' figures (the
    catalogue's card indicators) and every alert of the month, cut to the townships."""
    found = read(engine, period, townships, approved_only)
    cover = found.coverage
    month_alerts = [a for a in alerts.alerts(engine, period, approved_only, today)
                    if townships is None or a.township_code in townships]
    return {
        "period": period, "approved_only": approved_only,
        "coverage": {"reported": cover.reported, "expected": cover.expected,
                     "missing": list(cover.missing), "returned": list(cover.returned)},
        "cards": [{"key": f.key, "label": f.label, "value": _plain(f.value),
                   "previous": _plain(f.previous), "change": _plain(f.change),
                   "reported": cover.reported, "expected": cover.expected,
                   "basis": f.basis, "status": f.status} for f in found.figures],
        "alerts": [{"kind": a.kind, "township_code": a.township_code,
                    "school_code": a.school_code, "count": a.count, "message": a.message}
                   for a in month_alerts]}


def coverage_line(found: dict) -> str:
    """The report's coverage as the cards' note says it."""
    cover = found["coverage"]
    return Coverage(cover["expected"], cover["reported"], tuple(cover["missing"]),
                    tuple(cover["returned"])).text()


def card_line(card: dict) -> str:
    """One card of the report in words: value, last month, change, basis."""
    key = card["key"]
    change = columns.MISSING_TEXT if card["change"] is None else (
        format_change(key, card["change"]))
    return (f"{card['label']}：{format_value(key, card['value'])}（上月 "
            f"{format_value(key, card['previous'])}，{change}；{card['basis']}）")
