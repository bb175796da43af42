"""complainant title

The complainant's titles and honorifics ("Dr. Ir., M.T.", "Bu") kept apart
from the name (docs/intake.md, "complainant_title"): ``complaints.complainant_title``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('complainant_title', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('complainant_title')
