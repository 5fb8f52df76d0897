"""Readers of the stored returns for a filter (months, townships, school types, approved data
only): the school table, the homes and funding "as of" a month, reporting, and the township
table computed from the rows themselves (the school-type filter needs it; the tests compare
the stored township months with it).

Semantics:
- current data of a period = rows of the township's current submission of that period
  (approved ones only when `approved_only`);
- homes are "as of" a period: the current submission of the latest period up to it that
  carried homes; funding is the same within the period's year (the ledger is year to date).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Float, cast, func, literal, or_, select, tuple_
from sqlalchemy.engine import Connection, Engine

from liushou_dash import catalog
from liushou_dash.catalog.columns import COUNT_KEYS
from liushou_dash.core import rollup
from liushou_dash.core.db import has_schema
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import (
    RETURNED,
    FundingEntry,
    School,
    SchoolReturn,
    Submission,
    SubmissionTotals,
    Township,
    TownshipMonth,
    Village,
)
from liushou_dash.core.periods import due_date, first_of_year, month_number, period_end
from liushou_dash.core.queries import (
    current_conditions,
    frame_in_chunks,
    in_townships,
    numeric_frame,
    read_frame,
)
from liushou_dash.core.settings import deadline_day_in
from liushou_dash.indicators.ratios import floats, with_rates


def period_span(engine: Engine, approved_only: bool = False) -> tuple[str, str] | None:
    """The first and the latest month with current data; None for an empty (or not yet
    created) database."""
    with engine.connect() as conn:
        if not has_schema(conn):
            return None

        def first_by(order):  # walks the period index from one end: MIN/MAX would scan
            return conn.scalar(select(Submission.period).where(*current_conditions(approved_only))
                               .order_by(order).limit(1))
        first, latest = first_by(Submission.period), first_by(Submission.period.desc())
    return None if latest is None else (first, latest)


def latest_period(engine: Engine, approved_only: bool = False) -> str | None:
    """The latest month with current data; None for an empty (or not yet created) database."""
    span = period_span(engine, approved_only)
    return None if span is None else span[1]


_STORED = TownshipMonth.__table__
_RETURNS, _TOTALS = SchoolReturn.__table__, SubmissionTotals.__table__


def _current_returns(statement, flt: Filter, counted: bool = True):
    """Restrict a statement over school_returns to the filter's current rows (returned ones
    too when not `counted`: see current_conditions)."""
    statement = statement.join(Submission, Submission.id == _RETURNS.c.submission_id).where(
        _RETURNS.c.period.in_(flt.periods), *current_conditions(flt.approved_only, None, counted),
        *in_townships(_RETURNS.c.township_code, flt))
    if flt.school_types is not None:
        statement = statement.where(_RETURNS.c.school_code.in_(
            select(School.code).where(School.type.in_(flt.school_types))))
    return statement


def _township_counts(conn: Connection, flt: Filter) -> pd.DataFrame:
    """Σ of every school count per (period, township): the one big GROUP BY."""
    statement = select(_RETURNS.c.period, _RETURNS.c.township_code,
                       *[func.sum(_RETURNS.c[key]).label(key) for key in COUNT_KEYS],
                       *rollup.tally_columns(_RETURNS))
    statement = _current_returns(statement.select_from(_RETURNS), flt)
    return read_frame(conn, statement.group_by(_RETURNS.c.period, _RETURNS.c.township_code))


def _as_counts(frame: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """Count columns as nullable integers: a unit without a return has <NA>, not 0."""
    return frame.assign(**{key: counts(floats(frame[key])) for key in keys})


def counts(found: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers with NaN as missing, as a nullable integer column (built directly:
    astype("Int64") checks every value)."""
    return pd.arrays.IntegerArray(np.nan_to_num(found).astype("int64"), np.isnan(found))


def school_table(engine: Engine, flt: Filter, positive_only: str | None = None,
                 counts: tuple[str, ...] = COUNT_KEYS, counted: bool = True) -> pd.DataFrame:
    """One row per (period, school) with a current return: ids, school_type, the `counts`
    (default every count) and the school-level rates they give. Names come from master data
    (the return's name as fallback).

    With `positive_only` (a count key), only the rows where that count is above 0, read
    for the few townships whose stored month has any (the 无人监护 alerts of a province: a
    few hundred rows out of 20,000).

    Not `counted`: returned returns too (see current_conditions), with each row's review
    `status`, for the alerts that no rule may hide."""
    schools, townships = School.__table__, Township.__table__
    status = [] if counted else [Submission.status.label("status")]
    statement = select(
        _RETURNS.c.period, _RETURNS.c.township_code, townships.c.name.label("township_name"),
        _RETURNS.c.school_code,
        func.coalesce(schools.c.name, _RETURNS.c.school_name).label("school_name"),
        schools.c.type.label("school_type"), *[_RETURNS.c[key] for key in counts], *status,
    ).select_from(_RETURNS.outerjoin(schools, schools.c.code == _RETURNS.c.school_code)
                  .outerjoin(townships, townships.c.code == _RETURNS.c.township_code))
    statement = _current_returns(statement, flt, counted).order_by(
        _RETURNS.c.period, _RETURNS.c.township_code, _RETURNS.c.school_code)
    if positive_only is not None:
        flagged = select(_STORED.c.township_code).where(
            _STORED.c.period.in_(flt.periods), _STORED.c.approved_only.is_(flt.approved_only),
            or_(_STORED.c[positive_only] > 0, _STORED.c.status == RETURNED))
        statement = statement.where(_RETURNS.c[positive_only] > 0,
                                    _RETURNS.c.township_code.in_(flagged))
    with engine.connect() as conn:
        frame = numeric_frame(conn, statement, counts)
    return with_rates(_as_counts(frame, counts), "school")


