"""The township table the dashboards read: one row per (period, township), from the stored
township months (core/township_months.py), with the rates recomputed.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd
from sqlalchemy import DateTime, Float, and_, case, cast, func, literal, select
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog.columns import (
    ALL_KEYS,
    ID_COLUMNS,
    MEASURE_KEYS,
    MONEY,
    NULLABLE_KEYS,
    column_kind,
    rate_indicators,
    table_columns,
)
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import RETURNED, Township, TownshipMonth
from liushou_dash.core.periods import due_date
from liushou_dash.core.queries import in_townships, numeric_frame
from liushou_dash.core.settings import deadline_day_in
from liushou_dash.core.township_months import cells_statement
from liushou_dash.indicators.ratios import floats, ratio, totals
from liushou_dash.indicators.readers import cells_from_rows, counts

STORED = TownshipMonth.__table__


def inputs_of(indicators: Iterable[str]) -> tuple[str, ...]:
    """The count and measure columns `indicators` are computed from, and the coverage every
    figure states (reported, returned, expected: figures.py), in table order."""
    needed = {"reported", "returned", "expected"}
    for key in indicators:
        indicator = catalog.INDICATORS_BY_KEY[key]
        needed.update(k for k in (indicator.numerator, indicator.denominator) if k)
    return tuple(k for k in ALL_KEYS if k in needed)


def township_table(engine: Engine, flt: Filter,
                   indicators: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per (period, township) of the filter, every township included (a township
    without a return has <NA> counts and reported = 0): ids, every school count, every
    measure and every township-level rate, in `table_columns("township")` order. With
    `indicators`, only those and the columns they are computed from (see inputs_of): a
    page reads what it shows, a third of a province's month for the cockpit.

    Read from the stored township months (township_months.py) unless the filter picks
    school types, which only the school rows know; both give the same table."""
    keys = ALL_KEYS if indicators is None else inputs_of(indicators)
    cells = (_stored_cells(engine, flt, keys) if flt.school_types is None
             else cells_from_rows(engine, flt))
    return _finished(cells, keys, indicators)


def _finished(cells: pd.DataFrame, keys: tuple[str, ...],
              indicators: tuple[str, ...] | None) -> pd.DataFrame:
    """The township table from its cells' ids, counts and measures (`keys` of them): counts
    nullable, measures with none as 0, rates recomputed. In numpy: a province's month."""
    values = {key: floats(cells[key]) for key in keys}
    columns = {key: cells[key].to_numpy() for key in ID_COLUMNS["township"]}
    for key, found in values.items():
        present = np.nan_to_num(found)
        if key in NULLABLE_KEYS:  # a unit without a return has <NA>, not 0
            columns[key] = counts(found)
        else:                  # no homes or ledger on record means none
            values[key] = present
            columns[key] = present if column_kind(key) == MONEY else present.astype("int64")
    for indicator in rate_indicators("township"):
        if indicators is None or indicator.key in indicators:
            columns[indicator.key] = ratio(values[indicator.numerator],
                                            values[indicator.denominator])
    return pd.DataFrame({c: columns[c] for c in table_columns("township") if c in columns})


def township_table_from_rows(engine: Engine, flt: Filter) -> pd.DataFrame:
    """township_table from the school, home and ledger rows themselves (the tests compare
    the stored months with it)."""
    return _finished(cells_from_rows(engine, flt), ALL_KEYS, None)


def _on_time_judged(cells, flt: Filter, deadline: int):
    """1 where the cell's first upload came before the day after its month's due date."""
    def due_end(period):
        return dt.datetime.combine(due_date(period, deadline) + dt.timedelta(days=1), dt.time())
    return case(*[(and_(cells.c.period == p, cells.c.first_upload < literal(due_end(p), DateTime)),
                   1) for p in flt.periods], else_=0)


def _cell_columns(cells, name, keys: tuple[str, ...], flt: Filter, deadline: int) -> list:
    """What a table of `keys` reads of `cells` (the stored months, or cells_statement): ids,
    counts as they are (NULL: no return), measures with none as 0, on_time judged."""
    def column(key):
        if key == "on_time":
            return _on_time_judged(cells, flt, deadline).label(key)
        if key == "returned":
            return case((cells.c.status == RETURNED, 1), else_=0).label(key)
        if key in MEASURE_KEYS:  # as floats: the driver's Decimals would be converted one by one
            return cast(func.coalesce(cells.c[key], 0), Float).label(key)
        return cells.c[key]
    return [cells.c.period, cells.c.township_code, name.label("township_name"),
            *map(column, keys)]


def _stored_statement(flt: Filter, keys: tuple[str, ...], deadline: int):
    townships = Township.__table__
    return (select(*_cell_columns(STORED, townships.c.name, keys, flt, deadline))
            .join(townships, townships.c.code == STORED.c.township_code)
            .where(STORED.c.period.in_(flt.periods),
                   STORED.c.approved_only.is_(flt.approved_only),
                   *in_townships(STORED.c.township_code, flt))
            .order_by(STORED.c.period, STORED.c.township_code))


def _stored_cells(engine: Engine, flt: Filter, keys: tuple[str, ...]) -> pd.DataFrame:
    """The stored cells (their columns for `keys` only); months not stored (no submission of
    them, or before the first) computed by cells_statement, which is what would be stored."""
    with engine.connect() as conn:
        deadline = deadline_day_in(conn)
        table = numeric_frame(conn, _stored_statement(flt, keys, deadline), keys)
        unstored = sorted(set(flt.periods) - set(table["period"]))
        if unstored:
            missing = replace(flt, periods=tuple(unstored))
            computed = cells_statement(missing).subquery()
            table = pd.concat([table, numeric_frame(conn, select(*_cell_columns(
                computed, computed.c.township_name, keys, missing, deadline)), keys)])
            table = table.sort_values(["period", "township_code"], ignore_index=True)
    return table  # in period and township order, as the stored statement reads it


def county_summary(engine: Engine, flt: Filter) -> dict:
    """The county's row for the filter's latest month: sums over its townships, rates
    recomputed; plus "period"."""
    period = flt.latest
    return {"period": period, **totals(township_table(engine, flt.only(period)))}
