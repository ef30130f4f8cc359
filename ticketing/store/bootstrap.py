"""Bring a database up to date: schema, reference data, and (for `make run`) the demo."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ticketing.accounts import check_password_policy
from ticketing.clock import Clock
from ticketing.config import PROJECT_ROOT
from ticketing.lifecycle import TOP_LEVEL
from ticketing.places.locations import load_locations
from ticketing.store.db import Store, upgrade_to_head
from ticketing.store.models import Category, Officer, Project, RoutingRule, SlaPolicy
from ticketing.store.vocabulary import Priority, ProjectType, Role

CATEGORIES_FILE = PROJECT_ROOT / "data" / "reference" / "categories.json"
DEMO_LOGIN_FILE = "demo-login.json"
DEMO_ADMIN_EMAIL = "admin@grm.example"


def load_categories(session: Session, path: Path = CATEGORIES_FILE) -> int:
    """Insert the default category tree when there is none yet; returns how many were added."""
    if session.scalar(select(func.count()).select_from(Category)):
        return 0
    added = 0

    def add(node: dict[str, Any], parent: Category | None) -> None:
        nonlocal added
        category = Category(
            code=node["code"],
            name_en=node["name_en"],
            name_ne=node["name_ne"],
            description=node.get("description"),
            priority=Priority(node["priority"]) if "priority" in node else None,
            parent=parent,
            **{f"level_{n}_hours": node.get(f"level_{n}_hours") for n in (1, 2, 3)},
        )
        session.add(category)
        added += 1
        for child in node.get("children", []):
            add(child, category)

    for root in json.loads(path.read_text(encoding="utf-8"))["categories"]:
        add(root, None)
    session.flush()
    return added


def prepare(store: Store) -> None:
    """Migrate the schema and load the reference data every installation needs."""
    upgrade_to_head(store.engine)
    with store.sessions.begin() as session:
        load_locations(session)
        load_categories(session)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    accounts: list[tuple[str, str]]  # (email, what the account is for)


# (email, name, role, level, project codes or "*" for all, gender cleared, district id)
_DEMO_OFFICERS: list[tuple[str, str, Role, int | None, str, bool, int | None]] = [
    (DEMO_ADMIN_EMAIL, "Demo Administrator", Role.SUPER_ADMIN, None, "*", True, None),
    ("site.kkr@grm.example", "Ram Thapa (site safeguards, KKR-01)", Role.FOCAL_PERSON, 1, "KKR-01", False, 30),
    ("gender.kkr@grm.example", "Sita Gurung (gender focal person, KKR-01)", Role.FOCAL_PERSON, 1, "KKR-01", True, None),
    ("site.nbr@grm.example", "Hari Adhikari (site safeguards, NBR-02)", Role.FOCAL_PERSON, 1, "NBR-02", False, 24),
    (
        "gender.nbr@grm.example",
        "Gita Shrestha (gender focal person, NBR-02)",
        Role.FOCAL_PERSON,
        1,
        "NBR-02",
        True,
        None,
    ),
    ("piu.kkr@grm.example", "Bikash Karki (PD/PIU safeguards, KKR-01)", Role.FOCAL_PERSON, 2, "KKR-01", True, None),
    ("piu.nbr@grm.example", "Anita Rai (PD/PIU safeguards, NBR-02)", Role.FOCAL_PERSON, 2, "NBR-02", True, None),
    ("grc@grm.example", "GRC Secretariat", Role.FOCAL_PERSON, 3, "*", True, None),
    ("legal@grm.example", "Legal Desk", Role.FOCAL_PERSON, 4, "*", True, None),
    ("bank@grm.example", "Bank Safeguards Viewer", Role.BANK_VIEWER, None, "*", False, None),
    ("director@grm.example", "Project Director", Role.PROJECT_DIRECTOR, None, "*", False, None),
    ("manager.kkr@grm.example", "Project Manager KKR-01", Role.PROJECT_MANAGER, None, "KKR-01", False, None),
    ("contractor.kkr@grm.example", "Contractor KKR-01", Role.CONTRACTOR, None, "KKR-01", False, None),
]


def seed_demo(session: Session, clock: Clock, password: str) -> DemoLogin:
    """Two projects with officers at all four levels and their routing rules. Runs once."""
    now = clock.now()
    projects = {
        "KKR-01": Project(
            code="KKR-01",
            name="Kathmandu-Kulekhani Road Upgrading",
            type=ProjectType.CONSTRUCTION,
            province_id=3,
            district_id=30,
            location="Makwanpur district, km 0-42",
            created_at=now,
        ),
        "NBR-02": Project(
            code="NBR-02",
            name="Narayani Bridge and Approach Road Maintenance",
            type=ProjectType.OPERATION_MAINTENANCE,
            province_id=3,
            district_id=24,
            location="Bharatpur, Chitwan",
            created_at=now,
        ),
    }
    session.add_all(projects.values())
    session.add_all(SlaPolicy(project=project) for project in projects.values())
    gender = session.scalar(select(Category).where(Category.code == "gender"))
    integrity = session.scalar(select(Category).where(Category.code == "integrity"))
    password_hash = generate_password_hash(password)
    accounts = []
    for email, name, role, level, scope, cleared, district_id in _DEMO_OFFICERS:
        officer = Officer(
            name=name,
            email=email,
            role=role,
            level=level,
            all_projects=scope == "*",
            projects=[] if scope == "*" else [projects[scope]],
            gender_cleared=cleared,
            # Bribery and fraud reports go to the project director (and the administrator sees them).
            integrity_cleared=role in (Role.SUPER_ADMIN, Role.PROJECT_DIRECTOR),
            district_id=district_id,
            password_hash=password_hash,
            password_changed_at=now,
            created_at=now,
        )
        # The demo's one password opens every account: it must pass for each of them.
        check_password_policy(password, officer)
        session.add(officer)
        accounts.append((email, name))
        if role is Role.PROJECT_DIRECTOR and integrity:
            session.add_all(
                RoutingRule(level=at, category_id=integrity.id, officer=officer) for at in range(1, TOP_LEVEL + 1)
            )
        if level is None:
            continue
        project = None if scope == "*" else projects[scope]
        # Gender focal persons take only gender cases; site officers take their district.
        category_id = gender.id if cleared and level == 1 and gender else None
        session.add(
            RoutingRule(project=project, level=level, district_id=district_id, category_id=category_id, officer=officer)
        )
        if project is not None:
            # A case filed without a project goes to the people of the project in its district.
            where = district_id or project.district_id
            session.add(RoutingRule(level=level, district_id=where, category_id=category_id, officer=officer))
    session.flush()
    return DemoLogin(email=DEMO_ADMIN_EMAIL, password=password, accounts=accounts)


def ensure_demo(store: Store, clock: Clock) -> DemoLogin:
    """Seed the demo on the first run; afterwards read back the login it printed then."""
    login_file = store.settings.var_dir / DEMO_LOGIN_FILE
    with store.sessions.begin() as session:
        if session.scalar(select(func.count()).select_from(Project)) == 0:
            login = seed_demo(session, clock, secrets.token_urlsafe(9))
            login_file.write_text(json.dumps(login.__dict__, indent=2))
            login_file.chmod(0o600)
            return login
    if login_file.exists():
        saved = json.loads(login_file.read_text())
        return DemoLogin(saved["email"], saved["password"], [(email, role) for email, role in saved["accounts"]])
    return DemoLogin(DEMO_ADMIN_EMAIL, "(set before this machine's var/ was made)", [])
