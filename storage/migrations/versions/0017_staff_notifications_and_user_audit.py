"""staff notifications and user audit

``staff_notifications``: notices to staff in the inbox (a new complaint for
the owners of the workflow's first step, an assignment for the assignee), one
per staff member and causing event. ``staff_user_audit``: every change to a
staff account made in the inbox (who, when, what, before/after; never a
password). See docs/staff-access.md.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 21:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("event_key", sa.String(length=100), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_staff_notifications_complaint_id_complaints"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_notifications_staff_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notifications")),
        sa.UniqueConstraint(
            "staff_user_id",
            "event_key",
            name=op.f("uq_staff_notifications_staff_user_id_event_key"),
        ),
    )
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_notifications_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index(
            "ix_staff_notifications_unread", ["staff_user_id", "read_at"], unique=False
        )
    op.create_table(
        "staff_user_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_user_audit_staff_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user_audit")),
    )
    with op.batch_alter_table("staff_user_audit", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_user_audit_staff_user_id"), ["staff_user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_user_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_user_audit_staff_user_id"))
    op.drop_table("staff_user_audit")
    with op.batch_alter_table("staff_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_notifications_unread")
        batch_op.drop_index(batch_op.f("ix_staff_notifications_complaint_id"))
    op.drop_table("staff_notifications")
