"""decision approval by every member, extra member, practical absence, voided items

Revision ID: 44ea2f94565e
Revises: 65fb6aead7fa
Create Date: 2026-12-02 17:36:55.443145

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '44ea2f94565e'
down_revision = '65fb6aead7fa'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('voided_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('voided_by_id', sa.Integer(), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_voided_item_reason_given')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['user_account.id'], name=op.f('fk_voided_item_voided_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voided_item')),
    sa.UniqueConstraint('item_id', name=op.f('uq_voided_item_item'))
    )
    op.create_table('decision_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('positive', sa.Boolean(), nullable=False),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('open', 'disputed', 'final', 'rejected', 'withdrawn', name='proposalstatus', native_enum=False, length=20), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("positive OR (justification IS NOT NULL AND justification <> '')", name=op.f('ck_decision_proposal_negative_justified')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_decision_proposal_enrolment_id_enrolment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_decision_proposal_proposed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_proposal'))
    )
    with op.batch_alter_table('decision_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_proposal_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('decision_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('approve', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('voted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("approve OR (reason IS NOT NULL AND reason <> '')", name=op.f('ck_decision_vote_dissent_has_reason')),
    sa.ForeignKeyConstraint(['member_id'], ['committee_member.id'], name=op.f('fk_decision_vote_member_id_committee_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['decision_proposal.id'], name=op.f('fk_decision_vote_proposal_id_decision_proposal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_vote')),
    sa.UniqueConstraint('proposal_id', 'member_id', name=op.f('uq_decision_vote_proposal_member'))
    )
    with op.batch_alter_table('decision_vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_vote_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decision_vote_proposal_id'), ['proposal_id'], unique=False)

    with op.batch_alter_table('committee_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enrolment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_committee_member_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_committee_member_enrolment_id_enrolment'), 'enrolment', ['enrolment_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('practical_absent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('practical_absent_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('practical_absent_note', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_enrolment_practical_absent_by_id_user_account'), 'user_account', ['practical_absent_by_id'], ['id'])
        batch_op.create_check_constraint(batch_op.f('ck_enrolment_absence_recorded_by'),
                                         'practical_absent_at IS NULL OR practical_absent_by_id IS NOT NULL')

    with op.batch_alter_table('validation_decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_validation_decision_proposal_id_decision_proposal'), 'decision_proposal', ['proposal_id'], ['id'])



def downgrade():
    with op.batch_alter_table('validation_decision', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_validation_decision_proposal_id_decision_proposal'), type_='foreignkey')
        batch_op.drop_column('proposal_id')

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_enrolment_absence_recorded_by'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_enrolment_practical_absent_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('practical_absent_note')
        batch_op.drop_column('practical_absent_by_id')
        batch_op.drop_column('practical_absent_at')

    with op.batch_alter_table('committee_member', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_committee_member_enrolment_id_enrolment'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_committee_member_enrolment_id'))
        batch_op.drop_column('enrolment_id')

    with op.batch_alter_table('decision_vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_vote_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_decision_vote_member_id'))

    op.drop_table('decision_vote')
    with op.batch_alter_table('decision_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_proposal_enrolment_id'))

    op.drop_table('decision_proposal')
    op.drop_table('voided_item')
