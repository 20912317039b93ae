"""API keys: random, shown once, stored as a hash."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "pck_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters, enough to tell keys apart in a listing without revealing them."""
    return key[: len(KEY_PREFIX) + 6]
