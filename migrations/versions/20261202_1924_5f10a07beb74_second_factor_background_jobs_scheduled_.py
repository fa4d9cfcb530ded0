"""second factor, background jobs, scheduled runs, certification

Revision ID: 5f10a07beb74
Revises: 44ea2f94565e
Create Date: 2026-12-02 19:24:38.997680

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f10a07beb74'
down_revision = '44ea2f94565e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduled_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task', sa.String(length=60), nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=False),
    sa.Column('claimed_by', sa.String(length=120), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_run')),
    sa.UniqueConstraint('task', 'slot', name=op.f('uq_scheduled_run_task_slot'))
    )
    op.create_table('background_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('queued', 'running', 'retrying', 'finished', 'failed', name='jobstatus', native_enum=False, length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('result', sa.LargeBinary(), nullable=True),
    sa.Column('result_name', sa.String(length=200), nullable=True),
    sa.Column('result_type', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_background_job_attempts_non_negative')),
    sa.CheckConstraint('done >= 0 AND total >= 0', name=op.f('ck_background_job_progress_non_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_background_job_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_background_job_institution_id_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_background_job'))
    )
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_background_job_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_background_job_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_background_job_status'), ['status'], unique=False)

    op.create_table('certificate_counter',
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('qualification_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_sequence >= 0', name=op.f('ck_certificate_counter_not_negative')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_certificate_counter_institution_id_institution')),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualification.id'], name=op.f('fk_certificate_counter_qualification_id_qualification')),
    sa.PrimaryKeyConstraint('institution_id', 'qualification_id', 'year', name=op.f('pk_certificate_counter'))
    )
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=300), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_recovery_code_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    op.create_table('certification_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('validation_decision_id', sa.Integer(), nullable=False),
    sa.Column('positive', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("positive OR (reason IS NOT NULL AND reason <> '')", name=op.f('ck_certification_decision_negative_has_reason')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_certification_decision_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_certification_decision_enrolment_id_enrolment')),
    sa.ForeignKeyConstraint(['validation_decision_id'], ['validation_decision.id'], name=op.f('fk_certification_decision_validation_decision_id_validation_decision')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certification_decision')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_certification_decision_enrolment'))
    )
    with op.batch_alter_table('certification_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certification_decision_decided_by_id'), ['decided_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certification_decision_validation_decision_id'), ['validation_decision_id'], unique=False)

    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=80), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('validating_institution_id', sa.Integer(), nullable=True),
    sa.Column('qualification_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('holder_first_name', sa.String(length=100), nullable=False),
    sa.Column('holder_last_name', sa.String(length=100), nullable=False),
    sa.Column('holder_birth_date', sa.Date(), nullable=True),
    sa.Column('holder_pesel_masked', sa.String(length=11), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('valid', 'suspended', 'revoked', 'expired', 'superseded', name='certificatestatus', native_enum=False, length=20), nullable=False),
    sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state_reason', sa.Text(), nullable=True),
    sa.Column('verification_code', sa.String(length=64), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('rendered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state <> 'expired'", name=op.f('ck_certificate_expiry_not_stored')),
    sa.CheckConstraint('(decision_id IS NULL AND supersedes_id IS NOT NULL) OR (decision_id IS NOT NULL AND supersedes_id IS NULL)', name=op.f('ck_certificate_decision_or_predecessor')),
    sa.CheckConstraint('(pdf IS NULL AND pdf_sha256 IS NULL) OR (pdf IS NOT NULL AND pdf_sha256 IS NOT NULL)', name=op.f('ck_certificate_pdf_has_hash')),
    sa.CheckConstraint('sequence > 0', name=op.f('ck_certificate_sequence_positive')),
    sa.CheckConstraint('valid_until > issued_on', name=op.f('ck_certificate_valid_after_issue')),
    sa.ForeignKeyConstraint(['decision_id'], ['certification_decision.id'], name=op.f('fk_certificate_decision_id_certification_decision')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_certificate_enrolment_id_enrolment')),
    sa.ForeignKeyConstraint(['holder_id'], ['user_account.id'], name=op.f('fk_certificate_holder_id_user_account')),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_certificate_institution_id_institution')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], name=op.f('fk_certificate_issued_by_id_user_account')),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualification.id'], name=op.f('fk_certificate_qualification_id_qualification')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['certificate.id'], name=op.f('fk_certificate_supersedes_id_certificate')),
    sa.ForeignKeyConstraint(['validating_institution_id'], ['institution.id'], name=op.f('fk_certificate_validating_institution_id_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('decision_id', name=op.f('uq_certificate_decision_id')),
    sa.UniqueConstraint('institution_id', 'qualification_id', 'year', 'sequence', name=op.f('uq_certificate_numbering')),
    sa.UniqueConstraint('number', name=op.f('uq_certificate_number')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_certificate_supersedes_id')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_certificate_verification_code'))
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index('ix_certificate_institution_state', ['institution_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_issued_on'), ['issued_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_qualification_id'), ['qualification_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_valid_until'), ['valid_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_validating_institution_id'), ['validating_institution_id'], unique=False)

    op.create_table('certificate_duplicate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_certificate_duplicate_reason_given')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_duplicate_certificate_id_certificate')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], name=op.f('fk_certificate_duplicate_issued_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_duplicate'))
    )
    with op.batch_alter_table('certificate_duplicate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_duplicate_certificate_id'), ['certificate_id'], unique=False)

    op.create_table('certificate_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('suspended', 'suspension_lifted', 'revoked', 'corrected', name='certificateeventkind', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_certificate_event_reason_given')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_certificate_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_event_certificate_id_certificate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_event'))
    )
    with op.batch_alter_table('certificate_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_event_certificate_id'), ['certificate_id'], unique=False)

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fee_grosze', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('fee_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prk_level', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('validity_pl', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('validity_en', sa.Text(), nullable=True))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))

    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_qualification_prk_level_range'), 'prk_level IS NULL OR (prk_level >= 1 AND prk_level <= 8)')

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_enrolment_fee_not_negative'), 'fee_grosze IS NULL OR fee_grosze >= 0')
        batch_op.create_check_constraint(batch_op.f('ck_enrolment_free_of_charge_has_reason'), "fee_grosze IS NULL OR fee_grosze > 0 OR (fee_reason IS NOT NULL AND fee_reason <> '')")


def downgrade():
    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_qualification_prk_level_range'), type_='check')
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_enrolment_fee_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_enrolment_free_of_charge_has_reason'), type_='check')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')

    with op.batch_alter_table('qualification', schema=None) as batch_op:
        batch_op.drop_column('validity_en')
        batch_op.drop_column('validity_pl')
        batch_op.drop_column('prk_level')

    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_column('fee_reason')
        batch_op.drop_column('fee_grosze')

    with op.batch_alter_table('certificate_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_event_certificate_id'))

    op.drop_table('certificate_event')
    with op.batch_alter_table('certificate_duplicate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_duplicate_certificate_id'))

    op.drop_table('certificate_duplicate')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_validating_institution_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_valid_until'))
        batch_op.drop_index(batch_op.f('ix_certificate_qualification_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_issued_on'))
        batch_op.drop_index('ix_certificate_institution_state')
        batch_op.drop_index(batch_op.f('ix_certificate_institution_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_holder_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_enrolment_id'))

    op.drop_table('certificate')
    with op.batch_alter_table('certification_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certification_decision_validation_decision_id'))
        batch_op.drop_index(batch_op.f('ix_certification_decision_decided_by_id'))

    op.drop_table('certification_decision')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))

    op.drop_table('recovery_code')
    op.drop_table('certificate_counter')
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_background_job_status'))
        batch_op.drop_index(batch_op.f('ix_background_job_kind'))
        batch_op.drop_index(batch_op.f('ix_background_job_institution_id'))

    op.drop_table('background_job')
    op.drop_table('scheduled_run')