def _townships(conn: Connection, flt: Filter) -> pd.DataFrame:
    statement = (select(Township.code.label("township_code"), Township.name.label("township_name"))
                 .where(*in_townships(Township.code, flt)).order_by(Township.code))
    return read_frame(conn, statement)


def _master_counts(conn: Connection, flt: Filter) -> pd.DataFrame:
    """villages and schools per township (schools of the filter's types)."""
    villages = read_frame(conn, select(Village.township_code, func.count().label("villages"))
                      .where(*in_townships(Village.township_code, flt))
                      .group_by(Village.township_code))
    school_types = [] if flt.school_types is None else [School.type.in_(flt.school_types)]
    schools = read_frame(conn, select(School.township_code, func.count().label("schools"))
                     .where(*in_townships(School.township_code, flt), *school_types)
                     .group_by(School.township_code))
    return villages.merge(schools, on="township_code", how="outer")


def _with_month_and_year(frame: pd.DataFrame) -> pd.DataFrame:
    """Adds `month` (month_number, an integer for merge_asof) and `year` (its January)."""
    return frame.assign(month=frame["period"].map(month_number).astype("int64"),
                        year=frame["period"].map(first_of_year).astype(object))


def _current_submissions(conn: Connection, flt: Filter) -> pd.DataFrame:
    """The current submissions that can be "as of" a month of the filter: those within its
    span, and per township the latest before it that carried homes, or funding of the
    span's first year. (Reading every earlier month would cost the cockpit most of its time.)"""
    first = flt.periods[0]
    common = [*current_conditions(flt.approved_only), *in_townships(Submission.township_code, flt)]

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
            unit_and_period.in_(latest_before_span(Submission.has_funding, first_of_year(first)))))
    return _with_month_and_year(read_frame(conn, statement))


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
    return frame_in_chunks(conn, build, ids)


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
    return frame_in_chunks(conn, build, ids)


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
    sums = sums.reindex(columns=list(catalog.FUNDING_KINDS)).fillna(0.0)
    sums.columns = ["allocated", "disbursed"]
    return sums.reset_index()


def _reporting(conn: Connection, grid: pd.DataFrame, submissions: pd.DataFrame,
               flt: Filter, deadline: int) -> pd.DataFrame:
    """expected, reported and on_time per (period, township)."""
    reported = submissions.loc[submissions["period"].isin(flt.periods),
                               ["period", "township_code"]].assign(reported=1)
    # Timeliness is judged on the first upload, whatever became of it later.
    first = read_frame(conn, select(Submission.period, Submission.township_code,
                                func.min(Submission.submitted_at).label("first_submitted"))
                   .where(Submission.period.in_(flt.periods),
                          *in_townships(Submission.township_code, flt))
                   .group_by(Submission.period, Submission.township_code))
    first["on_time"] = _on_time(first["period"], first["first_submitted"], deadline)
    returned = read_frame(conn, select(Submission.period, Submission.township_code,
                                       literal(1).label("returned"))
                          .where(Submission.period.in_(flt.periods),
                                 Submission.status == RETURNED,
                                 *current_conditions(flt.approved_only, None, counted=False),
                                 *in_townships(Submission.township_code, flt)))
    frame = (grid[["period", "township_code"]]
             .merge(reported, how="left", on=["period", "township_code"])
             .merge(first[["period", "township_code", "on_time"]], how="left",
                    on=["period", "township_code"])
             .merge(returned, how="left", on=["period", "township_code"]))
    return frame.assign(expected=1, reported=frame["reported"].fillna(0).astype("int64"),
                        on_time=frame["on_time"].fillna(0).astype("int64"),
                        returned=frame["returned"].astype("float64").fillna(0).astype("int64"))


def _on_time(period: pd.Series, first_upload: pd.Series, deadline: int) -> pd.Series:
    """1 where the month's first upload (NaT: none) was on or before its due date, else 0."""
    due = pd.to_datetime(period.map({p: due_date(p, deadline) for p in period.unique()}))
    return (pd.to_datetime(first_upload).dt.normalize() <= due).astype("int64")


def cells_from_rows(engine: Engine, flt: Filter) -> pd.DataFrame:
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
        reporting = _reporting(conn, grid, submissions, flt, deadline_day_in(conn))
    table = (grid.merge(counts, how="left", on=keys)
             .merge(master, how="left", on="township_code")
             .merge(homes, how="left", on=keys)
             .merge(funding, how="left", on=keys)
             .merge(reporting, how="left", on=keys))
    return table.sort_values(keys, ignore_index=True)
