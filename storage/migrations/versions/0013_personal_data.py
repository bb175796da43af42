"""personal data

Personal-data rights under UU PDP (Law 27/2022; docs/privacy.md): the
``personal_data_audit`` table (every export, erasure and correction: who,
when, counts — never the data), ``contacts.erased_at`` and
``complaints.personal_data_erased_at``, the markers of erased data.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'personal_data_audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('complaint_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['complaint_id'],
            ['complaints.id'],
            name=op.f('fk_personal_data_audit_complaint_id_complaints'),
        ),
        sa.ForeignKeyConstraint(
            ['contact_id'], ['contacts.id'], name=op.f('fk_personal_data_audit_contact_id_contacts')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_audit')),
    )
    with op.batch_alter_table('personal_data_audit', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_personal_data_audit_contact_id'), ['contact_id'], unique=False
        )
    with op.batch_alter_table('contacts', schema=None, recreate='never') as batch_op:
        batch_op.add_column(
            sa.Column('erased_at', storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('complaints', schema=None, recreate='never') as batch_op:
        batch_op.add_column(
            sa.Column(
                'personal_data_erased_at', storage.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('personal_data_erased_at')
    with op.batch_alter_table('contacts', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('erased_at')
    with op.batch_alter_table('personal_data_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_data_audit_contact_id'))
    op.drop_table('personal_data_audit')
