"""Writing whole frames into a table fast: COPY on PostgreSQL, multi-row INSERTs elsewhere.

SQLAlchemy's ORM and Core inserts build a dict and run type processing per row in Python;
for tens of thousands of rows (a 20,000-school return, a province's demo) that costs several
times what the database itself spends. Here values go to the driver as plain values, after
the same bind processors an ORM insert would apply, so what is stored is identical.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Table, text
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
    transaction: COPY on PostgreSQL, one executemany of multi-row INSERTs elsewhere. Values
    pass through the column types' own bind processors, so they are stored exactly as an
    ORM insert would store them."""
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
    _insert_rows(dbapi, table.name, names, values, len(frame))


SQLITE_PARAMETERS = 999  # bound parameters per statement that every SQLite build accepts
ROWS_AT_ONCE = 8192      # rows whose values are laid out in one list at a time


def _insert_rows(dbapi, table: str, names: str, columns: list[list], count: int) -> None:
    """Many rows per INSERT: SQLite runs one statement of 35 rows faster than 35 of one.
    The statements' parameters are the columns' values laid out row after row by slice
    assignment (a pass in C per column), a few thousand rows at a time."""
    width = len(columns)
    marks = "(" + ", ".join("?" * width) + ")"
    per = max(1, SQLITE_PARAMETERS // width)
    full = count - count % per  # the rows that fill whole statements

    def statement(rows_in_it: int) -> str:
        return f"INSERT INTO {table} ({names}) VALUES " + ", ".join([marks] * rows_in_it)

    def laid_out(start: int, stop: int) -> list:
        flat = [None] * ((stop - start) * width)
        for j, column in enumerate(columns):
            flat[j::width] = column[start:stop]
        return flat

    def batches():
        step = ROWS_AT_ONCE - ROWS_AT_ONCE % per
        for start in range(0, full, step):
            flat = laid_out(start, min(start + step, full))
            for i in range(0, len(flat), per * width):
                yield flat[i:i + per * width]
    cursor = dbapi.cursor()
    try:
        if full:
            cursor.executemany(statement(per), batches())
        if count > full:
            cursor.execute(statement(count - full), laid_out(full, count))
    finally:
        cursor.close()


def advance_sequences(conn: Connection, tables) -> None:
    """After rows were written with explicit ids, move PostgreSQL's id sequences past them
    (tables with one whole-number key that has a sequence); nothing to do elsewhere."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        [*key] = table.primary_key.columns
        if len(key) == 1 and key[0].type.python_type is int:
            conn.execute(text("SELECT setval(s, m) FROM pg_get_serial_sequence(:t, :c) AS s, "
                              f'(SELECT max("{key[0].name}") AS m FROM "{table.name}") AS top '
                              "WHERE s IS NOT NULL AND m IS NOT NULL"),
                         {"t": table.name, "c": key[0].name})
