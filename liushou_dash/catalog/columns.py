"""The columns of the indicator tables: which keys a table of a level carries, each column's
kind (count, money, percent, ratio, text, ...) and how a value of each kind is written for
people ("—" for a missing one). Every surface formats a value through `format_value`.
"""
from __future__ import annotations

import pandas as pd

from liushou_dash import catalog

COUNT_KEYS = catalog.SCHOOL_COUNT_KEYS


MEASURE_KEYS = tuple(m.key for m in catalog.MEASURES)


ALL_KEYS = (*COUNT_KEYS, *MEASURE_KEYS)


ID_COLUMNS = {
    "township": ("period", "township_code", "township_name"),
    "school": ("period", "township_code", "township_name", "school_code", "school_name"),
}


LEVELS = tuple(ID_COLUMNS)


TEXT, COUNT, MONEY, PERCENT, RATIO = "text", "count", "money", "percent", "ratio"
# Kinds of the columns that are not catalogue keys (ranks, scores, a ledger's amounts).
NUMBER = "number"   # a measurement shown as written (opening hours)
RANKING = "ranking"  # a rank or a count of things: whole numbers without separators
SCORE, SIGNED = "score", "signed"
YUAN = "yuan"        # money to the fen, as a ledger shows it (MONEY columns show 万元)


def rate_indicators(level: str = "township") -> tuple[catalog.Indicator, ...]:
    return tuple(i for i in catalog.INDICATORS if i.is_rate and level in i.levels)


def value_columns(level: str = "township") -> tuple[str, ...]:
    """The catalogue keys a table of `level` carries, in catalogue order."""
    measures = MEASURE_KEYS if level == "township" else ()
    return (*COUNT_KEYS, *measures, *(i.key for i in rate_indicators(level)))


def table_columns(level: str = "township") -> tuple[str, ...]:
    return (*ID_COLUMNS[level], *value_columns(level))


def column_kind(key: str) -> str:
    """TEXT, COUNT, MONEY, PERCENT or RATIO for any column of a metrics table."""
    if key in catalog.INDICATORS_BY_KEY and catalog.INDICATORS_BY_KEY[key].is_rate:
        return PERCENT if catalog.INDICATORS_BY_KEY[key].is_percent else RATIO
    if key in catalog.MEASURES_BY_KEY:
        return MONEY if catalog.MEASURES_BY_KEY[key].money else COUNT
    if key in COUNT_KEYS:
        return COUNT
    return TEXT


def is_missing(value) -> bool:
    return value is None or bool(pd.isna(value))


MISSING_TEXT = "—"


def format_percent(value) -> str:
    return MISSING_TEXT if is_missing(value) else f"{float(value) * 100:.1f}%"


def format_count(value) -> str:
    return MISSING_TEXT if is_missing(value) else f"{round(float(value)):,}"


def format_wan_yuan(value) -> str:
    """Yuan shown in 万元 (ten thousands) with two decimals."""
    return MISSING_TEXT if is_missing(value) else f"{float(value) / 10000:,.2f} 万元"


def format_ratio(value) -> str:
    return MISSING_TEXT if is_missing(value) else f"{float(value):.1f}"


_FORMATTERS = {PERCENT: format_percent, COUNT: format_count, MONEY: format_wan_yuan,
               RATIO: format_ratio, TEXT: lambda v: "" if is_missing(v) else str(v)}


def format_value(key: str, value) -> str:
    """Any metrics value as the pages show it, by the kind of its column."""
    return _FORMATTERS[column_kind(key)](value)
