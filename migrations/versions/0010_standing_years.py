"""standings: the span of years a timeline has anything in

Revision ID: 0010
Revises: 0009

``first_year`` and ``last_year`` (Timeline.years): both NULL for a timeline with no points, repairs
or sanctions, which the standing check then answers without reading it; a notice for year Y reads
only the people whose span holds Y instead of every stored timeline. Existing rows are filled from
their stored timelines.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OPEN_ENDED = 9999  # app.scoring.standing.OPEN_ENDED at the time of writing
BATCH = 5000


def _years(timeline: dict) -> tuple[int | None, int | None]:
    """Timeline.years() over the stored JSON, as of this revision (migrations do not import app code
    that may change after them)."""
    years = [int(y) for y in timeline.get("totals", {})]
    years += [int(y) for y, points in timeline.get("repaired", {}).items() if points]
    for s in timeline.get("sanctions", []):
        last = s.get("ends_on") or s.get("imposed_until")
        years += [int(s["starts_on"][:4]), int(last[:4]) if last else OPEN_ENDED]
    return (min(years), max(years)) if years else (None, None)


def upgrade() -> None:
    with op.batch_alter_table('standings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_year', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_standings_last_year'), ['last_year'], unique=False)

    conn = op.get_bind()
    standings = sa.table('standings', sa.column('practitioner_id', sa.Integer), sa.column('timeline', sa.String),
                         sa.column('first_year', sa.Integer), sa.column('last_year', sa.Integer))
    last_id = 0
    while True:
        rows = conn.execute(
            sa.select(standings.c.practitioner_id, standings.c.timeline)
            .where(standings.c.practitioner_id > last_id).order_by(standings.c.practitioner_id).limit(BATCH)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        spans = [(pid, *_years(json.loads(timeline))) for pid, timeline in rows]
        updates = [{"pid": pid, "first": first, "last": last} for pid, first, last in spans if first is not None]
        if updates:
            conn.execute(
                standings.update().where(standings.c.practitioner_id == sa.bindparam("pid"))
                .values(first_year=sa.bindparam("first"), last_year=sa.bindparam("last")),
                updates,
            )


def downgrade() -> None:
    with op.batch_alter_table('standings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_standings_last_year'))
        batch_op.drop_column('last_year')
        batch_op.drop_column('first_year')
