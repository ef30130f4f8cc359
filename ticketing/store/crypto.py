"""Field encryption for complainants' personal data and the keyed hash used to find phones.

The keys live in the process, installed once at start-up by `install_keys`, because the
ORM column type that encrypts and decrypts is only handed the SQL dialect, not a session.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ticketing.config import Settings, private_file
from ticketing.errors import ConfigurationError

KEY_FILE_NAME = "keys.json"


@dataclass(frozen=True)
class Keyring:
    """The ciphers for personal fields and the key of the phone hash."""

    cipher: MultiFernet
    phone_hash_key: bytes

    def encrypt(self, plaintext: str) -> str:
        return self.cipher.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self.cipher.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ConfigurationError(
                "A personal field cannot be decrypted with the configured keys; "
                "was GRM_ENCRYPTION_KEYS changed without keeping the old key?"
            ) from exc

    def phone_digest(self, e164_phone: str) -> str:
        return hmac.new(self.phone_hash_key, e164_phone.encode(), hashlib.sha256).hexdigest()

    def digest(self, purpose: str, message: str) -> bytes:
        """An HMAC for another use of the same key; the purpose keeps the uses apart."""
        return hmac.new(self.phone_hash_key, f"{purpose}\0{message}".encode(), hashlib.sha256).digest()


_installed: Keyring | None = None


def make_keyring(encryption_keys: str, phone_hash_key: str) -> Keyring:
    """Build a keyring from comma-separated Fernet keys and a hex or text HMAC key."""
    try:
        ciphers = [Fernet(key.strip()) for key in encryption_keys.split(",") if key.strip()]
    except ValueError as exc:
        raise ConfigurationError("GRM_ENCRYPTION_KEYS must hold Fernet keys (url-safe base64, 32 bytes)") from exc
    if not ciphers:
        raise ConfigurationError("GRM_ENCRYPTION_KEYS is empty")
    if len(phone_hash_key) < 32:
        raise ConfigurationError("GRM_PHONE_HASH_KEY must be at least 32 characters long")
    return Keyring(cipher=MultiFernet(ciphers), phone_hash_key=phone_hash_key.encode())


def generate_key_material() -> dict[str, str]:
    """Fresh keys in the shape of the environment variables that carry them."""
    return {
        "GRM_ENCRYPTION_KEYS": Fernet.generate_key().decode("ascii"),
        "GRM_PHONE_HASH_KEY": secrets.token_hex(32),
    }


def _embedded_key_material(var_dir: Path) -> dict[str, str]:
    """Read var/keys.json, creating it (owner-readable only) on the first start."""
    material: dict[str, str] = json.loads(
        private_file(var_dir / KEY_FILE_NAME, lambda: json.dumps(generate_key_material(), indent=2))
    )
    return material


def keyring_from_settings(settings: Settings) -> Keyring:
    """Keys from the environment; the embedded SQLite default generates its own under var/."""
    if settings.encryption_keys and settings.phone_hash_key:
        return make_keyring(settings.encryption_keys, settings.phone_hash_key)
    if not settings.is_embedded:
        # A server database with keys made up on one machine would be unreadable elsewhere.
        raise ConfigurationError(
            "GRM_ENCRYPTION_KEYS and GRM_PHONE_HASH_KEY must be set when DATABASE_URL is not SQLite"
        )
    material = _embedded_key_material(settings.var_dir)
    return make_keyring(material["GRM_ENCRYPTION_KEYS"], material["GRM_PHONE_HASH_KEY"])


def install_keys(keyring: Keyring) -> None:
    """Make `keyring` the one the encrypted columns and phone lookups use in this process."""
    global _installed
    _installed = keyring


def keyring() -> Keyring:
    """The installed keyring; a clear error when start-up forgot to install one."""
    if _installed is None:
        raise ConfigurationError("No encryption keys installed: call ticketing.store.db.open_store() first")
    return _installed
