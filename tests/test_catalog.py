"""The configuration snapshot follows every change, from this process or another one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import or_, select, update

from tests.helpers import START, FakeClock, file
from ticketing import catalog as catalog_module
from ticketing.catalog import catalog
from ticketing.errors import InvalidInput
from ticketing.store import models
from ticketing.store.db import Store, open_store
from ticketing.store.models import Officer, Project, RoutingRule, SlaPolicy
from ticketing.store.vocabulary import ProjectType


def change_elsewhere(store: Store) -> None:
    """A configuration change through another engine, as the backoffice process makes it."""
    elsewhere = open_store(store.settings)
    with elsewhere.sessions.begin() as session:
        session.add(Project(code="NEW-03", name="New road", type=ProjectType.OTHER, created_at=START))
    elsewhere.engine.dispose()


def test_another_process_change_is_seen_once_the_token_is_read_again(
    demo: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert file(demo, clock).due_at is not None  # warms this process's snapshot
    elsewhere = models.config_generation
    change_elsewhere(demo)
    # (The other engine lives in this test's process too; pretend it did not.)
    monkeypatch.setattr(models, "config_generation", elsewhere)
    with pytest.raises(InvalidInput):
        file(demo, clock, project_code="NEW-03")  # within the recheck window: not yet
    monkeypatch.setattr(catalog_module, "RECHECK_SECONDS", 0.0)
    assert file(demo, clock, project_code="NEW-03").project_id is not None


def test_this_process_sees_its_own_change_at_once(demo: Store, clock: FakeClock) -> None:
    assert file(demo, clock).due_at is not None
    change_elsewhere(demo)
    assert file(demo, clock, project_code="NEW-03").project_id is not None


def test_bulk_updates_and_deactivations_are_seen(demo: Store, clock: FakeClock) -> None:
    site_officer = file(demo, clock).assignee_id
    with demo.sessions.begin() as session:
        session.execute(update(Officer).where(Officer.id == site_officer).values(active=False))
    replacement = file(demo, clock).assignee_id
    assert replacement != site_officer
    with demo.sessions.begin() as session:
        session.execute(update(SlaPolicy).values(response_hours=6))
    assert file(demo, clock).due_at == clock.now() + timedelta(hours=6)


def test_a_rolled_back_change_leaves_no_trace(demo: Store, clock: FakeClock) -> None:
    with demo.sessions() as session:
        session.add(Project(code="GHOST-1", name="Never", type=ProjectType.OTHER, created_at=START))
        session.flush()
        assert "GHOST-1" in catalog(session).projects  # visible inside its own transaction
        session.rollback()
    with pytest.raises(InvalidInput, match="project_code"):
        file(demo, clock, project_code="GHOST-1")


def test_removing_a_routing_rule_reroutes(demo: Store, clock: FakeClock) -> None:
    with demo.sessions.begin() as session:
        level_1 = select(RoutingRule).where(RoutingRule.level == 1)
        for rule in session.scalars(level_1.where(or_(RoutingRule.project_id == 1, RoutingRule.project_id.is_(None)))):
            session.delete(rule)
    assert file(demo, clock).assignee_id is None  # the unassigned queue, not a stale officer
