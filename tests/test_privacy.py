"""Personal data is encrypted at rest, phones are found by keyed hash, lookups do not leak."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.helpers import FakeClock, file
from ticketing.cases.lookups import find_for_citizen
from ticketing.config import Settings, load_settings
from ticketing.errors import ConfigurationError, GrievanceNotFound
from ticketing.store.case_models import Complainant
from ticketing.store.crypto import install_keys, keyring, keyring_from_settings, make_keyring
from ticketing.store.db import Store

PERSONAL = {
    "name": "Sunita Tamang",
    "phone": "9841234567",
    "email": "sunita@example.org",
    "address": "Tole 4, near the school",
}


def test_personal_fields_are_ciphertext_in_the_database(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock, **PERSONAL)
    with demo.engine.connect() as connection:
        row = connection.execute(
            text("SELECT name, phone, email, address, phone_hash FROM complainant WHERE id = :id"),
            {"id": grievance.complainant_id},
        ).one()
    dumped = " ".join(str(value) for value in row)
    for secret in ("Sunita", "Tamang", "9841234567", "sunita@", "Tole 4"):
        assert secret not in dumped
    assert row.phone_hash == keyring().phone_digest("+9779841234567")
    with demo.sessions() as session:
        person = session.get(Complainant, grievance.complainant_id)
        assert person is not None
        assert (person.name, person.phone, person.email, person.address) == (
            "Sunita Tamang",
            "+9779841234567",
            "sunita@example.org",
            "Tole 4, near the school",
        )


def test_the_same_value_encrypts_differently_each_time() -> None:
    assert keyring().encrypt("Sunita") != keyring().encrypt("Sunita")


def test_keys_rotate_without_losing_old_data(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock, **PERSONAL)
    original = keyring()
    old_key = demo.settings.encryption_keys
    assert old_key is not None
    rotated = make_keyring(f"{Fernet.generate_key().decode()},{old_key}", demo.settings.phone_hash_key or "")
    try:
        install_keys(rotated)
        with demo.sessions() as session:
            person = session.get(Complainant, grievance.complainant_id)
            assert person is not None and person.name == "Sunita Tamang"
        install_keys(make_keyring(Fernet.generate_key().decode(), demo.settings.phone_hash_key or ""))
        with demo.sessions() as session, pytest.raises(ConfigurationError, match="decrypted"):
            session.get(Complainant, grievance.complainant_id)
    finally:
        install_keys(original)


def test_lookup_needs_both_reference_and_phone(demo: Store, clock: FakeClock) -> None:
    mine = file(demo, clock, phone="9841234567")
    theirs = file(demo, clock, phone="9851111111", name="Someone Else")
    with demo.sessions() as session:
        for reference, phone in [
            (mine.reference, "9841234567"),
            (mine.reference.lower().replace("-", " "), "+977 9841234567"),
            (mine.reference, "00977-984-1234567"),
        ]:
            assert find_for_citizen(session, reference, phone).id == mine.id
        answers = []
        for reference, phone in [
            (mine.reference, "9851111111"),  # my reference, another citizen's phone
            (theirs.reference, "9841234567"),  # their reference, my phone
            ("GR-0000-0000", "9841234567"),  # no such reference
            (mine.reference, "9841234568"),  # one digit off
            (mine.reference, "not a phone"),
            ("garbage", "9841234567"),
        ]:
            with pytest.raises(GrievanceNotFound) as raised:
                find_for_citizen(session, reference, phone)
            answers.append((type(raised.value), str(raised.value), raised.value.code))
    assert len(set(answers)) == 1


def test_embedded_default_generates_private_keys_once(tmp_path: Path) -> None:
    settings = load_settings({"GRM_VAR_DIR": str(tmp_path)})
    assert settings.is_embedded
    first = keyring_from_settings(settings)
    second = keyring_from_settings(settings)
    key_file = tmp_path / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert set(json.loads(key_file.read_text())) == {"GRM_ENCRYPTION_KEYS", "GRM_PHONE_HASH_KEY"}
    assert second.decrypt(first.encrypt("same keys")) == "same keys"
    assert first.phone_digest("+9779841234567") == second.phone_digest("+9779841234567")


def test_a_server_database_refuses_to_run_without_keys(tmp_path: Path) -> None:
    settings = load_settings({"GRM_VAR_DIR": str(tmp_path), "DATABASE_URL": "postgresql://db.example/grm"})
    assert settings.database_url.startswith("postgresql+psycopg://")
    with pytest.raises(ConfigurationError, match="must be set"):
        keyring_from_settings(settings)
    assert not (tmp_path / "keys.json").exists()


@pytest.mark.parametrize(
    ("keys", "hash_key", "message"),
    [
        ("not-a-key", "k" * 32, "Fernet"),
        ("", "k" * 32, "must be set|empty"),
        (Fernet.generate_key().decode(), "short", "32"),
    ],
    # A random key must not name the test: parallel runs (make test-fast) collect the same ids.
    ids=["not-a-key", "no-key", "short-hash-key"],
)
def test_bad_keys_get_a_clear_message(tmp_path: Path, keys: str, hash_key: str, message: str) -> None:
    settings = Settings("postgresql+psycopg://db.example/grm", tmp_path, keys or None, hash_key)
    with pytest.raises(ConfigurationError, match=message):
        keyring_from_settings(settings)


def test_a_database_error_names_no_value_it_was_given(store: Store) -> None:
    # Such errors end up in logs (the action server logs an unreachable store's error whole).
    with pytest.raises(DBAPIError) as failed, store.engine.connect() as connection:
        connection.execute(text("SELECT no_such_column FROM grievance WHERE details = :told"), {"told": "9841234567"})
    assert "9841234567" not in str(failed.value)
