"""the renewal assessor's finding on each declared period of work

Revision ID: 8e2b6d4f1a07
Revises: 4c1a7e9d2f58
Create Date: 2026-12-05 12:40:00

A renewal needs a year of CRM work within the certificate's validity, shown by evidence. The
assessor now confirms each declared period against the accepted evidence (or does not); only the
confirmed periods count. Periods of applications decided before have no finding (NULL).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e2b6d4f1a07'
down_revision = '4c1a7e9d2f58'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('renewal_period', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('judged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('judged_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_renewal_period_judged_by_id_user_account'), 'user_account',
                                    ['judged_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('renewal_period', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_renewal_period_judged_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('judged_by_id')
        batch_op.drop_column('judged_at')
        batch_op.drop_column('confirmed')
