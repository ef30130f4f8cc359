"""Routing: the most specific rule for (project, level, place, category) picks the officer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.helpers import BAGMATI, HETAUDA, MAKWANPUR, START, THAHA, FakeClock, file
from ticketing.cases.moves import acknowledge, escalate, record_citizen_answer, resolve
from ticketing.cases.records import CITIZEN, SYSTEM, Actor
from ticketing.catalog import catalog
from ticketing.places.locations import Place
from ticketing.routing import route
from ticketing.store.db import Store
from ticketing.store.models import Category, Officer, Project, RoutingRule
from ticketing.store.vocabulary import Priority, ProjectType, Role


@pytest.fixture
def world(store: Store) -> Iterator[tuple[Session, Project]]:
    """One project and no rules yet, in a session rolled back after the test."""
    with store.sessions() as session:
        project = Project(code="KKR-01", name="Road", type=ProjectType.CONSTRUCTION, created_at=START)
        session.add(project)
        session.flush()
        yield session, project
        session.rollback()


def officer(session: Session, name: str, *, cleared: bool = False, active: bool = True) -> Officer:
    person = Officer(
        name=name,
        email=f"{name}@x.example",
        role=Role.FOCAL_PERSON,
        level=1,
        gender_cleared=cleared,
        active=active,
        created_at=START,
    )
    session.add(person)
    session.flush()
    return person


def rule(session: Session, person: Officer, project: Project | None, level: int = 1, **where: object) -> None:
    session.add(RoutingRule(officer=person, project=project, level=level, **where))
    session.flush()


def category(session: Session, code: str) -> Category:
    return session.scalars(select(Category).where(Category.code == code)).one()


HETAUDA_PLACE = Place(BAGMATI, MAKWANPUR, HETAUDA)


def test_finer_place_wins(world: tuple[Session, Project]) -> None:
    session, project = world
    anywhere, province, district, municipality = (officer(session, n) for n in ("any", "prov", "dist", "muni"))
    rule(session, anywhere, project)
    rule(session, province, project, province_id=BAGMATI)
    rule(session, district, project, district_id=MAKWANPUR)
    rule(session, municipality, project, municipality_id=HETAUDA)

    def pick(place: Place) -> int | None:
        return route(session, catalog(session), project.id, 1, place, None, Priority.NORMAL)

    assert pick(HETAUDA_PLACE) == municipality.id
    assert pick(Place(BAGMATI, MAKWANPUR, THAHA)) == district.id
    assert pick(Place(BAGMATI, 27, None)) == province.id
    assert pick(Place(1, None, None)) == anywhere.id
    assert pick(Place()) == anywhere.id


def test_project_rule_beats_catch_all_and_levels_are_separate(world: tuple[Session, Project]) -> None:
    session, project = world
    shared, own, level_two = officer(session, "shared"), officer(session, "own"), officer(session, "l2")
    rule(session, shared, None, municipality_id=HETAUDA)
    rule(session, own, project)
    rule(session, level_two, project, level=2)
    assert route(session, catalog(session), project.id, 1, HETAUDA_PLACE, None, Priority.NORMAL) == own.id
    assert route(session, catalog(session), project.id, 2, HETAUDA_PLACE, None, Priority.NORMAL) == level_two.id
    assert route(session, catalog(session), project.id, 3, HETAUDA_PLACE, None, Priority.NORMAL) is None


def test_category_rule_matches_subcategories(world: tuple[Session, Project]) -> None:
    session, project = world
    general, land_desk = officer(session, "general"), officer(session, "land")
    rule(session, general, project, district_id=MAKWANPUR)
    rule(session, land_desk, project, category_id=category(session, "land").id)
    compensation = category(session, "land.compensation")
    assert (
        route(session, catalog(session), project.id, 1, HETAUDA_PLACE, compensation.id, Priority.HIGH) == land_desk.id
    )
    assert (
        route(
            session, catalog(session), project.id, 1, HETAUDA_PLACE, category(session, "safety.road").id, Priority.HIGH
        )
        == general.id
    )


def test_gender_cases_only_reach_cleared_officers(world: tuple[Session, Project]) -> None:
    session, project = world
    site, cleared = officer(session, "site"), officer(session, "cleared", cleared=True)
    rule(session, site, project, municipality_id=HETAUDA)
    rule(session, cleared, project, province_id=BAGMATI)
    harassment = category(session, "gender.harassment")
    assert route(session, catalog(session), project.id, 1, HETAUDA_PLACE, harassment.id, Priority.GENDER) == cleared.id
    assert route(session, catalog(session), project.id, 1, HETAUDA_PLACE, None, Priority.NORMAL) == site.id


def test_inactive_officers_and_rules_are_skipped(world: tuple[Session, Project]) -> None:
    session, project = world
    away, fallback, retired = (
        officer(session, "away", active=False),
        officer(session, "fallback"),
        officer(session, "old"),
    )
    rule(session, away, project, municipality_id=HETAUDA)
    rule(session, fallback, project)
    session.add(RoutingRule(officer=retired, project=project, level=1, district_id=MAKWANPUR, active=False))
    assert route(session, catalog(session), project.id, 1, HETAUDA_PLACE, None, Priority.NORMAL) == fallback.id


def test_equal_rules_share_the_load(store: Store, clock: FakeClock) -> None:
    with store.sessions.begin() as session:
        project = Project(code="KKR-01", name="Road", type=ProjectType.CONSTRUCTION, created_at=START)
        session.add(project)
        first, second = officer(session, "first"), officer(session, "second")
        rule(session, first, project)
        rule(session, second, project)
    assignees = [file(store, clock).assignee_id for _ in range(4)]
    assert assignees == [first.id, second.id, first.id, second.id]


def test_escalation_and_refusal_reroute_to_the_next_level(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock)
    with demo.sessions() as session:
        by_email = {o.email: o.id for o in session.scalars(select(Officer))}
    assert grievance.assignee_id == by_email["site.kkr@grm.example"]
    with demo.sessions.begin() as session:
        assert (
            escalate(session, clock, grievance.id, SYSTEM, "overdue", from_level=1).assignee_id
            == by_email["piu.kkr@grm.example"]
        )
        acknowledge(session, clock, grievance.id, Actor.officer(by_email["piu.kkr@grm.example"]))
        resolve(session, clock, grievance.id, Actor.officer(by_email["piu.kkr@grm.example"]), "Paid.")
        refused = record_citizen_answer(session, clock, grievance.id, CITIZEN, accepted=False, reason="Not enough")
        assert (refused.level, refused.assignee_id) == (3, by_email["grc@grm.example"])
    gender_case = file(demo, clock, category_code="gender.harassment", name=None)
    assert gender_case.assignee_id == by_email["gender.kkr@grm.example"]


def test_integrity_cases_go_to_the_project_director_at_every_level(demo: Store, clock: FakeClock) -> None:
    with demo.sessions() as session:
        director = session.scalars(select(Officer.id).where(Officer.email == "director@grm.example")).one()
    case = file(demo, clock, category_code="integrity.fraud", name=None, phone=None)
    assert (case.assignee_id, case.priority) == (director, Priority.INTEGRITY)
    with demo.sessions.begin() as session:
        assert escalate(session, clock, case.id, SYSTEM, "overdue", from_level=1).assignee_id == director
