"""records

Complaint records the SOPs ask for: ``complaints.receiving_officer`` and
``complaints.receiving_officer_name`` (the staff member who received the
complaint, SOP-7.9-1 item 2: for an online complaint the one who takes its
first step, with the name they had then) and ``complaints.complaint_type``
(PR-LS-8.1.4 step 2, "jenis keluhan"). The channel stays in
``complaints.channel``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 21:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('receiving_officer', sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column('receiving_officer_name', sa.String(length=200), nullable=True)
        )
        batch_op.add_column(sa.Column('complaint_type', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('complaint_type')
        batch_op.drop_column('receiving_officer_name')
        batch_op.drop_column('receiving_officer')
