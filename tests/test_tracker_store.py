"""The tracker store in bot/, run inside Rasa's own environment against a real SQLite file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ticketing.config import PROJECT_ROOT

# Starts real processes: not in `make test-fast`.
pytestmark = pytest.mark.e2e

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"


def test_cached_conversations_are_reused_only_while_the_database_agrees(tmp_path: Path) -> None:
    if not RASA_PYTHON.exists():
        pytest.skip("the Rasa environment is missing (make test builds it)")
    done = subprocess.run(
        [str(RASA_PYTHON), str(PROJECT_ROOT / "tests" / "rasa" / "tracker_store_check.py"), str(tmp_path / "t.db")],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout + done.stderr
