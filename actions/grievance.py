"""Filing a grievance: the form's checks, its dynamic questions, the recap, and the submission."""

from __future__ import annotations

import asyncio
import functools
import os
import re
import uuid
from typing import Any

import yaml
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.common import (
    CLOCK,
    MAX_PROJECT_BUTTONS,
    STORE_UNAVAILABLE,
    TRIAGE,
    TRIAGE_TIMEOUT_SECONDS,
    ActionRun,
    SlotCheck,
    channel,
    choose_project,
    current_catalog,
    handler,
    has_response,
    in_store,
    known_project,
    language,
    latest_intent,
    latest_text,
    logger,
    numeral,
    phrase,
    project_answer,
    seal,
    sealed,
    sender_phone,
    store,
    unsealed,
    words_only,
)
from ticketing.cases.attachments import (
    MAX_CITIZEN_FILES,
    FileRefused,
    claim_uploads,
    stage_upload,
    staged_upload,
    too_many_files,
)
from ticketing.cases.filing import MAX_DETAILS_CHARS, Submission, file_grievance
from ticketing.cases.media import MediaUnavailable, fetch_media, media_filename, media_sources
from ticketing.catalog import Catalog, ProjectInfo, catalog
from ticketing.config import PROJECT_ROOT
from ticketing.errors import InvalidInput, NotFound
from ticketing.places.gazetteer import Division, Gazetteer, Match, fold, plain_words
from ticketing.store.models import Grievance, Priority
from ticketing.triage.summary import trim
from ticketing.values.emails import normalise_email
from ticketing.values.phones import normalise_mobile

GENDER_CATEGORY = "gender"
MIN_DETAILS_CHARS = 8
# A short answer this long is a grievance told (a name, a number or a place never is), and
# so is one of half the length the classifier hears as a problem described.
STORY_WORDS_WHEN_TOLD = 15
STORY_WORDS = 6
MAX_NAME_CHARS = 120
# More choices than this are not offered as buttons: the citizen types the name instead.
MAX_PLACE_BUTTONS = 16
NO_EMAIL = "none"
# What a citizen may want to correct at the recap, and the answers that each clears.
FIELD_SLOTS = {
    "details": ("details", "details_done"),
    "name": ("complainant_name", "name_withheld", "sensitive_case"),
    "phone": ("phone",),
    "place": ("province", "district", "municipality", "ward", "place_suggestion"),
    "email": ("email",),
    "category": ("category_choice",),
}
# Words by which a typed correction names its field (the buttons send the first of each), in
# English, Devanagari and romanised Nepali.
FIELD_WORDS = {
    "details": (
        *("what happened", "details", "story", "complaint", "grievance", "problem", "description"),
        *("के भयो", "विवरण", "गुनासो", "समस्या", "कुरा", "उजुरी"),
        *("ke bhayo", "bibaran", "vivaran", "gunaso", "samasya", "ujuri", "kura"),
    ),
    "name": ("name", "नाम", "थर", "naam", "nam", "thar"),
    "phone": ("mobile", "phone", "number", "contact", "मोबाइल", "फोन", "नम्बर", "nambar", "mobail"),
    "place": (
        *("place", "location", "address", "ward", "municipality", "district", "province", "village"),
        *("ठाउँ", "ठेगाना", "वडा", "पालिका", "नगरपालिका", "गाउँपालिका", "जिल्ला", "प्रदेश", "गाउँ", "टोल"),
        *("thau", "thaun", "thegana", "wada", "palika", "jilla", "pradesh", "gaun", "tol"),
    ),
    "email": ("email", "e mail", "mail", "इमेल", "इ मेल", "imel"),
    "category": (
        *("category", "kind of problem", "kind", "type", "topic"),
        *("विषय", "प्रकार", "किसिम", "bishaya", "bisaya", "prakar", "kisim"),
    ),
}
# The answers to ask again when the ticket store refuses a filing (a project closed or a ward
# dropped from the gazetteer since the question was answered): by the field the service names.
REFUSED_FIELDS = {
    "project_code": ("project_code", "project_name"),
    **{field: FIELD_SLOTS[field] for field in ("details", "name", "phone", "email")},
    "place": (*FIELD_SLOTS["place"], "coordinates"),  # a shared spot off the map
    **dict.fromkeys(("ward", "municipality_id", "district_id", "province_id"), FIELD_SLOTS["place"]),
    "category_code": FIELD_SLOTS["category"],
}


