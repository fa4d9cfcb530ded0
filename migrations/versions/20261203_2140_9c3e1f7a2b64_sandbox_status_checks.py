"""sandbox statuses and priorities checked by the database

Revision ID: 9c3e1f7a2b64
Revises: 65274f123d82
Create Date: 2026-12-03 21:40:00

The sandbox's status and priority columns became enums (issue #17); three of them had no CHECK.
Autogenerate does not compare CHECK constraints, so this revision is written by hand. A stage-task
priority outside the four known ones could only come from the host API or a seed (the form always
offered the four); such a row takes the default, "normal", so the constraint can be added.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c3e1f7a2b64'
down_revision = '65274f123d82'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text("UPDATE crm_stage_task SET priority = 'normal' "
                       "WHERE priority NOT IN ('low', 'normal', 'high', 'urgent')"))
    with op.batch_alter_table('crm_offer', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_crm_offer_status_known'),
                                         "status IN ('draft', 'generated', 'sent', 'accepted', 'rejected')")
    with op.batch_alter_table('crm_opportunity_stage_change', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_crm_opportunity_stage_change_status_known'),
                                         "status IN ('open', 'won', 'lost')")
    with op.batch_alter_table('crm_stage_task', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_crm_stage_task_priority_known'),
                                         "priority IN ('low', 'normal', 'high', 'urgent')")


def downgrade():
    with op.batch_alter_table('crm_stage_task', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_crm_stage_task_priority_known'), type_='check')
    with op.batch_alter_table('crm_opportunity_stage_change', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_crm_opportunity_stage_change_status_known'), type_='check')
    with op.batch_alter_table('crm_offer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_crm_offer_status_known'), type_='check')
