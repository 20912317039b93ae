"""Benchmark of a ruleset what-if simulation (模拟测算) over a whole country of practitioners.

    python -m bench.simulate --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test --size 1000000
    python -m bench.simulate --database-url sqlite:///var/bench/simulate.db --size 200000

1. a new database: on PostgreSQL ``bench_sim_<random>`` beside the database the URL names (dropped
   at the end); on SQLite the file the URL names, which must not exist yet;
2. schema and rulesets (``python -m app setup``), then N practitioners from ``bench.generate``
   (a few percent scored, with real hash-chained ledgers);
3. a draft: the national default with suspension from 7 points instead of 9;
4. ``python -m app rulesets simulate --region 100000 --year <last year> --csv …`` in a process of
   its own, timed, its peak resident memory read from the kernel when it exits (``wait4``);
5. the figures on stdout (JSON) and in their own section of bench/RESULTS.md (``--results ''``
   to leave the file alone).

Targets (issue #12): a year of 1,000,000 practitioners replayed in under 60 s and 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SECRET = "bench-only-secret-0123456789abcdefghijklmnop"
TARGET_SECONDS, TARGET_MB = 60, 500
SECTION = "## Ruleset what-if simulation"


def log(msg: str) -> None:
    print(f"[bench.simulate {datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def app_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    env.update(APP_DATABASE_URL=url, APP_ID_ENCRYPTION_KEY=SECRET, APP_LOG_LEVEL="WARNING", APP_ENVIRONMENT="test")
    return env


def create_database(url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and Path(parsed.database).exists():
            raise SystemExit(f"{parsed.database} exists: give the path of a new file")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return url
    name = f"bench_sim_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def drop_database(server: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if make_url(url).get_backend_name() == "sqlite":
        return  # the file stays for a look afterwards
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def draft_text() -> str:
    """The national default with suspension from 7 points (one month at 7 and 8)."""
    from app.scoring.rulesets import BUNDLED_DIR

    text = (BUNDLED_DIR / "national-2024.toml").read_text(encoding="utf-8")
    for old, new in (('id = "national-2024"', 'id = "national-2026-draft"'),
                     ("suspension = 9\n", "suspension = 7\n"),
                     ("months_by_total = { 9 = 2, 10 = 4, 11 = 6 }",
                      "months_by_total = { 7 = 1, 8 = 1, 9 = 2, 10 = 4, 11 = 6 }")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def timed_child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        stdout = out.read().decode()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args[1:])} exited with {child.returncode}")
    return wall, usage.ru_maxrss / 1024, stdout  # ru_maxrss is in KiB on Linux


def run(server_url: str, size: int, year: int, scored: float) -> dict:
    url = create_database(server_url)
    info: dict = {"size": size, "year": year, "machine": machine(),
                  "started": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        env = app_env(url)
        subprocess.run([PY, "-m", "app", "setup"], env=env, cwd=ROOT, check=True, capture_output=True)
        info["database"] = db_version(url)
        log(f"generating {size:,} practitioners ({scored:.0%} scored)")
        gen = subprocess.run([PY, "-m", "bench.generate", "--database-url", url, "--size", str(size),
                              "--scored", str(scored)], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        info["generate"] = json.loads(gen.stdout)
        info["ledger"] = ledger_figures(url, year)
        log(f"generated in {info['generate']['seconds']} s; {info['ledger']}")
        with tempfile.TemporaryDirectory() as tmp:
            draft, csv_path = Path(tmp) / "draft.toml", Path(tmp) / "report.csv"
            draft.write_text(draft_text(), encoding="utf-8")
            log("simulating")
            load_before = os.getloadavg()[0]
            wall, peak_mb, stdout = timed_child(
                [PY, "-m", "app", "rulesets", "simulate", "--draft", str(draft), "--region", "100000",
                 "--year", str(year), "--csv", str(csv_path)], env)
            info["csv_bytes"] = csv_path.stat().st_size
            info["load"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        simulation = json.loads(stdout)
        started = datetime.fromisoformat(simulation["started_at"])
        finished = datetime.fromisoformat(simulation["finished_at"])
        info.update(wall_seconds=round(wall, 1), replay_seconds=round((finished - started).total_seconds(), 1),
                    peak_rss_mb=round(peak_mb), state=simulation["state"], summary=simulation["summary"])
        log(f"simulated in {info['replay_seconds']} s (process {info['wall_seconds']} s), peak RSS {info['peak_rss_mb']} MB")
    finally:
        drop_database(server_url, url)
    return info


def ledger_figures(url: str, year: int) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM ledger")).scalar_one()
        entries = conn.execute(text("SELECT count(*) FROM ledger WHERE kind = 'entry' AND effective_on "
                                    f"BETWEEN '{year}-01-01' AND '{year}-12-31'")).scalar_one()
    engine.dispose()
    return {"ledger_rows": rows, "entries_in_year": entries}


def db_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            version = "SQLite " + conn.execute(text("SELECT sqlite_version()")).scalar_one()
        else:
            version = conn.execute(text("SELECT version()")).scalar_one().split(" on ")[0]
    engine.dispose()
    return version


def machine() -> str:
    return f"{os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def section(info: dict) -> str:
    s, g = info["summary"], info["generate"]
    live, draft, changes = s["live"], s["draft"], s["changes"]
    return f"""{SECTION} — {info['started']}

