"""Per-client request rate limits (``APP_RATE_LIMITS``), checked once the caller is known.

Each limit "N per period" is counted with GCRA (the generic cell rate algorithm, a token bucket
kept as one timestamp): a client may send N requests at once, then one per period / N. One float
per client and limit in the process's memory, O(1) per request, no shared store and no thread.

The notation is the ``limits`` library's (``"50/second;2000/minute"``); its in-memory counters are
not used: they start a timer thread every 10 ms under load, and ``Thread.start`` waits on the
event loop for the new thread to run, which was an eighth of a standing check's time
(bench/RESULTS.md). With several processes a client may send as many times the limit as there are
processes.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache
from time import monotonic
from typing import Protocol

from limits import RateLimitItem, parse_many

from app.kit.errors import TooManyRequests
from app.kit.messages import t
from app.settings import get_settings


@lru_cache
def _limits_of(role: str) -> tuple[tuple[RateLimitItem, float, float], ...]:
    """(limit, seconds between requests, period in seconds) for each limit of the role."""
    spec = get_settings().rate_limits.get(role)
    return tuple((item, item.get_expiry() / item.amount, float(item.get_expiry())) for item in parse_many(spec)) if spec else ()


# (principal, limit) -> the theoretical arrival time: when the client's bucket is full again.
_arrivals: dict[tuple[str, RateLimitItem], float] = {}
_lock = threading.Lock()  # checked on the event loop; the lock keeps it right from any thread
# Past this many buckets, full ones (clients gone quiet) are forgotten, in one sweep a second at
# most: were most of them still filling, a sweep per request would scan them all on every check.
SWEEP_ABOVE = 100_000
_next_sweep = 0.0


# Rounding in sums of times must not refuse a request the limit admits (2.2 - 1.2 - 1.0 > 0 in
# binary floating point: a new client's first request under "1/second" at 1.2 s was refused).
_ROUNDING = 1e-9


def delay(arrival: float | None, now: float, interval: float, period: float) -> tuple[float, float]:
    """GCRA for one request at ``now``: (the new arrival time, 0) when it is allowed, else
    (``arrival`` unchanged, seconds until it would be). Pure: ``check`` keeps the arrival times."""
    tat = max(arrival if arrival is not None else now, now) + interval
    wait = tat - now - period
    return (tat, 0.0) if wait <= _ROUNDING else (arrival, wait)


class Client(Protocol):
    """What a limit is counted on (``app.auth.roles.Caller``): kit knows no domain type."""

    @property
    def role(self) -> str: ...

    @property
    def principal(self) -> object: ...


def check(caller: Client, now: float | None = None) -> None:
    """Count one request of ``caller``; 429 with ``Retry-After`` when a limit of its role is used up.
    A request refused by one limit is counted by none."""
    limits = _limits_of(caller.role)
    if not limits:
        return
    now = monotonic() if now is None else now
    with _lock:
        allowed = []
        for item, interval, period in limits:
            key = (caller.principal, item)
            arrival, wait = delay(_arrivals.get(key), now, interval, period)
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                raise TooManyRequests(t("More than {item} for this client; retry after {retry_after} s", item=item, retry_after=retry_after),
                                      headers={"Retry-After": str(retry_after)})
            allowed.append((key, arrival))
        _arrivals.update(allowed)
        if len(_arrivals) > SWEEP_ABOVE and now >= _next_sweep:
            _sweep(now)


def _sweep(now: float) -> None:
    """Forget buckets that are full again (their arrival time has passed): a new request of
    theirs finds them as a client never seen. Under ``_lock``."""
    global _next_sweep
    for key in [k for k, tat in _arrivals.items() if tat <= now]:
        del _arrivals[key]
    _next_sweep = now + 1.0


def reset() -> None:
    """Forget every count (settings changed, or a test starts afresh)."""
    global _next_sweep
    with _lock:
        _arrivals.clear()
        _next_sweep = 0.0
    _limits_of.cache_clear()
