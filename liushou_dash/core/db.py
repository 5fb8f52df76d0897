"""Engine and session factory. SQLite (WAL) by default, PostgreSQL through the URL."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, delete, event, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from liushou_dash.core import rollup, township_months
from liushou_dash.core.models import AuditEntry, Setting

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'liushou.db'}"
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
# Setting a migration writes when it changed what the derived tables (the rollup and the
# township months) hold: init_db then refills them once, at the newest revision, with the
# newest code. (A migration that filled them itself would run the code of the day against
# the columns of its own revision, and break as soon as a later one adds a column.)
DERIVED_STALE = "derived_stale"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("LIUSHOU_DATABASE_URL") or DEFAULT_URL


_CREATED: set[str] = set()  # databases (URLs) known to have their schema: it stays


def has_schema(conn: Connection) -> bool:
    """False for a database whose schema is not created yet (init-db has not run). Asked of
    the catalogue once per database: on PostgreSQL every ask is a catalogue query, and the
    pages ask on every read."""
    url = conn.engine.url.render_as_string()
    if url not in _CREATED and inspect(conn).has_table(Setting.__tablename__):
        _CREATED.add(url)
    return url in _CREATED


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets dashboards read while a township uploads; the busy timeout makes concurrent
    # writers wait their turn instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


WRITE_OPTION = "liushou_write"


def _begin_write_at_once(connection) -> None:
    # A write transaction (db.transaction) takes SQLite's write lock when it begins instead
    # of at its first INSERT/UPDATE: what it read first (the current submission, the month's
    # lock) cannot change before it writes, and concurrent writers queue on the busy timeout
    # rather than failing with "database is locked" when a stale read turns into a write.
    # Plain reads (engine.connect()) keep the driver's deferred start and never wait.
    if connection.get_execution_options().get(WRITE_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", _begin_write_at_once)
        return engine
    # No JIT: it compiles a dashboard query for longer than the query runs (a province's
    # township table: ~2 s of compiling for 50 ms of work); nothing here is a long scan.
    return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c jit=off"})


_ENGINES: dict[str, Engine] = {}


def engine_for(url: str | None = None) -> Engine:
    """One engine per URL per process, shared by every Streamlit session."""
    url = database_url(url)
    if url not in _ENGINES:
        _ENGINES.setdefault(url, make_engine(url))
    return _ENGINES[url]


def dispose_engines() -> None:
    """Close every shared engine (tests that point the app at another database)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def session_maker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine):
    """One write = one transaction: commits on success, rolls everything back on any error."""
    writer = engine.execution_options(**{WRITE_OPTION: True})  # see _begin_write_at_once
    with session_maker(writer).begin() as session:
        yield session


# Rows per read of the audit chain's tail; the LIMIT also keeps PostgreSQL on the index when
# its statistics are stale (a plain range query was planned as a 50 ms sequential scan).
AUDIT_TAIL_ROWS = 1000


def audit_tail(engine: Engine, since: int | None) -> list:
    """The audit chain's rows (seq, action, row_hash) from seq `since` on, in order (at most
    AUDIT_TAIL_ROWS), or only its last row when `since` is None; [] before init-db. Every
    write leaves a row, so this is how a replica learns that another one wrote
    (ui.data_version): a range scan of the unique index on seq, usually the one row at `since`."""
    columns = select(AuditEntry.seq, AuditEntry.action, AuditEntry.row_hash)
    query = (columns.where(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq.desc()).limit(1)
             if since is None else
             columns.where(AuditEntry.seq >= since).order_by(AuditEntry.seq).limit(AUDIT_TAIL_ROWS))
    with engine.connect() as conn:
        return conn.execute(query).all() if has_schema(conn) else []


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at; None before init-db."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def init_db(engine: Engine) -> None:
    """Create the schema or migrate it to the newest revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        refill_derived(connection)


def refill_derived(connection: Connection) -> None:
    """The rollup and the township months computed again from the returns, when a
    migration marked them stale (DERIVED_STALE), in the caller's transaction."""
    stale = select(Setting.value).where(Setting.key == DERIVED_STALE)
    if connection.execute(stale).first() is None:
        return
    rollup.rebuild(connection)
    township_months.rebuild(connection)
    connection.execute(delete(Setting).where(Setting.key == DERIVED_STALE))
