"""a committee member appointed for one candidate in place of a member who may not assess them

Revision ID: 4c1a7e9d2f58
Revises: 66adb173d648
Create Date: 2026-12-05 12:00:00

A member found to have trained a candidate after the committee was fixed (a decision proposed in
the session) no longer assesses that candidate; the institution appoints a member in their place
for that candidate (``enrolment_id`` set, as for the member appointed after a dissent), and
``replaces_id`` names whom they replace.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4c1a7e9d2f58'
down_revision = '66adb173d648'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('committee_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaces_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_committee_member_replaces_id_committee_member'), 'committee_member',
                                    ['replaces_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('committee_member', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_committee_member_replaces_id_committee_member'), type_='foreignkey')
        batch_op.drop_column('replaces_id')
