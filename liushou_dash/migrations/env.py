"""Alembic environment: runs on the connection db.init_db hands over, or on LIUSHOU_DATABASE_URL."""
from alembic import context

from liushou_dash.core.db import make_engine
from liushou_dash.core.models import Base

config = context.config


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with make_engine().begin() as conn:
        run(conn)
