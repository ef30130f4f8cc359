"""The permission matrix of seed 000 section 2.2, and row-level scoping in the queries."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tests.helpers import FakeClock, file, officer_by_email, submission
from ticketing.cases.filing import file_grievance
from ticketing.cases.moves import escalate
from ticketing.cases.records import SYSTEM, Actor
from ticketing.permissions import MATRIX, Permission, Viewer, visible
from ticketing.store.case_models import Grievance
from ticketing.store.db import Store
from ticketing.store.models import Officer
from ticketing.store.vocabulary import Role

P = Permission
# Who handles cases: the directors, managers and focal persons.
HANDLING = {P.CREATE, P.VIEW, P.ASSIGN, P.UPDATE_STATUS, P.COMMENT, P.CORRECT, P.RECORD_ANSWER}
# Seed 000 section 2.2, column by column (the citizen acts only through the channels).
EXPECTED = {
    Role.SUPER_ADMIN: set(Permission),
    Role.PROJECT_DIRECTOR: HANDLING | {P.REPORT},
    Role.PROJECT_MANAGER: HANDLING | {P.REPORT},
    Role.CONTRACTOR: {P.CREATE, P.VIEW, P.UPDATE_STATUS, P.COMMENT},
    Role.BANK_VIEWER: {P.VIEW, P.REPORT},
    Role.PROJECT_ADMIN: {P.VIEW, P.MANAGE_USERS},
    Role.FOCAL_PERSON: HANDLING,
}


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_exactly_the_matrix_permissions(role: Role) -> None:
    assert set(MATRIX[role]) == EXPECTED[role]


def viewer(store: Store, email: str) -> Viewer:
    with store.sessions() as session:
        officer = session.scalar(select(Officer).where(Officer.email == email).options(selectinload(Officer.projects)))
        assert officer is not None
        return Viewer.of(officer)


def test_each_officer_sees_only_the_cases_their_role_allows(demo: Store, clock: FakeClock) -> None:
    kkr = file(demo, clock)
    gender = file(demo, clock, category_code="gender.harassment", details="A worker follows my daughter.")
    integrity = file(demo, clock, category_code="integrity.bribery", details="The surveyor asked me for a bribe.")
    nbr = file(demo, clock, project_code="NBR-02", municipality_id=None, ward=None, district_id=24)
    up = file(demo, clock, details="The compensation for my land was never paid.")
    contractor = Actor.officer(officer_by_email(demo, "contractor.kkr@grm.example"))
    with demo.sessions.begin() as session:
        escalate(session, clock, up.id, SYSTEM, "no response", from_level=1)
        typed_in = submission(
            project_code="NBR-02", municipality_id=None, ward=None, district_id=24, phone="9841111111"
        )
        on_behalf = file_grievance(session, clock, typed_in, contractor)
    everything = {kkr.id, gender.id, integrity.id, nbr.id, up.id, on_behalf.id}
    not_confidential = everything - {gender.id, integrity.id}
    expected = {
        "admin@grm.example": everything,
        "bank@grm.example": not_confidential,
        # Cleared for integrity cases (which reach them), not for gender cases.
        "director@grm.example": not_confidential | {integrity.id},
        "manager.kkr@grm.example": {kkr.id, up.id},
        "contractor.kkr@grm.example": {on_behalf.id},  # what they typed in for a citizen
        "site.kkr@grm.example": {kkr.id},  # level 1 of KKR-01, not cleared for gender cases
        "gender.kkr@grm.example": {kkr.id, gender.id},
        "piu.kkr@grm.example": {up.id},  # level 2 of KKR-01
        "site.nbr@grm.example": {nbr.id, on_behalf.id},
        "grc@grm.example": set(),  # nothing has reached level 3
        "legal@grm.example": set(),
    }
    viewers = {email: viewer(demo, email) for email in expected}
    with demo.sessions() as session:
        for email, cases in expected.items():
            seen = set(session.scalars(select(Grievance.id).where(visible(viewers[email]))))
            assert seen == cases, email
