"""standing feed: every change of what a standing check answers, for mirrors

Revision ID: 0015
Revises: 0014

Settlement systems mirror the standings instead of calling per claim (app/shared/feed.py,
app/scoring/feed.py). ``standing_changes`` is the outbox they follow in ``(xid, id)`` order;
``standing_feed_heads`` holds each person's latest version. The backfill records every registered
practitioner once (version 1), so a consumer that follows the feed from its start, without a
snapshot, also sees everyone. At 10 million practitioners that is one INSERT … SELECT of 10 million
short rows (96 % without a timeline), minutes in the migration's transaction.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('standing_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('xid', sa.BigInteger(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('first_year', sa.Integer(), nullable=True),
    sa.Column('timeline', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_standing_changes_xid_id', 'standing_changes', ['xid', 'id'], unique=False)
    op.create_table('standing_feed_heads',
    sa.Column('practitioner_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('practitioner_id')
    )
    # Everyone registered today, once, in id order. The xid of this migration's transaction on
    # PostgreSQL; a writer that runs beside the migration is recorded with a later version.
    postgres = op.get_bind().dialect.name == 'postgresql'
    xid = "CAST(CAST(pg_current_xact_id() AS text) AS bigint)" if postgres else "0"
    op.execute("INSERT INTO standing_feed_heads (practitioner_id, version) SELECT id, 1 FROM practitioners")
    op.execute(
        "INSERT INTO standing_changes (xid, practitioner_id, version, code, region, registered_on, first_year, "
        f"timeline, recorded_at) SELECT {xid}, p.id, 1, p.code, p.region, p.registered_on, s.first_year, s.timeline, "
        "CURRENT_TIMESTAMP FROM practitioners p LEFT JOIN standings s ON s.practitioner_id = p.id ORDER BY p.id")


def downgrade() -> None:
    op.drop_table('standing_feed_heads')
    op.drop_index('ix_standing_changes_xid_id', table_name='standing_changes')
    op.drop_table('standing_changes')
