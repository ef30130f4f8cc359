"""The action server's checks and decisions, on trackers built in code over a real ticket store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import actions.recap
from actions.common import language, sealed, unsealed, use_store
from actions.grievance import ActionBeginGrievance, ValidateGrievanceForm
from actions.info import ActionContactPerson, ActionExplainProcess, ActionOutOfScope
from actions.recap import ActionAskConfirmed, ActionSubmitGrievance, submission, submission_key
from actions.status import ActionCheckStatus
from tests.helpers import BAGMATI, HETAUDA, MAKWANPUR, FakeClock, file
from ticketing.config import PROJECT_ROOT
from ticketing.errors import InvalidInput
from ticketing.store.case_models import Grievance
from ticketing.store.db import Store
from ticketing.store.vocabulary import Priority
from ticketing.triage import BackgroundTriager

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
FORM = ValidateGrievanceForm()
# The actions are coroutines; anyio's pytest plugin (installed with httpx) runs them.
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def actions_store(demo: Store) -> Iterator[Store]:
    use_store(demo)
    yield demo
    use_store(None)


def tracker(
    text: str = "", intent: str = "inform", entities: list[dict[str, Any]] | None = None, **slots: Any
) -> Tracker:
    """A conversation as the action server receives it: its slots and the citizen's last message."""
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    events = [{"event": "user", "text": text, "parse_data": message, "input_channel": "rest"}]
    return Tracker("citizen-1", slots, message, events, False, None, {"name": "grievance_form"}, "action_listen")


def said(dispatcher: CollectingDispatcher) -> list[str]:
    return [str(m.get("response")) for m in dispatcher.messages]


