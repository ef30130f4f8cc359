"""Where the grievance happened and which project it is about: the questions with their
buttons (projects by district, a province's districts, a district's local levels, the wards),
the checks of typed place names, and a place shared from WhatsApp."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.common import (
    CLOCK,
    MAX_PROJECT_BUTTONS,
    STORE_UNAVAILABLE,
    current_catalog,
    in_store,
    language,
    latest_intent,
    logger,
    numeral,
    phrase,
    unsealed,
    words_only,
)
from actions.story import story_kept
from ticketing.catalog import Catalog, ProjectInfo
from ticketing.citizen import add_place
from ticketing.errors import GrievanceNotFound
from ticketing.places.gazetteer import Division, Gazetteer, Match, fold
from ticketing.places.locations import on_the_map
from ticketing.store.case_models import Grievance
from ticketing.values.languages import in_language
from ticketing.values.numerals import western_digits

# More choices than this are not offered as buttons: the citizen types the name instead.
MAX_PLACE_BUTTONS = 16


def division_name(place: Division, lang: str) -> str:
    return in_language(place.name_en, place.name_ne, lang)


def place_slots(kind: str, place: Division) -> dict[str, Any]:
    """The place slots that choosing `place` fills: the division and its parents."""
    slots: dict[str, Any] = {kind: place.id, "place_suggestion": None}
    if kind == "district":
        slots["province"] = place.parent_id
    return slots


def project_place(project: ProjectInfo, gazetteer: Gazetteer) -> dict[str, Any]:
    """Where a project runs, as answers the citizen need not give (they can still change them)."""
    slots: dict[str, Any] = {}
    if project.municipality_id is not None:
        district = gazetteer.municipality(project.municipality_id).parent_id
        slots |= {"municipality": project.municipality_id, "district": district}
    elif project.district_id is not None:
        slots["district"] = project.district_id
    if "district" in slots:
        slots["province"] = gazetteer.district(slots["district"]).parent_id
    elif project.province_id is not None:
        slots["province"] = project.province_id
    return slots


def offer(dispatcher: CollectingDispatcher, kind: str, typed: str, match: Match, lang: str) -> dict[str, Any]:
    """Ask about an unsure place: "did you mean ...?" for one, a pick list for several."""
    if len(match.suggestions) == 1:
        place = match.suggestions[0]
        dispatcher.utter_message(response="utter_place_suggestion", place_name=division_name(place, lang))
        return {kind: None, "place_suggestion": {"kind": kind, "id": place.id}}
    if match.suggestions:
        buttons = [{"title": division_name(p, lang), "payload": p.name_en} for p in match.suggestions]
        dispatcher.utter_message(response="utter_place_choose", buttons=buttons)
    else:
        dispatcher.utter_message(response="utter_place_not_found", typed=typed)
    return {kind: None, "place_suggestion": None}


class PlaceChecks:
    """The form's checks of the place answers: a province, district or local level typed in any
    script (or a yes to "did you mean ...?"), and a ward within the local level's count."""

    async def _place(self, kind: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """Resolve a province, district or municipality answer, or a yes/no to a suggestion."""
        config = await current_catalog()
        lang = language(tracker)
        if isinstance(value, int):  # pre-filled from the project, already an id
            return {kind: value}
        suggestion = tracker.get_slot("place_suggestion")
        intent = latest_intent(tracker)
        if suggestion and intent == "affirm":
            place = self._division(config, suggestion["kind"], suggestion["id"])
            return place_slots(suggestion["kind"], place)
        if intent == "deny":
            return self._denied(kind, tracker)
        typed = str(value)
        if typed.startswith("/"):  # a yes/no button or a typed intent is not a place name
            return {kind: None}
        match = self._find(config.gazetteer, kind, typed, tracker)
        if match.place is not None:
            return place_slots(kind, match.place)
        if kind == "province":
            # Many citizens know their district better than its province.
            district = config.gazetteer.find_district(typed)
            if district.place is not None:
                return place_slots("district", district.place)
            if not match.suggestions and district.suggestions:
                return offer(dispatcher, "district", typed, district, lang) | {"province": None}
        return offer(dispatcher, kind, typed, match, lang)

    @staticmethod
    def _division(config: Catalog, kind: str, place_id: int) -> Division:
        finders = {
            "province": config.gazetteer.province,
            "district": config.gazetteer.district,
            "municipality": config.gazetteer.municipality,
        }
        return finders[kind](place_id)

    @staticmethod
    def _find(gazetteer: Gazetteer, kind: str, typed: str, tracker: Tracker) -> Match:
        if kind == "province":
            return gazetteer.find_province(typed)
        if kind == "district":
            return gazetteer.find_district(typed, tracker.get_slot("province"))
        return gazetteer.find_municipality(typed, int(tracker.get_slot("district")))

    @staticmethod
    def _denied(kind: str, tracker: Tracker) -> dict[str, Any]:
        """A "no": to a suggestion, ask again; to the municipality question, it was another district."""
        if tracker.get_slot("place_suggestion"):
            return {kind: None, "place_suggestion": None}
        if kind == "municipality":
            return {"municipality": None, "district": None, "province": None, "place_suggestion": None}
        return {kind: None}

    @story_kept
    async def validate_province(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._place("province", value, dispatcher, tracker)

    @story_kept
    async def validate_district(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._place("district", value, dispatcher, tracker)

    @story_kept
    async def validate_municipality(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return await self._place("municipality", value, dispatcher, tracker)

    @story_kept
    @words_only
    async def validate_ward(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        config = await current_catalog()
        municipality = config.gazetteer.municipality(int(tracker.get_slot("municipality")))
        digits = re.findall(r"\d+", fold(str(value)))
        if digits and 1 <= int(digits[0]) <= (municipality.wards or 0):
            return {"ward": int(digits[0]), "locality": locality_in(str(value))}
        name = division_name(municipality, language(tracker))
        dispatcher.utter_message(
            response="utter_ward_invalid",
            municipality_name=name,
            wards=numeral(municipality.wards or 0, language(tracker)),
        )
        return {"ward": None}


# Words of the ward's answer that are not the village or tole: "ward no. 4", "वडा नं. ४".
WARD_WORDS = frozenset({"ward", "wada", "vada", "no", "number", "num", "nam", "nambar", "वडा", "नं", "नम्बर", "नंबर"})
MAX_LOCALITY_CHARS = 200


def locality_in(answer: str) -> str | None:
    """The village or tole a citizen wrote with the ward's number ("4, Bhimphedi tole"), if any."""
    words = [w for w in re.split(r"[\s,.;:/()।-]+", answer) if w]
    kept = [w for w in words if not western_digits(w).isdigit() and w.lower() not in WARD_WORDS]
    locality = " ".join(kept)[:MAX_LOCALITY_CHARS]
    return locality if any(c.isalpha() for c in locality) else None


def place_text(config: Catalog, tracker: Tracker, lang: str) -> str:
    """The place slots as names: "Bhimphedi, Hetauda, Makwanpur, Bagmati Province" (the
    village or tole first, when the citizen gave one)."""
    gazetteer = config.gazetteer
    parts = [
        *([str(tracker.get_slot("locality"))] if tracker.get_slot("locality") else []),
        division_name(gazetteer.municipality(int(tracker.get_slot("municipality"))), lang),
        division_name(gazetteer.district(int(tracker.get_slot("district"))), lang),
        division_name(gazetteer.province(int(tracker.get_slot("province"))), lang),
    ]
    return ", ".join(parts)


class ActionAskProjectCode(Action):
    """Ask which project, offering the active ones with their districts (for a chat opened
    without a QR code, by someone who may not know a project's code)."""

    def name(self) -> str:
        return "action_ask_project_code"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = await current_catalog()
        lang = language(tracker)
        active = sorted((p for p in config.projects.values() if p.active), key=lambda p: p.name)
        dont_know = {"title": phrase(domain, "utter_label_dont_know", lang), "payload": "/skip"}
        if len(active) <= MAX_PROJECT_BUTTONS:
            buttons = [{"title": project_title(config, p, lang), "payload": p.code} for p in active]
            dispatcher.utter_message(response="utter_ask_project_code", buttons=[*buttons, dont_know])
            return []
        # Too many for one list: the district first (project_answer takes it), then its projects.
        district_of = {p.code: project_place(p, config.gazetteer).get("district") for p in active}
        chosen = tracker.get_slot("district")
        if chosen is None:
            districts = sorted(
                {config.gazetteer.district(d) for d in district_of.values() if d is not None}, key=lambda d: d.name_en
            )
            buttons = [{"title": division_name(d, lang), "payload": d.name_en} for d in districts]
            buttons = buttons if len(buttons) <= MAX_PLACE_BUTTONS else []
            dispatcher.utter_message(response="utter_ask_project_district", buttons=[*buttons, dont_know])
            return []
        district = config.gazetteer.district(int(chosen))
        another = {"title": phrase(domain, "utter_label_another_district", lang), "payload": "/deny"}
        there = [{"title": p.name, "payload": p.code} for p in active if district_of[p.code] == district.id]
        dispatcher.utter_message(
            response="utter_ask_project_in_district" if there else "utter_no_project_in_district",
            district_name=division_name(district, lang),
            buttons=[*there, another, dont_know],
        )
        return []


def project_title(config: Catalog, project: ProjectInfo, lang: str) -> str:
    """A project as a button says it: its name, and its district when that is set."""
    if project.district_id is None:
        return project.name
    return f"{project.name} ({division_name(config.gazetteer.district(project.district_id), lang)})"


class ActionAskDistrict(Action):
    """Ask for the district, offering the province's districts."""

    def name(self) -> str:
        return "action_ask_district"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = await current_catalog()
        lang = language(tracker)
        province = config.gazetteer.province(int(tracker.get_slot("province")))
        districts = config.gazetteer.districts_of(province.id)
        buttons = [{"title": division_name(d, lang), "payload": d.name_en} for d in districts]
        dispatcher.utter_message(
            response="utter_ask_district",
            province_name=division_name(province, lang),
            buttons=buttons if len(buttons) <= MAX_PLACE_BUTTONS else [],
        )
        return []


class ActionAskMunicipality(Action):
    """Ask for the local level, offering the district's, and saying when it is the project's."""

    def name(self) -> str:
        return "action_ask_municipality"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = await current_catalog()
        lang = language(tracker)
        district = config.gazetteer.district(int(tracker.get_slot("district")))
        places = config.gazetteer.municipalities_of(district.id)
        buttons = [{"title": division_name(m, lang), "payload": m.name_en} for m in places]
        if len(buttons) > MAX_PLACE_BUTTONS:
            buttons = []
        # "No" to this question means the place is in another district (see _denied).
        buttons.append({"title": phrase(domain, "utter_label_another_district", lang), "payload": "/deny"})
        code = tracker.get_slot("project_code")
        project = config.projects.get(code) if code else None
        response = "utter_ask_municipality"
        if project is not None and project.district_id == district.id:
            response = "utter_ask_municipality_project"
        dispatcher.utter_message(
            response=response,
            district_name=division_name(district, lang),
            buttons=buttons,
        )
        return []


class ActionAskWard(Action):
    """Ask for the ward, saying how many the municipality has."""

    def name(self) -> str:
        return "action_ask_ward"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = await current_catalog()
        municipality = config.gazetteer.municipality(int(tracker.get_slot("municipality")))
        name = division_name(municipality, language(tracker))
        dispatcher.utter_message(
            response="utter_ask_ward", municipality_name=name, wards=numeral(municipality.wards or 0, language(tracker))
        )
        return []


class ActionTakeLocation(Action):
    """A place shared from WhatsApp: kept for the grievance, and its address, when WhatsApp
    gives one that names a local level, answers the place questions."""

    def name(self) -> str:
        return "action_take_location"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        spot = shared_spot((tracker.latest_message.get("metadata") or {}).get("location"))
        if spot is None:
            dispatcher.utter_message(response="utter_location_invalid")
            return []
        shown = f"{spot['latitude']:.5f}, {spot['longitude']:.5f}"
        chosen = unsealed(tracker, "filed_reference")
        if chosen and tracker.active_loop_name != "grievance_form":
            # After filing (or once a case was chosen to add to), the place goes with that case.
            try:
                await in_store(lambda session: add_place_to(session, chosen, spot))
            except STORE_UNAVAILABLE:
                logger.exception("the ticket store is unreachable; the citizen is asked to share the place again")
                dispatcher.utter_message(response="utter_lookup_unavailable")
                return []
            dispatcher.utter_message(response="utter_location_kept", spot=shown)
            return []
        events: list[EventType] = [SlotSet("coordinates", spot)]
        if tracker.active_loop_name == "grievance_form" and not tracker.get_slot("municipality") and spot["label"]:
            gazetteer = (await current_catalog()).gazetteer
            found = place_in_words(gazetteer, spot["label"])
            if found:
                place = division_name(gazetteer.municipality(found["municipality"]), language(tracker))
                dispatcher.utter_message(response="utter_location_place", spot=shown, place=place)
                return events + [SlotSet(slot, value) for slot, value in found.items()]
        dispatcher.utter_message(response="utter_location_kept", spot=shown)
        return events


def add_place_to(session: Session, reference: str, spot: dict[str, Any]) -> None:
    grievance_id = session.scalar(select(Grievance.id).where(Grievance.reference == reference))
    if grievance_id is None:
        raise GrievanceNotFound()
    add_place(session, CLOCK, grievance_id, spot["latitude"], spot["longitude"], spot["label"])


MAX_PLACE_LABEL_CHARS = 200


def shared_spot(shared: Any) -> dict[str, Any] | None:
    """{latitude, longitude, label} from the channel's location metadata; None if unreadable."""
    if not isinstance(shared, dict):
        return None
    try:
        latitude, longitude = float(shared["latitude"]), float(shared["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not on_the_map(latitude, longitude):
        return None
    words = [str(shared.get(key) or "").strip() for key in ("label", "address")]
    label = ", ".join(w for w in words if w)[:MAX_PLACE_LABEL_CHARS]
    return {"latitude": latitude, "longitude": longitude, "label": label}


def place_in_words(gazetteer: Gazetteer, text: str) -> dict[str, Any]:
    """The local level (with its district and province) an address names, if it names one surely."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    for part in parts:
        district = gazetteer.find_district(part).place
        if district is None:
            continue
        for other in parts:
            municipality = gazetteer.find_municipality(other, district.id).place
            if municipality is not None:
                return place_slots("district", district) | {"municipality": municipality.id}
    return {}
