"""The frozen requirements and the audit of them agree, without the network: each frozen file
pins what its .in file asks for, and each advisory docs/security.md accepts names the version
actually pinned (a pin that moves takes its row with it; requirements/audit.sh does the rest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ticketing.config import PROJECT_ROOT

REQUIREMENTS = PROJECT_ROOT / "requirements"
FROZEN = {".venv": REQUIREMENTS / "app.txt", ".venv-rasa": REQUIREMENTS / "rasa.txt"}
# A row of the table of advisories that stay: "| <ids> | <package> <version> (`<env>`) | ...".
_ACCEPTED_ROW = re.compile(r"^\| [^|]+ \| (\S+) (\S+) \(`(\.venv(?:-rasa)?)`\) \|")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name[extras]==version` line of a requirements file."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            found[canonical(name.split("[")[0])] = version.strip()
    return found


def accepted_rows() -> list[tuple[str, str, str]]:
    text = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    table = text.split("### What cannot be upgraded", 1)[1].split("\n#", 1)[0]
    return [(m[1], m[2], m[3]) for m in map(_ACCEPTED_ROW.match, table.splitlines()) if m]


@pytest.mark.parametrize("name", ["app", "rasa"])
def test_frozen_file_pins_what_its_in_file_asks(name: str) -> None:
    asked, frozen = pins(REQUIREMENTS / f"{name}.in"), pins(REQUIREMENTS / f"{name}.txt")
    assert {package: frozen.get(package) for package in asked} == asked


def test_every_accepted_advisory_names_the_version_pinned() -> None:
    rows = accepted_rows()
    assert len(rows) >= 10  # the table was found and read
    for package, version, environment in rows:
        assert pins(FROZEN[environment]).get(canonical(package)) == version, (package, version, environment)
