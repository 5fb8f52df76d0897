"""The columns of the indicator tables: which keys a table of a level carries, each column's
kind (count, money, percent, ratio, text, ...) and how a value of each kind is written for
people ("—" for a missing one). Every surface formats a value through `format_value`.
"""
from __future__ import annotations

import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog import messages

COUNT_KEYS = catalog.SCHOOL_COUNT_KEYS


MEASURE_KEYS = tuple(m.key for m in catalog.MEASURES)


TALLY_KEYS = catalog.SCHOOL_TALLY_KEYS     # schools reporting, schools with more than 0 of X
NULLABLE_KEYS = (*COUNT_KEYS, *TALLY_KEYS)  # from the returns: <NA> for a unit without one
ALL_KEYS = (*COUNT_KEYS, *TALLY_KEYS, *MEASURE_KEYS)  # every value a township table may hold


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
    if level != "township":
        return (*COUNT_KEYS, *(i.key for i in rate_indicators(level)))
    rates = rate_indicators(level)
    used = {key for i in rates for key in (i.numerator, i.denominator)}
    tallies = tuple(k for k in TALLY_KEYS if k in used)  # only those an indicator reads
    return (*COUNT_KEYS, *tallies, *MEASURE_KEYS, *(i.key for i in rates))


def table_columns(level: str = "township") -> tuple[str, ...]:
    return (*ID_COLUMNS[level], *value_columns(level))


def column_kind(key: str) -> str:
    """TEXT, COUNT, MONEY, PERCENT or RATIO for any column of a metrics table."""
    if key in catalog.INDICATORS_BY_KEY and catalog.INDICATORS_BY_KEY[key].is_rate:
        return PERCENT if catalog.INDICATORS_BY_KEY[key].is_percent else RATIO
    if key in catalog.MEASURES_BY_KEY:
        return MONEY if catalog.MEASURES_BY_KEY[key].money else COUNT
    if key in NULLABLE_KEYS:
        return COUNT
    return TEXT


def is_missing(value) -> bool:
    return value is None or bool(pd.isna(value))


MISSING_TEXT = messages.NOT_AVAILABLE


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


def format_change(key: str, difference: float) -> str:
    """A change of `key` as the cards show it: +1.2 个百分点 for a percentage, +35 for a
    count, +1.25 万元 for money, 持平 when it does not show at the precision shown."""
    kind = column_kind(key)
    if kind == PERCENT:
        shown, unit = round(difference * 100, 1), f"{{:+.1f}} {messages.PERCENT_POINTS}"
    elif kind == RATIO:
        shown, unit = round(difference, 1), "{:+.1f}"
    elif kind == MONEY:
        shown, unit = round(difference / 10000, 2), "{:+,.2f} 万元"
    else:
        shown, unit = round(difference), "{:+,}"
    return messages.UNCHANGED if shown == 0 else unit.format(shown)


def change_text(key: str, value, before) -> str | None:
    """format_change of value − before; None when either month lacks a value."""
    if is_missing(value) or is_missing(before):
        return None
    return format_change(key, float(value) - float(before))
