"""Finding Nepal's provinces, districts and local levels from what a citizen typed.

Citizens type place names in English or Nepali, with or without the kind of local level
("Hetauda sub-metropolitan city", "thaha nagarpalika"), with typos, and with the older
spellings the data set itself uses ("Pachthar"). A close but inexact answer gets a
suggestion to confirm rather than a guess taken silently.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from ticketing.values.numerals import western_digits

# Spellings in common use that differ from the data set's (see its README).
DISTRICT_ALIASES = {
    "panchthar": "pachthar",
    "parbat": "parwat",
    "achham": "acham",
    "nawalparasi east": "nawalpur",
    "nawalparasi bardaghat susta east": "nawalpur",
    "nawalparasi west": "parasi",
    "nawalparasi bardaghat susta west": "parasi",
    "rukum east": "eastern rukum",
    "rukum west": "western rukum",
    "kavre": "kavrepalanchok",
    "kabhrepalanchok": "kavrepalanchok",
    "makawanpur": "makwanpur",
    "tehrathum": "terhathum",
    "dhanusa": "dhanusha",
    "sindhupalchowk": "sindhupalchok",
    "ramechhap": "ramechap",
}
# Provinces were long known by number, and some by their former names.
PROVINCE_ALIASES = {
    "1": "koshi",
    "one": "koshi",
    "province 1": "koshi",
    "province no 1": "koshi",
    "2": "madhesh",
    "two": "madhesh",
    "province 2": "madhesh",
    "madhes": "madhesh",
    "3": "bagmati",
    "three": "bagmati",
    "province 3": "bagmati",
    "4": "gandaki",
    "four": "gandaki",
    "5": "lumbini",
    "five": "lumbini",
    "province 5": "lumbini",
    "6": "karnali",
    "six": "karnali",
    "7": "sudurpaschim",
    "seven": "sudurpaschim",
    "province 7": "sudurpaschim",
    "sudur paschim": "sudurpaschim",
    "far west": "sudurpaschim",
    "far western": "sudurpaschim",
}
# Words naming the kind of division, dropped before comparing: nobody types them the same way.
_KIND_WORDS = (
    "sub-metropolitan city",
    "metropolitan city",
    "rural municipality",
    "municipality",
    "metropolitan",
    "submetropolitan",
    "gaunpalika",
    "gaupalika",
    "nagarpalika",
    "upamahanagarpalika",
    "mahanagarpalika",
    "district",
    "province",
    "pradesh",
    "jilla",
    "city",
    "rm",
    "mc",
    "smc",
    "गाउँपालिका",
    "गाउपालिका",
    "उपमहानगरपालिका",
    "महानगरपालिका",
    "नगरपालिका",
    "जिल्ला",
    "प्रदेश",
)
# Devanagari spellings vary in nasalisation (हेटौंडा, हेटौडा) and vowel length; fold them to one form.
_DEVANAGARI_FOLDS = str.maketrans({"ँ": None, "ं": None, "ी": "ि", "ू": "ु", "ण": "न", "\u200c": None, "\u200d": None})
SUGGESTION_CUTOFF = 0.72
MAX_SUGGESTIONS = 3


def plain_words(text: str) -> str:
    """Text in a comparable form: lower case, one Devanagari spelling, Western digits, no punctuation."""
    folded = unicodedata.normalize("NFC", text).casefold().translate(_DEVANAGARI_FOLDS)
    folded = western_digits(folded)
    # Upstream writes some vowel signs in two parts (ा + े for ो); compose them.
    folded = folded.replace("ाे", "ो").replace("ाै", "ौ")
    # Letters, marks (Devanagari vowel signs are marks, not word characters) and digits.
    return " ".join("".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in folded).split())


# In the form plain_words gives, longest first, so "rural municipality" goes before
# "municipality" can split it.
_KIND_PHRASES = sorted({f" {plain_words(w)} " for w in _KIND_WORDS}, key=len, reverse=True)


def fold(text: str) -> str:
    """The comparable form of a place name: plain words without kind words ("district", "नगरपालिका")."""
    padded = f" {plain_words(text)} "
    for phrase in _KIND_PHRASES:
        while phrase in padded:
            padded = padded.replace(phrase, " ")
    return " ".join(padded.split())


@dataclass(frozen=True)
class Division:
    """One administrative division with the names it is known by."""

    id: int
    name_en: str
    name_ne: str
    parent_id: int | None = None
    kind: str | None = None
    wards: int | None = None


@dataclass(frozen=True)
class Match:
    """What a typed name resolved to: one sure place, or a few to offer."""

    place: Division | None = None
    suggestions: tuple[Division, ...] = ()


@dataclass
class _Index:
    places: dict[int, Division] = field(default_factory=dict)
    keys: dict[str, set[int]] = field(default_factory=dict)

    def add(self, place: Division, *names: str) -> None:
        self.places[place.id] = place
        for name in names:
            key = fold(name)
            if key:
                self.keys.setdefault(key, set()).add(place.id)

    def find(self, typed: str, within: set[int] | None = None) -> Match:
        """Exact folded name first, then the closest names above the cut-off."""
        key = fold(typed)
        if not key:
            return Match()
        keys = self.keys if within is None else {k: ids & within for k, ids in self.keys.items() if ids & within}
        exact = keys.get(key, set())
        if len(exact) == 1:
            return Match(place=self.places[next(iter(exact))])
        if exact:
            return Match(suggestions=self._ordered(exact))
        close = difflib.get_close_matches(key, keys, n=MAX_SUGGESTIONS * 2, cutoff=SUGGESTION_CUTOFF)
        seen: list[int] = []
        for candidate in close:
            seen.extend(i for i in sorted(keys[candidate]) if i not in seen)
        return Match(suggestions=self._ordered(seen[:MAX_SUGGESTIONS]))

    def _ordered(self, ids: Iterable[int]) -> tuple[Division, ...]:
        return tuple(self.places[i] for i in ids)


class Gazetteer:
    """Every province, district and local level, searchable by any of their names."""

    def __init__(
        self, provinces: Iterable[Division], districts: Iterable[Division], municipalities: Iterable[Division]
    ) -> None:
        self._provinces, self._districts, self._municipalities = _Index(), _Index(), _Index()
        for province in provinces:
            self._provinces.add(province, province.name_en, province.name_ne)
        for alias, name in PROVINCE_ALIASES.items():
            self._alias(self._provinces, alias, name)
        for district in districts:
            self._districts.add(district, district.name_en, district.name_ne)
        for alias, name in DISTRICT_ALIASES.items():
            self._alias(self._districts, alias, name)
        for municipality in municipalities:
            self._municipalities.add(municipality, municipality.name_en, municipality.name_ne)
        self._districts_of: dict[int, set[int]] = {}
        for district in self._districts.places.values():
            self._districts_of.setdefault(district.parent_id or 0, set()).add(district.id)
        self._municipalities_of: dict[int, set[int]] = {}
        for municipality in self._municipalities.places.values():
            self._municipalities_of.setdefault(municipality.parent_id or 0, set()).add(municipality.id)

    @staticmethod
    def _alias(index: _Index, alias: str, name: str) -> None:
        for place_id in index.keys.get(fold(name), ()):
            index.add(index.places[place_id], alias)

    def province(self, province_id: int) -> Division:
        return self._provinces.places[province_id]

    def district(self, district_id: int) -> Division:
        return self._districts.places[district_id]

    def municipality(self, municipality_id: int) -> Division:
        return self._municipalities.places[municipality_id]

    def find_province(self, typed: str) -> Match:
        return self._provinces.find(typed)

    def find_district(self, typed: str, province_id: int | None = None) -> Match:
        """A district, within a province when one is known."""
        within = None if province_id is None else self._districts_of.get(province_id, set())
        return self._districts.find(typed, within)

    def find_municipality(self, typed: str, district_id: int) -> Match:
        """A local level of the district (names repeat across districts, never within one)."""
        return self._municipalities.find(typed, self._municipalities_of.get(district_id, set()))

    def districts_of(self, province_id: int) -> list[Division]:
        """The province's districts in name order, for a pick list."""
        ids = self._districts_of.get(province_id, set())
        return sorted((self._districts.places[i] for i in ids), key=lambda p: p.name_en)

    def municipalities_of(self, district_id: int) -> list[Division]:
        """The district's local levels in name order, for a pick list."""
        ids = self._municipalities_of.get(district_id, set())
        return sorted((self._municipalities.places[i] for i in ids), key=lambda p: p.name_en)
