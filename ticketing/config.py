"""Settings read from the environment in one place, with embedded defaults under var/."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ticketing.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A shared secret set by hand must not be guessable: 32 characters of a random string.
MIN_SECRET_CHARS = 32


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


def private_directory(path: Path) -> Path:
    """`path` made (if missing) readable by its owner only: var/ holds keys, logs and personal data."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path, make: Callable[[], str]) -> str:
    """The text kept in `path` (owner-only), written once by `make` by whichever process comes first."""
    if not path.exists():
        private_directory(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process wrote it meanwhile
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
    return path.read_text()


@dataclass(frozen=True)
class SharedSecret:
    """A secret two processes share (Rasa and the action server, say): from the environment,
    else from an owner-only file under var/ made on the first start. Never a command-line
    argument, which every local user can read in the process list."""

    variable: str
    filename: str

    def value(self, var_dir: Path, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ
        given = env.get(self.variable)
        if given:
            if len(given) < MIN_SECRET_CHARS:
                raise ConfigurationError(f"{self.variable} must be at least {MIN_SECRET_CHARS} characters long")
            return given
        return private_file(var_dir / self.filename, lambda: secrets.token_urlsafe(32)).strip()


# What Rasa sends the action server with every call (endpoints.yml), and what the action server asks for.
ACTIONS_TOKEN = SharedSecret("GRM_ACTIONS_TOKEN", "actions.token")
# Rasa's HTTP API, when it is turned on (GRM_RASA_API=on), answers only callers with this token.
RASA_API_TOKEN = SharedSecret("GRM_RASA_TOKEN", "rasa-api.token")