Written by `python -m bench.simulate` (bench/simulate.py).

- Machine: {info['machine']}; {info['database']}; load average {info['load'][0]} before the
  simulation, {info['load'][1]} after (the machine is shared: other test suites run beside it).
- Data: {g['practitioners']:,} practitioners, {g['scored']:,} scored ({g['ledger_rows']:,} ledger rows);
  {info['ledger']['entries_in_year']:,} entries dated {info['year']}.
- Draft: the national default with suspension from 7 points instead of 9, replayed over region
  100000 (the whole country) for {info['year']}, as of {s['as_of']}. Inner Mongolia and Tianjin keep
  their own rules, so the draft governs {s['entries_governed_by_draft']:,} of the {s['entries']:,} entries.
- Outcome: {s['people_scored']:,} people replayed of {s['people_in_region']:,}; suspended in the year
  {live['suspended']:,} today, {draft['suspended']:,} under the draft; terminated {live['terminated']:,} /
  {draft['terminated']:,}; {changes['stricter']:,} stricter, {changes['more_lenient']:,} more lenient,
  {changes['terms_changed']:,} with the same outcome on other terms (dates, length).

| figure | measured | target | |
| --- | --- | --- | --- |
| Replay of {g['practitioners']:,} practitioners (claim to done, report rows written) | {info['replay_seconds']} s | < {TARGET_SECONDS} s | {_met(info['replay_seconds'] < TARGET_SECONDS)} |
| … the whole command (start-up, replay, CSV of {info['csv_bytes'] / 1e6:.1f} MB) | {info['wall_seconds']} s | — | — |
| Peak resident memory of the command (`wait4` ru_maxrss) | {info['peak_rss_mb']} MB | < {TARGET_MB} MB | {_met(info['peak_rss_mb'] < TARGET_MB)} |
"""


def write_results(path: Path, info: dict) -> None:
    """Replace this benchmark's section, or add it at the end (after bench/run.py's notes, which
    that script keeps as they are)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    new = section(info)
    pattern = re.compile(rf"^{re.escape(SECTION)} — .*?(?=^## |\Z)", re.M | re.S)
    text = pattern.sub(lambda _m: new + "\n", text, count=1) if pattern.search(text) else text.rstrip() + "\n\n" + new
    path.write_text(re.sub(r"\n{3,}", "\n\n", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True,
                        help="PostgreSQL: a database on the server to create the benchmark's own beside; "
                             "SQLite: the new file to use")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--scored", type=float, default=0.04, help="share of practitioners with points")
    parser.add_argument("--year", type=int, default=None, help="default: last year (the generator scores "
                        "from 2025-01-01 to yesterday)")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="'' to write nothing")
    args = parser.parse_args(argv)
    year = args.year or datetime.now().year - 1
    info = run(args.database_url, args.size, year, args.scored)
    print(json.dumps(info, ensure_ascii=False))
    if args.results:
        write_results(Path(args.results), info)
    return 0 if info["state"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
