"""An in-process snapshot of the configuration every case consults: projects and their
deadlines, the category tree, routing rules, and Nepal's administrative divisions.

The snapshot is keyed by the random token in `config_version`, which every ORM write to a
configuration table replaces in the same transaction (see ticketing.store.models). A token, not a
counter, so a rolled-back change can never be mistaken for a later committed one. A process
reads the token again at most once a second (filing is the hot path: the query would cost a
tenth of its throughput), and at once after a configuration change of its own; so a change
made in another process takes effect there within RECHECK_SECONDS.
"""

from __future__ import annotations

import difflib
import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ticketing.errors import InvalidInput
from ticketing.places.gazetteer import Division, Gazetteer, fold
from ticketing.sla import Deadlines
from ticketing.store import models
from ticketing.store.models import (
    Category,
    ConfigVersion,
    District,
    Municipality,
    Officer,
    Project,
    Province,
    RoutingRule,
    SlaPolicy,
    officer_project,
    table,
)
from ticketing.store.vocabulary import Priority

RECHECK_SECONDS = 1.0
# How lists, reports and officers' messages name the project of a case filed without one.
NO_PROJECT = "(no project)"


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    code: str
    name: str
    active: bool
    deadlines: Deadlines
    # Where the project runs, as far as it is set: a filing's place defaults to it.
    province_id: int | None
    district_id: int | None
    municipality_id: int | None


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    code: str
    parent_id: int | None
    priority: Priority | None
    level_hours: tuple[int | None, int | None, int | None]
    active: bool
    name_en: str
    name_ne: str
    description: str


@dataclass(frozen=True)
class RuleInfo:
    project_id: int | None
    level: int
    province_id: int | None
    district_id: int | None
    municipality_id: int | None
    category_id: int | None
    officer_id: int
    gender_cleared: bool
    integrity_cleared: bool


@dataclass(frozen=True)
class OfficerInfo:
    id: int
    active: bool
    gender_cleared: bool
    integrity_cleared: bool
    all_projects: bool
    project_ids: frozenset[int]
    # The level whose cases the officer handles; None for those who oversee (managers, admins).
    level: int | None = None


@dataclass(frozen=True)
class Catalog:
    token: str
    projects: dict[str, ProjectInfo]
    categories: dict[int, CategoryInfo]
    category_codes: dict[str, int]
    rules: tuple[RuleInfo, ...]
    officers: dict[int, OfficerInfo]
    municipalities: dict[int, tuple[int, int]]  # id -> (district id, number of wards)
    districts: dict[int, int]  # id -> province id
    provinces: frozenset[int]
    projects_by_id: dict[int, ProjectInfo]
    gazetteer: Gazetteer

    def project(self, code: str) -> ProjectInfo:
        """The active project with this code (any case, surrounding spaces ignored)."""
        project = self.projects.get(code.strip().upper())
        if project is None or not project.active:
            raise InvalidInput("project_code", "unknown project")
        return project

    def find_projects(self, typed: str) -> list[ProjectInfo]:
        """Active projects whose code or name matches what a citizen typed, best first."""
        wanted = fold(typed)
        if not wanted:
            return []
        active = [p for p in self.projects.values() if p.active]
        exact = [p for p in active if wanted in (fold(p.code), fold(p.name))]
        if exact:
            return exact
        # A project is often named by a word of its name ("the Kulekhani road").
        partial = [p for p in active if wanted in fold(p.name) or fold(p.code) in wanted.split()]
        if partial:
            return partial
        keys = {fold(p.code): p for p in active} | {fold(p.name): p for p in active}
        close = difflib.get_close_matches(wanted, keys, n=3, cutoff=0.6)
        return list(dict.fromkeys(keys[k] for k in close))

    def category(self, code: str) -> CategoryInfo:
        category_id = self.category_codes.get(code)
        if category_id is None or not self.categories[category_id].active:
            raise InvalidInput("category_code", "unknown category")
        return self.categories[category_id]

    def fileable(self) -> list[CategoryInfo]:
        """The categories a grievance can be filed under: the active ones without active children, by code."""
        parents = {c.parent_id for c in self.categories.values() if c.active and c.parent_id is not None}
        return sorted((c for c in self.categories.values() if c.active and c.id not in parents), key=lambda c: c.code)

    def place_names(self, municipality_id: int | None, district_id: int | None, province_id: int | None) -> list[str]:
        """The names of a case's place, finest first (municipality, district, province), as far as it is known."""
        names = []
        if municipality_id is not None:
            names.append(self.gazetteer.municipality(municipality_id).name_en)
        if district_id is not None:
            names.append(self.gazetteer.district(district_id).name_en)
        if province_id is not None:
            names.append(self.gazetteer.province(province_id).name_en)
        return names

    def lineage(self, category_id: int | None) -> list[CategoryInfo]:
        """The category followed by its ancestors up to the root; empty for no category."""
        chain: list[CategoryInfo] = []
        while category_id is not None:
            node = self.categories[category_id]
            chain.append(node)
            category_id = node.parent_id
        return chain

    def priority(self, category_id: int | None) -> Priority:
        """The priority set on the category or its nearest ancestor; Normal when none is."""
        return next((node.priority for node in self.lineage(category_id) if node.priority), Priority.NORMAL)

    def deadlines(self, project_id: int | None) -> Deadlines:
        """The project's deadlines; the default policy for a case filed without a project."""
        return Deadlines() if project_id is None else self.projects_by_id[project_id].deadlines

    def project_code(self, project_id: int | None) -> str:
        """The project's code, or what lists and reports print for a case filed without one."""
        return NO_PROJECT if project_id is None else self.projects_by_id[project_id].code

    def project_name(self, project_id: int | None) -> str:
        return NO_PROJECT if project_id is None else self.projects_by_id[project_id].name


