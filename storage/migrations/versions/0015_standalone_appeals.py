"""standalone appeals and appeal steps

Appeals against a decision not tied to a complaint (PR-LS-8.1.4 step 1): the
complaint becomes optional and the appeal carries its own reference, the
appellant's contact, channel, address, name and language, the contested
decision; the steps before the panel (identify, record the type and subject,
pass on; PR-LS-8.1.4 steps 1-2) and the appeal's own history. Existing
appeals keep their complaint and get no step (they are at the panel).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.alter_column('complaint_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('reference', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('appellant_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('contested_decision', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('step', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('appeal_type', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('subject', sa.String(length=30), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_appeals_reference'), ['reference'])
        batch_op.create_index(batch_op.f('ix_appeals_contact_id'), ['contact_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_appeals_contact_id_contacts'), 'contacts', ['contact_id'], ['id']
        )

    op.create_table('appeal_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_appeal_events_appeal_id_appeals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_events'))
    )
    with op.batch_alter_table('appeal_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeal_events_appeal_id'), ['appeal_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('appeal_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeal_events_appeal_id'))
    op.drop_table('appeal_events')
    # Standalone appeals have no complaint to fall back to: they cannot
    # survive the downgrade.
    op.execute(
        'DELETE FROM appeal_panel_members WHERE appeal_id IN '
        '(SELECT id FROM appeals WHERE complaint_id IS NULL)'
    )
    op.execute('DELETE FROM appeals WHERE complaint_id IS NULL')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_appeals_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_appeals_contact_id'))
        batch_op.drop_constraint(batch_op.f('uq_appeals_reference'), type_='unique')
        for column in (
            'subject', 'appeal_type', 'step', 'contested_decision', 'appellant_name',
            'language', 'address', 'channel', 'contact_id', 'reference',
        ):
            batch_op.drop_column(column)
        batch_op.alter_column('complaint_id', existing_type=sa.Integer(), nullable=False)
