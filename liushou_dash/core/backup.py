"""Backup and restore of the whole database (`backup -o FILE`, `restore FILE`).

Three kinds of file, told apart by their first bytes:
- a SQLite database file: SQLite's online backup API, a consistent copy taken while the app
  keeps serving (readers and writers go on; WAL is folded in);
- a PostgreSQL custom-format dump (`PGDMP`), when `pg_dump` is on the PATH;
- otherwise, for PostgreSQL, a logical dump: a zip of one JSON-lines file per table and the
  schema revision, written by this module and read back by it.

A restore goes into an empty database only (nothing is merged or overwritten), and may cross
engines where a logical copy can: a SQLite backup restores into PostgreSQL (row by row
through the models), which is also how a county moves from the embedded database to a
server. A backup from an older release is migrated to the current schema on the way in.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from alembic.migration import MigrationContext
from sqlalchemy import Date, DateTime, Numeric, Table, inspect, select, text
from sqlalchemy.engine import Engine

from liushou_dash.core import audit
from liushou_dash.core.actors import Actor
from liushou_dash.core.bulk import advance_sequences
from liushou_dash.core.db import init_db, make_engine, schema_revision, transaction
from liushou_dash.core.models import Base

SQLITE_MAGIC, PGDUMP_MAGIC, ZIP_MAGIC = b"SQLite format 3\x00", b"PGDMP", b"PK\x03\x04"
LOGICAL_META = "meta.json"
BATCH_ROWS = 5000


class BackupError(Exception):
    """A backup or restore that cannot be done; its message is Chinese and says why."""


# --- Backup -----------------------------------------------------------------------------------

def backup(engine: Engine, output: Path, actor: Actor | None = None,
           logical: bool = False) -> str:
    """Write a backup of the whole database to `output`; returns its kind ("sqlite",
    "pg_dump" or "logical"; `logical` asks for the last whatever the engine). The audit row
    comes first, so the backup holds its own record."""
    actor = actor or Actor.system()
    kind = "logical" if logical else _backup_kind(engine)
    with transaction(engine) as session:
        audit.record(session, actor.username, "backup", "database", kind, file=str(output))
    output.parent.mkdir(parents=True, exist_ok=True)
    {"sqlite": _sqlite_backup, "pg_dump": _pg_dump, "logical": _logical_dump}[kind](
        engine, output)
    return kind


def _backup_kind(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return "sqlite"
    return "pg_dump" if shutil.which("pg_dump") else "logical"


def _sqlite_backup(engine: Engine, output: Path) -> None:
    target = sqlite3.connect(output)
    try:
        with engine.connect() as conn:
            conn.connection.driver_connection.backup(target)
    finally:
        target.close()


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what}失败：{done.stderr.strip()[-500:]}")


def _pg_dump(engine: Engine, output: Path) -> None:
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
          f"--file={output}", _libpq_url(engine)], "pg_dump 备份")


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _snapshot(engine: Engine):
    """A connection that reads every table at one moment while the app goes on writing
    (PostgreSQL's REPEATABLE READ; SQLite's read transaction is a snapshot already)."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ")
    return engine.connect()


def _logical_dump(engine: Engine, output: Path) -> None:
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive, \
            _snapshot(engine) as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
        tables = [t.name for t in Base.metadata.sorted_tables]
        archive.writestr(LOGICAL_META, json.dumps({"revision": revision, "tables": tables}))
        for table in Base.metadata.sorted_tables:
            with archive.open(f"{table.name}.jsonl", "w") as member:
                for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                    line = json.dumps([_json_value(v) for v in row], ensure_ascii=False)
                    member.write(line.encode("utf-8") + b"\n")


# --- Restore ----------------------------------------------------------------------------------

def restore(engine: Engine, source: Path, actor: Actor | None = None) -> str:
    """Restore the backup at `source` into the empty database of `engine`; returns its kind."""
    if not source.is_file():
        raise BackupError(f"找不到备份文件：{source}")
    _require_empty(engine)
    with source.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        kind = "sqlite"
        _restore_sqlite(engine, source)
    elif head.startswith(PGDUMP_MAGIC):
        kind = "pg_dump"
        _restore_pg_dump(engine, source)
    elif head.startswith(ZIP_MAGIC):
        kind = "logical"
        _restore_logical(engine, source)
    else:
        raise BackupError(f"{source.name} 不是本系统的备份文件（SQLite 数据库、pg_dump 备份或逻辑备份）")
    with transaction(engine) as session:
        audit.record(session, (actor or Actor.system()).username, "restore", "database", kind,
                     file=str(source))
    return kind


