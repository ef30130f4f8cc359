"""One Settings, read from the environment once per process (ticketing.config.load_settings):
its defaults keep every door closed, a wrong value is named at start-up, and .env.example
lists exactly what is read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from launcher.processes import services
from ticketing.config import (
    ACTIONS_TOKEN,
    LOCALHOST,
    PROJECT_ROOT,
    RASA_API_TOKEN,
    Facebook,
    Models,
    Network,
    Schedule,
    Web,
    load_settings,
)
from ticketing.errors import ConfigurationError

# A variable's name as a string in config.py.
SETTING = re.compile(r"\"((?:GRM|TWILIO)_[A-Z0-9_]+|DATABASE_URL|TRIAGE_MODEL_DIR|SUMMARY_MODEL_DIR)\"")
DOCUMENTED = re.compile(r"^#? ?([A-Z][A-Z0-9_]+)=", re.MULTILINE)


def test_the_defaults_listen_on_loopback_and_send_nothing_out(tmp_path: Path) -> None:
    settings = load_settings({"GRM_VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'grm.sqlite3'}"
    assert settings.network == Network() and settings.network.host == settings.network.actions_host == LOCALHOST
    assert not settings.network.rasa_api and not settings.network.rest_channel
    assert (settings.twilio, settings.smtp, settings.facebook) == (None, None, Facebook())
    assert (settings.web, settings.schedule, settings.models) == (Web(), Schedule(), Models())
    assert settings.public_url == "http://localhost:5000" and settings.given_public_url is None
    assert settings.files.directory == tmp_path / "attachments"


def test_values_are_read_once_into_typed_settings(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "GRM_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgresql://grm@db.example/grm",
            "GRM_WEB_PORT": "8080",
            "GRM_RASA_WORKERS": "2",
            "GRM_REDIS_URL": "redis://127.0.0.1:6379/0",
            "GRM_RASA_API": "on",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "token",
            "GRM_TWILIO_API_URL": "http://127.0.0.1:9000/",
            "GRM_SMTP_HOST": "smtp.example.org",
            "GRM_SMTP_PORT": "587",
            "GRM_REPORT_EMAILS": " safeguards@lender.example, ,piu@grm.example ",
            "GRM_WARN_BEFORE_HOURS": "12.5",
            "GRM_SCHEDULER_TICK_SECONDS": "2",
        }
    )
    assert settings.database_url == "postgresql+psycopg://grm@db.example/grm" and not settings.is_embedded
    assert settings.public_url == "http://localhost:8080"
    assert (settings.network.rasa_workers, settings.network.redis_url, settings.network.rasa_api) == (
        2,
        "redis://127.0.0.1:6379/0",
        True,
    )
    assert settings.twilio is not None and settings.twilio.api_url == "http://127.0.0.1:9000"
    assert settings.smtp is not None and (settings.smtp.port, settings.smtp.security) == (587, "none")
    assert settings.schedule.report_emails == ("safeguards@lender.example", "piu@grm.example")
    assert (settings.schedule.warn_before_hours, settings.schedule.tick_seconds) == (12.5, 2)
    # Twilio is used only with both its account and its token.
    assert load_settings({"TWILIO_ACCOUNT_SID": "AC1"}).twilio is None


@pytest.mark.parametrize(
    "variable, value",
    [
        ("GRM_RASA_WORKERS", "0"),
        ("GRM_ACTIONS_PORT", "65536"),
        ("GRM_SMTP_PORT", "smtp"),
        ("GRM_SESSION_MINUTES", "-5"),
        ("GRM_SCHEDULER_BATCH", "lots"),
        ("GRM_WARN_BEFORE_HOURS", "soon"),
        ("GRM_CONVERSATION_DAYS", "0"),
    ],
)
def test_a_wrong_value_stops_the_start_and_is_named(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        load_settings({variable: value, "GRM_SMTP_HOST": "smtp.example.org"})


def test_env_example_lists_every_setting_and_only_those() -> None:
    read = set(SETTING.findall((PROJECT_ROOT / "ticketing" / "config.py").read_text("utf-8")))
    # Rasa reads its channels' credentials itself (credentials.yml); the shared secrets come from the environment too.
    credentials = yaml.safe_dump(yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text("utf-8")))
    read |= set(re.findall(r"\$\{(\w+)\}", credentials))
    read |= {ACTIONS_TOKEN.variable, RASA_API_TOKEN.variable}
    documented = set(DOCUMENTED.findall((PROJECT_ROOT / ".env.example").read_text("utf-8")))
    assert documented == read


def test_the_launcher_hands_its_network_to_the_processes_it_starts(tmp_path: Path) -> None:
    settings = load_settings(
        {"GRM_VAR_DIR": str(tmp_path), "GRM_ACTIONS_PORT": "6055", "GRM_RASA_PORT": "6005", "GRM_WEB_PORT": "6000"}
    )
    by_name = {service.name: service for service in services(settings)}
    for service in by_name.values():
        assert {key: service.environment[key] for key in ("GRM_ACTIONS_PORT", "GRM_RASA_PORT", "GRM_WEB_PORT")} == {
            "GRM_ACTIONS_PORT": "6055",
            "GRM_RASA_PORT": "6005",
            "GRM_WEB_PORT": "6000",
        }
    assert by_name["Rasa"].environment["GRM_ACTIONS_URL"] == "http://127.0.0.1:6055/webhook"
    assert by_name["action server"].ready_url == "http://127.0.0.1:6055/ready"
    assert "127.0.0.1:6000" in by_name["web app"].command


def test_no_secret_shows_in_the_settings_printed() -> None:
    secrets = {
        "GRM_ENCRYPTION_KEYS": "fernet-key-material",
        "GRM_PHONE_HASH_KEY": "phone-hash-key-material",
        "TWILIO_AUTH_TOKEN": "twilio-auth-token",
        "GRM_SMTP_PASSWORD": "smtp-password",
        "GRM_SECRET_KEY": "cookie-signing-key",
        "GRM_FACEBOOK_PAGE_ACCESS_TOKEN": "page-access-token",
        "GRM_ACTIONS_TOKEN": "actions-token-of-at-least-32-characters",
    }
    settings = load_settings(secrets | {"TWILIO_ACCOUNT_SID": "AC1", "GRM_SMTP_HOST": "smtp.example.org"})
    assert settings.twilio is not None and settings.smtp is not None
    shown = repr(settings)
    assert "AC1" in shown and "smtp.example.org" in shown
    assert [name for name, value in secrets.items() if value in shown] == []
