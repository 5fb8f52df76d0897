"""Any frame of catalogue keys as a table people read: Chinese headers, numbers formatted the
way the pages format them, cells of indicators coloured against their targets, formulas as
column tooltips, text defused (cell_text.defuse: a cell copied from a page lands in Excel).
Values stay numbers (percentages scaled to 0–100, money to 万元) so that a click on a header
sorts by value, not by text.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog import messages
from liushou_dash.catalog.columns import (
    COUNT,
    MONEY,
    NUMBER,
    PERCENT,
    RANKING,
    RATIO,
    SCORE,
    SIGNED,
    TEXT,
    YUAN,
    column_kind,
)
from liushou_dash.core import cell_text
from liushou_dash.indicators import targets

if TYPE_CHECKING:  # importing pandas' Styler imports matplotlib's pyplot, ~40 MB a server
    from pandas.io.formats.style import Styler

FORMATS = {PERCENT: "{:.1f}%", MONEY: "{:,.2f}", RATIO: "{:.1f}",
           COUNT: "{:,.0f}", NUMBER: "{:g}", RANKING: "{:.0f}", SCORE: "{:.2f}",
           SIGNED: lambda value: f"{value:+.0f}" if value else "0", YUAN: "{:,.2f}"}
# The same formats for st.column_config (a table too large to colour cell by cell).
COLUMN_FORMATS = {PERCENT: "%.1f%%", MONEY: "%.2f", RATIO: "%.1f",
                  COUNT: "localized", NUMBER: "%g", RANKING: "%d", SCORE: "%.2f",
                  SIGNED: "%+d", YUAN: "%.2f"}
LABELS = {"township_name": messages.TOWNSHIP, "school_name": messages.SCHOOL,
          "rank": messages.RANK, "score": messages.SCORE, "rank_change": messages.RANK_CHANGE,
          "missed": messages.MISSED_COUNT}
KINDS = {"rank": RANKING, "score": SCORE, "rank_change": SIGNED, "missed": RANKING}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str
    help: str | None

    @property
    def numeric(self) -> bool:
        return self.kind != TEXT


def _catalogue_label(key: str) -> str:
    try:
        return catalog.label_of(key)
    except KeyError:
        return key


def column(key: str, labels: Mapping[str, str] | None = None,
           kinds: Mapping[str, str] | None = None) -> Column:
    kind = (kinds or {}).get(key) or KINDS.get(key) or column_kind(key)
    text = (labels or {}).get(key) or LABELS.get(key) or _catalogue_label(key)
    if kind == MONEY:
        text = f"{text}（万元）"
    indicator = catalog.INDICATORS_BY_KEY.get(key)
    return Column(key, text, kind, indicator.formula() if indicator else None)


def _scaled(values: pd.Series, kind: str) -> pd.Series:
    if kind == PERCENT:
        return values.astype("float64") * 100
    if kind == MONEY:
        return values.astype("float64") / 10000
    return values.astype("float64") if kind != TEXT else values.map(cell_text.defuse)


def plain(frame: pd.DataFrame, labels: Mapping[str, str] | None = None,
          kinds: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, list[Column]]:
    """The frame with Chinese headers and values scaled as shown, and its columns."""
    columns = [column(key, labels, kinds) for key in frame.columns]
    raw = frame.reset_index(drop=True)
    return pd.DataFrame({c.label: _scaled(raw[c.key], c.kind) for c in columns}), columns


def styled(frame: pd.DataFrame, period: str | None = None,
           labels: Mapping[str, str] | None = None,
           kinds: Mapping[str, str] | None = None) -> tuple[Styler, list[Column]]:
    """The Styler to show and its columns (for headers' tooltips)."""
    shown, columns = plain(frame, labels, kinds)
    raw = frame.reset_index(drop=True)
    styler = shown.style.format({c.label: FORMATS[c.kind] for c in columns if c.numeric},
                                na_rep=messages.NOT_AVAILABLE)
    for c in columns:
        if c.key in catalog.INDICATORS_BY_KEY and targets.target(c.key, period) is not None:
            style = targets.cell_style(c.key, period)
            css = [style(value) for value in raw[c.key]]
            styler = styler.apply(lambda _, css=css: css, subset=[c.label], axis=0)
    return styler, columns
