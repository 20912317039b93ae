"""A reference consumer of the standing feed: a local replica a settlement system checks claims
against without a network call (``python -m app mirror``; docs/scaling.md, "The standing feed and
mirrors").

The replica is one SQLite file: each person's standing data (``mirror_standings``), the rulesets
(``mirror_rulesets``, immutable once published, fetched by id) and the feed cursor
(``mirror_state``). Empty, it loads ``/v1/standings/snapshot`` in one transaction (a cut-off
stream leaves it empty); then it follows ``/v1/standings/changes``, each page applied with its
cursor in one transaction, so a crash or a restart goes on from the last page applied: a page
applied twice changes nothing, because a person's row is only replaced by a higher ``version``.

``Replica.standing`` answers with ``checks.Answers``, the code the service's own check runs
(``standing.evaluate`` on the timeline, the ruleset in force for the region and day): the same
data gives the same answer, field for field.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson

from app.kit.timeutil import local_date
from app.scoring.checks import Answers
from app.scoring.rulesets import Ruleset

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS mirror_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS mirror_standings (code TEXT PRIMARY KEY, version INTEGER NOT NULL, "
    "region TEXT NOT NULL, registered_on TEXT NOT NULL, first_year INTEGER, timeline TEXT)",
    "CREATE TABLE IF NOT EXISTS mirror_rulesets (id TEXT PRIMARY KEY, content TEXT NOT NULL)",
)
# Only a later version replaces a row: the feed's order is per person by version, and a page or a
# snapshot line applied again is a no-op.
_APPLY = ("INSERT INTO mirror_standings (code, version, region, registered_on, first_year, timeline) "
          "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET version = excluded.version, "
          "region = excluded.region, registered_on = excluded.registered_on, first_year = excluded.first_year, "
          "timeline = excluded.timeline WHERE excluded.version > mirror_standings.version")
_SELECT = "SELECT code, region, registered_on, first_year, timeline FROM mirror_standings"


class MirrorError(Exception):
    """The source refused or broke off (``status`` when it answered, e.g. 401)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def sqlite_path(url: str) -> str:
    """The file of ``sqlite:///path.db`` (or a plain path)."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    if "://" in url:
        raise ValueError(f"a mirror is a SQLite file (sqlite:///path.db), not {url.split('://')[0]}")
    return url


def _row(item: Mapping[str, Any]) -> tuple:
    timeline = item["timeline"]
    return (item["code"], item["version"], item["region"], item["registered_on"], item["first_year"],
            orjson.dumps(timeline).decode() if timeline is not None else None)


class Replica:
    """The local replica: apply feed items, answer checks."""

    def __init__(self, into: str):
        path = sqlite_path(into)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # a crash may lose the last pages, never tear them
        for statement in _SCHEMA:
            self.db.execute(statement)
        self._rulesets: dict[str, Ruleset] | None = None

    def close(self) -> None:
        self.db.close()

    # -- state

    @property
    def cursor(self) -> str | None:
        row = self.db.execute("SELECT value FROM mirror_state WHERE key = 'cursor'").fetchone()
        return row[0] if row else None

    def people(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM mirror_standings").fetchone()[0])

    def _set_cursor(self, cursor: str) -> None:
        self.db.execute("INSERT INTO mirror_state (key, value) VALUES ('cursor', ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (cursor,))

    # -- writes

    def apply(self, items: Sequence[Mapping[str, Any]], cursor: str) -> None:
        """One page of the feed and the cursor after it, in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(_APPLY, [_row(i) for i in items])
            self._set_cursor(cursor)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def load_snapshot(self, lines: Iterable[bytes], batch: int = 5_000) -> int:
        """A snapshot's NDJSON lines (decompressed), all or nothing; returns the people loaded."""
        it = iter(lines)
        header = orjson.loads(next(it, b"{}") or b"{}")
        if "cursor" not in header:
            raise MirrorError("the snapshot has no header line with a cursor")
        count, end = 0, None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            rows: list[tuple] = []
            for line in it:
                if not line.strip():
                    continue
                data = orjson.loads(line)
                if "end" in data:
                    end = data
                    break
                rows.append(_row(data))
                if len(rows) >= batch:
                    self.db.executemany(_APPLY, rows)
                    count, rows = count + len(rows), []
            self.db.executemany(_APPLY, rows)
            count += len(rows)
            if end is None or end.get("count") != count:
                raise MirrorError(f"the snapshot was cut off after {count} people")
            self._set_cursor(header["cursor"])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return count

    def store_ruleset(self, ruleset_id: str, content: Mapping[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO mirror_rulesets (id, content) VALUES (?, ?)",
                        (ruleset_id, orjson.dumps(content).decode()))
        self._rulesets = None

    def ruleset_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM mirror_rulesets")}

    # -- reads: the check, answered locally

    def rulesets(self) -> dict[str, Ruleset]:
        if self._rulesets is None:
            self._rulesets = {rid: Ruleset.model_validate(orjson.loads(content))
                              for rid, content in self.db.execute("SELECT id, content FROM mirror_rulesets")}
        return self._rulesets

    def standing(self, code: str, day: date | None = None) -> dict | None:
        """What ``GET /v1/practitioners/{code}/standing?at=day`` answers, or None (not found: 404).
        ``day`` defaults to today in Asia/Shanghai, as the service's does."""
        row = self.db.execute(_SELECT + " WHERE code = ?", (code,)).fetchone()
        return Answers(self.rulesets(), day or local_date()).of(*row) if row else None

    def standings(self, codes: Sequence[str], day: date | None = None) -> list[dict]:
        """What ``POST /v1/standings/query`` answers in ``results``."""
        answers = Answers(self.rulesets(), day or local_date())
        found = {}
        for i in range(0, len(codes), 500):
            chunk = list(dict.fromkeys(codes[i:i + 500]))
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(_SELECT + f" WHERE code IN ({marks})", chunk):
                found[row[0]] = answers.of(*row)
        return [{"code": c, "found": True, "standing": found[c]} if c in found
                else {"code": c, "found": False, "standing": None} for c in codes]


class Source:
    """The service, over HTTP with a checker key."""

    def __init__(self, base_url: str, key: str, client: httpx.Client | None = None, timeout: float = 60):
        self.client = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.headers = {"Authorization": f"Bearer {key}"}

    def _get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=self.headers)
        _raise_for(response)
        return orjson.loads(response.content)

    def rulesets(self) -> list[str]:
        return [r["id"] for r in self._get("/v1/rulesets")]

    def ruleset(self, ruleset_id: str) -> dict:
        """The ruleset as published, checked against its SHA-256 (an answer computed under another
        ruleset than the service's would be wrong without a sign)."""
        content = self._get(f"/v1/rulesets/{ruleset_id}")
        digest = content.pop("sha256", None)
        if Ruleset.model_validate(content).content_hash() != digest:
            raise MirrorError(f"ruleset {ruleset_id} does not match its published SHA-256")
        return content

    def changes(self, after: str | None, limit: int) -> dict:
        return self._get("/v1/standings/changes", **({"after": after} if after else {}), limit=limit)

    def snapshot_lines(self) -> Iterator[bytes]:
        # Sent with Content-Encoding: gzip; decompressed here by hand, streaming, so the check of
        # the last line sees exactly what came.
        with self.client.stream("GET", "/v1/standings/snapshot", headers={**self.headers, "Accept-Encoding": "gzip"}
                                ) as response:
            if response.status_code != 200:
                response.read()
                _raise_for(response)
            yield from _lines(_gunzip(response.iter_raw()))


