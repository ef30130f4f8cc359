"""Settings read from the environment in one place, with embedded defaults under var/."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Everything the ticket store needs to know about its surroundings."""

    database_url: str
    var_dir: Path
    # Comma-separated Fernet keys: the first encrypts, all of them decrypt (key rotation).
    encryption_keys: str | None
    # Key of the HMAC that makes phone numbers searchable without decrypting them.
    phone_hash_key: str | None
    # Where citizens and officers reach the web app; links in notifications start with it.
    public_url: str = "http://localhost:5000"

    @property
    def attachments_dir(self) -> Path:
        return self.var_dir / "attachments"

    @property
    def is_embedded(self) -> bool:
        """True for the single-machine SQLite default, where keys may be generated locally."""
        return self.database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Point plain postgresql:// URLs at psycopg 3, the driver this environment ships."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment (GRM_VAR_DIR, DATABASE_URL, GRM_*_KEY)."""
    env = os.environ if environ is None else environ
    var_dir = Path(env.get("GRM_VAR_DIR", PROJECT_ROOT / "var")).resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'grm.sqlite3'}"
    return Settings(
        database_url=normalise_database_url(database_url),
        var_dir=var_dir,
        encryption_keys=env.get("GRM_ENCRYPTION_KEYS") or None,
        phone_hash_key=env.get("GRM_PHONE_HASH_KEY") or None,
        public_url=(env.get("GRM_PUBLIC_URL") or f"http://localhost:{env.get('GRM_WEB_PORT') or 5000}").rstrip("/"),
    )
