"""Credentials encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from ``SYNC_DOCTOR_SECRET_KEY``: a Fernet key, or any passphrase (stretched
with HKDF). Several comma-separated keys rotate: the first encrypts, all decrypt, and
``sync-doctor db rotate-key`` re-encrypts what is stored under the first (``store.rekey``), after
which the others can go. When no key is set, one is generated once into a 0600 file beside the
SQLite database, with a warning: fine for trying Sync Doctor, not for production. A key file
that disappears while the database holds credentials sealed with it is never silently replaced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from collections.abc import Callable
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

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted under the first key (it may have been sealed with any)."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise SecretKeyError("no key of SYNC_DOCTOR_SECRET_KEY decrypts it") from None

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


def load_or_create_key(secret_key: str | None, key_file: Path, *, sealed_rows: Callable[[], int] | None = None) -> str:
    """The configured key, else the key file's, else a new key written to the key file.

    ``sealed_rows`` counts what the database holds encrypted: when the key file is missing and
    that is not zero, the file was lost (deleted, or the command runs from another directory),
    and a new key would leave every stored credential unreadable, so this refuses instead."""
    if secret_key:
        return secret_key
    if key_file.exists():
        try:
            key = key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise SecretKeyError(f"cannot read the key file {key_file}: {e}") from None
        if not key:
            raise SecretKeyError(
                f"the key file {key_file} is empty: restore it from a backup, or set SYNC_DOCTOR_SECRET_KEY"
            )
        return key
    held = sealed_rows() if sealed_rows is not None else 0
    if held:
        raise SecretKeyError(
            f"SYNC_DOCTOR_SECRET_KEY is not set and the key file {key_file} is missing, but the database holds "
            f"{held} credential(s) encrypted with the key it held. Restore the file from a backup (or run from "
            "the directory that has it), or set SYNC_DOCTOR_SECRET_KEY to that key. To start over instead, set "
            "SYNC_DOCTOR_SECRET_KEY to a new key and connect each integration again (`sync-doctor connect`)."
        )
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SecretKeyError(f"cannot create the key file's directory {key_file.parent}: {e.strerror}") from None
    key = Fernet.generate_key().decode()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it between our check and open
        return key_file.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise SecretKeyError(
            f"cannot write the key file {key_file}: {e.strerror}; set SYNC_DOCTOR_SECRET_KEY instead"
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key)
    logger.warning(
        "SYNC_DOCTOR_SECRET_KEY is not set: generated a key in %s (mode 0600). Set SYNC_DOCTOR_SECRET_KEY "
        "in production and keep it safe: without it stored credentials cannot be read.",
        key_file,
    )
    return key
