"""The Rasa project itself: its files validate, and the test stories are predicted without error."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from launcher.processes import MODEL, RASA
from ticketing.config import PROJECT_ROOT

ACTIONS_DIR = PROJECT_ROOT / "actions"
# Responses that Rasa's own default actions say (fallback, rephrase, restart).
RASA_DEFAULT_RESPONSES = {"utter_default", "utter_ask_rephrase", "utter_restart"}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not RASA.exists() or not MODEL.exists(), reason="the Rasa environment or the trained model is missing"
    ),
]


def rasa(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RASA), *arguments],
        check=False,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )


def test_the_project_data_validate() -> None:
    checked = rasa("data", "validate", "--domain", "domain.yml", "--data", "data/nlu", "data/rules", "data/stories")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Rasa counts a response as unused unless a story names it; ours are also said by the
    # actions and by forms. Any other warning is a real problem.
    said_by_code = "\n".join(path.read_text() for path in ACTIONS_DIR.glob("*.py"))
    warnings = re.findall(r"UserWarning: (.*)", checked.stdout + checked.stderr)
    unused = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule\.")
    # Likewise an intent that only answers a form's question, through a slot mapping.
    unused_intent = re.compile(r"The intent '(\w+)' is not used in any story or rule\.")
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    form_slots = {slot for form in domain["forms"].values() for slot in form["required_slots"]}
    mapped_intents = {
        intent
        for slot in domain["slots"].values()
        for mapping in slot.get("mappings", [])
        for intent in ([mapping["intent"]] if isinstance(mapping.get("intent"), str) else mapping.get("intent", []))
    } | {"inform"}  # short answers, taken as text by the forms
    # Sent by channels ("/attach", "/share_location", "/too_long"), with the file or place in the metadata,
    # never typed: no NLU data.
    channel_only = {
        f"The intent '{intent}' is listed in the domain file, but is not found in the NLU training data."
        for intent in ("attach", "share_location", "too_long")
    }
    problems = []
    for warning in warnings:
        if warning.strip() in channel_only:
            continue
        intent = unused_intent.match(warning)
        if intent is not None and intent.group(1) in mapped_intents:
            continue
        match = unused.match(warning)
        if match is None:
            if "RegexEntityExtractor" not in warning:  # the reference regex backs up DIET on purpose
                problems.append(warning)
            continue
        name = match.group(1)
        asked_by_form = name.removeprefix("utter_ask_") in form_slots or name in RASA_DEFAULT_RESPONSES
        # Said by name, or chosen at run time as f"utter_status_{status}".
        prefixes = [name[: i + 1] for i, char in enumerate(name) if char == "_"]
        said = f'"{name}"' in said_by_code or any(f'f"{prefix}{{' in said_by_code for prefix in prefixes)
        if not (asked_by_form or said):
            problems.append(warning)
    assert not problems


def test_the_test_stories_are_predicted_without_error(tmp_path: Path) -> None:
    tested = rasa(
        *("test", "core", "--model", str(MODEL), "--stories", "tests/rasa"),
        *("--fail-on-prediction-errors", "--out", str(tmp_path)),
    )
    assert tested.returncode == 0, (tested.stdout + tested.stderr)[-6000:]
