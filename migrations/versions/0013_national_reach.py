"""events.also_region; joint-sanction notices per sanction, department and region

Revision ID: 0013
Revises: 0012

A practitioner scored where the act happened, outside their home region: the event reaches the
subscribers of both regions (``also_region``), and the partner departments of both regions get the
joint-sanction notice, so one notice per sanction, department and region.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('also_region', sa.String(length=6), nullable=True))
    # 0005 left the constraint unnamed: PostgreSQL named it; SQLite's is found by a naming convention.
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('referrals_sanction_id_department_key', 'referrals', type_='unique')
        op.create_unique_constraint('uq_referrals_sanction_id_department_region', 'referrals',
                                    ['sanction_id', 'department', 'region'])
    else:
        with op.batch_alter_table('referrals', schema=None,
                                  naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}) as batch_op:
            batch_op.drop_constraint('uq_referrals_sanction_id', type_='unique')
            batch_op.create_unique_constraint('uq_referrals_sanction_id_department_region',
                                              ['sanction_id', 'department', 'region'])


def downgrade() -> None:
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint('uq_referrals_sanction_id_department_region', type_='unique')
        batch_op.create_unique_constraint('referrals_sanction_id_department_key', ['sanction_id', 'department'])
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('also_region')