def _raise_for(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise MirrorError(f"{response.request.method} {response.request.url.path} answered "
                          f"{response.status_code}: {response.text[:300]}", response.status_code)


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    import zlib

    inflate = zlib.decompressobj(31)
    for chunk in chunks:
        out = inflate.decompress(chunk)
        if out:
            yield out
    rest = inflate.flush()
    if rest:
        yield rest


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *whole, pending = pending.split(b"\n")
        yield from whole
    if pending:
        yield pending


def sync_rulesets(replica: Replica, source: Source) -> list[str]:
    """Fetch the rulesets the replica lacks (a published ruleset never changes: a change has a new id)."""
    have = replica.ruleset_ids()
    new = [rid for rid in source.rulesets() if rid not in have]
    for rid in new:
        replica.store_ruleset(rid, source.ruleset(rid))
    return new


def catch_up(replica: Replica, source: Source, limit: int = 5_000) -> int:
    """Snapshot if empty, then feed pages until a short one; returns the changes applied."""
    sync_rulesets(replica, source)
    if replica.cursor is None:
        replica.load_snapshot(source.snapshot_lines())
    applied = 0
    while True:
        page = source.changes(replica.cursor, limit)
        if page["items"] or page["next_cursor"] != replica.cursor:
            replica.apply(page["items"], page["next_cursor"])
        applied += len(page["items"])
        if len(page["items"]) < limit:
            return applied


def follow(replica: Replica, source: Source, *, interval: float = 2.0, limit: int = 5_000,
           log: Callable[[str], None] = print, stop: Callable[[], bool] = lambda: False) -> None:
    """Catch up, then keep up: a short pause after each caught-up round; on a network failure or
    a 5xx, wait longer (up to a minute) and go on from the cursor applied last."""
    backoff = interval
    while not stop():
        try:
            applied = catch_up(replica, source, limit)
            if applied:
                log(f"applied {applied} changes; cursor {replica.cursor}")
            backoff = interval
        except (httpx.TransportError, MirrorError) as exc:
            if isinstance(exc, MirrorError) and exc.status is not None and exc.status < 500:
                raise  # a refused key or a bad cursor: waiting will not mend it
            log(f"source unavailable ({exc}); retrying in {backoff:.0f} s")
            backoff = min(backoff * 2, 60.0)
        time.sleep(backoff)
