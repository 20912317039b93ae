"""Standard Webhooks signing (standardwebhooks.com), and sealing of secrets at rest. Pure.

A secret is ``whsec_`` + base64 of random bytes; the HMAC key is the decoded bytes. The
signature is ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")); several signatures
(old and new secret during a rotation) are sent space-separated in one header, and a receiver
accepts the message if any one verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random
from collections.abc import Iterable
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification allows 24 to 64


def new_secret(nbytes: int = SECRET_BYTES) -> str:
    if not 24 <= nbytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 random bytes")
    return PREFIX + base64.b64encode(_random.token_bytes(nbytes)).decode()


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers; one signature per secret in use."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }


class SecretBox:
    """Seals endpoint secrets at rest with a key derived from the service's master secret, so
    a copy of the database alone cannot forge callbacks."""

    def __init__(self, master: str):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"webhook-secret-sealing").derive(
            master.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode()).decode()


@lru_cache(maxsize=4)
def box(master: str) -> SecretBox:
    return SecretBox(master)
