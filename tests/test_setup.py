"""`python -m launcher setup --demo`, as `make run` calls it, on a fresh var/ directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.helpers import FakeClock
from ticketing.cases.filing import Submission, file_grievance
from ticketing.config import PROJECT_ROOT, load_settings
from ticketing.lifecycle import Status
from ticketing.store.db import open_store
from ticketing.store.models import Category, Municipality, Officer, Project, RoutingRule
from ticketing.store.vocabulary import Channel, Priority

# Starts real processes: not in `make test-fast`.
pytestmark = pytest.mark.e2e


def run_setup(var_dir: Path) -> str:
    env = {**os.environ, "GRM_VAR_DIR": str(var_dir)}
    for name in ("DATABASE_URL", "GRM_ENCRYPTION_KEYS", "GRM_PHONE_HASH_KEY"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "launcher", "setup", "--demo"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_demo_is_seeded_once_and_its_login_printed(tmp_path: Path) -> None:
    first = run_setup(tmp_path)
    login = re.search(r"Demo login: (\S+)\s+password: (\S+)", first)
    assert login is not None and login.group(1) == "admin@grm.example"
    second = run_setup(tmp_path)
    assert login.group(0) in second  # the same login, not a second demo

    store = open_store(load_settings({"GRM_VAR_DIR": str(tmp_path)}))
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Project)) == 2
        assert session.scalar(select(func.count()).select_from(Municipality)) == 753
        assert {o.level for o in session.scalars(select(Officer)) if o.level} == {1, 2, 3, 4}
        levels_by_project = {
            (code, level)
            for code, level in session.execute(
                select(Project.code, RoutingRule.level).join(RoutingRule.project, isouter=True)
            )
        }
        for code in ("KKR-01", "NBR-02"):
            assert {1, 2} <= {lvl for c, lvl in levels_by_project if c == code}
        assert {3, 4} <= {lvl for c, lvl in levels_by_project if c is None}
        priorities = {c.code: c.priority for c in session.scalars(select(Category).where(Category.parent_id.is_(None)))}
        assert priorities["gender"] is Priority.GENDER
        assert priorities["land"] is Priority.HIGH and priorities["safety"] is Priority.HIGH
        assert priorities["environment"] is Priority.NORMAL
    # The demo accepts a grievance straight away, routed to the site officer.
    with store.sessions.begin() as session:
        grievance = file_grievance(
            session,
            FakeClock(),
            Submission(
                "NBR-02",
                "Bridge railing broken",
                Channel.WHATSAPP,
                name="Ram",
                phone="9801234567",
                municipality_id=278,
                category_code="safety.road",
            ),
        )
        assert grievance.status is Status.NEW and grievance.assignee is not None
        assert grievance.assignee.email == "site.nbr@grm.example"
    store.engine.dispose()


def test_the_rasa_environment_has_rasa_3_6() -> None:
    python = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
    if not python.exists():
        pytest.skip(".venv-rasa is missing: run `make install` (make test does)")
    version = subprocess.run(
        [str(python), "-c", "import rasa, sqlalchemy; print(rasa.__version__, sqlalchemy.__version__)"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.split()
    assert version[0] == "3.6.21" and version[1].startswith("1.4")