def words_of(*intents: str) -> frozenset[str]:
    """Every word of these intents' training examples, as plain_words writes it."""
    found: set[str] = set()
    for path in sorted((PROJECT_ROOT / "data" / "nlu").rglob("*.yml")):
        for item in yaml.safe_load(path.read_text("utf-8")).get("nlu") or []:
            if item.get("intent") in intents:
                found.update(plain_words(str(item.get("examples") or "")).split())
    return frozenset(found)


# The words of declining to give one's name ("keep me anonymous", "नाम नदिने", "skip"): a
# message at the name question with none of them is a name, whatever the classifier heard.
DECLINING_WORDS = words_of("stay_anonymous", "skip")
# Which channels' files can be fetched: read once, as the action server starts.
MEDIA_SOURCES = media_sources(os.environ)
# category_choice while the category triage gives stands (the citizen did not correct it).
TRIAGE_CHOICE = "ai"
FORM_SLOTS = (
    *(slot for slots in FIELD_SLOTS.values() for slot in slots),
    "confirmed",
    "correction_field",
    "submission_key",
    "pending_retry",
    "triage",
)


def division_name(place: Division, lang: str) -> str:
    return place.name_ne if lang == "ne" else place.name_en


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


def correction_field(text: str) -> str | None:
    """Which field a typed correction is about, if any of its words says so."""
    words = f" {plain_words(text)} "
    for field, names in FIELD_WORDS.items():
        if any(f" {plain_words(name)} " in words for name in names):
            return field
    return None


def cleared(field: str) -> dict[str, Any]:
    """The answers to ask again for a correction of `field`, then the recap again."""
    return {slot: None for slot in FIELD_SLOTS[field]} | {"confirmed": None, "correction_field": None}


class ActionBeginGrievance(Action):
    """Start a new filing: forget any earlier one, keep a problem already told, pre-fill the place."""

    def name(self) -> str:
        return "action_begin_grievance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        slots: dict[str, Any] = dict.fromkeys(FORM_SLOTS)
        slots["submission_key"] = f"chat:{uuid.uuid4().hex}"
        slots["category_choice"] = TRIAGE_CHOICE
        if latest_intent(tracker) == "describe_problem":
            slots["details"] = latest_text(tracker)
        code = tracker.get_slot("project_code")
        if code:
            config = await current_catalog()
            try:
                slots |= project_place(config.project(code), config.gazetteer)
            except InvalidInput:
                slots |= {"project_code": None, "project_name": None}
        # Only what changes: every event makes each later turn of the conversation dearer.
        return [SlotSet(slot, value) for slot, value in slots.items() if tracker.get_slot(slot) != value]


def tells_the_story(tracker: Tracker, text: str) -> bool:
    """Whether an answer is in fact the grievance: told as one (or far too long for a short
    answer), never a button's payload."""
    words = len(text.split())
    if text.startswith("/"):
        return False
    return words >= STORY_WORDS_WHEN_TOLD or (latest_intent(tracker) == "describe_problem" and words >= STORY_WORDS)


