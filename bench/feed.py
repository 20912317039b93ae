"""The standing feed's figures: snapshot streaming memory, and a mirror's apply rate.

    python -m bench.feed [--size 100000] [--database-url-server postgresql+psycopg://...]
                         [--results bench/RESULTS.md]

1. a new database with the schema and rulesets, ``bench.generate`` with N practitioners, and
   everyone recorded in the feed once, as migration 0015's backfill does (bench.generate writes
   the tables directly, bypassing the service's writes that record changes);
2. the production server (``make serve``, one worker); its resident memory sampled while
   ``GET /v1/standings/snapshot`` streams (VmRSS every 10,000 lines, and VmHWM before and after):
   constant memory means the peak does not grow with the number of people streamed;
3. the snapshot loaded into a mirror (``app.scoring.mirror``), timed;
4. a second mirror following the feed from its first change over HTTP (pages of 5,000), timed
   end to end; then the same pages applied again into a third, empty mirror, timed alone: the
   apply rate (target: at least 10,000 changes/s);
5. a section appended to the results file (``--results``; nothing written without it).

``--order-costs`` measures instead what ordering the feed costs writers (``order_costs``).

Run it only on an otherwise quiet machine for figures to compare; the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.run import Server, app_env, create_database, drop_database, generate_data, machine, run_app

BACKFILL = (
    "INSERT INTO standing_feed_heads (practitioner_id, version) SELECT id, 1 FROM practitioners",
    "INSERT INTO standing_changes (xid, practitioner_id, version, code, region, registered_on, first_year, timeline, "
    "recorded_at) SELECT {xid}, p.id, 1, p.code, p.region, p.registered_on, s.first_year, s.timeline, CURRENT_TIMESTAMP "
    "FROM practitioners p LEFT JOIN standings s ON s.practitioner_id = p.id ORDER BY p.id",
)


def record_everyone(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    xid = "CAST(CAST(pg_current_xact_id() AS text) AS bigint)" if postgres else "0"
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM standing_changes"))
        conn.execute(text("DELETE FROM standing_feed_heads"))
        for statement in BACKFILL:
            conn.execute(text(statement.format(xid=xid)))
    engine.dispose()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    m = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1)) / 1024 if m else 0.0


def measure(url: str, size: int) -> dict:
    import httpx

    from app.scoring import mirror

    info: dict = {"size": size}
    started = time.perf_counter()
    run_app(url, "setup")
    info["generate"] = generate_data(url, size, 0)
    record_everyone(url)
    info["prepare_s"] = time.perf_counter() - started
    key = run_app(url, "clients", "create", "--role", "checker", "--region", "100000", "--name", "bench checker")
    server = Server(url, 1)
    server.start()
    try:
        pid = server.pids()[-1]
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base, timeout=600) as client:
            client.get("/v1/standings/changes", params={"limit": 10}, headers=headers).raise_for_status()  # warm
            info["rss_before_mb"], info["hwm_before_mb"] = rss_mb(pid), rss_mb(pid, "VmHWM")
            # 1. the snapshot, streamed, its bytes as sent (gzip), the server's memory sampled.
            samples, lines, sent = [], 0, 0
            started = time.perf_counter()
            import zlib
            inflate = zlib.decompressobj(31)
            with client.stream("GET", "/v1/standings/snapshot", headers=headers) as response:
                response.raise_for_status()
                pending = b""
                for chunk in response.iter_raw():
                    sent += len(chunk)
                    pending += inflate.decompress(chunk)
                    *whole, pending = pending.split(b"\n")
                    before = lines
                    lines += len(whole)
                    if lines // 10_000 != before // 10_000:
                        samples.append(round(rss_mb(pid), 1))
            info["snapshot_s"] = time.perf_counter() - started
            info["snapshot_lines"], info["snapshot_bytes"] = lines, sent
            info["rss_samples_mb"] = samples
            info["hwm_after_mb"] = rss_mb(pid, "VmHWM")

            source = mirror.Source(server.base, key, client=client)
            with tempfile.TemporaryDirectory() as tmp:
                # 2. a mirror loading the snapshot (HTTP, decompression and SQLite together).
                replica = mirror.Replica(f"{tmp}/snap.db")
                mirror.sync_rulesets(replica, source)
                started = time.perf_counter()
                loaded = replica.load_snapshot(source.snapshot_lines())
                info["snapshot_load_s"], info["snapshot_loaded"] = time.perf_counter() - started, loaded
                replica.close()
                # 3. a mirror following the whole feed from its first change, over HTTP.
                follower = mirror.Replica(f"{tmp}/feed.db")
                mirror.sync_rulesets(follower, source)
                follower.apply([], "0.0")
                pages, cursor, limit = [], "0.0", 5_000
                started = time.perf_counter()
                fetch_s = 0.0
                while True:
                    t = time.perf_counter()
                    page = source.changes(cursor, limit)
                    fetch_s += time.perf_counter() - t
                    follower.apply(page["items"], page["next_cursor"])
                    pages.append(page)
                    cursor = page["next_cursor"]
                    if len(page["items"]) < limit:
                        break
                info["follow_s"] = time.perf_counter() - started
                info["follow_fetch_s"] = fetch_s
                info["changes"] = sum(len(p["items"]) for p in pages)
                follower.close()
                # 4. the same pages applied alone into an empty mirror: the apply rate.
                fresh = mirror.Replica(f"{tmp}/apply.db")
                started = time.perf_counter()
                for page in pages:
                    fresh.apply(page["items"], page["next_cursor"])
                info["apply_s"] = time.perf_counter() - started
                fresh.close()
    finally:
        server.stop()
    return info


def order_costs(server: str, writers: int = 8, each: int = 150, rounds: int = 2) -> dict[str, list[float]]:
    """Commits per second of ``writers`` concurrent transactions (each updates one of 64 rows and
    records a change of ~400 bytes), by how the change is ordered: ``plain`` (no change row),
    ``xid`` (the feed's way: the transaction id in the row, nothing shared) and ``serial`` (a feed
    sequence serialised at commit: a counter row updated last, its lock held through the commit's
    WAL flush). The justification for app/scoring/feed.py's choice, measured."""
    import threading
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(server).set(drivername="postgresql")
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin_dsn = base.render_as_string(hide_password=False)
    dsn = base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    statements = {
        "plain": [],
        "xid": ["INSERT INTO changes (xid, pid, body) VALUES "
                "(CAST(CAST(pg_current_xact_id() AS text) AS bigint), %(pid)s, repeat('x', 400))"],
        "serial": ["UPDATE counter SET seq = seq + 1 WHERE id = 1",
                   "INSERT INTO changes (seq, pid, body) SELECT seq, %(pid)s, repeat('x', 400) FROM counter WHERE id = 1"],
    }
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE people (id int PRIMARY KEY, n int)")
            conn.execute("INSERT INTO people SELECT g, 0 FROM generate_series(1, 64) g")
            conn.execute("CREATE TABLE changes (id serial PRIMARY KEY, xid bigint, seq bigint, pid int, body text)")
            conn.execute("CREATE TABLE counter (id int PRIMARY KEY, seq bigint)")
            conn.execute("INSERT INTO counter VALUES (1, 0)")

        def work(writer: int, mode: str) -> None:
            with psycopg.connect(dsn) as conn:
                for i in range(each):
                    pid = (writer * 8 + i) % 64 + 1
                    with conn.transaction():
                        conn.execute("UPDATE people SET n = n + 1 WHERE id = %(pid)s", {"pid": pid})
                        for statement in statements[mode]:
                            conn.execute(statement, {"pid": pid})

        rates: dict[str, list[float]] = {mode: [] for mode in statements}
        for _ in range(rounds):
            for mode in statements:
                threads = [threading.Thread(target=work, args=(w, mode)) for w in range(writers)]
                started = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                rates[mode].append(writers * each / (time.perf_counter() - started))
        return rates
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def section(info: dict, postgres: bool, host: dict) -> str:
    rate = info["changes"] / info["apply_s"]
    follow = info["changes"] / info["follow_s"]
    samples = info["rss_samples_mb"]
    when = datetime.now(UTC).isoformat(timespec="seconds")
    g = info["generate"]
    return f"""
## The standing feed, {'PostgreSQL' if postgres else 'SQLite'} — {when}

Written by `python -m bench.feed` (bench/feed.py), {info['size']:,} generated practitioners
({g.get('scored', '?')} scored), each recorded in the feed once. Machine: {host['cores']} cores,
{host['cpu']}; load average {', '.join(f'{x:.2f}' for x in host['load'])} before
(other engineers' test suites share these cores); CPU reference {host['cpu_reference_ms']:.0f} ms.

| figure | measured | target | |
| --- | --- | --- | --- |
| Mirror apply rate (pages of 5,000 into an empty SQLite replica, apply alone) | **{rate:,.0f} changes/s** ({info['changes']:,} in {info['apply_s']:.2f} s) | ≥ 10,000 changes/s | {'met' if rate >= 10_000 else '**not met**'} |
| Mirror following the feed over HTTP from its first change (fetch + apply) | {follow:,.0f} changes/s ({info['follow_s']:.2f} s, of which fetching {info['follow_fetch_s']:.2f} s) | — | — |
| Snapshot, streamed: {info['snapshot_lines'] - 2:,} people | {info['snapshot_s']:.2f} s, {info['snapshot_bytes'] / 1e6:.1f} MB gzip as sent | — | — |
| … server RSS while streaming (every 10,000 lines) | {min(samples):.0f}–{max(samples):.0f} MB (before: {info['rss_before_mb']:.0f} MB) | constant | {'met' if max(samples) - samples[0] < 10 else '**not met**'} |
| … server peak RSS (VmHWM) | {info['hwm_before_mb']:.0f} MB before, {info['hwm_after_mb']:.0f} MB after | constant | — |
| Snapshot loaded into a mirror (HTTP, gunzip, SQLite, one transaction) | {info['snapshot_load_s']:.2f} s = {info['snapshot_loaded'] / info['snapshot_load_s']:,.0f} people/s | — | — |
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--database-server", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="a PostgreSQL maintenance database to create the bench database beside; default SQLite")
    parser.add_argument("--results", default=None, help="append a section to this file (e.g. bench/RESULTS.md)")
    parser.add_argument("--order-costs", action="store_true",
                        help="only the commit rate of concurrent writers by how changes are ordered (PostgreSQL)")
    args = parser.parse_args(argv)
    if args.order_costs:
        if args.database_server is None:
            parser.error("--order-costs needs --database-server (PostgreSQL)")
        rates = order_costs(args.database_server)
        print(json.dumps({"rates": rates, "load": os.getloadavg()}))
        return 0
    os.environ.update(app_env("sqlite://"))  # this process's settings (the mirror imports the app's modules)
    host = machine()
    url = create_database(args.database_server)
    try:
        info = measure(url, args.size)
    finally:
        drop_database(args.database_server, url)
    info["load_after"] = os.getloadavg()
    print(json.dumps(info))
    text = section(info, args.database_server is not None, host)
    print(text, file=sys.stderr)
    if args.results:
        with open(args.results, "a", encoding="utf-8") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
