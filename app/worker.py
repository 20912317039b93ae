"""The background worker: runs each domain's periodic jobs until told to stop (SIGTERM/SIGINT).

On a stop it claims nothing new, lets the job in progress wind down (a webhook call in flight
finishes within APP_WORKER_SHUTDOWN_GRACE_SECONDS or its claim is released) and exits.

Jobs are small functions that do one bounded batch of work and return how many items they
handled; the loop runs a job again at once while it finds work, else after its interval.
"""

from __future__ import annotations

import logging
import os
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
    # Given the stop event: a job that may run long (webhook calls) winds down when it is set.
    run: Callable[[threading.Event], int]


def registered_jobs() -> list[Job]:
    """Every domain's periodic jobs (each domain adds its own here as it gains one)."""
    from app.dueprocess.service import close_windows
    from app.referrals import jobs as referral_jobs
    from app.scoring import anchor
    from app.simulations import service as simulations
    from app.webhooks import delivery

    return [
        Job("webhooks", delivery.POLL_SECONDS, delivery.run_once),
        # Short batches: they finish before the worker stops.
        Job("scoring.close-windows", 3600, lambda _stop: close_windows()),
        # Deadlines move by the day: hourly is enough to report a missed one on the day after.
        Job("referrals.overdue", 3600, lambda _stop: referral_jobs.emit_overdue()),
        # One queued what-if simulation per round; the loop comes back at once while there are more.
        # A run in progress is not interrupted by a stop: if the worker is killed first, its lease
        # runs out and another worker starts it again.
        Job("simulations", simulations.POLL_SECONDS, lambda _stop: simulations.run_next()),
        # Asks every minute whether a checkpoint is due: every APP_LEDGER_CHECKPOINT_MINUTES, and
        # within a minute of a notice being published. Without a signing key it writes none.
        Job("ledger.checkpoint", 60, lambda _stop: anchor.write_if_due()),
    ]


def beat(path: str | None) -> None:
    """Write the time now to the heartbeat file (atomically): ``worker check`` reads it."""
    if not path:
        return
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as out:
            out.write(f"{time.time():.3f}\n")
        os.replace(tmp, path)
    except OSError:  # a full or read-only /tmp must not stop the jobs; the check then reports stale
        logger.warning("cannot write the worker heartbeat to %s", path, exc_info=True)


def heartbeat_age(path: str, now: float | None = None) -> float | None:
    """Seconds since the worker's last beat; None when there is none (never started, or unreadable)."""
    try:
        with open(path) as f:
            at = float(f.read().strip())
    except (OSError, ValueError):
        return None
    return (time.time() if now is None else now) - at


def run_forever(jobs: list[Job], stop: threading.Event, idle_seconds: float = 1.0,
                heartbeat: str | None = None) -> None:
    due = {job.name: 0.0 for job in jobs}
    logger.info("worker started with jobs: %s", ", ".join(j.name for j in jobs) or "none")
    while not stop.is_set():
        now = time.monotonic()
        beat(heartbeat)
        for job in jobs:
            if stop.is_set():
                break
            if now < due[job.name]:
                continue
            beat(heartbeat)  # before each job too: one round may hold several slow ones
            try:
                handled = job.run(stop)
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
    from app.settings import get_settings

    run_forever(registered_jobs(), stop, heartbeat=get_settings().worker_heartbeat_file)
    return 0
