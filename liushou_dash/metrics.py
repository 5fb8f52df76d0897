"""Indicators for a filter (months, townships, school types, approved data only), from SQL.

Pure functions of an engine and a `Filter`; no Streamlit. The database does the heavy lifting
(GROUP BY over the current returns); pandas only joins the small per-township results.

Semantics (DESIGN.md "Indicators", "Submissions and workflow"):
- current data of a period = rows of the township's current submission of that period
  (approved ones only when `approved_only`);
- homes are "as of" a period: the current submission of the latest period up to it that
  carried homes; funding is the same within the period's year (the ledger is year to date);
- every ratio is recomputed from summed numerators and denominators at every level and is
  missing (NaN), never 0, when its denominator is 0.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sqlalchemy import (Date, DateTime, Float, and_, case, cast, func, literal, or_,
                        select, true, tuple_, union_all)
from sqlalchemy.engine import Connection, Engine

from . import catalog, rollup
from .db import has_schema
from .models import (APPROVED, FundingEntry, School, SchoolReturn, Setting, Submission,
                     SubmissionTotals, Township, TownshipMonth, Village)

COUNT_KEYS = catalog.SCHOOL_COUNT_KEYS
MEASURE_KEYS = tuple(m.key for m in catalog.MEASURES)
_ALL_KEYS = (*COUNT_KEYS, *MEASURE_KEYS)
ID_COLUMNS = {
    "township": ("period", "township_code", "township_name"),
    "school": ("period", "township_code", "township_name", "school_code", "school_name"),
}
LEVELS = tuple(ID_COLUMNS)

VILLAGE_HOST_TYPES, SCHOOL_HOST_TYPE = rollup.VILLAGE_HOST_TYPES, rollup.SCHOOL_HOST_TYPE
ALLOCATED_KIND, DISBURSED_KIND = catalog.FUNDING_KINDS
DEFAULT_DEADLINE_DAY = 5
DEADLINE_SETTING = "deadline_day"  # Setting key; admin.set_deadline_day writes it

# Column kinds, which decide formats in the exports and the pages.
TEXT, COUNT, MONEY, PERCENT, RATIO = "text", "count", "money", "percent", "ratio"

_SQL_IN_CHUNK = 5000  # keeps IN lists under every driver's bound-parameter limit
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# --- Periods ---------------------------------------------------------------------------------

def parse_period(period: str) -> tuple[int, int]:
    match = _PERIOD.match(str(period))
    if not match:
        raise ValueError(f"月份格式应为 YYYY-MM：{period!r}")
    return int(match.group(1)), int(match.group(2))


def month_number(period: str) -> int:
    """Months since year 0, so that periods can be compared and subtracted as integers."""
    year, month = parse_period(period)
    return year * 12 + month - 1


def period_of_month_number(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def periods_between(first: str, last: str) -> tuple[str, ...]:
    """Every month from `first` to `last`, both included."""
    start, end = month_number(first), month_number(last)
    if start > end:
        raise ValueError(f"起始月份 {first} 晚于结束月份 {last}")
    return tuple(period_of_month_number(n) for n in range(start, end + 1))


def previous_period(period: str) -> str:
    return period_of_month_number(month_number(period) - 1)


def next_period(period: str) -> str:
    return period_of_month_number(month_number(period) + 1)


def period_end(period: str) -> dt.date:
    year, month = parse_period(period)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def due_date(period: str, deadline_day: int = DEFAULT_DEADLINE_DAY) -> dt.date:
    """The last day on which the return of `period` is on time: `deadline_day` of the next
    month (clamped to that month's length, so 31 means its last day)."""
    year, month = parse_period(next_period(period))
    return dt.date(year, month, min(deadline_day, calendar.monthrange(year, month)[1]))


def period_label(period: str) -> str:
    year, month = parse_period(period)
    return f"{year}年{month}月"


def span_label(first: str, last: str) -> str:
    """2025年11月至2026年10月, or one month's label."""
    return period_label(first) if first == last else f"{period_label(first)}至{period_label(last)}"


# --- The filter ------------------------------------------------------------------------------

def _optional_tuple(values: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


@dataclass(frozen=True)
class Filter:
    """What every reader is asked for. None means "all" (townships, school types)."""
    periods: tuple[str, ...]
    townships: tuple[str, ...] | None = None
    school_types: tuple[str, ...] | None = None
    approved_only: bool = False

    def __post_init__(self):
        # Sorted and deduplicated so that equal filters hash equally (Streamlit's cache key).
        periods = tuple(sorted(set(self.periods)))
        if not periods:
            raise ValueError("至少选择一个月份")
        for period in periods:
            parse_period(period)
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "townships", _optional_tuple(self.townships))
        object.__setattr__(self, "school_types", _optional_tuple(self.school_types))

    @classmethod
    def between(cls, first: str, last: str, **options) -> Filter:
        return cls(periods_between(first, last), **options)

    @property
    def latest(self) -> str:
        return self.periods[-1]

    def only(self, period: str) -> Filter:
        return replace(self, periods=(period,))


# --- Columns and their kinds -----------------------------------------------------------------

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


# --- Ratios ----------------------------------------------------------------------------------

def _is_missing(value) -> bool:
    return value is None or bool(pd.isna(value))


def indicator_value(row: Mapping, indicator: catalog.Indicator | str) -> float:
    """The indicator for one row of summed numerators and denominators (NaN when missing)."""
    if isinstance(indicator, str):
        indicator = catalog.INDICATORS_BY_KEY[indicator]
    numerator = row.get(indicator.numerator)
    if _is_missing(numerator):
        return float("nan")
    if not indicator.is_rate:
        return numerator
    denominator = row.get(indicator.denominator)
    if _is_missing(denominator) or denominator == 0:
        return float("nan")
    return float(numerator) / float(denominator)


def _floats(values) -> np.ndarray:
    """A column (of counts, Int64 or object) or array as float64, missing as NaN."""
    if getattr(values, "dtype", None) == np.float64:  # read as floats already: no copy
        return np.asarray(values)
    return pd.to_numeric(pd.Series(values, copy=False)).to_numpy(dtype="float64",
                                                                 na_value=np.nan)


def _ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 or missing (numpy: a page
    computes a dozen of these over thousands of rows)."""
    numerator, denominator = _floats(numerator), _floats(denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def with_rates(frame: pd.DataFrame, level: str = "township") -> pd.DataFrame:
    """`frame` with every rate indicator of `level` that its columns can give (numerator
    and denominator both there) (re)computed from them."""
    rates = {i.key: _ratio(frame[i.numerator], frame[i.denominator])
             for i in rate_indicators(level)
             if i.numerator in frame.columns and i.denominator in frame.columns}
    return frame.assign(**rates)


def totals(frame: pd.DataFrame, level: str = "township") -> dict:
    """One row over all rows of `frame`: sums of counts and measures, rates recomputed."""
    summed = [key for key in (*COUNT_KEYS, *MEASURE_KEYS) if key in frame.columns]
    row = {key: _plain(frame[key].sum(min_count=1)) for key in summed}
    row.update({i.key: indicator_value(row, i) for i in rate_indicators(level)})
    return row


def _plain(value):
    """numpy/pandas scalars as plain Python numbers, missing as NaN."""
    if _is_missing(value):
        return float("nan")
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


# --- Over time -------------------------------------------------------------------------------

def over_time_rule(key: str) -> str:
    if key in catalog.MEASURES_BY_KEY:
        return catalog.MEASURES_BY_KEY[key].over_time
    return catalog.SCHOOLS.field(key).over_time


def collapse_periods(frame: pd.DataFrame, level: str = "township") -> pd.DataFrame:
    """One row per org unit over all the months of `frame`.

    Each value aggregates by its rule: "last" takes the latest month that has a value,
    "sum" adds the months, "mean" averages the months that have a value; rates are then
    recomputed from the aggregated numerators and denominators. `period` becomes
    `period_from` and `period_to`."""
    units = [c for c in ID_COLUMNS[level] if c != "period"]
    values = [k for k in (*COUNT_KEYS, *MEASURE_KEYS) if k in frame.columns]
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


# --- SQL helpers -----------------------------------------------------------------------------

def _frame(conn: Connection, statement) -> pd.DataFrame:
    result = conn.execute(statement)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _numeric_frame(conn: Connection, statement, numeric: Iterable[str]) -> pd.DataFrame:
    """_frame, with the `numeric` columns as float64 (NULL as NaN), built column by column
    in C from the driver's own rows: a province's month is 100,000 values, which
    SQLAlchemy's rows and then pandas would each first hold as Python objects."""
    cursor = conn.execute(statement).cursor
    keys, numeric = [d[0] for d in cursor.description], set(numeric)
    columns = list(zip(*cursor.fetchall())) or [()] * len(keys)
    return pd.DataFrame({key: np.array(values, dtype="float64" if key in numeric else object)
                         for key, values in zip(keys, columns)})


def _frame_in_chunks(conn: Connection, build, ids: list[int]) -> pd.DataFrame:
    """Run `build(chunk_of_ids)` over `ids` in chunks and stack the results."""
    ids = [int(i) for i in ids]  # numpy integers would reach sqlite3 as blobs and match nothing
    frames = [_frame(conn, build(ids[i:i + _SQL_IN_CHUNK]))
              for i in range(0, len(ids), _SQL_IN_CHUNK)]
    return pd.concat(frames, ignore_index=True) if frames else _frame(conn, build([]))


def _current(approved_only: bool) -> list:
    """Conditions on Submission that select the data the dashboards show."""
    conditions = [Submission.is_current.is_(True)]
    if approved_only:
        conditions.append(Submission.status == APPROVED)
    return conditions


def _in_townships(column, flt: Filter) -> list:
    return [] if flt.townships is None else [column.in_(flt.townships)]


def _setting(conn: Connection, key: str) -> str | None:
    if not has_schema(conn):
        return None
    return conn.scalar(select(Setting.value).where(Setting.key == key))


def _deadline_day(conn: Connection) -> int:
    value = _setting(conn, DEADLINE_SETTING)
    return int(value) if value and value.strip().isdigit() else DEFAULT_DEADLINE_DAY


def setting(engine: Engine, key: str, default: str | None = None) -> str | None:
    with engine.connect() as conn:
        value = _setting(conn, key)
    return default if value is None else value


def is_demo(engine: Engine) -> bool:
    """True when the database holds the synthetic demo data (Setting demo = "1")."""
    return setting(engine, "demo") == "1"


def deadline_day(engine: Engine) -> int:
    with engine.connect() as conn:
        return _deadline_day(conn)


def period_span(engine: Engine, approved_only: bool = False) -> tuple[str, str] | None:
    """The first and the latest month with current data; None for an empty (or not yet
    created) database."""
    with engine.connect() as conn:
        if not has_schema(conn):
            return None

        def first_by(order):  # walks the period index from one end: MIN/MAX would scan
            return conn.scalar(select(Submission.period).where(*_current(approved_only))
                               .order_by(order).limit(1))
        first, latest = first_by(Submission.period), first_by(Submission.period.desc())
    return None if latest is None else (first, latest)


def latest_period(engine: Engine, approved_only: bool = False) -> str | None:
    """The latest month with current data; None for an empty (or not yet created) database."""
    span = period_span(engine, approved_only)
    return None if span is None else span[1]


# --- Readers: school returns -----------------------------------------------------------------

_RETURNS, _TOTALS = SchoolReturn.__table__, SubmissionTotals.__table__
_STORED = TownshipMonth.__table__


def _current_returns(statement, flt: Filter):
    """Restrict a statement over school_returns to the filter's current rows."""
    statement = statement.join(Submission, Submission.id == _RETURNS.c.submission_id).where(
        _RETURNS.c.period.in_(flt.periods), *_current(flt.approved_only),
        *_in_townships(_RETURNS.c.township_code, flt))
    if flt.school_types is not None:
        statement = statement.where(_RETURNS.c.school_code.in_(
            select(School.code).where(School.type.in_(flt.school_types))))
    return statement


def _township_counts(conn: Connection, flt: Filter) -> pd.DataFrame:
    """Σ of every school count per (period, township): the one big GROUP BY."""
    statement = select(_RETURNS.c.period, _RETURNS.c.township_code,
                       *[func.sum(_RETURNS.c[key]).label(key) for key in COUNT_KEYS])
    statement = _current_returns(statement.select_from(_RETURNS), flt)
    return _frame(conn, statement.group_by(_RETURNS.c.period, _RETURNS.c.township_code))


def _as_counts(frame: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """Count columns as nullable integers: a unit without a return has <NA>, not 0."""
    return frame.assign(**{key: _counts(_floats(frame[key])) for key in keys})


def _counts(found: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers with NaN as missing, as a nullable integer column (built directly:
    astype("Int64") checks every value)."""
    return pd.arrays.IntegerArray(np.nan_to_num(found).astype("int64"), np.isnan(found))


def school_table(engine: Engine, flt: Filter, positive_only: str | None = None,
                 counts: tuple[str, ...] = COUNT_KEYS) -> pd.DataFrame:
    """One row per (period, school) with a current return: ids, school_type, the `counts`
    (default every count) and the school-level rates they give. Names come from master data
    (the return's name as fallback).

    With `positive_only` (a count key), only the rows where that count is above 0, read
    for the few townships whose stored month has any (the 无人监护 alerts of a province: a
    few hundred rows out of 20,000)."""
    schools, townships = School.__table__, Township.__table__
    statement = select(
        _RETURNS.c.period, _RETURNS.c.township_code, townships.c.name.label("township_name"),
        _RETURNS.c.school_code,
        func.coalesce(schools.c.name, _RETURNS.c.school_name).label("school_name"),
        schools.c.type.label("school_type"), *[_RETURNS.c[key] for key in counts],
    ).select_from(_RETURNS.outerjoin(schools, schools.c.code == _RETURNS.c.school_code)
                  .outerjoin(townships, townships.c.code == _RETURNS.c.township_code))
    statement = _current_returns(statement, flt).order_by(
        _RETURNS.c.period, _RETURNS.c.township_code, _RETURNS.c.school_code)
    if positive_only is not None:
        flagged = select(_STORED.c.township_code).where(
            _STORED.c.period.in_(flt.periods), _STORED.c.approved_only.is_(flt.approved_only),
            _STORED.c[positive_only] > 0)
        statement = statement.where(_RETURNS.c[positive_only] > 0,
                                    _RETURNS.c.township_code.in_(flagged))
    with engine.connect() as conn:
        frame = _numeric_frame(conn, statement, counts)
    return with_rates(_as_counts(frame, counts), "school")


# --- Readers: master data, homes, funding, reporting -----------------------------------------

def _townships(conn: Connection, flt: Filter) -> pd.DataFrame:
    statement = (select(Township.code.label("township_code"), Township.name.label("township_name"))
                 .where(*_in_townships(Township.code, flt)).order_by(Township.code))
    return _frame(conn, statement)


def _master_counts(conn: Connection, flt: Filter) -> pd.DataFrame:
    """villages and schools per township (schools of the filter's types)."""
    villages = _frame(conn, select(Village.township_code, func.count().label("villages"))
                      .where(*_in_townships(Village.township_code, flt))
                      .group_by(Village.township_code))
    school_types = [] if flt.school_types is None else [School.type.in_(flt.school_types)]
    schools = _frame(conn, select(School.township_code, func.count().label("schools"))
                     .where(*_in_townships(School.township_code, flt), *school_types)
                     .group_by(School.township_code))
    return villages.merge(schools, on="township_code", how="outer")


def _with_month_and_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds `month` (an integer for merge_asof; see month_number) and `year` (text)."""
    year = frame["period"].str[:4]
    month = year.astype("int64") * 12 + frame["period"].str[5:7].astype("int64") - 1
    return frame.assign(month=month, year=year)


def _current_submissions(conn: Connection, flt: Filter) -> pd.DataFrame:
    """The current submissions that can be "as of" a month of the filter: those within its
    span, and per township the latest before it that carried homes, or funding of the
    span's first year. (Reading every earlier month would cost the cockpit most of its time.)"""
    first = flt.periods[0]
    common = [*_current(flt.approved_only), *_in_townships(Submission.township_code, flt)]

    def latest_before_span(flag, since: str):
        return (select(Submission.township_code, func.max(Submission.period))
                .where(*common, flag.is_(True), Submission.period < first,
                       Submission.period >= since)
                .group_by(Submission.township_code))
    unit_and_period = tuple_(Submission.township_code, Submission.period)
    statement = select(Submission.id.label("submission_id"), Submission.township_code,
                       Submission.period, Submission.has_homes, Submission.has_funding).where(
        *common, Submission.period <= flt.latest, or_(
            Submission.period >= first,
            unit_and_period.in_(latest_before_span(Submission.has_homes, "")),
            unit_and_period.in_(latest_before_span(Submission.has_funding, f"{first[:4]}-01"))))
    return _with_month_and_year(_frame(conn, statement))


def _grid(townships: pd.DataFrame, flt: Filter) -> pd.DataFrame:
    """Every (period, township) of the filter: one expected return each."""
    periods = pd.DataFrame({"period": flt.periods})
    return _with_month_and_year(periods.merge(townships, how="cross"))


def _as_of(grid: pd.DataFrame, submissions: pd.DataFrame, flag: str,
           same_year: bool) -> pd.DataFrame:
    """(period, township_code, submission_id): for each grid cell the current submission of
    the latest month up to it (within its year when `same_year`) whose `flag` is set."""
    by = ["township_code", "year"] if same_year else ["township_code"]
    candidates = submissions.loc[submissions[flag].astype(bool), ["month", *by, "submission_id"]]
    resolved = pd.merge_asof(grid[["period", "month", *by]].sort_values("month"),
                             candidates.sort_values("month"), on="month", by=by,
                             direction="backward")
    return resolved.dropna(subset=["submission_id"]).astype({"submission_id": "int64"})[
        ["period", "township_code", "submission_id"]]


SHEET_FLAGS = {"homes": ("has_homes", False), "funding": ("has_funding", True)}


def sheet_submissions(engine: Engine, flt: Filter, sheet: str) -> pd.DataFrame:
    """(period, township_code, submission_id): for every month and township of the filter,
    the current submission whose `sheet` ("homes" or "funding") the dashboards show as of
    that month — the same choice township_table makes for its home and funding measures."""
    flag, same_year = SHEET_FLAGS[sheet]
    with engine.connect() as conn:
        grid = _grid(_townships(conn, flt), flt)
        return _as_of(grid, _current_submissions(conn, flt), flag, same_year)


def _homes_by_submission(conn: Connection, ids: list[int], flt: Filter) -> pd.DataFrame:
    def build(chunk):
        return rollup.home_measures(lambda column: column.in_(chunk), flt.school_types)
    return _frame_in_chunks(conn, build, ids)


def _home_measures(conn: Connection, grid: pd.DataFrame, submissions: pd.DataFrame,
                   flt: Filter) -> pd.DataFrame:
    as_of = _as_of(grid, submissions, "has_homes", same_year=False)
    per_submission = _homes_by_submission(conn, sorted(as_of["submission_id"].unique()), flt)
    return as_of.merge(per_submission, on="submission_id").drop(columns="submission_id")


def _ledger_by_submission(conn: Connection, ids: list[int]) -> pd.DataFrame:
    funding = FundingEntry.__table__

    def build(chunk):
        return (select(funding.c.submission_id, funding.c.kind, funding.c.date,
                       cast(func.sum(funding.c.amount), Float).label("amount"))
                .where(funding.c.submission_id.in_(chunk))
                .group_by(funding.c.submission_id, funding.c.kind, funding.c.date))
    return _frame_in_chunks(conn, build, ids)


def _funding_measures(conn: Connection, grid: pd.DataFrame,
                      submissions: pd.DataFrame) -> pd.DataFrame:
    """allocated and disbursed year to date, entries dated up to the end of the month."""
    as_of = _as_of(grid, submissions, "has_funding", same_year=True)
    ledger = as_of.merge(
        _ledger_by_submission(conn, sorted(as_of["submission_id"].unique())), on="submission_id")
    if ledger.empty:
        return pd.DataFrame(columns=["period", "township_code", "allocated", "disbursed"])
    month_ends = {p: pd.Timestamp(period_end(p)) for p in ledger["period"].unique()}
    ledger = ledger[pd.to_datetime(ledger["date"]) <= ledger["period"].map(month_ends)]
    sums = ledger.groupby(["period", "township_code", "kind"])["amount"].sum().unstack("kind")
    sums = sums.reindex(columns=[ALLOCATED_KIND, DISBURSED_KIND]).fillna(0.0)
    sums.columns = ["allocated", "disbursed"]
    return sums.reset_index()


def _reporting(conn: Connection, grid: pd.DataFrame, submissions: pd.DataFrame,
               flt: Filter, deadline: int) -> pd.DataFrame:
    """expected, reported and on_time per (period, township)."""
    reported = submissions.loc[submissions["period"].isin(flt.periods),
                               ["period", "township_code"]].assign(reported=1)
    # Timeliness is judged on the first upload, whatever became of it later.
    first = _frame(conn, select(Submission.period, Submission.township_code,
                                func.min(Submission.submitted_at).label("first_submitted"))
                   .where(Submission.period.in_(flt.periods),
                          *_in_townships(Submission.township_code, flt))
                   .group_by(Submission.period, Submission.township_code))
    first["on_time"] = _on_time(first["period"], first["first_submitted"], deadline)
    frame = (grid[["period", "township_code"]]
             .merge(reported, how="left", on=["period", "township_code"])
             .merge(first[["period", "township_code", "on_time"]], how="left",
                    on=["period", "township_code"]))
    return frame.assign(expected=1, reported=frame["reported"].fillna(0).astype("int64"),
                        on_time=frame["on_time"].fillna(0).astype("int64"))


def _on_time(period: pd.Series, first_upload: pd.Series, deadline: int) -> pd.Series:
    """1 where the month's first upload (NaT: none) was on or before its due date, else 0."""
    due = pd.to_datetime(period.map({p: due_date(p, deadline) for p in period.unique()}))
    return (pd.to_datetime(first_upload).dt.normalize() <= due).astype("int64")


# --- Tables ----------------------------------------------------------------------------------

def inputs_of(indicators: Iterable[str]) -> tuple[str, ...]:
    """The count and measure columns `indicators` are computed from, and `reported` (which
    townships reported: the cards compare like with like), in table order."""
    needed = {"reported"}
    for key in indicators:
        indicator = catalog.INDICATORS_BY_KEY[key]
        needed.update(k for k in (indicator.numerator, indicator.denominator) if k)
    return tuple(k for k in (*COUNT_KEYS, *MEASURE_KEYS) if k in needed)


def township_table(engine: Engine, flt: Filter,
                   indicators: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per (period, township) of the filter, every township included (a township
    without a return has <NA> counts and reported = 0): ids, every school count, every
    measure and every township-level rate, in `table_columns("township")` order. With
    `indicators`, only those and the columns they are computed from (see inputs_of): a
    page reads what it shows, a third of a province's month for the cockpit.

    Read from the stored township months (township_months.py) unless the filter picks
    school types, which only the school rows know; both give the same table."""
    keys = _ALL_KEYS if indicators is None else inputs_of(indicators)
    cells = (_stored_cells(engine, flt, keys) if flt.school_types is None
             else _cells_from_rows(engine, flt))
    return _finished(cells, keys, indicators)


def _finished(cells: pd.DataFrame, keys: tuple[str, ...],
              indicators: tuple[str, ...] | None) -> pd.DataFrame:
    """The township table from its cells' ids, counts and measures (`keys` of them): counts
    nullable, measures with none as 0, rates recomputed. In numpy: a province's month."""
    values = {key: _floats(cells[key]) for key in keys}
    columns = {key: cells[key].to_numpy() for key in ID_COLUMNS["township"]}
    for key, found in values.items():
        present = np.nan_to_num(found)
        if key in COUNT_KEYS:  # a unit without a return has <NA>, not 0
            columns[key] = _counts(found)
        else:                  # no homes or ledger on record means none
            values[key] = present
            columns[key] = present if column_kind(key) == MONEY else present.astype("int64")
    for indicator in rate_indicators("township"):
        if indicators is None or indicator.key in indicators:
            columns[indicator.key] = _ratio(values[indicator.numerator],
                                            values[indicator.denominator])
    return pd.DataFrame({c: columns[c] for c in table_columns("township") if c in columns})


def _township_table_from_rows(engine: Engine, flt: Filter) -> pd.DataFrame:
    """township_table from the school, home and ledger rows themselves (the tests compare
    the stored months with it)."""
    return _finished(_cells_from_rows(engine, flt), _ALL_KEYS, None)


def _cells_from_rows(engine: Engine, flt: Filter) -> pd.DataFrame:
    """The township table's ids, counts and measures from the rows themselves."""
    keys = ["period", "township_code"]
    with engine.connect() as conn:
        townships = _townships(conn, flt)
        grid = _grid(townships, flt)
        submissions = _current_submissions(conn, flt)
        counts = _township_counts(conn, flt)
        master = _master_counts(conn, flt)
        homes = _home_measures(conn, grid, submissions, flt)
        funding = _funding_measures(conn, grid, submissions)
        reporting = _reporting(conn, grid, submissions, flt, _deadline_day(conn))
    table = (grid.merge(counts, how="left", on=keys)
             .merge(master, how="left", on="township_code")
             .merge(homes, how="left", on=keys)
             .merge(funding, how="left", on=keys)
             .merge(reporting, how="left", on=keys))
    return table.sort_values(keys, ignore_index=True)


# --- The same table from the rollup -------------------------------------------------------
# A province's month is ~2,600 township cells: one query finds each cell's current submission
# and the submissions its homes and funding are "as of" (an index seek per cell, skipped when
# the current one carries the sheet), and joins their totals; the school rows stay unread.
# township_months.py stores what it computes; the dashboards read the stored rows.

_SUBMISSIONS = Submission.__table__


def _months_with_ends(flt: Filter):
    """The filter's months with each one's last day, as a table to join."""
    rows = [select(literal(p).label("period"), literal(period_end(p), Date).label("end"))
            for p in flt.periods]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("months")


def _shown(submissions, flt: Filter, township) -> list:
    """_current's conditions on an alias of submissions, for one township."""
    conditions = [submissions.c.township_code == township, submissions.c.is_current.is_(True)]
    if flt.approved_only:
        conditions.append(submissions.c.status == APPROVED)
    return conditions


def _sheet_source(flag: str, cell, current, flt: Filter, same_year: bool):
    """The submission whose sheet (`flag`) the cell shows: its current one when that carried
    the sheet, else the latest before it (within its year when `same_year`)."""
    earlier = _SUBMISSIONS.alias(f"earlier_{flag}")
    since = ([earlier.c.period >= func.substr(cell.c.period, 1, 4).concat("-01")]
             if same_year else [])
    latest = (select(earlier.c.id)
              .where(*_shown(earlier, flt, cell.c.township_code), earlier.c[flag].is_(True),
                     earlier.c.period <= cell.c.period, *since)
              .order_by(earlier.c.period.desc()).limit(1).scalar_subquery())
    return func.coalesce(case((current.c[flag].is_(True), current.c.id)), latest)


def _cells(flt: Filter):
    """(period, township) with the ids of the submissions the cell shows, and the time of
    its first upload (whatever became of it), by which timeliness is judged."""
    months, townships = _months_with_ends(flt), Township.__table__
    grid = (select(months.c.period, months.c.end,
                   townships.c.code.label("township_code"),
                   townships.c.name.label("township_name"))
            .select_from(months.join(townships, true()))
            .where(*_in_townships(townships.c.code, flt))).subquery("grid")
    current, uploads = _SUBMISSIONS.alias("current"), _SUBMISSIONS.alias("uploads")
    first_upload = (select(func.min(uploads.c.submitted_at))
                    .where(uploads.c.township_code == grid.c.township_code,
                           uploads.c.period == grid.c.period).scalar_subquery())
    return (select(grid.c.period, grid.c.end, grid.c.township_code, grid.c.township_name,
                   current.c.id.label("current_id"), current.c.status,
                   _sheet_source("has_homes", grid, current, flt, False).label("homes_id"),
                   _sheet_source("has_funding", grid, current, flt, True).label("funding_id"),
                   first_upload.label("first_upload"))
            .select_from(grid.outerjoin(current, and_(
                current.c.period == grid.c.period,
                current.c.period.in_(flt.periods),  # lets PostgreSQL plan an index scan
                *_shown(current, flt, grid.c.township_code))))).subquery("cells")


def _total_of(cells, counted, source: str, key: str):
    """A total of the submission `source` (homes_id, funding_id) names: from the current
    submission's row when it is that one, as for almost every cell, else looked up (a
    join on the computed id would make PostgreSQL hash the whole rollup)."""
    looked_up = (select(_TOTALS.c[key]).where(_TOTALS.c.submission_id == cells.c[source])
                 .scalar_subquery())
    return case((cells.c[source] == cells.c.current_id, counted.c[key]), else_=looked_up)


def _ledger_total(cells, counted, key: str, kind: str):
    """The rollup's total, or where it has none (see rollup.funding_totals) the sum of the
    ledger's entries dated up to the end of the cell's month."""
    funding = FundingEntry.__table__
    from_rows = (select(func.coalesce(func.sum(funding.c.amount), 0))
                 .where(funding.c.submission_id == cells.c.funding_id, funding.c.kind == kind,
                        funding.c.date <= cells.c.end).scalar_subquery())
    return cast(func.coalesce(_total_of(cells, counted, "funding_id", key), from_rows),
                Float).label(key)


def _per_township(column, label: str):
    return select(column, func.count().label(label)).group_by(column).subquery()


def cells_statement(flt: Filter):
    """Every (period, township) cell of the filter (school types aside) from the rollup,
    with the township table's ids, counts and measures but on_time, for which it has the
    first upload's time (the deadline is a setting, applied when read), and the current
    submission's review status, by period and township."""
    cells, counted = _cells(flt), _TOTALS.alias("counted")
    villages = _per_township(Village.township_code, "villages")
    schools = _per_township(School.township_code, "schools")
    has_rows = counted.c.schools_reported > 0  # a return without school rows has no counts
    return (select(cells.c.period, cells.c.township_code, cells.c.township_name,
                   *[case((has_rows, counted.c[key])).label(key) for key in COUNT_KEYS],
                   villages.c.villages, schools.c.schools,
                   *[_total_of(cells, counted, "homes_id", key).label(key)
                     for key in rollup.HOME_KEYS],
                   _ledger_total(cells, counted, "allocated", ALLOCATED_KIND),
                   _ledger_total(cells, counted, "disbursed", DISBURSED_KIND),
                   literal(1).label("expected"),
                   case((cells.c.current_id.is_not(None), 1), else_=0).label("reported"),
                   cells.c.first_upload, cells.c.status)
            .select_from(cells.outerjoin(counted, counted.c.submission_id == cells.c.current_id)
                         .outerjoin(villages, villages.c.township_code == cells.c.township_code)
                         .outerjoin(schools, schools.c.township_code == cells.c.township_code))
            .order_by(cells.c.period, cells.c.township_code))


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
        if key in MEASURE_KEYS:  # as floats: the driver's Decimals would be converted one by one
            return cast(func.coalesce(cells.c[key], 0), Float).label(key)
        return cells.c[key]
    return [cells.c.period, cells.c.township_code, name.label("township_name"),
            *map(column, keys)]


def _stored_statement(flt: Filter, keys: tuple[str, ...], deadline: int):
    townships = Township.__table__
    return (select(*_cell_columns(_STORED, townships.c.name, keys, flt, deadline))
            .join(townships, townships.c.code == _STORED.c.township_code)
            .where(_STORED.c.period.in_(flt.periods),
                   _STORED.c.approved_only.is_(flt.approved_only),
                   *_in_townships(_STORED.c.township_code, flt))
            .order_by(_STORED.c.period, _STORED.c.township_code))


def _stored_cells(engine: Engine, flt: Filter, keys: tuple[str, ...]) -> pd.DataFrame:
    """The stored cells (their columns for `keys` only); months not stored (no submission of
    them, or before the first) computed by cells_statement, which is what would be stored."""
    with engine.connect() as conn:
        deadline = _deadline_day(conn)
        table = _numeric_frame(conn, _stored_statement(flt, keys, deadline), keys)
        unstored = sorted(set(flt.periods) - set(table["period"]))
        if unstored:
            missing = replace(flt, periods=tuple(unstored))
            computed = cells_statement(missing).subquery()
            table = pd.concat([table, _numeric_frame(conn, select(*_cell_columns(
                computed, computed.c.township_name, keys, missing, deadline)), keys)])
            table = table.sort_values(["period", "township_code"], ignore_index=True)
    return table  # in period and township order, as the stored statement reads it


def county_by_period(table: pd.DataFrame, level: str = "township") -> pd.DataFrame:
    """One row per period of `table`: the county's totals of that month (see `totals`)."""
    rows = [{"period": period, **totals(group, level)}
            for period, group in table.groupby("period", sort=True)]
    return pd.DataFrame(rows, columns=["period", *(
        key for key in (*COUNT_KEYS, *MEASURE_KEYS) if key in table.columns),
        *(i.key for i in rate_indicators(level))])


def county_summary(engine: Engine, flt: Filter) -> dict:
    """The county's row for the filter's latest month: sums over its townships, rates
    recomputed; plus "period"."""
    period = flt.latest
    return {"period": period, **totals(township_table(engine, flt.only(period)))}


# --- Formatting for the pages ----------------------------------------------------------------

MISSING_TEXT = "—"


def format_percent(value) -> str:
    return MISSING_TEXT if _is_missing(value) else f"{float(value) * 100:.1f}%"


def format_count(value) -> str:
    return MISSING_TEXT if _is_missing(value) else f"{round(float(value)):,}"


def format_wan_yuan(value) -> str:
    """Yuan shown in 万元 (ten thousands) with two decimals."""
    return MISSING_TEXT if _is_missing(value) else f"{float(value) / 10000:,.2f} 万元"


def format_ratio(value) -> str:
    return MISSING_TEXT if _is_missing(value) else f"{float(value):.1f}"


_FORMATTERS = {PERCENT: format_percent, COUNT: format_count, MONEY: format_wan_yuan,
               RATIO: format_ratio, TEXT: lambda v: "" if _is_missing(v) else str(v)}


def format_value(key: str, value) -> str:
    """Any metrics value as the pages show it, by the kind of its column."""
    return _FORMATTERS[column_kind(key)](value)