async def check(slot: str, value: Any, conversation: Tracker) -> tuple[dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    result = await getattr(FORM, f"validate_{slot}")(value, dispatcher, conversation, DOMAIN)
    return result, dispatcher


@pytest.mark.parametrize("typed", ["9841234567", "+977-9841234567", "984 123 4567", "my number is 9841234567"])
async def test_mobile_numbers_in_any_common_writing(actions_store: Store, typed: str) -> None:
    result, _ = await check("phone", typed, tracker(typed))
    assert result == {"phone": "+9779841234567"}


@pytest.mark.parametrize("typed", ["12345", "01-4412345", "call me"])
async def test_a_wrong_number_is_asked_again_with_an_example(actions_store: Store, typed: str) -> None:
    result, dispatcher = await check("phone", typed, tracker(typed))
    assert result == {"phone": None}
    assert said(dispatcher) == ["utter_phone_invalid"] and dispatcher.messages[0]["typed"] == typed


async def test_a_payload_never_answers_a_question_for_words(actions_store: Store) -> None:
    result, dispatcher = await check("complainant_name", "/affirm", tracker("/affirm", intent="affirm"))
    assert result == {"complainant_name": None} and not dispatcher.messages


async def test_more_words_are_added_to_what_happened(actions_store: Store) -> None:
    conversation = tracker("It started in May.", details="Dust on our crops.")
    result, _ = await check("details_done", "It started in May.", conversation)
    assert result == {
        "details": "Dust on our crops.\nIt started in May.",
        "details_done": None,
        "details_by_file": None,
    }


async def test_a_misspelt_municipality_is_suggested_then_taken_on_yes(actions_store: Store) -> None:
    result, dispatcher = await check("municipality", "hetuda", tracker("hetuda", district=MAKWANPUR))
    assert said(dispatcher) == ["utter_place_suggestion"] and dispatcher.messages[0]["place_name"] == "Hetauda"
    assert result == {"municipality": None, "place_suggestion": {"kind": "municipality", "id": HETAUDA}}
    yes = tracker("yes", intent="affirm", district=MAKWANPUR, place_suggestion=result["place_suggestion"])
    result, _ = await check("municipality", "yes", yes)
    assert result == {"municipality": HETAUDA, "place_suggestion": None}


async def test_a_district_given_for_the_province_answers_both(actions_store: Store) -> None:
    result, _ = await check("province", "Makwanpur district", tracker("Makwanpur district"))
    assert result == {"district": MAKWANPUR, "province": BAGMATI, "place_suggestion": None}


async def test_no_to_the_municipality_question_means_another_district(actions_store: Store) -> None:
    result, _ = await check("municipality", "no", tracker("no", intent="deny", district=MAKWANPUR, province=BAGMATI))
    assert result["district"] is None and result["province"] is None and result["municipality"] is None


async def test_a_ward_must_exist_in_its_municipality(actions_store: Store) -> None:
    result, dispatcher = await check("ward", "45", tracker("45", municipality=HETAUDA))
    assert result == {"ward": None} and dispatcher.messages[0]["wards"] == "19"
    result, _ = await check("ward", "ward no 4", tracker("ward no 4", municipality=HETAUDA))
    assert result == {"ward": 4, "locality": None}
    # The village or tole may come with it.
    result, _ = await check("ward", "4, Bhimphedi tole", tracker("4, Bhimphedi tole", municipality=HETAUDA))
    assert result == {"ward": 4, "locality": "Bhimphedi tole"}
    # In Nepali the count is written as Nepali readers write numbers, and a Devanagari ward is read.
    result, dispatcher = await check("ward", "४५", tracker("४५", municipality=HETAUDA, language="ne"))
    assert result == {"ward": None} and dispatcher.messages[0]["wards"] == "१९"
    result, _ = await check(
        "ward", "वडा नं. ४, बसन्तपुर", tracker("वडा नं. ४, बसन्तपुर", municipality=HETAUDA, language="ne")
    )
    assert result == {"ward": 4, "locality": "बसन्तपुर"}


async def test_email_is_optional_but_checked(actions_store: Store) -> None:
    assert (await check("email", "none", tracker("skip", intent="skip")))[0] == {"email": ""}
    result, dispatcher = await check("email", "sita at gmail", tracker("sita at gmail"))
    assert result == {"email": None} and said(dispatcher) == ["utter_email_invalid"]


async def test_a_correction_clears_just_that_part(actions_store: Store) -> None:
    entities = [{"entity": "field", "value": "phone"}]
    result, _ = await check("confirmed", False, tracker("my phone is wrong", intent="correct", entities=entities))
    assert result == {"phone": None, "confirmed": None, "correction_field": None}
    result, _ = await check("correction_field", "the place", tracker("the place"))
    assert result["ward"] is None and result["municipality"] is None and result["confirmed"] is None


async def test_a_withheld_name_asks_whether_it_is_a_gender_case(actions_store: Store) -> None:
    slots = list(DOMAIN["forms"]["grievance_form"]["required_slots"])
    asked = await FORM.required_slots(slots, CollectingDispatcher(), tracker(name_withheld=True), DOMAIN)
    assert "sensitive_case" in asked and "complainant_name" not in asked and "correction_field" not in asked
    asked = await FORM.required_slots(slots, CollectingDispatcher(), tracker(confirmed=False), DOMAIN)
    assert "complainant_name" in asked and "sensitive_case" not in asked and asked[-1] == "correction_field"


@pytest.mark.parametrize(
    ("typed", "withheld"),
    [
        ("Pramila Praja", False),  # heard as stay_anonymous in a benchmark run
        ("प्रमिला प्रजा", False),
        ("Keep me anonymous", True),
        ("नाम गोप्य राख्नुस्", True),
        ("naam dina chahanna", True),
        ("skip", True),
        ("/stay_anonymous", True),
    ],
)
async def test_a_name_heard_as_declining_to_give_one_is_taken_as_the_name(
    actions_store: Store, typed: str, withheld: bool
) -> None:
    # Through rasa-sdk's own run, as the server calls it: the mapping set name_withheld after
    # the message, and only what the form lists is checked.
    told: dict[str, Any] = {"project_code": "KKR-01", "details": "Dust covers our crops.", "details_done": "done"}
    conversation = tracker(typed, intent="stay_anonymous", requested_slot="complainant_name", **told)
    conversation.events.append({"event": "slot", "name": "name_withheld", "value": True})
    conversation.slots["name_withheld"] = True
    events = await FORM.run(CollectingDispatcher(), conversation, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    if withheld:
        assert "complainant_name" not in slots and slots["requested_slot"] == "sensitive_case"
    else:
        assert slots["complainant_name"] == typed and slots["name_withheld"] is None
        assert slots["requested_slot"] == "phone"


async def test_a_problem_told_at_once_starts_the_form_with_it_and_the_projects_place(actions_store: Store) -> None:
    conversation = tracker("Trucks spill gravel on the path.", intent="describe_problem", project_code="KKR-01")
    events = await ActionBeginGrievance().run(CollectingDispatcher(), conversation, DOMAIN)
    slots = {e["name"]: e["value"] for e in events}
    assert slots["details"] == "Trucks spill gravel on the path."
    assert (slots["district"], slots["province"]) == (MAKWANPUR, BAGMATI)
    assert str(slots["submission_key"]).startswith("chat:")


async def test_an_anonymous_gender_case_is_filed_confidentially(actions_store: Store) -> None:
    answers: dict[str, Any] = {
        "project_code": "KKR-01",
        "details": "A worker follows my daughter to school.",
        "sensitive_case": True,
        "phone": "+9779812345670",
        "province": BAGMATI,
        "district": MAKWANPUR,
        "municipality": HETAUDA,
        "ward": 2,
        "email": "",
        "submission_key": "chat:test-1",
    }
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitGrievance().run(dispatcher, tracker(**answers), DOMAIN)
    assert said(dispatcher)[0] == "utter_filed_confidential"
    # Every answer is forgotten; the reference is kept, so that a file sent next joins the case.
    assert all(e["value"] is None for e in events if e["name"] != "filed_reference")
    key = submission_key(tracker(**answers))
    with actions_store.sessions() as session:
        filed = session.query(Grievance).filter_by(idempotency_key=key).one()
        assert filed.priority is Priority.GENDER and filed.complainant.name is None
        kept = {e["name"]: e["value"] for e in events}["filed_reference"]
        assert unsealed(tracker(filed_reference=kept), "filed_reference") == filed.reference
    # The same submission again (a retried request) files nothing new.
    await ActionSubmitGrievance().run(CollectingDispatcher(), tracker(**answers), DOMAIN)
    with actions_store.sessions() as session:
        assert session.query(Grievance).filter_by(idempotency_key=key).count() == 1


async def test_an_anonymous_report_of_a_bribe_is_filed_as_an_integrity_case(actions_store: Store) -> None:
    """Triage ranked compensation first and bribery second; the citizen said it is sensitive
    and withheld their name: the first confidential category it saw is the one."""
    triage = {"summary": "a bribe", "categories": [{"code": "land.compensation"}, {"code": "integrity.bribery"}]}
    answers: dict[str, Any] = {
        "project_code": "KKR-01",
        "details": "The surveyor will raise my compensation if I pay him 20,000 rupees.",
        "sensitive_case": True,
        "triage": triage,
        "phone": "+9779812345671",
        "province": BAGMATI,
        "district": MAKWANPUR,
        "municipality": HETAUDA,
        "ward": 2,
        "email": "",
        "submission_key": "chat:test-integrity",
    }
    dispatcher = CollectingDispatcher()
    await ActionSubmitGrievance().run(dispatcher, tracker(**answers), DOMAIN)
    assert said(dispatcher)[0] == "utter_filed_confidential"
    with actions_store.sessions() as session:
        filed = session.query(Grievance).filter_by(idempotency_key=submission_key(tracker(**answers))).one()
        assert filed.priority is Priority.INTEGRITY and filed.complainant.name is None


async def test_a_refused_answer_is_asked_again_and_every_other_kept(
    actions_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: dict[str, Any] = {
        "project_code": "KKR-01",
        "details": "Trucks park on our field every night.",
        "complainant_name": "Maya Gurung",
        "phone": "+9779841234578",
        "province": BAGMATI,
        "district": MAKWANPUR,
        "municipality": HETAUDA,
        "ward": 99,  # the gazetteer changed since the answer was checked
        "email": "",
        "confirmed": True,
        "submission_key": "chat:test-refused",
    }
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitGrievance().run(dispatcher, tracker(**answers), DOMAIN)
    assert said(dispatcher) == ["utter_submit_rejected"]
    cleared = {e["name"] for e in events if e["event"] == "slot"}
    assert cleared == {"province", "district", "municipality", "ward", "locality", "place_suggestion", "confirmed"}
    assert all(e["value"] is None for e in events if e["event"] == "slot")
    assert [(e["event"], e["name"]) for e in events[-2:]] == [
        ("active_loop", "grievance_form"),
        ("followup", "grievance_form"),
    ]

    # A refusal no answer can mend (a fault of ours, which nothing real triggers today) keeps
    # everything for a retry, like an outage.
    def refuse(*_: Any) -> None:
        raise InvalidInput("idempotency_key", "is longer than 100 characters")

    monkeypatch.setattr(actions.recap, "file_grievance", refuse)
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitGrievance().run(dispatcher, tracker(**answers | {"ward": 4}), DOMAIN)
    assert said(dispatcher) == ["utter_store_unavailable"]
    assert events == [SlotSet("pending_retry", "submit")]
    with actions_store.sessions() as session:
        assert session.query(Grievance).filter(Grievance.details == answers["details"]).count() == 0


async def test_a_lookup_tells_the_same_not_found_for_any_wrong_half(actions_store: Store, clock: FakeClock) -> None:
    grievance = file(actions_store, clock)
    outcomes = []
    for reference, phone in ((grievance.reference, "9851111111"), ("GR-0000-0000", "9841234567")):
        dispatcher = CollectingDispatcher()
        events = await ActionCheckStatus().run(dispatcher, tracker(reference=reference, lookup_phone=phone), DOMAIN)
        outcomes.append((said(dispatcher), {e["name"]: e["value"] for e in events}["lookup_outcome"]))
    assert outcomes == [(["utter_not_found"], "not_found")] * 2


async def test_without_triage_the_recap_shows_the_citizens_words_and_the_case_waits_for_triage(
    actions_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actions.recap, "TRIAGE", BackgroundTriager())  # never loaded, as after a failure
    answers: dict[str, Any] = {
        "project_code": "KKR-01",
        "project_name": "Kathmandu-Kulekhani Road Upgrading",
        "details": "Water from the new drain floods the school yard.",
        "complainant_name": "Asha Magar",
        "phone": "+9779812345671",
        "province": BAGMATI,
        "district": MAKWANPUR,
        "municipality": HETAUDA,
        "ward": 3,
        "email": "",
        "category_choice": "ai",
        "submission_key": "chat:test-untriaged",
    }
    dispatcher = CollectingDispatcher()
    events = await ActionAskConfirmed().run(dispatcher, tracker(**answers), DOMAIN)
    recap = dispatcher.messages[0]
    assert events == [] and recap["response"] == "utter_recap"
    assert recap["summary"] == answers["details"] and recap["category"] == "(the officer will decide)"
    await ActionSubmitGrievance().run(CollectingDispatcher(), tracker(**answers), DOMAIN)
    with actions_store.sessions() as session:
        filed = session.query(Grievance).filter_by(idempotency_key=submission_key(tracker(**answers))).one()
        assert filed.needs_triage and filed.summary is None and filed.category_id is None


STORY = "Land was taken for the road widening and I have not received any compensation for it"


async def test_a_grievance_told_where_the_project_is_asked_is_kept_and_the_project_asked_again(
    actions_store: Store,
) -> None:
    result, dispatcher = await check("project_code", STORY, tracker(STORY, intent="describe_problem"))
    assert result == {"project_code": None, "details": STORY} and said(dispatcher) == ["utter_story_kept"]
    told = "mero jagga sadak le liyo tara muabja aayena"  # six words, told as a problem
    result, _ = await check("project_code", told, tracker(told, intent="describe_problem"))
    assert result["details"] == told
    # Added to what was told already, wherever it comes; a short unknown name is still just unknown.
    result, _ = await check("phone", STORY, tracker(STORY, intent="inform", details="Dust all day."))
    assert result == {"phone": None, "details": f"Dust all day.\n{STORY}"}
    result, dispatcher = await check("project_code", "the airport", tracker("the airport"))
    assert result == {"project_code": None} and said(dispatcher) == ["utter_project_not_found"]


@pytest.mark.parametrize("aside", [ActionExplainProcess(), ActionContactPerson(), ActionOutOfScope()])
async def test_a_grievance_heard_as_an_aside_in_the_filing_is_kept_and_the_form_goes_on(
    actions_store: Store, aside: Action
) -> None:
    dispatcher = CollectingDispatcher()
    events = await aside.run(dispatcher, tracker(STORY, intent="explain_process", requested_slot="details"), DOMAIN)
    assert events == [SlotSet("details", STORY)] and said(dispatcher) == ["utter_story_kept"]
    # Added to what was told already, at whatever question it comes.
    dispatcher = CollectingDispatcher()
    told = tracker(STORY, intent="out_of_scope", requested_slot="phone", details="Dust all day.")
    assert await aside.run(dispatcher, told, DOMAIN) == [SlotSet("details", f"Dust all day.\n{STORY}")]
    # A short question is answered; outside the filing even a long one is.
    dispatcher = CollectingDispatcher()
    await aside.run(dispatcher, tracker("how does this work?", intent="explain_process"), DOMAIN)
    assert "utter_story_kept" not in said(dispatcher)
    outside = Tracker("citizen-1", {}, {"text": STORY}, [{"event": "user", "text": STORY}], False, None, {}, "")
    dispatcher = CollectingDispatcher()
    await aside.run(dispatcher, outside, DOMAIN)
    assert said(dispatcher) and "utter_story_kept" not in said(dispatcher)


@pytest.mark.parametrize(
    ("typed", "intent", "name"),
    [
        ("Pramila Praja", "explain_process", "Pramila Praja"),  # heard so in a benchmark run
        ("प्रमिला प्रजा", "explain_process", "प्रमिला प्रजा"),
        ("Hari  Prasad", "out_of_scope", "Hari Prasad"),
        ("how does this work?", "explain_process", None),  # a real aside: answered
        ("प्रक्रिया के हो?", "explain_process", None),
        ("/explain_process", "explain_process", None),
    ],
)
async def test_a_name_heard_as_an_aside_at_the_name_question_is_the_name(
    actions_store: Store, typed: str, intent: str, name: str | None
) -> None:
    dispatcher = CollectingDispatcher()
    asked = tracker(typed, intent=intent, requested_slot="complainant_name")
    events = await ActionExplainProcess().run(dispatcher, asked, DOMAIN)
    if name is None:
        assert said(dispatcher) == ["utter_process"]
    else:
        assert events == [SlotSet("complainant_name", name)] and said(dispatcher) == []


async def test_a_language_the_bot_does_not_speak_is_taken_for_english(actions_store: Store) -> None:
    # A hand-typed '/choose_language{"language": "fr"}' puts "fr" in the slot; filing must not fail on it.
    assert language(tracker("hello", language="fr")) == "en"
    assert language(tracker("नमस्ते", language="ne")) == "ne"


async def test_a_number_is_proven_by_whatsapp_or_by_this_conversations_code(actions_store: Store) -> None:
    answers: dict[str, Any] = {
        "details": "Dust on our maize.",
        "complainant_name": "Maya",
        "municipality": HETAUDA,
        "ward": 4,
    }
    typed = tracker(phone="+9779841234567", **answers)
    assert not submission(typed).phone_verified
    proven = tracker(phone="+9779841234567", **answers)
    proven.slots["verified_phone"] = sealed(proven, "+9779841234567")
    assert submission(proven).phone_verified
    forged = tracker(phone="+9779841234567", verified_phone="+9779841234567~not-a-seal", **answers)
    assert not submission(forged).phone_verified
