"""Notices: bureaus publish; anyone reads, without a key."""

from __future__ import annotations

import json
import math
from typing import Annotated, Literal

from fastapi import Depends, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.db import ReadSession, WriteSession
from app.kit.openapi import problems
from app.kit.paging import MAX_ID, PageLimit, RowId, parse_cursor
from app.kit.routes import api_router
from app.notices import page, service
from app.notices.content import CSV_COLUMNS
from app.notices.schemas import NoticeDelta, NoticeDocument, NoticeIn, NoticeOut, NoticePage
from app.practitioners.schemas import RegionCode

router = api_router(tags=["notices"])

Publisher = Annotated[Caller, Depends(allowed(Action.notices_publish))]
PAGE_SIZE = 200


def _hash_headers(notice) -> dict[str, str]:
    return {"X-Notice-SHA256": notice.sha256, "Cache-Control": "public, max-age=3600"}


_SHA256_HEADER = {"X-Notice-SHA256": {
    "description": "the notice's published hash: SHA-256 of its canonical JSON document (format=json)",
    "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}
_CSV = {"schema": {"type": "string"}, "example": "\ufeff" + ",".join(CSV_COLUMNS) + "\r\n"}


@router.post("/v1/notices", status_code=201, response_model=NoticeOut, responses=problems(404, 409))
def publish_notice(body: NoticeIn, caller: Publisher, session: WriteSession):
    """Freeze the notice for a region and year; a second call publishes a correcting revision."""
    notice = service.publish(session, caller, region=body.region, year=body.year, as_of=body.as_of,
                             contact=body.contact)
    return service.describe(notice)


@router.get("/v1/notices", response_model=NoticePage)
def list_notices(session: ReadSession, region: RegionCode | None = None,
                 year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                 limit: PageLimit = 100, cursor: Annotated[str | None, Query(max_length=20)] = None):
    """Published notices (every revision), oldest first, a page at a time."""
    items, next_cursor = service.list_notices(session, region, year, limit, parse_cursor(cursor))
    return NoticePage(items=items, next_cursor=next_cursor)


@router.get("/v1/notices/{notice_id}", response_model=NoticeOut | NoticeDocument,
            responses={200: {"description": "meta or json: JSON; csv: text/csv (a generated client reads "
                                            "the CSV with download_notice_csv instead)",
                             "content": {"text/csv": _CSV}, "headers": _SHA256_HEADER}, **problems(404)})
def get_notice(notice_id: RowId, session: ReadSession, format: Literal["meta", "json", "csv"] = "meta"):
    """``meta``: header, summary, hash and links; ``json``: the canonical document (its SHA-256 is
    the notice's hash); ``csv``: the rows for spreadsheets (UTF-8 with BOM)."""
    notice = service.get(session, notice_id)
    if format == "meta":
        return service.describe(notice, service.next_revision(session, notice))
    name = f"notice-{notice.region}-{notice.year}-r{notice.revision}"
    if format == "json":
        return StreamingResponse(
            (c.encode() for c in service.json_chunks(notice)), media_type="application/json",
            headers={**_hash_headers(notice), "Content-Disposition": f'inline; filename="{name}.json"'})
    return _csv(notice, name)


@router.get("/v1/notices/{notice_id}/csv", response_class=StreamingResponse,
            responses={200: {"description": "the rows for spreadsheets (UTF-8 with BOM)",
                             "content": {"text/csv": _CSV},
                             "headers": {"X-Notice-SHA256": {**_SHA256_HEADER["X-Notice-SHA256"], "required": True}}},
                       **problems(404)})
def download_notice_csv(notice_id: RowId, session: ReadSession):
    """The same as ``?format=csv``, as an operation of its own that declares only text/csv."""
    notice = service.get(session, notice_id)
    return _csv(notice, f"notice-{notice.region}-{notice.year}-r{notice.revision}")


def _csv(notice, name: str) -> StreamingResponse:
    return StreamingResponse(
        (c.encode() for c in service.csv_chunks(notice)), media_type="text/csv; charset=utf-8",
        headers={**_hash_headers(notice), "Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/v1/notices/{notice_id}/delta", response_model=NoticeDelta, responses=problems(404))
def get_notice_delta(notice_id: RowId, session: ReadSession,
                 against: Annotated[int | None, Query(ge=1, le=MAX_ID, description="default: the previous revision, "
                                                                    "else last year's notice")] = None):
    """Rows added, removed and changed since another notice (by person)."""
    notice = service.get(session, notice_id)
    before = service.delta_against(session, notice, against)
    return StreamingResponse((c.encode() for c in service.delta_chunks(before, notice)),
                             media_type="application/json")


@router.get("/notices/{notice_id}", response_class=HTMLResponse, include_in_schema=False)
def notice_page(notice_id: RowId, session: ReadSession,
                q: Annotated[str, Query(max_length=50)] = "",
                sort: Literal["code", "points"] = "code",
                page_number: Annotated[int, Query(alias="page", ge=1)] = 1):
    notice = service.get(session, notice_id)
    described = service.describe(notice, service.next_revision(session, notice))
    query = q.strip()
    matching = service.count_rows(session, notice_id, query)
    pages = math.ceil(matching / PAGE_SIZE)
    rows = [
        json.loads(r.data)
        for r in service.stored_rows(notice_id, order="position" if sort == "code" else "points", query=query,
                                     start=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    ]
    html = page.render(described, rows, query=query, sort=sort, page=page_number, pages=pages,
                       matching=matching, first_number=(page_number - 1) * PAGE_SIZE + 1)
    return HTMLResponse(html, headers={**_hash_headers(notice), **page.headers()})
