"""The code's shape, as docs/architecture.md describes it: small modules, a short top level,
settings read from the environment in one place, and nothing that reads one merely by
being imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from ticketing.config import PROJECT_ROOT

PACKAGES = ("ticketing", "actions", "admin_app", "bot", "launcher")
MAX_MODULE_LINES = 450
MAX_TOP_LEVEL_MODULES = 12
# Migrations are history: an applied one is never rewritten to make it shorter.
HISTORY = PROJECT_ROOT / "ticketing" / "store" / "migrations" / "versions"


def test_no_module_is_longer_than_a_reader_takes_in() -> None:
    long = {
        str(path.relative_to(PROJECT_ROOT)): lines
        for package in PACKAGES
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if HISTORY not in path.parents and (lines := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_the_domain_package_keeps_a_short_top_level() -> None:
    top = sorted(path.name for path in (PROJECT_ROOT / "ticketing").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


# Importing every module of the application (bot/ lives in Rasa's environment) with an
# environment that refuses to be read: a setting read at import time fails the import.
IMPORT_EVERYTHING = """
import importlib, os, pkgutil, sys
from collections.abc import MutableMapping

class Refusing(MutableMapping):
    def __init__(self, real):
        self.real = real
    def __getitem__(self, key):
        if key.startswith(("GRM_", "TWILIO_", "DATABASE_URL")):
            raise AssertionError(f"{key} read from the environment at import time")
        return self.real[key]
    def __setitem__(self, key, value):
        self.real[key] = value
    def __delitem__(self, key):
        del self.real[key]
    def __iter__(self):
        return iter(self.real)
    def __len__(self):
        return len(self.real)

os.environ = Refusing(os.environ)
for package in ("ticketing", "actions", "admin_app", "launcher"):
    importlib.import_module(package)
    for module in pkgutil.walk_packages(sys.modules[package].__path__, package + "."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
print("imported")
"""


def test_importing_the_code_reads_no_setting_from_the_environment() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        check=False,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.strip() == "imported", done.stderr[-3000:]


# Where the environment may be touched at all; everywhere else settings arrive as arguments.
ENVIRONMENT_READERS = {
    # load_settings: the one reader, called once at each process's start.
    "ticketing/config.py",
    # The processes the launcher starts inherit its environment (PATH, locale) under their settings.
    "launcher/processes.py",
    # Both write, never read: transformers and the hub client are told to stay offline.
    "ticketing/triage/encoder.py",
    "ticketing/triage/summary.py",
    # Rasa's process, in Rasa's environment: it takes the API token out of its environment.
    "bot/serve.py",
}


def touches_the_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            touched = node.attr in ("environ", "environb", "getenv", "getenvb", "putenv", "unsetenv")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            touched = any(alias.name.startswith(("environ", "getenv")) for alias in node.names)
        else:
            touched = False
        if touched:
            return True
    return False


def test_settings_are_read_from_the_environment_in_one_place() -> None:
    readers = {
        str(path.relative_to(PROJECT_ROOT))
        for package in PACKAGES
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if touches_the_environment(path)
    }
    assert readers == ENVIRONMENT_READERS
