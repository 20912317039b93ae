"""The notice figure alone: ``python -m bench.notice`` (SQLite) or with ``BENCH_DATABASE_URL`` set.

The same measurement ``make bench`` makes (bench.run.measure_notice: a national notice frozen and
downloaded as CSV on a fresh server, timed, with the server's peak resident memory), without the
load tests: a new database with a handful of practitioners plus ``--notice-size`` people with
points this year. ``--database-url`` measures an existing, already generated database instead and
leaves it in place, so a change to the notice path can be measured again in a minute rather than
after regenerating a million ledgers. Prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from bench.run import given_or_new_database, measure_notice, run_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notice-size", type=int, default=int(os.environ.get("BENCH_NOTICE_SIZE", "1000000")),
                        help="practitioners with points this year, the notice's rows")
    parser.add_argument("--database-url", default=None,
                        help="an existing bench database to measure as it is (not generated, not dropped)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    args = parser.parse_args(argv)
    from app.kit.timeutil import local_date

    with given_or_new_database(args.database_url, 1000, args.notice_size) as url:
        bureau = run_app(url, "clients", "create", "--role", "bureau", "--region", "100000", "--name", "bench notice")
        result = measure_notice(url, bureau, args.workers, local_date().year)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
