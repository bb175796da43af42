"""inbox

The staff inbox (docs/inbox.md): each complaint's ``last_activity_at`` (the list's
order) and ``last_inbound_at`` (the unread marker), backfilled from the
history; ``complaint_reads``; indexes for the list, its filters and the
"in progress" drafts; on PostgreSQL a generated ``search_vector`` column
(``simple`` configuration: PostgreSQL has no Indonesian stemmer) with a GIN
index for full-text search.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 22:07:13.791613
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Events that are not activity (time-standard reminders and escalations),
#: as in storage/activity.py when this revision was written.
_QUIET_KINDS = (
    "step_reminder",
    "step_overdue_escalated",
    "appeal_step_reminder",
    "appeal_step_overdue_escalated",
)

_SEARCH_VECTOR = """
ALTER TABLE complaints ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig,
        coalesce(tracking_number, '') || ' ' || coalesce(complainant_name, '') || ' ' ||
        coalesce(customer_name, '') || ' ' || coalesce(contact_address, '') || ' ' ||
        coalesce(problem, ''))
) STORED
"""


def _backfill(postgresql: bool) -> None:
    """Activity from the history: the newest of the receipt, a recorded event
    (reminders and escalations excepted) and a message on the complaint;
    inbound activity from the newest inbound message."""
    quiet = ", ".join(f"'{kind}'" for kind in _QUIET_KINDS)
    newest = "GREATEST" if postgresql else "max"
    op.execute(
        f"""
        UPDATE complaints SET
            last_inbound_at = (
                SELECT max(m.created_at) FROM messages m
                WHERE m.complaint_id = complaints.id AND m.direction = 'in'
            ),
            last_activity_at = {newest}(
                received_at,
                coalesce((
                    SELECT max(e.at) FROM complaint_events e
                    WHERE e.complaint_id = complaints.id AND e.kind NOT IN ({quiet})
                ), received_at),
                coalesce((
                    SELECT max(m.created_at) FROM messages m
                    WHERE m.complaint_id = complaints.id
                ), received_at)
            )
        """
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table('complaint_reads',
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_reads_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_complaint_reads_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('complaint_id', 'staff_user_id', name=op.f('pk_complaint_reads'))
    )
    # NOT NULL needs a default for the existing rows until the backfill; SQLite
    # cannot drop it without rebuilding the table, so it stays there (as
    # complaints.details' does, revision 0003) and is dropped on PostgreSQL.
    # A plain string default: an SQL expression would make Alembic rebuild the
    # table on SQLite, which SQLite refuses while other tables reference it.
    placeholder = "1970-01-01 00:00:00+00" if postgresql else "1970-01-01 00:00:00.000000"
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_activity_at', storage.types.UTCDateTime(timezone=True), nullable=False, server_default=placeholder))
        batch_op.add_column(sa.Column('last_inbound_at', storage.types.UTCDateTime(timezone=True), nullable=True))
    _backfill(postgresql)
    if postgresql:
        op.alter_column('complaints', 'last_activity_at', server_default=None)
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index('ix_complaints_activity', ['last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_complaints_assignee_activity', ['assignee', 'last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_complaints_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_complaints_status_activity', ['status', 'last_activity_at', 'id'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_state_updated', ['state', 'updated_at'], unique=False)

    if postgresql:
        op.execute(_SEARCH_VECTOR)
        op.execute("CREATE INDEX ix_complaints_search ON complaints USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_complaints_search")
        op.execute("ALTER TABLE complaints DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_state_updated')

    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a rebuild: SQLite refuses
    # to drop the old complaints table while other tables reference it.
    with op.batch_alter_table('complaints', schema=None, recreate='never') as batch_op:
        batch_op.drop_index('ix_complaints_status_activity')
        batch_op.drop_index('ix_complaints_received_at')
        batch_op.drop_index('ix_complaints_assignee_activity')
        batch_op.drop_index('ix_complaints_activity')
        batch_op.drop_column('last_inbound_at')
        batch_op.drop_column('last_activity_at')

    op.drop_table('complaint_reads')
