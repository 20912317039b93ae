"""proposals.act: the act a notified entry scores

Revision ID: 0011
Revises: 0010

One act is scored once, at its highest rule. A counting entry keeps its act in the ledger row's
details; a notified entry waits as a proposal, which keeps it here until it is confirmed.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('score_proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('act', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('score_proposals', schema=None) as batch_op:
        batch_op.drop_column('act')
