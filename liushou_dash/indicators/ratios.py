"""Ratios from summed parts: every ratio is recomputed from summed numerators and denominators
at every level (county, township, several months), and is missing (NaN), never 0, when its
denominator is 0. Over several months a stock takes the last month, a flow sums, a mean
averages (each field's `over_time`).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from liushou_dash import catalog
from liushou_dash.catalog.columns import (
    ALL_KEYS,
    ID_COLUMNS,
    is_missing,
    rate_indicators,
)


def indicator_value(row: Mapping, indicator: catalog.Indicator | str) -> float:
    """The indicator for one row of summed numerators and denominators (NaN when missing)."""
    if isinstance(indicator, str):
        indicator = catalog.INDICATORS_BY_KEY[indicator]
    numerator = row.get(indicator.numerator)
    if is_missing(numerator):
        return float("nan")
    if not indicator.is_rate:
        return numerator
    denominator = row.get(indicator.denominator)
    if is_missing(denominator) or denominator == 0:
        return float("nan")
    return float(numerator) / float(denominator)


def floats(values) -> np.ndarray:
    """A column (of counts, Int64 or object) or array as float64, missing as NaN."""
    if getattr(values, "dtype", None) == np.float64:  # read as floats already: no copy
        return np.asarray(values)
    return pd.to_numeric(pd.Series(values, copy=False)).to_numpy(dtype="float64",
                                                                 na_value=np.nan)


def ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 or missing (numpy: a page
    computes a dozen of these over thousands of rows)."""
    numerator, denominator = floats(numerator), floats(denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def with_rates(frame: pd.DataFrame, level: str = "township") -> pd.DataFrame:
    """`frame` with every rate indicator of `level` that its columns can give (numerator
    and denominator both there) (re)computed from them."""
    rates = {i.key: ratio(frame[i.numerator], frame[i.denominator])
             for i in rate_indicators(level)
             if i.numerator in frame.columns and i.denominator in frame.columns}
    return frame.assign(**rates)


def totals(frame: pd.DataFrame, level: str = "township") -> dict:
    """One row over all rows of `frame`: sums of counts and measures, rates recomputed."""
    summed = [key for key in ALL_KEYS if key in frame.columns]
    row = {key: plain_number(frame[key].sum(min_count=1)) for key in summed}
    row.update({i.key: indicator_value(row, i) for i in rate_indicators(level)})
    return row


def plain_number(value):
    """numpy/pandas scalars as plain Python numbers, missing as NaN."""
    if is_missing(value):
        return float("nan")
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def over_time_rule(key: str) -> str:
    """"last", "sum" or "mean" across months: a measure's or a count's own; a tally of
    schools is a stock ("last") of a stock, else averaged (schools with a dropout in a
    quarter are not the sum of its months')."""
    if key in catalog.MEASURES_BY_KEY:
        return catalog.MEASURES_BY_KEY[key].over_time
    if key == catalog.SCHOOLS_REPORTED:
        return "last"
    if key in catalog.SCHOOL_TALLY_KEYS:
        rule = over_time_rule(key.removesuffix("_schools"))
        return "last" if rule == "last" else "mean"
    return catalog.SCHOOLS.field(key).over_time


def collapse_periods(frame: pd.DataFrame, level: str = "township") -> pd.DataFrame:
    """One row per org unit over all the months of `frame`.

    Each value aggregates by its rule: "last" takes the latest month that has a value,
    "sum" adds the months, "mean" averages the months that have a value; rates are then
    recomputed from the aggregated numerators and denominators. `period` becomes
    `period_from` and `period_to`."""
    units = [c for c in ID_COLUMNS[level] if c != "period"]
    values = [k for k in ALL_KEYS if k in frame.columns]
    by_rule: dict[str, list[str]] = {"last": [], "sum": [], "mean": []}
    for key in values:
        by_rule[over_time_rule(key)].append(key)
    grouped = frame.sort_values("period").groupby(units, sort=True, dropna=False)
    parts = [grouped["period"].min().rename("period_from"),
             grouped["period"].max().rename("period_to"),
             grouped[by_rule["last"]].last(),
             grouped[by_rule["sum"]].sum(min_count=1),
             grouped[by_rule["mean"]].mean()]
    collapsed = pd.concat(parts, axis=1).reset_index()
    ordered = [*units, "period_from", "period_to", *values]
    return with_rates(collapsed[ordered], level)


def county_by_period(table: pd.DataFrame, level: str = "township") -> pd.DataFrame:
    """One row per period of `table`: the county's totals of that month (see `totals`)."""
    rows = [{"period": period, **totals(group, level)}
            for period, group in table.groupby("period", sort=True)]
    return pd.DataFrame(rows, columns=["period", *(
        key for key in ALL_KEYS if key in table.columns),
        *(i.key for i in rate_indicators(level))])
