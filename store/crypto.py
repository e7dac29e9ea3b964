"""Credentials encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from ``SYNC_DOCTOR_SECRET_KEY``: a Fernet key, or any passphrase (stretched
with HKDF). Several comma-separated keys rotate: the first encrypts, all decrypt. When no key
is set, one is generated once into a 0600 file beside the SQLite database, with a warning:
fine for trying Sync Doctor, not for production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "sync-doctor.key"


class SecretKeyError(RuntimeError):
    pass


def _fernet_for(material: str) -> Fernet:
    material = material.strip()
    try:
        return Fernet(material.encode())
    except ValueError:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sync-doctor", info=b"credentials").derive(
            material.encode()
        )
        return Fernet(base64.urlsafe_b64encode(derived))


class Vault:
    def __init__(self, keys: str) -> None:
        parts = [p for p in keys.split(",") if p.strip()]
        if not parts:
            raise SecretKeyError("SYNC_DOCTOR_SECRET_KEY is empty")
        self._fernet = MultiFernet([_fernet_for(p) for p in parts])
        self._signing_keys = [_signing_key_for(p) for p in parts]

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise SecretKeyError(
                "stored credentials cannot be decrypted with SYNC_DOCTOR_SECRET_KEY: the key changed? "
                "Restore the old key (list it after the new one, comma-separated) or reconnect with "
                "`sync-doctor connect`"
            ) from None

    def sign(self, message: bytes) -> str:
        """A URL-safe HMAC-SHA256 of ``message`` with the first key (links Sync Doctor issues)."""
        return _mac(self._signing_keys[0], message)

    def signed_by_us(self, message: bytes, signature: str) -> bool:
        """Whether ``signature`` is :meth:`sign`'s for ``message`` under any configured key
        (a rotation in progress does not void the links still out)."""
        return any(hmac.compare_digest(_mac(key, message), signature) for key in self._signing_keys)


def _signing_key_for(material: str) -> bytes:
    # A key of its own, derived apart from the encryption key (HKDF info differs).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"sync-doctor", info=b"signatures").derive(
        material.strip().encode()
    )


def _mac(key: bytes, message: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def key_file_for(database_file: Path | None) -> Path:
    base = database_file.parent if database_file is not None else Path.cwd()
    return base / KEY_FILE_NAME


def load_or_create_key(secret_key: str | None, key_file: Path) -> str:
    """The configured key, else the key file's, else a new key written to the key file."""
    if secret_key:
        return secret_key
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it between our check and open
        return key_file.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key)
    logger.warning(
        "SYNC_DOCTOR_SECRET_KEY is not set: generated a key in %s (mode 0600). Set SYNC_DOCTOR_SECRET_KEY "
        "in production and keep it safe: without it stored credentials cannot be read.",
        key_file,
    )
    return key
