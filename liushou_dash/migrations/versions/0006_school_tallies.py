"""school tallies; returned returns not counted

Beside each school count's sum, the rollup (submission_totals) and the stored township months
keep how many schools report more than 0 of it (`<count>_schools`), and the township months
how many schools reported (schools_reported): an indicator "schools with X ÷ schools" is then
a catalogue declaration. The township months are computed again: a returned return is no
longer counted (core/queries.current_conditions).

The derived tables are marked stale: init-db refills them at the newest revision with the
newest code (core/db.refill_derived). 0002 and 0003 used to fill their tables with the code of
the day, which no longer matched their columns once later revisions added some.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 22:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The school counts of this revision, written out: a count added later adds its own tally
# in its own revision.
COUNTS = (
    "students", "left_behind", "both_parents_away", "boys", "girls", "preschool", "primary",
    "junior", "guardian_grandparents", "guardian_relatives", "guardian_other",
    "guardian_none", "boarding", "in_difficulty", "archived", "paired", "mentors", "visited",
    "parent_contact", "psych_teachers", "dropouts", "safety_incidents")
TALLIES = tuple(f"{key}_schools" for key in COUNTS)
SCHOOLS_REPORTED = "schools_reported"


def upgrade() -> None:
    with op.batch_alter_table('submission_totals', schema=None) as batch_op:
        for key in TALLIES:
            batch_op.add_column(sa.Column(key, sa.Integer(), nullable=True))
    with op.batch_alter_table('township_months', schema=None) as batch_op:
        for key in (SCHOOLS_REPORTED, *TALLIES):
            batch_op.add_column(sa.Column(key, sa.Integer(), nullable=True))
    mark_derived_stale()


def mark_derived_stale() -> None:
    """Ask init-db to refill the rollup and the township months at the newest revision
    (core/db.DERIVED_STALE): this revision's columns are not the newest code's."""
    op.execute("DELETE FROM settings WHERE key = 'derived_stale'")
    op.execute("INSERT INTO settings (key, value) VALUES ('derived_stale', '1')")


def downgrade() -> None:
    with op.batch_alter_table('township_months', schema=None) as batch_op:
        for key in (SCHOOLS_REPORTED, *TALLIES):
            batch_op.drop_column(key)
    with op.batch_alter_table('submission_totals', schema=None) as batch_op:
        for key in TALLIES:
            batch_op.drop_column(key)
