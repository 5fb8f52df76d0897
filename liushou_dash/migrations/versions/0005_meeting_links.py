"""meeting links

Read-only links to the meeting screen (workflow/meeting_links.py): the SHA-256 of the token
(never the token), who made the link and when, when it expires, when and by whom it was
revoked, and the townships it shows (NULL: every township).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meeting_links',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('token_hash', sa.String(length=64), nullable=False),
                    sa.Column('note', sa.String(length=100), nullable=False),
                    sa.Column('townships', sa.Text(), nullable=True),
                    sa.Column('created_by', sa.String(length=50), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('expires_at', sa.DateTime(), nullable=False),
                    sa.Column('revoked_at', sa.DateTime(), nullable=True),
                    sa.Column('revoked_by', sa.String(length=50), nullable=True),
                    sa.PrimaryKeyConstraint('id'))
    op.create_index('ux_meeting_links_token_hash', 'meeting_links', ['token_hash'],
                    unique=True)


def downgrade() -> None:
    op.drop_index('ux_meeting_links_token_hash', table_name='meeting_links')
    op.drop_table('meeting_links')
