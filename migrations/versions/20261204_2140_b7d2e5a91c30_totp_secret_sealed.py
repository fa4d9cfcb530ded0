"""the second factor's secret stored sealed: a wider column

Revision ID: b7d2e5a91c30
Revises: 9c3e1f7a2b64
Create Date: 2026-12-04 21:40:00

``user_account.totp_secret`` holds the secret sealed with AES-GCM (examportal/models/sealed.py):
``v1.`` and 80 characters of base64 for a 32-character secret, more than the 64 the plain secret
had. The secrets stored before are left as they are (the key that seals them lives outside the
database, not in a migration): each is sealed the next time its owner's code is accepted.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e5a91c30'
down_revision = '9c3e1f7a2b64'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255),
                              existing_nullable=True)


def downgrade():
    # The code before sealing cannot read a sealed secret (nor would the longer ones fit): those
    # second factors are set up again.
    op.execute(sa.text("UPDATE user_account SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL "
                       "WHERE totp_secret LIKE 'v1.%'"))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64),
                              existing_nullable=True)
