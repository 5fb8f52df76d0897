"""hardening

What guards accounts and the record: the session epoch of an account (a password change,
reset or deactivation ends its other sessions), the login throttle (a delay per account and
per client address instead of a lock a stranger can renew), the audit chain (sequence and
hashes), and at most one current submission per township and month, enforced by the
database itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0',
                                   nullable=False))
    op.create_table('login_throttle',
                    sa.Column('key', sa.String(length=120), nullable=False),
                    sa.Column('failures', sa.Integer(), nullable=False),
                    sa.Column('last_failure', sa.DateTime(), nullable=True),
                    sa.Column('wait_until', sa.DateTime(), nullable=True),
                    sa.PrimaryKeyConstraint('key'))
    with op.batch_alter_table('audit') as batch:
        batch.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
        batch.create_unique_constraint('uq_audit_seq', ['seq'])
    _chain_stored_audit_rows()
    op.create_index('ux_submissions_one_current', 'submissions', ['township_code', 'period'],
                    unique=True, sqlite_where=sa.text('is_current'),
                    postgresql_where=sa.text('is_current'))


AUDIT = sa.table('audit', sa.column('id', sa.Integer), sa.column('at', sa.DateTime),
                 *(sa.column(name, sa.String) for name in
                   ('username', 'action', 'object_type', 'object_id', 'detail')),
                 sa.column('before_id', sa.Integer), sa.column('after_id', sa.Integer),
                 sa.column('seq', sa.Integer), sa.column('prev_hash', sa.String),
                 sa.column('row_hash', sa.String))
CHAIN_BATCH = 5000


def _chain_stored_audit_rows() -> None:
    """Seal the audit rows already stored, in the order they were written (id), so that an
    upgraded database verifies; rows written from now on are sealed as they are written.
    A few thousand rows at a time: a province's demo has hundreds of thousands."""
    from liushou_dash.core.audit import (  # the one definition of the chain's hash
        CONTENT,
        seal,
    )

    conn, last_id = op.get_bind(), 0
    while True:
        rows = conn.execute(sa.select(AUDIT.c.id, *(AUDIT.c[k] for k in CONTENT))
                            .where(AUDIT.c.id > last_id).order_by(AUDIT.c.id)
                            .limit(CHAIN_BATCH)).mappings().all()
        if not rows:
            return
        seals = seal(conn, [dict(row) for row in rows])
        conn.execute(AUDIT.update().where(AUDIT.c.id == sa.bindparam('row_id'))
                     .values(seq=sa.bindparam('s'), prev_hash=sa.bindparam('p'),
                             row_hash=sa.bindparam('h')),
                     [{'row_id': row['id'], 's': s, 'p': p, 'h': h}
                      for row, (s, p, h) in zip(rows, seals)])
        last_id = rows[-1]['id']


def downgrade() -> None:
    op.drop_index('ux_submissions_one_current', table_name='submissions')
    with op.batch_alter_table('audit') as batch:
        batch.drop_constraint('uq_audit_seq', type_='unique')
        batch.drop_column('row_hash')
        batch.drop_column('prev_hash')
        batch.drop_column('seq')
    op.drop_table('login_throttle')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_epoch')
