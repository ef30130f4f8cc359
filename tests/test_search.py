"""Case search: words by prefix in English and Nepali, all of them required, a reference
exactly, typed punctuation harmless, and the index following edits (SQLite's triggers)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.helpers import FakeClock, file
from ticketing.cases.search import matching
from ticketing.store.case_models import Grievance
from ticketing.store.db import Store


def found(store: Store, typed: str) -> set[int]:
    with store.sessions() as session:
        condition = matching(store.engine.dialect.name, typed)
        return set(session.scalars(select(Grievance.id).where(condition)))


def test_words_match_by_prefix_in_both_languages(demo: Store, clock: FakeClock) -> None:
    dust = file(demo, clock, details="Dusty trucks cover our maize field every day.")
    nepali = file(demo, clock, details="धुलोले हाम्रो मकै खेत ढाक्यो।")
    land = file(demo, clock, details="The compensation for my land was never paid.")
    assert found(demo, "dust") == {dust.id}
    assert found(demo, "MAIZE field") == {dust.id}
    assert found(demo, "maize compensation") == set()  # every word must match
    assert found(demo, "धुलो") == {nepali.id}  # धुलो + the ending ले
    assert found(demo, "मकै, खेत।") == {nepali.id}
    assert found(demo, "compensation") == {land.id}
    assert found(demo, land.reference.lower().replace("-", " ")) == {land.id}
    assert found(demo, "") == set()


@pytest.mark.parametrize("typed", ["it's", 'say "hi', "a & b | !c", "dust:*", "(", "NEAR(a b)", "x' OR '1'='1"])
def test_search_syntax_typed_by_an_officer_is_only_text(demo: Store, clock: FakeClock, typed: str) -> None:
    file(demo, clock)
    assert isinstance(found(demo, typed), set)


def test_the_index_follows_a_new_summary(demo: Store, clock: FakeClock) -> None:
    case = file(demo, clock, details="Noise at night from the crusher.")
    with demo.sessions.begin() as session:
        session.execute(update(Grievance).where(Grievance.id == case.id).values(summary="Crusher noise after dark"))
    assert found(demo, "dark") == {case.id}
    assert found(demo, "crusher night") == {case.id}
    with demo.sessions.begin() as session:
        session.execute(update(Grievance).where(Grievance.id == case.id).values(status=case.status))
    assert found(demo, "crusher") == {case.id}
