"""The cold-start figure alone: ``python -m bench.coldstart`` (SQLite) or with ``BENCH_DATABASE_URL`` set.

The same measurement ``make bench`` makes (bench.run.cold_starts: the production command and the
floor app started in alternation, each timed from exec to its first ``/readyz`` 200, with the CPU
its processes had used by then), without the load tests: a new database with the schema and the
rulesets, and ``--size`` generated practitioners (none by default). ``--database-url`` measures an
existing database as it is and leaves it in place. Prints the figures and their medians as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

from bench.run import cold_starts, given_or_new_database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="starts of each app, in alternation")
    parser.add_argument("--size", type=int, default=0, help="practitioners to generate first")
    parser.add_argument("--database-url", default=None,
                        help="an existing database to start against as it is (not generated, not dropped)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))
    args = parser.parse_args(argv)

    with given_or_new_database(args.database_url, args.size, 0) as url:
        found = cold_starts(url, args.workers, args.starts)
    medians = {key: statistics.median(values) for key, values in found.items()}
    ratios = {"wall": medians["cold_start"] / medians["floor_cold_start"],
              "cpu": medians["cold_start_cpu"] / medians["floor_cold_start_cpu"]}
    print(json.dumps({"starts": found, "medians": medians, "ratio_to_floor": ratios}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
