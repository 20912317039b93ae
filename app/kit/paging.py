"""Keyset paging by an increasing integer id: stable under inserts, no OFFSET scans."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from sqlmodel import Session

from app.kit.errors import Invalid
from app.kit.messages import t
from app.settings import get_settings

# Row ids are 32-bit integers on PostgreSQL: a larger number names no row (and SQLite cannot even
# bind one past 2**63), so it is refused as input rather than sent to the database.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

# The ``limit`` query parameter of every list endpoint: at most APP_MAX_PAGE_SIZE rows.
PageLimit = Annotated[int, Query(ge=1, le=get_settings().max_page_size, description="rows per page")]


def parse_cursor(cursor: str | None) -> int | None:
    """The id a previous page ended on, from its ``next_cursor``."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_ID:
        raise Invalid(t("not a cursor from a previous page"), field="query.cursor")
    return int(cursor)


def keyset_page(session: Session, query, key, limit: int, cursor: int | None) -> tuple[list, str | None]:
    """One page ordered by ``key`` after ``cursor``, and the cursor of the next page if any."""
    if cursor is not None:
        query = query.where(key > cursor)
    rows = session.exec(query.order_by(key).limit(limit + 1)).all()
    page = rows[:limit]
    return page, str(page[-1].id) if len(rows) > limit else None
