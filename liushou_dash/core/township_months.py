"""The township months: every township's month as the dashboards show it, stored.

A province's cockpit asks for the township table of three months (the cards compare with the
month before; 连续未达标 looks three months back) and its trend for twelve. Computed from the
rollup, each month is ~2,600 cells, each finding its current submission and the submissions
its homes and funding are "as of": ~0.1 s a month on SQLite. Stored, a month is one range
read of its rows (stored.township_table), however large the province.

The rows are exactly what `township_cells.cells_statement` computes, written by it inside the
transaction of every change to what a cell shows:
- an upload of (township, month), and a review, unlock or roll back of one: that township's
  cells from that month on, since later months show its homes (and within the year its
  funding) as of the latest month that carried them (`refresh`);
- the first submission of a month not stored yet: that month's cells of every township
  (`refresh` too; a township without a return of it still shows its homes and funding);
- a master data load: everything (`rebuild`).
The deadline is not stored: a cell keeps its first upload's time, judged when read.
Both views are kept: every current return, and approved ones only.

Two uploads of different townships may both be the first of a new month; the month's cells
are then written with "on conflict do nothing", and each transaction rewrites its own
township's cells afterwards, seeing the other's once it has committed (PostgreSQL's READ
COMMITTED takes a new snapshot per statement; SQLite runs one writer at a time).
"""
from __future__ import annotations

from sqlalchemy import (
    Date,
    Float,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from liushou_dash import catalog
from liushou_dash.catalog.columns import COUNT_KEYS
from liushou_dash.core import rollup
from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import (
    RETURNED,
    FundingEntry,
    School,
    Submission,
    SubmissionTotals,
    Township,
    TownshipMonth,
    Village,
)
from liushou_dash.core.periods import (
    next_period,
    period_end,
    periods_between,
    previous_period,
)
from liushou_dash.core.queries import current_conditions, in_townships

# --- What a stored row holds, computed from the rollup ---------------------------------------
# A province's month is ~2,600 township cells: one query finds each cell's current submission
# and the submissions its homes and funding are "as of" (an index seek per cell, skipped when
# the current one carries the sheet), and joins their totals; the school rows stay unread.

_TOTALS = SubmissionTotals.__table__


_SUBMISSIONS = Submission.__table__


def _months_with_ends(flt: Filter):
    """The filter's months with each one's last day, as a table to join."""
    rows = [select(literal(p).label("period"), literal(period_end(p), Date).label("end"))
            for p in flt.periods]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("months")


def _shown(submissions, flt: Filter, township, counted: bool = True) -> list:
    """current_conditions on an alias of submissions, for one township."""
    return [submissions.c.township_code == township,
            *current_conditions(flt.approved_only, submissions, counted)]


def _counted(current):
    """The cell's current submission counts (see current_conditions): it is not returned."""
    return and_(current.c.id.is_not(None), current.c.status != RETURNED)


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
    return func.coalesce(case((and_(current.c[flag].is_(True), _counted(current)), current.c.id)),
                         latest)


def _cells(flt: Filter):
    """(period, township) with the ids of the submissions the cell shows, and the time of
    its first upload (whatever became of it), by which timeliness is judged."""
    months, townships = _months_with_ends(flt), Township.__table__
    grid = (select(months.c.period, months.c.end,
                   townships.c.code.label("township_code"),
                   townships.c.name.label("township_name"))
            .select_from(months.join(townships, true()))
            .where(*in_townships(townships.c.code, flt))).subquery("grid")
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
                *_shown(current, flt, grid.c.township_code, counted=False))))).subquery("cells")


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
    counts = cells.c.status != RETURNED  # a returned return is not counted (current_conditions)
    has_rows = and_(counted.c.schools_reported > 0, counts)  # without school rows: no counts
    return (select(cells.c.period, cells.c.township_code, cells.c.township_name,
                   *[case((has_rows, counted.c[key])).label(key)
                     for key in (*COUNT_KEYS, *catalog.SCHOOL_TALLY_KEYS)],
                   villages.c.villages, schools.c.schools,
                   *[_total_of(cells, counted, "homes_id", key).label(key)
                     for key in rollup.HOME_KEYS],
                   _ledger_total(cells, counted, "allocated", catalog.ALLOCATED_KIND),
                   _ledger_total(cells, counted, "disbursed", catalog.DISBURSED_KIND),
                   literal(1).label("expected"),
                   case((and_(cells.c.current_id.is_not(None), counts), 1), else_=0).label("reported"),
                   cells.c.first_upload, cells.c.status)
            .select_from(cells.outerjoin(counted, counted.c.submission_id == cells.c.current_id)
                         .outerjoin(villages, villages.c.township_code == cells.c.township_code)
                         .outerjoin(schools, schools.c.township_code == cells.c.township_code))
            .order_by(cells.c.period, cells.c.township_code))


# --- Storing them -----------------------------------------------------------------------------

STORED = TownshipMonth.__table__
COLUMNS = tuple(c.name for c in STORED.columns)
VIEWS = (False, True)  # approved_only


def _rows(flt: Filter):
    """The stored rows of the filter's cells (one view: flt.approved_only)."""
    cells = cells_statement(flt).subquery()
    return select(*[literal(flt.approved_only).label(c) if c == "approved_only" else cells.c[c]
                    for c in COLUMNS])


def _insert(conn: Connection, new_only: bool):
    if not new_only:
        return insert(STORED)
    if conn.dialect.name == "postgresql":
        return postgresql.insert(STORED).on_conflict_do_nothing()
    # SQLite cannot parse ON CONFLICT after a SELECT that ends in a join's ON.
    return insert(STORED).prefix_with("OR IGNORE")


def _write(conn: Connection, periods, townships=None, new_only: bool = False) -> None:
    for approved_only in VIEWS:
        flt = Filter(tuple(periods), townships, approved_only=approved_only)
        conn.execute(_insert(conn, new_only).from_select(list(COLUMNS), _rows(flt)))


def _stored_span(conn: Connection) -> tuple[str, str] | tuple[None, None]:
    return tuple(conn.execute(select(func.min(STORED.c.period), func.max(STORED.c.period))).one())


def _cover(conn: Connection, period: str) -> None:
    """Every township's cells of the months from the stored span to `period`, when it
    lies outside the span (normally: the first upload of a new month)."""
    first, last = _stored_span(conn)
    if first is None:
        months = (period,)
    elif period < first:
        months = periods_between(period, previous_period(first))
    elif period > last:
        months = periods_between(next_period(last), period)
    else:
        return
    _write(conn, months, new_only=True)


def refresh(conn: Connection, township_code: str, period: str) -> None:
    """After a change to `township_code`'s return of `period`: its cells from then on."""
    _cover(conn, period)
    _, last = _stored_span(conn)
    months = periods_between(period, last)
    mine = (STORED.c.township_code == township_code) & STORED.c.period.in_(months)
    conn.execute(delete(STORED).where(mine))
    _write(conn, months, (township_code,))


def rebuild(conn: Connection) -> None:
    """Every cell again, for the months from the first submission to the latest."""
    conn.execute(delete(STORED))
    first, last = conn.execute(select(func.min(Submission.period),
                                      func.max(Submission.period))).one()
    if first is not None:
        for period in periods_between(first, last):  # a month at a time: less memory
            _write(conn, (period,))
