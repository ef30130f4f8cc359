"""Whole conversations in Nepali, in Devanagari and romanised, against the real Rasa server and
action server: no language in the metadata, the bot follows the citizen's words."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml
from sqlalchemy import delete, select

from tests.bot import Bot, Citizen, buttons, last_code, local, new_phone, reference_in
from tests.helpers import HETAUDA, MAKWANPUR, FakeClock, make_jobs, outbox_file
from tests.test_conversation import QR, file_by_chat, grievance, resolve_as_officer, store_locked
from tests.test_nepali import DEVANAGARI, language_of, other_conditions
from ticketing.catalog import RECHECK_SECONDS
from ticketing.clock import SystemClock
from ticketing.config import PROJECT_ROOT
from ticketing.lifecycle import Status
from ticketing.store.case_models import Complainant, Grievance
from ticketing.store.models import District, Officer, Project
from ticketing.store.vocabulary import ProjectType
from ticketing.values.references import new_reference

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]


def fixed_part(response: str, language: str) -> str:
    """The longest fixed part of a response's text in a language: what a reply in it must contain."""
    variation = next(v for v in RESPONSES[response] if language_of(v) == language and not other_conditions(v))
    return max(re.split(r"\{\w+\}", variation["text"]), key=len).strip()


def nepali(response: str) -> str:
    return fixed_part(response, "ne")


def english(response: str) -> str:
    return fixed_part(response, "en")


