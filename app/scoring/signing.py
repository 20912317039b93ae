"""The Ed25519 keys that sign ledger checkpoints (app/scoring/anchor.py).

The private key is a setting (``APP_LEDGER_SIGNING_KEY`` or ``APP_LEDGER_SIGNING_KEY_FILE``),
never stored in the database: the point of a checkpoint is that someone who can write the database
cannot make one. Verifying needs only public keys (``APP_LEDGER_PUBLIC_KEYS``), so a verifier need
not hold the private key, and a key retired by a rotation still verifies the checkpoints it signed:
each checkpoint names its key by id.

Keys are read when used, not when settings load: the API serves without them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class KeyProblem(ValueError):
    """A configured key that cannot be read: the message names the setting."""


def key_id(public: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key: stored with each checkpoint."""
    return hashlib.sha256(public.public_bytes(*_RAW)).hexdigest()[:16]


def public_text(public: Ed25519PublicKey) -> str:
    return base64.b64encode(public.public_bytes(*_RAW)).decode()


def private_text(private: Ed25519PrivateKey) -> str:
    return base64.b64encode(private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                  serialization.NoEncryption())).decode()


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _raw(text: str, setting: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem(f"{setting}: not base64 nor PEM") from None
    if len(raw) != 32:
        raise KeyProblem(f"{setting}: an Ed25519 key is 32 bytes, this is {len(raw)}")
    return raw


def read_private(text: str, setting: str = "APP_LEDGER_SIGNING_KEY") -> Ed25519PrivateKey:
    """Base64 of the 32 raw bytes (what ``ledger keygen`` prints) or an unencrypted PEM."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise KeyProblem(f"{setting}: unreadable PEM ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyProblem(f"{setting}: not an Ed25519 key")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw(text, setting))


def read_public(text: str, setting: str = "APP_LEDGER_PUBLIC_KEYS") -> Ed25519PublicKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError as exc:
            raise KeyProblem(f"{setting}: unreadable PEM ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyProblem(f"{setting}: not an Ed25519 key")
        return key
    return Ed25519PublicKey.from_public_bytes(_raw(text, setting))


@dataclass(frozen=True)
class Keys:
    """What this process may do: sign (with ``private``) and verify (with any of ``trusted``)."""

    private: Ed25519PrivateKey | None = None
    trusted: dict[str, Ed25519PublicKey] = field(default_factory=dict)

    @property
    def signing_id(self) -> str | None:
        return key_id(self.private.public_key()) if self.private is not None else None

    def sign(self, message: bytes) -> tuple[str, str]:
        """(key id, base64 signature)."""
        assert self.private is not None
        return self.signing_id, base64.b64encode(self.private.sign(message)).decode()

    def check(self, key: str, signature: str, message: bytes) -> str | None:
        """None when ``signature`` over ``message`` verifies under the trusted key ``key``, else why not."""
        public = self.trusted.get(key)
        if public is None:
            return f"signed by key {key}, which is not a trusted key (APP_LEDGER_PUBLIC_KEYS)"
        try:
            public.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return f"signature does not verify under key {key}"
        return None


def configured(settings=None) -> Keys:
    """The keys the settings name: the signing key, if any, and every public key to trust (the
    signing key's own among them). Raises ``KeyProblem`` for a key that cannot be read."""
    if settings is None:
        from app.settings import get_settings

        settings = get_settings()
    private = None
    if settings.ledger_signing_key is not None and settings.ledger_signing_key.get_secret_value().strip():
        private = read_private(settings.ledger_signing_key.get_secret_value())
    elif settings.ledger_signing_key_file is not None:
        try:
            text = settings.ledger_signing_key_file.read_text()
        except OSError as exc:
            raise KeyProblem(f"APP_LEDGER_SIGNING_KEY_FILE: {exc.strerror}: {settings.ledger_signing_key_file}") from None
        private = read_private(text, "APP_LEDGER_SIGNING_KEY_FILE")
    publics = [read_public(text) for text in settings.ledger_public_keys]
    if private is not None:
        publics.append(private.public_key())
    return Keys(private, {key_id(p): p for p in publics})
