"""Backup and restore round trips: every table comes back as it was, across the three kinds
of backup file and across engines (SQLite ⇄ PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from liushou_dash.cli import main
from liushou_dash.core import backup as backups
from liushou_dash.core.db import make_engine
from liushou_dash.core.models import AuditEntry, Base
from tests.conftest import PG_URL
from tests.demo_db import demo_engine  # noqa: F401  (fixture)


def every_table(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(
                    select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}


def without_restore_row(tables: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The restored database's tables less the audit row the restore itself added."""
    *kept, last = tables[AuditEntry.__tablename__]
    assert last[3] == "restore"  # column 3 is the action
    return {**tables, AuditEntry.__tablename__: kept}


def actions(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


@pytest.fixture
def second_pg():
    """An empty PostgreSQL database beside the test database, dropped afterwards."""
    if not PG_URL:
        pytest.skip("LIUSHOU_TEST_PG_URL is not set")
    server = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"{server.url.database}_restore"
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(server.url.set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def test_sqlite_backup_restores_every_table(demo_engine, tmp_path):  # noqa: F811
    file = tmp_path / "备份.db"
    assert main(["--db", demo_engine.url.render_as_string(), "backup", "-o", str(file)]) == 0
    before = every_table(demo_engine)
    assert before["audit"][-1][3] == "backup"  # the backup holds its own record
    assert len(before["school_returns"]) > 1000

    target = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    assert main(["--db", target.url.render_as_string(), "restore", str(file)]) == 0
    assert without_restore_row(every_table(target)) == before
    target.dispose()


def test_a_restore_never_writes_over_data(demo_engine, tmp_path, capsys):  # noqa: F811
    file = tmp_path / "备份.db"
    backups.backup(demo_engine, file)
    rows = every_table(demo_engine)
    assert main(["--db", demo_engine.url.render_as_string(), "restore", str(file)]) == 1
    assert "不是空库" in capsys.readouterr().err
    assert every_table(demo_engine) == rows

    stray = tmp_path / "照片.jpg"
    stray.write_bytes(b"\xff\xd8\xff\xe0 not a backup")
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(backups.BackupError, match="不是本系统的备份文件"):
        backups.restore(empty, stray)
    empty.dispose()


@pytest.mark.parametrize("logical", [False, True], ids=["pg_dump", "logical"])
def test_postgresql_round_trips_through_sqlite_and_back(demo_engine, pg_engine, second_pg,  # noqa: F811
                                                         tmp_path, logical):
    # SQLite → PostgreSQL: the way a county moves off the embedded database.
    sqlite_file = tmp_path / "county.db"
    backups.backup(demo_engine, sqlite_file)
    expected = every_table(demo_engine)
    with pg_engine.begin() as conn:  # the fixture's master data: restore wants an empty base
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    assert backups.restore(pg_engine, sqlite_file) == "sqlite"
    assert without_restore_row(every_table(pg_engine)) == expected

    # PostgreSQL → PostgreSQL (pg_dump) or → SQLite (logical), then compared table by table.
    dump = tmp_path / "pg.backup"
    kind = backups.backup(pg_engine, dump, logical=logical)
    assert kind == ("logical" if logical else "pg_dump")
    expected = every_table(pg_engine)
    target = make_engine(f"sqlite:///{tmp_path / 'from_pg.db'}") if logical else second_pg
    assert backups.restore(target, dump) == kind
    assert without_restore_row(every_table(target)) == expected
    # new rows get new ids after a restore: the sequences were moved past the restored ones
    backups.backup(target, tmp_path / "again.backup", logical=True)
    assert actions(target)[-2:] == ["restore", "backup"]