def test_a_whole_grievance_in_devanagari_filed_checked_and_accepted(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    welcome = citizen.say("नमस्ते")
    assert nepali("utter_welcome_project") in welcome[0]["text"]
    assert "गुनासो दर्ता गर्ने" in buttons(welcome)
    assert nepali("utter_ask_details") in citizen.says("गुनासो दर्ता गर्न चाहन्छु")
    told = "सडक बनाउँदा उडेको धुलोले मेरो मकैबारी नै बिग्रियो, हरेक दिन ट्रक आउँछन्।"
    assert nepali("utter_ask_details_done") in citizen.says(told)
    assert nepali("utter_ask_complainant_name") in citizen.says("यति नै हो")
    assert nepali("utter_ask_phone") in citizen.says("सुनिता तामाङ")
    asked = citizen.says("९८४१२३४५६९")
    assert "मकवानपुर" in asked  # the project's district, in Devanagari
    assert "वडा" in citizen.says("हेटौंडा")
    assert nepali("utter_ask_email") in citizen.says("४")
    recap = citizen.says("छैन")
    assert "सुनिता तामाङ" in recap and "+9779841234569" in recap and told in recap
    reference = reference_in(citizen.says("हो"))
    # The number is proven with the code sent to it, typed in Devanagari digits.
    code = last_code(bot, "+9779841234569").translate(str.maketrans("0123456789", "०१२३४५६७८९"))
    assert nepali("utter_phone_confirmed") in citizen.says(code)

    filed = grievance(bot, reference)
    assert (filed.language, filed.details, filed.ward) == ("ne", told, 4)
    assert (filed.district_id, filed.municipality_id) == (MAKWANPUR, HETAUDA)
    with bot.store.sessions() as session:
        complainant = session.get(Complainant, filed.complainant_id)
        assert complainant is not None and complainant.name == "सुनिता तामाङ"

    resolve_as_officer(bot, reference, "ठेकेदारले अब दिनको दुई पटक सडकमा पानी छर्किन्छ।")
    # The notifications of a Nepali grievance go out in Nepali.
    jobs = make_jobs(bot.store, FakeClock(SystemClock().now()))
    jobs.plan()
    jobs.dispatch()
    sent = [json.loads(line) for line in outbox_file(bot.store).read_text().splitlines()]
    to_citizen = [m for m in sent if m["to"] == "+9779841234569" and reference in m["subject"]]
    assert to_citizen and all(DEVANAGARI.search(m["body"]) for m in to_citizen)
    assert any("पानी छर्किन्छ" in m["body"] and "सन्तुष्ट" in m["body"] for m in to_citizen)
    later = bot.citizen()
    assert nepali("utter_ask_reference") in later.says("मेरो गुनासो कहाँ पुग्यो?")
    later.says(reference.replace("GR-", "gr ").translate(str.maketrans("0123456789", "०१२३४५६७८९")))
    question = later.says("९८४१२३४५६९")
    assert "पानी छर्किन्छ" in question and nepali("utter_ask_satisfied") in question
    assert nepali("utter_ask_rating") in later.says("हो, ठिक छ")
    assert nepali("utter_answer_accepted") in later.says("५")
    closed = grievance(bot, reference)
    assert (closed.status, closed.satisfaction) == (Status.CLOSED, 5)


def test_a_whole_grievance_in_romanised_nepali_filed_and_refused(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    assert nepali("utter_menu") in citizen.says("namaste hajur")
    assert nepali("utter_ask_details") in citizen.says("ujuri dinu cha")
    told = "mero jagga sadak le liyo tara muabja aayena, 2 barsa bhayo"
    assert nepali("utter_ask_details_done") in citizen.says(told)
    assert nepali("utter_ask_complainant_name") in citizen.says("bas yati ho")
    citizen.says("Ram Bahadur Thapa")
    citizen.says("9841234570")
    citizen.says("hetauda")
    assert nepali("utter_ask_email") in citizen.says("ward 4")
    recap = citizen.says("chaina")
    assert "Ram Bahadur Thapa" in recap and told in recap
    reference = reference_in(citizen.says("ho, pathaunus"))
    assert grievance(bot, reference).language == "ne"

    resolve_as_officer(bot, reference, "Muabja ko file jilla ma pathaiyo.")
    citizen.says("mero ujuri ko awastha herna cha")
    citizen.says(reference)
    assert nepali("utter_ask_satisfied") in citizen.says("9841234570")
    assert nepali("utter_ask_refusal_reason") in citizen.says("hoina, santusta chaina")
    answer = citizen.says("paisa aajhai aayena, kei bhayena")
    assert nepali("utter_answer_refused").split("।")[0] in answer
    refused = grievance(bot, reference)
    assert (refused.status, refused.level) == (Status.ESCALATED, 2)


def test_switching_language_in_the_middle_of_the_form_keeps_every_answer(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("The contractor blocked the only path to the school with gravel piles.")
    citizen.says("/done_adding")
    citizen.says("Gita Rai")
    citizen.says("9841234571")
    switched = citizen.says("नेपाली")
    assert nepali("utter_language_set") in switched
    citizen.says("हेटौंडा")
    citizen.says("४")
    recap = citizen.says("छैन")
    assert "Gita Rai" in recap and "gravel piles" in recap and "+9779841234571" in recap
    back = citizen.says("in English please")
    assert english("utter_language_set") in back and "Please check your grievance" in back
    reference = reference_in(citizen.says("yes"))
    assert grievance(bot, reference).language == "en"


@pytest.mark.parametrize(
    ("answer", "leads_to"),
    [
        ("हो", "utter_ask_rating"),
        ("ho", "utter_ask_rating"),
        ("होइन", "utter_ask_refusal_reason"),
        ("hoina", "utter_ask_refusal_reason"),
    ],
)
def test_the_satisfaction_question_understands_nepali_yes_and_no(bot: Bot, answer: str, leads_to: str) -> None:
    citizen = bot.citizen(**QR, language="ne")
    reference = file_in_nepali(citizen)
    resolve_as_officer(bot, reference, "सडक सफा गरियो।")
    citizen.says("/check_status")
    citizen.says(reference)
    citizen.says("9841234572")
    assert nepali(leads_to) in citizen.says(answer)


def file_in_nepali(citizen: Citizen) -> str:
    citizen.says("/file_grievance")
    citizen.says("बाटोमा खाल्डो परेर पानी जम्छ, हिँड्न सकिँदैन।")
    citizen.says("/done_adding")
    citizen.says("हरि")
    citizen.says("9841234572")
    citizen.says("हेटौंडा")
    citizen.says("४")
    citizen.says("/skip")
    return reference_in(citizen.says("/affirm"))


@pytest.mark.parametrize(
    ("answer", "reply"),
    [
        ("no", "utter_goodbye"),
        ("no thanks", "utter_goodbye"),
        ("nothing else", "utter_goodbye"),
        ("yes", "utter_menu"),
        ("पर्दैन, धन्यवाद", "utter_goodbye"),
        ("hoina", "utter_goodbye"),
        ("हो", "utter_menu"),
    ],
)
def test_anything_else_after_filing_is_answered_with_yes_or_no(bot: Bot, answer: str, reply: str) -> None:
    citizen = bot.citizen(**QR)
    phone = new_phone()
    file_by_chat(citizen, phone=local(phone))
    citizen.says(last_code(bot, phone))  # the number proven, "anything else?" follows
    assert english("utter_anything_else") in citizen.heard[-1]["text"]
    answered = citizen.says(answer)
    expected = nepali(reply) if DEVANAGARI.search(answer) or answer == "hoina" else english(reply)
    assert expected in answered


@pytest.mark.parametrize(
    ("opening", "story", "language"),
    [
        (
            "I want to file a complaint",
            "Land was taken for the road widening and I have not received any compensation",
            "en",
        ),
        ("गुनासो दिनु छ", "सडक फराकिलो बनाउँदा मेरो जग्गा लगियो तर अहिलेसम्म मुआब्जा पाएको छैन", "ne"),
        ("ujuri dinu cha", "sadak chaudai garda mero jagga liyo tara muabja aajhai aayena", "ne"),
    ],
)
def test_the_story_told_first_is_kept_and_the_projects_are_offered(
    bot: Bot, opening: str, story: str, language: str
) -> None:
    citizen = bot.citizen()  # no QR code: the project is asked
    asked = citizen.say(opening)
    offered = buttons(asked)
    assert any(title.startswith("Kathmandu-Kulekhani Road Upgrading (") for title in offered), offered
    kept = citizen.says(story)
    said = nepali if language == "ne" else english
    assert said("utter_story_kept") in kept and said("utter_ask_project_code") in kept
    assert "could not find" not in kept
    assert said("utter_ask_details_done") in citizen.says("KKR-01")
    citizen.says("/done_adding")
    citizen.says("Hari Shrestha")
    citizen.says("9841234574")
    citizen.says("Hetauda")
    citizen.says("4")
    citizen.says("/skip")
    reference = reference_in(citizen.says("/affirm"))
    filed = grievance(bot, reference)
    assert (filed.details, filed.language) == (story, language)


# Every yes/no question, answered yes and no in English, Devanagari and romanised Nepali.
ANSWERS = [
    ("yes", "en", True),
    ("no", "en", False),
    ("हो", "ne", True),
    ("होइन", "ne", False),
    ("ho", "ne", True),
    ("hoina", "ne", False),
]
FALLBACKS = ("utter_default", "utter_ask_rephrase")


def in_language(response: str, language: str) -> str:
    return nepali(response) if language == "ne" else english(response)


def understood(reply: str) -> bool:
    return not any(fixed_part(r, lang) in reply for r in FALLBACKS for lang in ("en", "ne"))


def story_in(answer: str) -> str:
    """The grievance, told in the same script as the answer to come."""
    if DEVANAGARI.search(answer):
        return "क्याम्पको एक जना कामदारले मेरी छोरीलाई स्कुल जाँदा बाटोभरि पछ्याउँछ।"
    if answer in ("ho", "hoina"):
        return "camp ko kamdar le mero chhori lai school jada bato bhari pachhyauxa"
    return "A worker from the camp keeps following my daughter on her way to school."


def harassment_told(bot: Bot, answer: str, withheld: bool = True) -> Citizen:
    """A citizen who told of harassment in the answer's script and, if `withheld`, filed without a name."""
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says(story_in(answer))
    citizen.says("/done_adding")
    if withheld:
        citizen.says("/stay_anonymous")
        citizen.says("/affirm")
    return citizen


@pytest.mark.parametrize(("answer", "language", "yes"), ANSWERS)
def test_is_it_about_harassment_is_answered_with_yes_or_no(bot: Bot, answer: str, language: str, yes: bool) -> None:
    citizen = harassment_told(bot, answer, withheld=False)
    assert in_language("utter_ask_sensitive_case", language) in citizen.says("/stay_anonymous")
    reply = citizen.says(answer)
    assert understood(reply)
    assert in_language("utter_anonymous_noted" if yes else "utter_name_needed", language) in reply
    assert citizen.slot("sensitive_case") is (True if yes else None)


@pytest.mark.parametrize(("answer", "language", "yes"), ANSWERS)
def test_did_you_mean_this_place_is_answered_with_yes_or_no(bot: Bot, answer: str, language: str, yes: bool) -> None:
    citizen = harassment_told(bot, answer)
    citizen.says("9841234575")
    suggested = citizen.says("hetuda")
    assert in_language("utter_place_suggestion", language).split("{")[0] in suggested
    reply = citizen.says(answer)
    assert understood(reply)
    if yes:
        assert in_language("utter_ask_ward", language) in reply and citizen.slot("municipality")
    else:
        assert citizen.slot("municipality") is None and citizen.slot("requested_slot") == "municipality"


@pytest.mark.parametrize(("answer", "language", "yes"), ANSWERS)
def test_try_again_after_an_outage_is_answered_with_yes_or_no(bot: Bot, answer: str, language: str, yes: bool) -> None:
    citizen = harassment_told(bot, answer)
    told = story_in(answer)
    citizen.says("9841234576")
    citizen.says("Hetauda")
    citizen.says("4")
    citizen.says("/skip")
    with store_locked(bot):
        assert in_language("utter_store_unavailable", language) in citizen.says("/affirm")

    def filed() -> list[Grievance]:
        with bot.store.sessions() as session:
            return list(session.scalars(select(Grievance).where(Grievance.details == told).order_by(Grievance.id)))

    before = len(filed())
    reply = citizen.says(answer)
    assert understood(reply)
    if yes:
        assert len(filed()) == before + 1 and filed()[-1].reference == reference_in(reply)
        assert filed()[-1].language == language
    else:
        assert len(filed()) == before and in_language("utter_goodbye", language) in reply
        assert citizen.slot("details") == told  # kept: "try again" still files it


def configuration_seen() -> None:
    """Wait until the action server has read the configuration just changed."""
    time.sleep(RECHECK_SECONDS + 0.2)


@contextmanager
def project_closed(bot: Bot, code: str) -> Iterator[None]:
    """The project closed (inactive) for the length of a test, as its officers may do at any time."""

    def set_active(active: bool) -> None:
        with bot.store.sessions.begin() as session:
            session.scalars(select(Project).where(Project.code == code)).one().active = active
        configuration_seen()

    set_active(False)
    try:
        yield
    finally:
        set_active(True)


@pytest.mark.parametrize(
    ("story", "language"),
    [("Trucks park on our field every night.", "en"), ("हाम्रो खेतमा हरेक रात ट्रक राखिन्छन्।", "ne")],
)
def test_a_project_closed_before_sending_is_asked_again_and_nothing_else_is_lost(
    bot: Bot, story: str, language: str
) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says(story)
    citizen.says("/done_adding")
    citizen.says("Maya Gurung")
    citizen.says("9841234578")
    citizen.says("Hetauda")
    citizen.says("4")
    citizen.says("/skip")
    with project_closed(bot, "KKR-01"):
        refused = citizen.say("/affirm")
        assert in_language("utter_submit_rejected", language) in " ".join(m.get("text", "") for m in refused)
        assert fixed_part("utter_label_dont_know", language) in buttons(refused)  # the project, asked again
        recap = citizen.says("/skip")
        assert story in recap and "Maya Gurung" in recap and "+9779841234578" in recap
        reference = reference_in(citizen.says("/affirm"))
    filed = grievance(bot, reference)
    assert (filed.details, filed.project_id, filed.municipality_id, filed.ward) == (story, None, HETAUDA, 4)
    assert filed.language == language


@pytest.mark.parametrize(
    ("opening", "dont_know", "language"),
    [
        ("I want to file a complaint", "/skip", "en"),  # the button
        ("I want to file a complaint", "I don't know", "en"),
        ("गुनासो दिनु छ", "थाहा छैन", "ne"),
        ("ujuri dinu cha", "thaha chaina", "ne"),
    ],
)
def test_a_citizen_who_does_not_know_the_project_files_and_the_place_routes_it(
    bot: Bot, opening: str, dont_know: str, language: str
) -> None:
    citizen = bot.citizen()  # no QR code
    asked = citizen.say(opening)
    assert fixed_part("utter_label_dont_know", language) in buttons(asked)
    reply = citizen.says(dont_know)
    assert in_language("utter_project_unknown", language) in reply
    assert in_language("utter_ask_details", language) in reply
    citizen.says("सडकको धुलोले मेरो मकैबारी बिग्रियो।" if language == "ne" else "Dust from the road ruins my maize.")
    citizen.says("/done_adding")
    citizen.says("Hari Shrestha")
    assert in_language("utter_ask_province", language).split("?")[0] in citizen.says("9841234577")
    citizen.says("Makwanpur")  # a district answers the province question
    citizen.says("Hetauda")
    citizen.says("4")
    recap = citizen.says("/skip")
    assert fixed_part("utter_label_no_project", language) in recap
    reference = reference_in(citizen.says("/affirm"))

    filed = grievance(bot, reference)
    assert (filed.project_id, filed.district_id, filed.municipality_id) == (None, MAKWANPUR, HETAUDA)
    assert filed.language == language
    with bot.store.sessions() as session:
        held_by = session.get_one(Officer, filed.assignee_id)
        assert held_by.email == "site.kkr@grm.example"  # Makwanpur's officer, by the place alone


@contextmanager
def many_projects(bot: Bot) -> Iterator[None]:
    """Ten more active projects, one in each of ten districts, for the length of a test."""
    with bot.store.sessions.begin() as session:
        districts = session.scalars(select(District).where(District.id.not_in((MAKWANPUR, 24))).limit(10)).all()
        added = [
            Project(
                code=f"TST-{n:02d}",
                name=f"Test Road {n}",
                type=ProjectType.CONSTRUCTION,
                province_id=district.province_id,
                district_id=district.id,
                location=district.name_en,
                created_at=SystemClock().now(),
            )
            for n, district in enumerate(districts, start=1)
        ]
        session.add_all(added)
    configuration_seen()
    try:
        yield
    finally:
        with bot.store.sessions.begin() as session:
            session.execute(delete(Project).where(Project.code.like("TST-%")))
        configuration_seen()


@pytest.mark.parametrize("language", ["en", "ne"])
def test_among_many_projects_the_district_comes_first(bot: Bot, language: str) -> None:
    with many_projects(bot):
        citizen = bot.citizen()
        asked = citizen.say("I want to file a complaint" if language == "en" else "गुनासो दिनु छ")
        assert in_language("utter_ask_project_district", language).split("?")[0] in asked[-1]["text"]
        districts = buttons(asked)
        assert ("मकवानपुर" if language == "ne" else "Makwanpur") in districts and len(districts) == 13
        in_district = citizen.say("Chitwan")
        assert [b for b in buttons(in_district)][:1] == ["Narayani Bridge and Approach Road Maintenance"]
        assert citizen.slot("district") == 24
        assert in_language("utter_ask_project_district", language).split("?")[0] in citizen.says("/deny")
        assert citizen.slot("district") is None  # another district
        citizen.says("Makwanpur")
        confirmed = citizen.says("KKR-01")
        assert in_language("utter_ask_details", language) in confirmed
        assert (citizen.slot("project_code"), citizen.slot("district")) == ("KKR-01", MAKWANPUR)


@pytest.mark.parametrize(
    ("asked", "dont_know", "language"),
    [("I want to talk to a person", "I don't know", "en"), ("मानिससँग कुरा गर्ने", "थाहा छैन", "ne")],
)
def test_asking_for_a_person_without_knowing_the_project(bot: Bot, asked: str, dont_know: str, language: str) -> None:
    citizen = bot.citizen()
    assert in_language("utter_ask_project_code", language) in citizen.says(asked)
    assert in_language("utter_contact_project_unknown", language) in citizen.says(dont_know)
    assert citizen.slot("project_code") is None  # asked again the next time


@pytest.mark.parametrize("nothing_more", ["अरू केही छैन", "अरु केही छैन", "बस यति", "aru kei chaina"])
def test_nothing_more_to_add_is_understood_in_each_spelling(bot: Bot, nothing_more: str) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("गुनासो दिनु छ")
    told = "ठेकेदारले खोलामा ढुङ्गा र माटो फालेर सिँचाइ कुलो बन्द भयो।"
    assert nepali("utter_ask_details_done") in citizen.says(told)
    assert nepali("utter_ask_complainant_name") in citizen.says(nothing_more)
    assert citizen.slot("details") == told


@pytest.mark.parametrize(
    ("asked", "language"),
    [
        ("what about {}?", "en"),
        ("any news on {} please", "en"),
        ("{} को अवस्था के छ?", "ne"),
        ("{} ko barema ke bhayo?", "ne"),
    ],
)
def test_a_message_with_any_reference_opens_that_grievance(bot: Bot, asked: str, language: str) -> None:
    # References are random letters: whichever one is typed, in whatever way, the classifier
    # hears the same question (it once took some references' letters for another intent).
    for typed in (new_reference(), new_reference().lower(), new_reference().replace("-", " "), new_reference()[3:]):
        reply = bot.citizen().says(asked.format(typed))
        assert fixed_part("utter_ask_lookup_phone", language) in reply, (typed, reply)