def load_catalog(session: Session, token: str) -> Catalog:
    """Read the whole configuration in a handful of plain queries."""
    policies = {p.project_id: Deadlines.of(p) for p in session.scalars(select(SlaPolicy))}
    projects = {
        row.code: ProjectInfo(
            row.id,
            row.code,
            row.name,
            row.active,
            policies.get(row.id, Deadlines()),
            row.province_id,
            row.district_id,
            row.municipality_id,
        )
        for row in session.execute(
            select(
                Project.id,
                Project.code,
                Project.name,
                Project.active,
                Project.province_id,
                Project.district_id,
                Project.municipality_id,
            )
        )
    }
    categories = {
        row.id: CategoryInfo(
            row.id,
            row.code,
            row.parent_id,
            row.priority,
            (row.level_1_hours, row.level_2_hours, row.level_3_hours),
            row.active,
            row.name_en,
            row.name_ne,
            row.description or "",
        )
        for row in session.execute(
            select(
                Category.id,
                Category.code,
                Category.parent_id,
                Category.priority,
                Category.level_1_hours,
                Category.level_2_hours,
                Category.level_3_hours,
                Category.active,
                Category.name_en,
                Category.name_ne,
                Category.description,
            )
        )
    }
    memberships: dict[int, set[int]] = {}
    for officer_id, project_id in session.execute(select(officer_project.c.officer_id, officer_project.c.project_id)):
        memberships.setdefault(officer_id, set()).add(project_id)
    officers = {
        id_: OfficerInfo(id_, active, gender, integrity, all_projects, frozenset(memberships.get(id_, ())), level)
        for id_, active, gender, integrity, all_projects, level in session.execute(
            select(
                Officer.id,
                Officer.active,
                Officer.gender_cleared,
                Officer.integrity_cleared,
                Officer.all_projects,
                Officer.level,
            )
        )
    }
    rules = tuple(
        RuleInfo(
            r.project_id,
            r.level,
            r.province_id,
            r.district_id,
            r.municipality_id,
            r.category_id,
            r.officer_id,
            officers[r.officer_id].gender_cleared,
            officers[r.officer_id].integrity_cleared,
        )
        for r in session.execute(
            select(
                RoutingRule.project_id,
                RoutingRule.level,
                RoutingRule.province_id,
                RoutingRule.district_id,
                RoutingRule.municipality_id,
                RoutingRule.category_id,
                RoutingRule.officer_id,
            ).where(RoutingRule.active)
        )
        if officers[r.officer_id].active
    )
    provinces = [Division(*row) for row in session.execute(select(Province.id, Province.name_en, Province.name_ne))]
    districts = [
        Division(*row)
        for row in session.execute(select(District.id, District.name_en, District.name_ne, District.province_id))
    ]
    municipalities = [
        Division(*row)
        for row in session.execute(
            select(
                Municipality.id,
                Municipality.name_en,
                Municipality.name_ne,
                Municipality.district_id,
                Municipality.kind,
                Municipality.wards,
            )
        )
    ]
    return Catalog(
        token=token,
        projects=projects,
        categories=categories,
        category_codes={c.code: c.id for c in categories.values()},
        rules=rules,
        officers=officers,
        municipalities={m.id: (m.parent_id or 0, m.wards or 0) for m in municipalities},
        districts={d.id: d.parent_id or 0 for d in districts},
        provinces=frozenset(p.id for p in provinces),
        projects_by_id={p.id: p for p in projects.values()},
        gazetteer=Gazetteer(provinces, districts, municipalities),
    )


class _CatalogCache:
    """The latest snapshot read through one engine, shared by that process's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Catalog | None = None
        self._checked_at = -float("inf")
        self._checked_generation = -1

    def get(self, session: Session) -> Catalog:
        snapshot = self._snapshot
        if session.info.get(models.CONFIG_CHANGED):
            # This unit of work changed the configuration and has not committed: it sees its
            # own changes, and nobody else may, so the snapshot is not kept.
            return load_catalog(session, "uncommitted")
        fresh_enough = time.monotonic() - self._checked_at < RECHECK_SECONDS
        if snapshot is not None and fresh_enough and self._checked_generation == models.config_generation:
            return snapshot
        generation, checked_at = models.config_generation, time.monotonic()
        versions = table(ConfigVersion)
        token = session.connection().execute(select(versions.c.token).where(versions.c.id == 1)).scalar() or ""
        if snapshot is None or snapshot.token != token:
            # Read within the caller's transaction, so the snapshot matches the token it saw.
            snapshot = load_catalog(session, token)
        with self._lock:
            self._snapshot, self._checked_at, self._checked_generation = snapshot, checked_at, generation
        return snapshot


_caches: weakref.WeakKeyDictionary[Engine, _CatalogCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def catalog(session: Session) -> Catalog:
    """The configuration as this unit of work sees it."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _caches_lock:
        cache = _caches.setdefault(engine, _CatalogCache())
    return cache.get(session)
