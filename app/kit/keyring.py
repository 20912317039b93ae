"""Keys derived from the service's master secret, and their rotation.

One master secret (``APP_ID_ENCRYPTION_KEY``) yields every key the service needs at rest: the
ID-number encryption key, the ID-number search-index key and the webhook-secret sealing key, each
by HKDF with its own purpose, so one value is guarded and rotated. During a rotation the previous
masters (``APP_ID_ENCRYPTION_PREVIOUS_KEYS``) still decrypt and still find, while everything new is
written under the current one; ``python -m app secrets rekey`` then rewrites what is stored.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=32)
def derive(master: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master.encode())


def fernet(masters: tuple[str, ...], purpose: bytes) -> MultiFernet:
    """Encrypts under the first master; decrypts under any of them."""
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derive(m, purpose))) for m in masters])


def is_stale(masters: tuple[str, ...], purpose: bytes, token: str) -> bool:
    """Whether ``token`` was written under an earlier master and needs rewriting."""
    try:
        fernet(masters[:1], purpose).decrypt(token.encode())
    except InvalidToken:
        return True
    return False


def masters() -> tuple[str, ...]:
    """The current master secret first, then those being rotated out."""
    from app.settings import get_settings

    settings = get_settings()
    return (settings.id_encryption_key, *settings.id_encryption_previous_keys)
