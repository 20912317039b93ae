"""Per-client request rate limits (``APP_RATE_LIMITS``), checked once the caller is known.

A moving window per API client and process, kept in memory by the ``limits`` library: no
shared store to reach on the hot path, so a check costs a few microseconds. With several
processes a client may send as many times the limit as there are processes.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from app.auth.roles import Caller
from app.errors import TooManyRequests
from app.settings import get_settings

_limiter = MovingWindowRateLimiter(MemoryStorage())


@lru_cache
def _limits_of(role: str) -> tuple[RateLimitItem, ...]:
    spec = get_settings().rate_limits.get(role)
    return tuple(parse_many(spec)) if spec else ()


def check(caller: Caller) -> None:
    """Count one request of ``caller``; 429 with ``Retry-After`` when a limit of its role is used up."""
    for item in _limits_of(caller.role):
        if not _limiter.hit(item, caller.principal):
            reset_at, _remaining = _limiter.get_window_stats(item, caller.principal)
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise TooManyRequests(
                f"More than {item} for this client; retry after {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )


def reset() -> None:
    """Forget every count (settings changed, or a test starts afresh)."""
    _limiter.storage.reset()
    _limits_of.cache_clear()
