"""Nepal's provinces, districts and local levels: loading the shipped data, checking places."""

from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketing.config import PROJECT_ROOT
from ticketing.errors import InvalidInput
from ticketing.store.models import District, Municipality, Province

if TYPE_CHECKING:
    from ticketing.catalog import Catalog

LOCATIONS_DIR = PROJECT_ROOT / "data" / "reference" / "nepal_locations"
_KIND_BY_CATEGORY = {1: "MC", 2: "SMC", 3: "M", 4: "RM"}


@dataclass(frozen=True)
class Place:
    """Where a case happened, as precisely as known."""

    province_id: int | None = None
    district_id: int | None = None
    municipality_id: int | None = None


def on_the_map(latitude: float, longitude: float) -> bool:
    """Whether a shared spot's coordinates can be a place on Earth at all."""
    return -90 <= latitude <= 90 and -180 <= longitude <= 180


def _read_pair(directory: Path, table: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    english = json.loads((directory / table / "en.json").read_text(encoding="utf-8"))
    nepali = {row["id"]: row for row in json.loads((directory / table / "np.json").read_text(encoding="utf-8"))}
    return [(row, nepali[row["id"]]) for row in english]


@functools.cache
def district_names(directory: Path = LOCATIONS_DIR) -> tuple[tuple[int, str], ...]:
    """Every district's id and English name, in name order, from the reference data (which
    the store holds too): for pick lists that must not wait on the store."""
    return tuple(
        sorted(((row["id"], row["name"]) for row, _ne in _read_pair(directory, "districts")), key=lambda d: d[1])
    )


def _nepali(text: str) -> str:
    # The upstream Devanagari mixes decomposed vowel signs; store the composed form.
    return unicodedata.normalize("NFC", text)


def load_locations(session: Session, directory: Path = LOCATIONS_DIR) -> int:
    """Insert the administrative divisions once; returns how many local levels were added."""
    if session.scalar(select(func.count()).select_from(Municipality)):
        return 0
    session.add_all(
        Province(id=en["id"], name_en=en["name"], name_ne=_nepali(ne["name"]))
        for en, ne in _read_pair(directory, "provinces")
    )
    session.flush()
    session.add_all(
        District(id=en["id"], province_id=en["province_id"], name_en=en["name"], name_ne=_nepali(ne["name"]))
        for en, ne in _read_pair(directory, "districts")
    )
    session.flush()
    municipalities = [
        Municipality(
            id=en["id"],
            district_id=en["district_id"],
            kind=_KIND_BY_CATEGORY[en["category_id"]],
            name_en=en["name"],
            name_ne=_nepali(ne["name"]),
            wards=int(en["wards"]),
        )
        for en, ne in _read_pair(directory, "municipalities")
    ]
    session.add_all(municipalities)
    session.flush()
    return len(municipalities)


def resolve_place(
    catalog: Catalog,
    province_id: int | None,
    district_id: int | None,
    municipality_id: int | None,
    ward: int | None,
) -> tuple[Place, int | None]:
    """Fill in the parents of the finest division given and check that the parts agree."""
    if ward is not None and municipality_id is None:
        raise InvalidInput("ward", "a ward needs its municipality")
    if municipality_id is not None:
        if municipality_id not in catalog.municipalities:
            raise InvalidInput("municipality_id", "unknown municipality")
        parent_district, wards = catalog.municipalities[municipality_id]
        if ward is not None and not 1 <= ward <= wards:
            raise InvalidInput("ward", f"this municipality has wards 1 to {wards}")
        if district_id not in (None, parent_district):
            raise InvalidInput("district_id", "the municipality is in another district")
        district_id = parent_district
    if district_id is not None:
        if district_id not in catalog.districts:
            raise InvalidInput("district_id", "unknown district")
        if province_id not in (None, catalog.districts[district_id]):
            raise InvalidInput("province_id", "the district is in another province")
        province_id = catalog.districts[district_id]
    if province_id is not None and province_id not in catalog.provinces:
        raise InvalidInput("province_id", "unknown province")
    return Place(province_id, district_id, municipality_id), ward