def _require_empty(engine: Engine) -> None:
    with engine.connect() as conn:
        inspector = inspect(conn)
        filled = [name for name in inspector.get_table_names() if name != "alembic_version"
                  and conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first()]
    if filled:
        raise BackupError(f"目标数据库不是空库（已有数据的表：{'、'.join(sorted(filled)[:5])}），"
                          "恢复只能写入新建的空数据库")


def _restore_sqlite(engine: Engine, source: Path) -> None:
    if engine.dialect.name == "sqlite":
        origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            with engine.connect() as conn:
                origin.backup(conn.connection.driver_connection)
        finally:
            origin.close()
        init_db(engine)  # a backup from an older release is brought to the current schema
        return
    with tempfile.TemporaryDirectory() as folder:  # migrate a copy, never the backup itself
        copy = Path(folder) / "source.db"
        shutil.copyfile(source, copy)
        origin = make_engine(f"sqlite:///{copy}")
        try:
            init_db(origin)
            init_db(engine)
            _copy_rows(engine, _rows_of(origin))
        finally:
            origin.dispose()


def _restore_pg_dump(engine: Engine, source: Path) -> None:
    if engine.dialect.name != "postgresql":
        raise BackupError("pg_dump 备份只能恢复到 PostgreSQL 数据库")
    if not shutil.which("pg_restore"):
        raise BackupError("恢复 pg_dump 备份需要 pg_restore（PostgreSQL 客户端工具），本机未安装")
    with engine.begin() as conn:  # pg_restore recreates every table; the empty ones go first
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
          f"--dbname={_libpq_url(engine)}", str(source)], "pg_restore 恢复")
    init_db(engine)  # a backup from an older release is brought to the current schema


def _restore_logical(engine: Engine, source: Path) -> None:
    try:
        archive = zipfile.ZipFile(source)
        meta = json.loads(archive.read(LOGICAL_META))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise BackupError(f"{source.name} 不是本系统的逻辑备份文件") from None
    with archive:
        init_db(engine)
        current = schema_revision(engine)
        if meta["revision"] != current:
            raise BackupError(f"逻辑备份的数据库版本（{meta['revision']}）与本系统（{current}）不同，"
                              "请用同一版本的系统恢复后再升级")
        _copy_rows(engine, _logical_rows(archive, meta["tables"]))


# --- Row by row, through the models -----------------------------------------------------------

RowBatches = Iterator[tuple[Table, list[dict]]]


def _rows_of(origin: Engine) -> RowBatches:
    with origin.connect() as conn:
        for table in Base.metadata.sorted_tables:
            result = conn.execute(select(table).order_by(*table.primary_key.columns))
            while batch := result.mappings().fetchmany(BATCH_ROWS):
                yield table, [dict(row) for row in batch]


def _decoder(column):
    if isinstance(column.type, DateTime):
        return dt.datetime.fromisoformat
    if isinstance(column.type, Date):
        return dt.date.fromisoformat
    if isinstance(column.type, Numeric) and column.type.asdecimal:
        return Decimal
    return None


def _logical_rows(archive: zipfile.ZipFile, tables: list[str]) -> RowBatches:
    by_name = Base.metadata.tables
    for name in tables:
        table = by_name[name]
        decoders = [(c.name, _decoder(c)) for c in table.columns]
        with archive.open(f"{name}.jsonl") as member:
            batch = []
            for line in member:
                batch.append({key: value if value is None or decode is None else decode(value)
                              for (key, decode), value in zip(decoders, json.loads(line))})
                if len(batch) == BATCH_ROWS:
                    yield table, batch
                    batch = []
            if batch:
                yield table, batch


def _copy_rows(engine: Engine, batches: RowBatches) -> None:
    """Insert every batch into the migrated, empty schema in one transaction (a failed
    restore leaves the database empty), then move PostgreSQL's id sequences past the ids
    restored."""
    with engine.begin() as conn:
        for table, rows in batches:
            conn.execute(table.insert(), rows)
        advance_sequences(conn, Base.metadata.sorted_tables)
