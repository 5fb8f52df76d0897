"""Writing whole frames into a table fast: COPY on PostgreSQL, one executemany elsewhere.

SQLAlchemy's ORM and Core inserts build a dict and run type processing per row in Python;
for tens of thousands of rows (a 20,000-school return, a province's demo) that costs several
times what the database itself spends. Here values go to the driver as plain tuples, after
the same bind processors an ORM insert would apply, so what is stored is identical.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Table
from sqlalchemy.engine import Connection


def _column_values(column: pd.Series, sql_column) -> list:
    """Plain Python values, missing as None (drivers take neither numpy scalars nor NaN);
    whole numbers that pandas holds as floats because some are missing go back to int."""
    if column.dtype.kind == "f" and sql_column.type.python_type is int:
        column = column.astype("Int64")
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iub":
        return column.tolist()
    return column.astype(object).where(column.notna(), None).tolist()


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Insert the rows of `frame` (columns named as the table's) inside the caller's
    transaction: COPY on PostgreSQL, one executemany of tuples elsewhere. Values pass
    through the column types' own bind processors, so they are stored exactly as an ORM
    insert would store them."""
    if frame.empty:
        return
    columns = list(frame.columns)
    values = [_column_values(frame[c], table.c[c]) for c in columns]
    dbapi = conn.connection.driver_connection
    names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)  # "primary"
    if conn.dialect.name == "postgresql":
        with dbapi.cursor() as cursor, \
                cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in zip(*values):
                copy.write_row(row)
        return
    processors = [table.c[c].type._cached_bind_processor(conn.dialect) for c in columns]
    values = [[p(v) for v in vs] if p else vs for p, vs in zip(processors, values)]
    marks = ", ".join("?" * len(columns))
    cursor = dbapi.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
                           zip(*values))
    finally:
        cursor.close()
