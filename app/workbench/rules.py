"""Workbench rules with no I/O: session tokens, the password policy, the sign-in back-off."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.kit.messages import t

PASSWORD_MIN_LENGTH = 12  # people type these: length is what makes them hard to guess


def new_token() -> str:
    """A session token or CSRF token: 256 random bits."""
    return secrets.token_urlsafe(32)


def signed_token(key: bytes) -> str:
    """A sign-in form's CSRF token: a random nonce and the server's HMAC of it. The form and a
    cookie both carry it; one someone else planted in the cookie is refused, for they cannot sign."""
    nonce = secrets.token_urlsafe(32)
    return f"{nonce}.{_mac(key, nonce)}"


def is_signed(token: str | None, key: bytes) -> bool:
    nonce, _, mac = (token or "").partition(".")
    return bool(nonce) and hmac.compare_digest(mac.encode(), _mac(key, nonce).encode())


def _mac(key: bytes, nonce: str) -> str:
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


def hash_token(token: str) -> str:
    # The token is random and long, so a fast hash is enough (as for API keys).
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    """A generated password: 20 characters from an alphabet without look-alikes (0/O, 1/l/I)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(20))


def password_problem(password: str) -> str | None:
    if len(password) < PASSWORD_MIN_LENGTH:
        return t("must be at least {length} characters", length=PASSWORD_MIN_LENGTH)
    if password != password.strip():
        return t("must not start or end with a space")
    return None


@dataclass(frozen=True)
class Backoff:
    lock_after: int  # failures in a row before the first lock
    first_lock: timedelta
    longest_lock: timedelta
    forget_after: timedelta  # a quiet period that wipes the count (when no lock runs)

    def lock_for(self, failures: int) -> timedelta | None:
        """How long sign-in stays locked after the ``failures``-th failure in a row: none before
        ``lock_after``, then the first lock, doubling with each further failure, capped."""
        if failures < self.lock_after:
            return None
        doublings = min(failures - self.lock_after, 32)
        return min(self.first_lock * (2 ** doublings), self.longest_lock)

    def counts_from(self, failures: int, last_failure_at: datetime, locked_until: datetime | None,
                    now: datetime) -> int:
        """The failures that still count at ``now``: all of them until a quiet period has passed
        since the last failure and the end of any lock; none after it. Counting the quiet period
        from the lock's end keeps a long lock from wiping the count that earned it."""
        quiet_since = max(last_failure_at, locked_until) if locked_until is not None else last_failure_at
        return failures if now - quiet_since < self.forget_after else 0
