"""The township months: every township's month as the dashboards show it, stored.

A province's cockpit asks for the township table of three months (the cards compare with the
month before; 连续未达标 looks three months back) and its trend for twelve. Computed from the
rollup, each month is ~2,600 cells, each finding its current submission and the submissions
its homes and funding are "as of": ~0.1 s a month on SQLite. Stored, a month is one range
read of its rows (metrics.township_table), however large the province.

The rows are exactly what `metrics.cells_statement` computes, written by it inside the
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

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from . import metrics
from .metrics import Filter
from .models import Submission, TownshipMonth

STORED = TownshipMonth.__table__
COLUMNS = tuple(c.name for c in STORED.columns)
VIEWS = (False, True)  # approved_only


def _rows(flt: Filter):
    """The stored rows of the filter's cells (one view: flt.approved_only)."""
    cells = metrics.cells_statement(flt).subquery()
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
        months = metrics.periods_between(period, metrics.previous_period(first))
    elif period > last:
        months = metrics.periods_between(metrics.next_period(last), period)
    else:
        return
    _write(conn, months, new_only=True)


def refresh(conn: Connection, township_code: str, period: str) -> None:
    """After a change to `township_code`'s return of `period`: its cells from then on."""
    _cover(conn, period)
    _, last = _stored_span(conn)
    months = metrics.periods_between(period, last)
    mine = (STORED.c.township_code == township_code) & STORED.c.period.in_(months)
    conn.execute(delete(STORED).where(mine))
    _write(conn, months, (township_code,))


def rebuild(conn: Connection) -> None:
    """Every cell again, for the months from the first submission to the latest."""
    conn.execute(delete(STORED))
    first, last = conn.execute(select(func.min(Submission.period),
                                      func.max(Submission.period))).one()
    if first is not None:
        for period in metrics.periods_between(first, last):  # a month at a time: less memory
            _write(conn, (period,))
