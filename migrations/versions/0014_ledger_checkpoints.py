"""ledger checkpoints: signed statements of every chain head

Revision ID: 0014
Revises: 0013

A row's hash needs no secret: whoever can write the database can cut a chain's tail, delete a
chain, or rewrite a row with every hash after it, and the chain still links. A checkpoint names
every chain's head (practitioner, last seq, last hash) under an Ed25519 signature whose key is
kept outside the database; ``ledger verify`` holds the chains to the latest one. Heads are stored
per checkpoint only where they moved since the one before (app/scoring/anchor.py).
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_checkpoints',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('chains', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('previous_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('ledger_checkpoint_heads',
    sa.Column('practitioner_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['ledger_checkpoints.id'], ),
    sa.PrimaryKeyConstraint('practitioner_id', 'checkpoint_id')
    )


def downgrade() -> None:
    op.drop_table('ledger_checkpoint_heads')
    op.drop_table('ledger_checkpoints')