def story_kept(validate: SlotCheck) -> SlotCheck:
    """Keep a grievance told where a short answer is asked (the project, a name, a place) as
    what happened, and ask the question again: the citizen's words are never lost to "I
    could not find a project called <the whole story>". Wraps a `validate_<slot>` method."""
    slot = validate.__name__.removeprefix("validate_")

    @functools.wraps(validate)
    async def checked(
        self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        details = kept_story(tracker, value.strip() if isinstance(value, str) else "")
        if details is not None:
            dispatcher.utter_message(response="utter_story_kept")
            return {slot: None, "details": details}
        return await validate(self, value, dispatcher, tracker, domain)

    return checked


def kept_story(tracker: Tracker, text: str) -> str | None:
    """What happened with `text` added, when `text` tells the grievance and still fits."""
    if not text or not tells_the_story(tracker, text):
        return None
    told = str(tracker.get_slot("details") or "")
    details = f"{told}\n{text}" if told else text
    return details if len(details) <= MAX_DETAILS_CHARS else None


def story_aside(run: ActionRun) -> ActionRun:
    """A grievance told in the middle of the filing but heard as an aside (a question about
    the process, whom to call, something off topic) is kept as what happened, and the form
    goes on, instead of an answer to a question nobody asked. Wraps an action's `run`."""

    @functools.wraps(run)
    async def answered(
        self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.active_loop_name == "grievance_form":
            details = kept_story(tracker, latest_text(tracker))
            if details is not None:
                dispatcher.utter_message(response="utter_story_kept")
                return [SlotSet("details", details)]
        return await run(self, dispatcher, tracker, domain)

    return answered


class ValidateGrievanceForm(FormValidationAction):
    """Check every answer as it comes; a wrong one is asked again with an example."""

    def name(self) -> str:
        return "validate_grievance_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Asked only on the way: whether a withheld name is a gender case, what to correct.
        skipped = {"name_withheld"}
        skipped.add("complainant_name" if tracker.get_slot("name_withheld") else "sensitive_case")
        if tracker.get_slot("confirmed") is not False:
            skipped.add("correction_field")
        return [slot for slot in domain_slots if slot not in skipped]

    @story_kept
    @project_answer
    @words_only
    async def validate_project_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        config, project = await choose_project(dispatcher, str(value))
        if project is None:
            return {"project_code": None}
        if tracker.get_slot("requested_slot") == "project_code":  # typed, not from the QR code
            dispatcher.utter_message(response="utter_project_confirmed", project_name=project.name)
        place = {} if tracker.get_slot("province") else project_place(project, config.gazetteer)
        return {"project_code": project.code, "project_name": project.name} | place

    @words_only
    async def validate_details(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        details = str(value).strip()
        if len(details) < MIN_DETAILS_CHARS:
            dispatcher.utter_message(response="utter_details_too_short")
            return {"details": None}
        if len(details) > MAX_DETAILS_CHARS:
            dispatcher.utter_message(
                response="utter_details_too_long", limit=numeral(MAX_DETAILS_CHARS, language(tracker))
            )
            return {"details": None}
        return {"details": details}

    @words_only
    async def validate_details_done(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == "done":
            return {"details_done": "done"}
        # Anything else is more of the story: it is added, and the citizen asked again.
        added = f"{tracker.get_slot('details') or ''}\n{str(value).strip()}".strip()
        if len(added) > MAX_DETAILS_CHARS:
            dispatcher.utter_message(
                response="utter_details_too_long", limit=numeral(MAX_DETAILS_CHARS, language(tracker))
            )
            return {"details_done": None}
        return {"details": added, "details_done": None}

    @story_kept
    @words_only
    async def validate_complainant_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = " ".join(str(value).split())
        if not name or len(name) > MAX_NAME_CHARS or not any(c.isalpha() for c in name):
            dispatcher.utter_message(response="utter_name_invalid")
            return {"complainant_name": None}
        return {"complainant_name": name, "name_withheld": None, "sensitive_case": None}

    async def validate_name_withheld(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        typed = latest_text(tracker)
        asked = tracker.get_slot("requested_slot") == "complainant_name"
        if (
            value
            and asked
            and not typed.startswith("/")
            and not DECLINING_WORDS.intersection(plain_words(typed).split())
        ):
            # A name heard as "I'd rather not say" (the letters of "Pramila Praja" are like those
            # of "naam prakat nagarnus"): it declines nothing, so it is the name.
            return await self.validate_complainant_name(typed, dispatcher, tracker, domain)
        return {"name_withheld": value}

    async def validate_sensitive_case(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is True:
            dispatcher.utter_message(response="utter_anonymous_noted")
            return {"sensitive_case": True}
        # Not a gender case: a name is needed after all, asked for again.
        dispatcher.utter_message(response="utter_name_needed")
        return {"sensitive_case": None, "name_withheld": None}

    @story_kept
    async def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        known = sender_phone(tracker)
        if known and latest_intent(tracker) == "affirm":  # "yes, use the number I write from"
            return {"phone": known}
        if known and latest_intent(tracker) == "deny":  # "no": the plain question follows
            return {"phone": None}
        if str(value).lstrip().startswith("/"):  # any other button is not a number
            return {"phone": None}
        try:
            return {"phone": normalise_mobile(str(value))}
        except InvalidInput:
            dispatcher.utter_message(response="utter_phone_invalid", typed=str(value))
            return {"phone": None}

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
            return {"ward": int(digits[0])}
        name = division_name(municipality, language(tracker))
        dispatcher.utter_message(
            response="utter_ward_invalid",
            municipality_name=name,
            wards=numeral(municipality.wards or 0, language(tracker)),
        )
        return {"ward": None}

    @story_kept
    @words_only
    async def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        email = str(value).strip()
        if email == NO_EMAIL:
            return {"email": ""}
        try:
            return {"email": normalise_email(email)}
        except InvalidInput:
            dispatcher.utter_message(response="utter_email_invalid", typed=email)
            return {"email": None}

    @words_only
    async def validate_category_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == TRIAGE_CHOICE:  # set when the form began: triage's category stands
            return {"category_choice": TRIAGE_CHOICE}
        judged = await asyncio.to_thread(TRIAGE.triage, str(value), TRIAGE_TIMEOUT_SECONDS)
        if judged is None:  # triage is unavailable: the officer will decide
            return {"category_choice": TRIAGE_CHOICE}
        if judged.needs_review and len(str(value).split()) < 2:
            dispatcher.utter_message(response="utter_category_not_understood")
            return {"category_choice": None}
        return {"category_choice": judged.category}

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is True:
            return {"confirmed": True}
        # "My phone number is wrong" names the field at once; otherwise it is asked.
        entities = tracker.latest_message.get("entities") or []
        field = next((e.get("value") for e in entities if e.get("entity") == "field"), None)
        field = field if field in FIELD_SLOTS else correction_field(latest_text(tracker))
        return cleared(field) if field else {"confirmed": False}

    @words_only
    async def validate_correction_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        field = correction_field(str(value))
        if field is None:
            return {"correction_field": None}
        return cleared(field)


class ActionAskPhone(Action):
    """Ask for the mobile number; on WhatsApp, ask only to confirm the one the citizen writes from."""

    def name(self) -> str:
        return "action_ask_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        known = sender_phone(tracker)
        if known and latest_intent(tracker) != "deny":
            dispatcher.utter_message(response="utter_ask_phone_known", phone=known)
        else:
            dispatcher.utter_message(response="utter_ask_phone")
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


MAX_PLACE_LABEL_CHARS = 200


def shared_spot(shared: Any) -> dict[str, Any] | None:
    """{latitude, longitude, label} from the channel's location metadata; None if unreadable."""
    if not isinstance(shared, dict):
        return None
    try:
        latitude, longitude = float(shared["latitude"]), float(shared["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
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


def place_text(config: Catalog, tracker: Tracker, lang: str) -> str:
    """The place slots as names: "Hetauda, Makwanpur, Bagmati Province"."""
    gazetteer = config.gazetteer
    parts = [
        division_name(gazetteer.municipality(int(tracker.get_slot("municipality"))), lang),
        division_name(gazetteer.district(int(tracker.get_slot("district"))), lang),
        division_name(gazetteer.province(int(tracker.get_slot("province"))), lang),
    ]
    return ", ".join(parts)


class ActionAskConfirmed(Action):
    """Show everything the citizen told, and ask whether to send it or change something."""

    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        config = await current_catalog()
        lang = language(tracker)
        details = str(tracker.get_slot("details"))
        judged = await asyncio.to_thread(TRIAGE.triage, details, TRIAGE_TIMEOUT_SECONDS)
        seen = None if judged is None else {"summary": judged.summary, "categories": judged.as_record()}
        code = chosen_category(tracker, seen)
        dispatcher.utter_message(
            response="utter_recap",
            project_name=tracker.get_slot("project_name") or phrase(domain, "utter_label_no_project", lang),
            details=tracker.get_slot("details"),
            name=tracker.get_slot("complainant_name") or phrase(domain, "utter_recap_anonymous_name", lang),
            phone=tracker.get_slot("phone"),
            ward=tracker.get_slot("ward"),
            place=place_text(config, tracker, lang),
            email=tracker.get_slot("email") or phrase(domain, "utter_recap_no_email", lang),
            files=", ".join(f["name"] for f in files(tracker)) or phrase(domain, "utter_recap_no_files", lang),
            summary=seen["summary"] if seen else trim(details),
            category=category_name(config, code, lang) if code else phrase(domain, "utter_recap_no_category", lang),
        )
        dispatcher.utter_message(response="utter_ask_confirmed")
        return [SlotSet("triage", seen)] if seen != tracker.get_slot("triage") else []


def chosen_category(tracker: Tracker, seen: dict[str, Any] | None) -> str | None:
    """The citizen's own choice if they corrected it, else triage's first category, else none."""
    choice = tracker.get_slot("category_choice")
    if choice and choice != TRIAGE_CHOICE:
        return str(choice)
    return str(seen["categories"][0]["code"]) if seen else None


def category_name(config: Catalog, code: str, lang: str) -> str:
    category = config.categories[config.category_codes[code]]
    return category.name_ne if lang == "ne" and category.name_ne else category.name_en


def submission(tracker: Tracker) -> Submission:
    """The grievance as the form collected it, with what triage said at the recap."""
    seen = tracker.get_slot("triage")
    spot = tracker.get_slot("coordinates")
    code = chosen_category(tracker, seen)
    citizen_chose = tracker.get_slot("category_choice") not in (None, TRIAGE_CHOICE)
    if tracker.get_slot("sensitive_case") and not (code or "").startswith(f"{GENDER_CATEGORY}."):
        # The citizen said it is about harassment or violence: a gender case, whatever triage thought.
        code, citizen_chose = GENDER_CATEGORY, True
    return Submission(
        project_code=known_project(tracker),
        details=str(tracker.get_slot("details")),
        channel=channel(tracker),
        language=language(tracker),
        name=tracker.get_slot("complainant_name"),
        phone=tracker.get_slot("phone"),
        email=tracker.get_slot("email") or None,
        province_id=tracker.get_slot("province"),
        district_id=tracker.get_slot("district"),
        municipality_id=tracker.get_slot("municipality"),
        ward=tracker.get_slot("ward"),
        latitude=spot["latitude"] if spot else None,
        longitude=spot["longitude"] if spot else None,
        category_code=code,
        category_source="citizen" if citizen_chose else "ai",
        summary=seen["summary"] if seen else None,
        ai_categories=seen["categories"] if seen else None,
        needs_triage=seen is None,
        idempotency_key=submission_key(tracker),
    )


def submission_key(tracker: Tracker) -> str:
    """The filing's idempotency key: the form's draw, bound to this conversation (a retry files
    once; a key copied into another conversation's tracker names nothing of this one)."""
    drawn = str(tracker.get_slot("submission_key") or "")
    return f"chat:{seal(tracker, drawn)}"


class ActionSubmitGrievance(Action):
    """File the grievance; if the store cannot be reached, keep every answer for a retry."""

    def name(self) -> str:
        return "action_submit_grievance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        filed = submission(tracker)
        tokens = [f["token"] for f in files(tracker)]
        try:
            reference, level, hours, confidential = await in_store(
                lambda session: self._file(session, filed, tracker.sender_id, tokens)
            )
        except (InvalidInput, *STORE_UNAVAILABLE) as failure:
            if isinstance(failure, InvalidInput) and failure.field in REFUSED_FIELDS:
                # Every other answer is kept: the form asks again only what was refused, then
                # recaps. It goes on as after an aside, active already, as a form started anew
                # would check every kept answer again against the "yes" that sent it.
                logger.warning("a filing was refused (%s); the form asks again", failure)
                dispatcher.utter_message(response="utter_submit_rejected")
                refused = (*REFUSED_FIELDS[failure.field], "confirmed")
                return [
                    *(SlotSet(slot, None) for slot in refused),
                    ActiveLoop("grievance_form"),
                    FollowupAction("grievance_form"),
                ]
            # The store unreachable, or a refusal no answer could mend (a fault of ours).
            logger.exception("the grievance could not be filed; the citizen's answers are kept")
            dispatcher.utter_message(response="utter_store_unavailable")
            return [SlotSet("pending_retry", "submit")]
        if confidential:
            dispatcher.utter_message(
                response="utter_filed_confidential", reference=reference, hours=numeral(hours, language(tracker))
            )
        else:
            dispatcher.utter_message(
                response="utter_filed",
                reference=reference,
                hours=numeral(hours, language(tracker)),
                handler=handler(domain, level, language(tracker)),
            )
        dispatcher.utter_message(response="utter_anything_else")
        done = [
            SlotSet(slot, None)
            for slot in (*FORM_SLOTS, "attachments", "coordinates")
            if tracker.get_slot(slot) is not None
        ]
        return [*done, SlotSet("filed_reference", sealed(tracker, reference))]

    @staticmethod
    def _file(session: Session, filed: Submission, conversation: str, tokens: list[str]) -> tuple[str, int, int, bool]:
        """File; returns what the citizen is told: reference, level, hours to the first response,
        and whether the case is handled in confidence (a gender case)."""
        grievance = file_grievance(session, CLOCK, filed)
        claim_uploads(session, CLOCK, grievance, conversation, tokens)
        hours = catalog(session).deadlines(grievance.project_id).response_hours
        return grievance.reference, grievance.level, hours, grievance.priority is Priority.GENDER


def files(tracker: Tracker) -> list[dict[str, str]]:
    """The files sent for the grievance being told, as {token, name}."""
    return list(tracker.get_slot("attachments") or [])


def refusal(domain: DomainDict, problem: InvalidInput, lang: str) -> str:
    """Why a file was refused, in the citizen's language."""
    if isinstance(problem, FileRefused) and has_response(domain, f"utter_file_{problem.reason}"):
        return phrase(domain, f"utter_file_{problem.reason}", lang).format(limit=numeral(problem.limit or 0, lang))
    return problem.message


class ActionTakeAttachment(Action):
    """Files the citizen sent: kept for the grievance being told, or added to the one just filed.

    The webchat has already stored its file and put the token in the message's metadata;
    WhatsApp and Messenger pass the provider's URLs, fetched and stored here. Only this
    conversation's own files are found by their tokens.
    """

    def name(self) -> str:
        return "action_take_attachment"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        metadata = tracker.latest_message.get("metadata") or {}
        media = metadata.get("media")
        if isinstance(media, list) and media:
            tokens = await self._receive(dispatcher, tracker, domain, media)
        else:
            tokens = [str(metadata.get("attachment") or "")]
        before = files(tracker)
        kept = before
        for token in tokens:
            kept = await self._take(dispatcher, tracker, domain, token, kept)
        return [SlotSet("attachments", kept)] if kept != before else []

    async def _receive(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, media: list[Any]
    ) -> list[str]:
        """Fetch each file from the channel's provider and stage it; say which were refused."""
        source = MEDIA_SOURCES.get(tracker.get_latest_input_channel() or "")
        tokens = []
        for number, item in enumerate(media, start=1):
            url = str(item.get("url") or "") if isinstance(item, dict) else ""
            try:
                if source is None or not url:
                    raise MediaUnavailable(url)
                content = await asyncio.to_thread(fetch_media, url, source)
                filename = media_filename(content, number)
                staged = functools.partial(
                    self._stage, conversation=tracker.sender_id, filename=filename, content=content
                )
                tokens.append(await in_store(staged))
            except InvalidInput as problem:
                dispatcher.utter_message(
                    response="utter_attachment_refused", problem=refusal(domain, problem, language(tracker))
                )
            except (MediaUnavailable, *STORE_UNAVAILABLE):
                logger.exception("a citizen's file could not be received; they are asked to send it again")
                dispatcher.utter_message(response="utter_attachment_missing")
        return tokens

    @staticmethod
    def _stage(session: Session, conversation: str, filename: str, content: bytes) -> str:
        directory = store().settings.attachments_dir
        return stage_upload(session, CLOCK, directory, conversation, filename, content).token

    async def _take(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        token: str,
        kept: list[dict[str, str]],
    ) -> list[dict[str, str]]:
        """One staged file: claimed by the case just filed, or held for the one being told."""
        filed = unsealed(tracker, "filed_reference")
        filing = tracker.active_loop_name == "grievance_form"
        conversation = tracker.sender_id
        try:
            if filed and not filing:
                name = await in_store(lambda session: self._add(session, conversation, token, str(filed)))
                dispatcher.utter_message(response="utter_attachment_added", name=name, reference=filed)
                return kept
            if len(kept) >= MAX_CITIZEN_FILES:
                raise too_many_files()
            name = await in_store(lambda session: self._name(session, conversation, token))
        except NotFound:
            dispatcher.utter_message(response="utter_attachment_missing")
            return kept
        except STORE_UNAVAILABLE:
            logger.exception("the ticket store is unreachable; the citizen is asked to send the file again")
            dispatcher.utter_message(response="utter_attachment_missing")
            return kept
        except InvalidInput as problem:
            dispatcher.utter_message(
                response="utter_attachment_refused", problem=refusal(domain, problem, language(tracker))
            )
            return kept
        kept = [f for f in kept if f["token"] != token] + [{"token": token, "name": name}]
        if filing:
            dispatcher.utter_message(
                response="utter_attachment_kept",
                name=name,
                count=numeral(len(kept), language(tracker)),
                limit=numeral(MAX_CITIZEN_FILES, language(tracker)),
            )
        else:
            dispatcher.utter_message(response="utter_attachment_held", name=name)
        return kept

    @staticmethod
    def _name(session: Session, conversation: str, token: str) -> str:
        upload = staged_upload(session, CLOCK, conversation, token)
        if upload is None:
            raise NotFound("upload", token)
        return upload.filename

    @staticmethod
    def _add(session: Session, conversation: str, token: str, reference: str) -> str:
        grievance = session.scalar(select(Grievance).where(Grievance.reference == reference))
        added = claim_uploads(session, CLOCK, grievance, conversation, [token]) if grievance else []
        if not added:
            raise NotFound("upload", token)
        return added[0].filename
