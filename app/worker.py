"""The background worker: runs each domain's periodic jobs until told to stop (SIGTERM/SIGINT).

Jobs are small functions that do one bounded batch of work and return how many items they
handled; the loop runs a job again at once while it finds work, else after its interval.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger("app.worker")


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: Callable[[], int]


def registered_jobs() -> list[Job]:
    """Every domain's periodic jobs (each domain adds its own here as it gains one)."""
    from app.dueprocess.service import close_windows
    from app.referrals import jobs as referral_jobs
    from app.simulations import service as simulations
    from app.webhooks import delivery

    return [
        Job("webhooks", delivery.POLL_SECONDS, delivery.run_once),
        Job("scoring.close-windows", 3600, close_windows),
        # Deadlines move by the day: hourly is enough to report a missed one on the day after.
        Job("referrals.overdue", 3600, referral_jobs.emit_overdue),
        # One queued what-if simulation per round; the loop comes back at once while there are more.
        Job("simulations", simulations.POLL_SECONDS, simulations.run_next),
    ]


def run_forever(jobs: list[Job], stop: threading.Event, idle_seconds: float = 1.0) -> None:
    due = {job.name: 0.0 for job in jobs}
    logger.info("worker started with jobs: %s", ", ".join(j.name for j in jobs) or "none")
    while not stop.is_set():
        now = time.monotonic()
        for job in jobs:
            if now < due[job.name]:
                continue
            try:
                handled = job.run()
            except Exception:  # a failing job must not stop the others; it is retried later
                logger.exception("job %s failed", job.name)
                handled = 0
            due[job.name] = now if handled else now + job.interval_seconds
        stop.wait(min([idle_seconds] + [max(0.0, d - time.monotonic()) for d in due.values()]))
    logger.info("worker stopped")


def main() -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(registered_jobs(), stop)
    return 0
