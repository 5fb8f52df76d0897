"""The Alembic migrations build exactly the schema the models declare, and carry the data
of an older database along."""
import datetime as dt
import json

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from liushou_dash.core import audit
from liushou_dash.core.db import MIGRATIONS, init_db, make_engine, transaction
from liushou_dash.core.models import AuditEntry, Base
from tests.conftest import PG_URL
from tests.fixtures import TOWNSHIP


def test_migrations_match_models(any_engine):
    with any_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def at_revision(url: str, revision: str) -> Engine:
    """An empty database (PostgreSQL: its public schema recreated) migrated to `revision`."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    if not PG_URL:
        pytest.skip("LIUSHOU_TEST_PG_URL is not set")
    return PG_URL


def test_upgrading_chains_the_audit_rows_already_stored(any_url):
    """A database of revision 0003 with an audit trail verifies after the upgrade, in the
    order its rows were written, and the next row joins the chain."""
    engine = at_revision(any_url, "0003")
    start = dt.datetime(2026, 3, 1, 8)
    kinds = [("clerk108", "submit"), ("staffx", "approve"), (None, "login_failed")]
    old_rows = [{"at": start + dt.timedelta(seconds=n, microseconds=n), "username": user,
                 "action": action, "object_type": "submission", "object_id": f"{TOWNSHIP}/{n}",
                 "before_id": None, "after_id": n, "detail": json.dumps({"n": n})}
                for n, (user, action) in enumerate(kinds * 1700, start=1)]  # > one batch
    with engine.begin() as conn:
        conn.execute(insert(AuditEntry.__table__), old_rows)  # the columns 0003 has
    init_db(engine)

    verdict = audit.verify(engine)
    assert verdict.intact, verdict.problem
    assert verdict.count == len(old_rows)
    with engine.connect() as conn:
        order = conn.execute(select(AuditEntry.id, AuditEntry.seq).order_by(AuditEntry.id)).all()
    assert [seq for _, seq in order] == list(range(1, len(old_rows) + 1))
    with transaction(engine) as session:
        audit.record(session, "boss", "set_deadline", "setting", "deadline_day")
    assert audit.verify(engine).count == len(old_rows) + 1
    engine.dispose()
