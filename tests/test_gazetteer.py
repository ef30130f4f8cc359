"""Place names as citizens type them: kinds, typos, aliases, Nepali script."""

from __future__ import annotations

import pytest

from tests.helpers import BAGMATI, HETAUDA, MAKWANPUR, THAHA
from ticketing.catalog import Catalog, catalog
from ticketing.places.gazetteer import fold
from ticketing.store.db import Store

CHITWAN = 24
BHIMPHEDI = 339


@pytest.fixture
def places(store: Store) -> Catalog:
    with store.sessions.begin() as session:
        return catalog(session)


def test_folding_drops_case_kind_words_and_script_variants() -> None:
    assert fold("  Hetauda Sub-Metropolitan City ") == "hetauda"
    assert fold("Thaha Nagarpalika") == "thaha"
    assert fold("काठमाडौँ") == fold("काठमाडौं")
    assert fold("काेशी") == fold("कोशी")


@pytest.mark.parametrize("typed", ["Bagmati", "bagmati province", "Province 3", "3", "बाग्मती प्रदेश"])
def test_provinces_by_name_number_or_nepali(places: Catalog, typed: str) -> None:
    match = places.gazetteer.find_province(typed)
    assert match.place is not None and match.place.id == BAGMATI


@pytest.mark.parametrize("typed", ["Makwanpur", "makawanpur", "MAKWANPUR district", "मकवानपुर"])
def test_districts_by_any_usual_spelling(places: Catalog, typed: str) -> None:
    match = places.gazetteer.find_district(typed)
    assert match.place is not None and match.place.id == MAKWANPUR


def test_official_spellings_reach_the_data_sets_older_ones(places: Catalog) -> None:
    assert (match := places.gazetteer.find_district("Panchthar")).place and match.place.name_en == "Pachthar"
    assert (match := places.gazetteer.find_district("Nawalparasi West")).place and match.place.name_en == "Parasi"


def test_a_typo_is_suggested_not_taken(places: Catalog) -> None:
    match = places.gazetteer.find_district("chitawan")
    assert match.place is None
    assert [p.id for p in match.suggestions] == [CHITWAN]
    match = places.gazetteer.find_municipality("bhimpedi", MAKWANPUR)
    assert match.place is None and match.suggestions[0].id == BHIMPHEDI


def test_districts_are_searched_within_the_province_given(places: Catalog) -> None:
    assert places.gazetteer.find_district("Makwanpur", BAGMATI).place is not None
    koshi = 1
    assert places.gazetteer.find_district("Makwanpur", koshi).place is None


def test_municipalities_are_searched_within_their_district(places: Catalog) -> None:
    assert (match := places.gazetteer.find_municipality("Hetauda", MAKWANPUR)).place and match.place.id == HETAUDA
    assert (match := places.gazetteer.find_municipality("thaha nagarpalika", MAKWANPUR)).place
    assert match.place.id == THAHA and match.place.wards == 12
    # Bagmati is also a rural municipality of Makwanpur (names repeat across levels and districts).
    bagmati = places.gazetteer.find_municipality("Bagmati rural municipality", MAKWANPUR).place
    assert bagmati is not None and bagmati.parent_id == MAKWANPUR
    assert places.gazetteer.find_municipality("Hetauda", CHITWAN).place is None


def test_nonsense_matches_nothing(places: Catalog) -> None:
    assert places.gazetteer.find_district("xyzzy") == places.gazetteer.find_district("")
    assert places.gazetteer.find_district("xyzzy").suggestions == ()
