"""a data request's time to answer extended by two months (RODO art. 12(3))

Revision ID: 66adb173d648
Revises: b7d2e5a91c30
Create Date: 2026-12-04 21:53:33.488176

When, by whom and why staff extended the month to answer a request. The reason is required with
the extension (a CHECK, written by hand: autogenerate does not compare them).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '66adb173d648'
down_revision = 'b7d2e5a91c30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('data_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('extended_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('extension_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_data_request_extended_by_id_user_account'), 'user_account',
                                    ['extended_by_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_data_request_extension_has_reason'),
            "extended_at IS NULL OR (extension_reason IS NOT NULL AND extension_reason <> '')")


def downgrade():
    with op.batch_alter_table('data_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_data_request_extension_has_reason'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_data_request_extended_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('extension_reason')
        batch_op.drop_column('extended_by_id')
        batch_op.drop_column('extended_at')
