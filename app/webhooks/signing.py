"""Standard Webhooks signing (standardwebhooks.com), and sealing of secrets at rest. Pure.

A secret is ``whsec_`` + base64 of random bytes; the HMAC key is the decoded bytes. The
signature is ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), computed by the
specification's own library (``standardwebhooks``, which receivers verify with too); several
signatures (old and new secret during a rotation) are sent space-separated in one header, and a
receiver accepts the message if any one verifies.
"""

from __future__ import annotations

import base64
import secrets as _random
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from standardwebhooks import Webhook

from app.kit import keyring

PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification allows 24 to 64


def new_secret(nbytes: int = SECRET_BYTES) -> str:
    if not 24 <= nbytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 random bytes")
    return PREFIX + base64.b64encode(_random.token_bytes(nbytes)).decode()


def key_of(secret: str) -> bytes:
    """The HMAC key a secret stands for (what ``Webhook(secret)`` decodes it to)."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` of the message. ``body`` is the JSON sent, UTF-8: the library
    signs text and encodes it again, byte for byte the same."""
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode())


def headers(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per secret in use."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }


class SecretBox:
    """Seals endpoint secrets at rest with a key derived from the service's master secret, so
    a copy of the database alone cannot forge callbacks. Opens under earlier masters too while a
    rotation is under way (app/kit/keyring.py)."""

    PURPOSE = b"webhook-secret-sealing"

    def __init__(self, masters: tuple[str, ...]):
        self._masters = masters
        self._fernet = keyring.fernet(masters, self.PURPOSE)

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()

    def reseal(self, sealed: str) -> str | None:
        """The secret sealed under the current master, or None when it already is."""
        return self.seal(self.open(sealed)) if keyring.is_stale(self._masters, self.PURPOSE, sealed) else None


@lru_cache(maxsize=4)
def box(masters: tuple[str, ...]) -> SecretBox:
    return SecretBox(masters)
