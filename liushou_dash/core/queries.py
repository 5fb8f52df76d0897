"""Small SQL helpers every reader shares: frames from statements (numbers as floats), IN lists
in chunks, the conditions of counted (current, not returned; approved) submissions, a township
filter.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from liushou_dash.core.filtering import Filter
from liushou_dash.core.models import APPROVED, RETURNED, Submission

_SQL_IN_CHUNK = 5000  # keeps IN lists under every driver's bound-parameter limit


def read_frame(conn: Connection, statement) -> pd.DataFrame:
    result = conn.execute(statement)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def numeric_frame(conn: Connection, statement, numeric: Iterable[str]) -> pd.DataFrame:
    """read_frame, with the `numeric` columns as float64 (NULL as NaN), built column by column
    in C from the driver's own rows: a province's month is 100,000 values, which
    SQLAlchemy's rows and then pandas would each first hold as Python objects."""
    cursor = conn.execute(statement).cursor
    keys, numeric = [d[0] for d in cursor.description], set(numeric)
    columns = list(zip(*cursor.fetchall())) or [()] * len(keys)
    return pd.DataFrame({key: np.array(values, dtype="float64" if key in numeric else object)
                         for key, values in zip(keys, columns)})


def frame_in_chunks(conn: Connection, build, ids: list[int]) -> pd.DataFrame:
    """Run `build(chunk_of_ids)` over `ids` in chunks and stack the results."""
    ids = [int(i) for i in ids]  # numpy integers would reach sqlite3 as blobs and match nothing
    frames = [read_frame(conn, build(ids[i:i + _SQL_IN_CHUNK]))
              for i in range(0, len(ids), _SQL_IN_CHUNK)]
    return pd.concat(frames, ignore_index=True) if frames else read_frame(conn, build([]))


def current_conditions(approved_only: bool, submissions=None, counted: bool = True) -> list:
    """Conditions on `submissions` (the table, or an alias of it) that select the data the
    dashboards count: each township's current submission of a month, approved ones only when
    `approved_only`. The one rule of a returned return: it is not counted (not in figures,
    rankings, scores, the bulletin) until the township submits again, but it stays current,
    so `counted=False` still reads it: its 无人监护 children are alerted all the same."""
    table = Submission.__table__ if submissions is None else submissions
    conditions = [table.c.is_current.is_(True)]
    if approved_only:
        conditions.append(table.c.status == APPROVED)
    elif counted:
        conditions.append(table.c.status != RETURNED)
    return conditions


def in_townships(column, flt: Filter) -> list:
    return [] if flt.townships is None else [column.in_(flt.townships)]
