"""What the pages share: cached readers over liushou_dash.metrics and display helpers.

Pages lay out widgets only; everything they show is read and shaped here. Readers are
cached per database URL with a TTL (DESIGN.md "Global filters"); call `clear_caches()`
after every write.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from . import catalog, metrics
from .db import database_url, engine_for
from .metrics import Filter, period_label  # noqa: F401  (re-exported for the pages)

CACHE_TTL_SECONDS = 300

NO_DATA_MESSAGE = ("暂无上报数据。请先导入主数据和乡镇月报，"
                   "或运行 `python -m liushou_dash seed-demo` 生成示例数据。")
DEMO_BANNER = "示例数据：当前数据库中的数据为系统生成的演示数据，不代表任何真实情况。"

HEADLINE_KEYS = ("left_behind", "archived_rate", "paired_rate", "village_coverage",
                 "disbursement_rate", "report_rate")
TOWNSHIP_BOARD_KEYS = ("left_behind", "guardian_none", "archived_rate", "paired_rate",
                       "visit_rate", "contact_rate", "village_coverage", "school_coverage",
                       "disbursement_rate", "on_time_rate")
TOWNSHIP_NAME_LABEL = "乡镇"
NOT_AVAILABLE = "—"


# --- Cached readers ----------------------------------------------------------------------------
# Keyed by the resolved URL so that a cached result never outlives a change of database.

@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def _latest_period(url: str) -> str | None:
    return metrics.latest_period(engine_for(url))


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def _is_demo(url: str) -> bool:
    return metrics.is_demo(engine_for(url))


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False)
def _township_table(url: str, flt: Filter) -> pd.DataFrame:
    return metrics.township_table(engine_for(url), flt)


def latest_period() -> str | None:
    return _latest_period(database_url())


def is_demo() -> bool:
    return _is_demo(database_url())


def county_summary(flt: Filter) -> dict:
    """metrics.county_summary, from the cached township table the page shows anyway."""
    latest = flt.only(flt.latest)
    return {"period": latest.latest, **metrics.totals(township_table(latest))}


def township_table(flt: Filter) -> pd.DataFrame:
    return _township_table(database_url(), flt)


def clear_caches() -> None:
    """After every write, so that every page shows the new data at once."""
    st.cache_data.clear()


# --- Display helpers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Card:
    label: str
    value: str
    help: str


def headline_cards(summary: dict, keys: tuple[str, ...] = HEADLINE_KEYS) -> list[Card]:
    """KPI cards: the indicator's label, its formatted value, its formula as the tooltip."""
    indicators = [catalog.INDICATORS_BY_KEY[key] for key in keys]
    return [Card(i.label, metrics.format_value(i.key, metrics.indicator_value(summary, i)),
                 i.formula()) for i in indicators]


def _column_config(key: str) -> st.column_config.NumberColumn:
    formula = catalog.INDICATORS_BY_KEY[key].formula() if key in catalog.INDICATORS_BY_KEY else ""
    return st.column_config.NumberColumn(help=formula or None)


def _display_format(key: str) -> str:
    return {metrics.PERCENT: "{:.1f}%", metrics.MONEY: "{:,.2f}",
            metrics.RATIO: "{:.1f}"}.get(metrics.column_kind(key), "{:,.0f}")


def _for_display(column: pd.Series, key: str) -> pd.Series:
    """Percentages scaled to 0-100 and money to 万元, so the table sorts by number."""
    kind = metrics.column_kind(key)
    if kind == metrics.PERCENT:
        return column.astype("float64") * 100
    if kind == metrics.MONEY:
        return column.astype("float64") / 10000
    return column


def _display_label(key: str) -> str:
    label = catalog.label_of(key)
    return f"{label}（万元）" if metrics.column_kind(key) == metrics.MONEY else label


def township_board(table: pd.DataFrame, keys: tuple[str, ...] = TOWNSHIP_BOARD_KEYS):
    """A township table with Chinese column labels, formatted for reading ("—" where a
    township has not reported), and the column_config that adds the formulas as tooltips."""
    shown = {TOWNSHIP_NAME_LABEL: table["township_name"]}
    shown |= {_display_label(key): _for_display(table[key], key).astype("float64")
              for key in keys}
    frame = pd.DataFrame(shown).reset_index(drop=True)
    formats = {_display_label(key): _display_format(key) for key in keys}
    config = {_display_label(key): _column_config(key) for key in keys}
    return frame.style.format(formats), config
