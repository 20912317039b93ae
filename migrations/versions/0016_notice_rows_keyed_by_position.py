"""notice_rows: keyed by (notice_id, position), without an id of its own or a foreign key

Revision ID: 0016
Revises: 0015

A freeze writes every row of a notice in the transaction that inserts the notice itself, and a
national notice has a million rows. PostgreSQL checked the foreign key to ``notices`` with a query
per row (6.6 s of its CPU for a million rows, more than the COPY of the rows), and the ``id``
column cost a sequence call and a third index per row (2.5 s more). ``(notice_id, position)`` was
unique already and becomes the primary key; rows are never written anywhere else
(app/notices/service.py). PostgreSQL alters the table in place; SQLite copies it.
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

COLUMNS = "notice_id, position, practitioner_id, points, data"


def _columns() -> list[sa.Column]:
    return [
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('data', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    ]


def _copy_into(*table_args) -> None:
    """SQLite: notice_rows rebuilt as ``table_args`` describe, its rows copied in position order."""
    op.create_table('_notice_rows_new', *table_args)
    op.execute(f"INSERT INTO _notice_rows_new ({COLUMNS}) SELECT {COLUMNS} FROM notice_rows "
               "ORDER BY notice_id, position")
    op.drop_index('ix_notice_rows_person', table_name='notice_rows')
    op.drop_table('notice_rows')
    op.rename_table('_notice_rows_new', 'notice_rows')
    op.create_index('ix_notice_rows_person', 'notice_rows', ['notice_id', 'practitioner_id'], unique=False)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('notice_rows_notice_id_fkey', 'notice_rows', type_='foreignkey')
        op.drop_column('notice_rows', 'id')  # its primary key and sequence with it
        op.drop_constraint('notice_rows_notice_id_position_key', 'notice_rows', type_='unique')
        op.create_primary_key('notice_rows_pkey', 'notice_rows', ['notice_id', 'position'])
        return
    _copy_into(*_columns(), sa.PrimaryKeyConstraint('notice_id', 'position'))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('notice_rows_pkey', 'notice_rows', type_='primary')
        op.execute("ALTER TABLE notice_rows ADD COLUMN id SERIAL PRIMARY KEY")
        op.create_unique_constraint('notice_rows_notice_id_position_key', 'notice_rows', ['notice_id', 'position'])
        op.create_foreign_key('notice_rows_notice_id_fkey', 'notice_rows', 'notices', ['notice_id'], ['id'])
        return
    _copy_into(sa.Column('id', sa.Integer(), nullable=False), *_columns(),
               sa.ForeignKeyConstraint(['notice_id'], ['notices.id']), sa.PrimaryKeyConstraint('id'),
               sa.UniqueConstraint('notice_id', 'position'))
