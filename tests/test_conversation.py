"""Whole conversations with the real Rasa server and action server, checked in the ticket store."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from tests.bot import Bot, Citizen, buttons, log_of, reference_in
from tests.helpers import HETAUDA, MAKWANPUR
from ticketing.cases.attachments import stage_upload
from ticketing.cases.moves import acknowledge, resolve
from ticketing.cases.records import SYSTEM
from ticketing.citizen import MAX_FAILURES_PER_REQUESTER, answer_link_token
from ticketing.clock import SystemClock
from ticketing.lifecycle import Status
from ticketing.store.case_models import Attachment, Complainant, Grievance, Upload
from ticketing.store.models import Category, Project
from ticketing.store.vocabulary import Channel, Priority

QR = {"project": "KKR-01"}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF a cracked wall"
PDF = b"%PDF-1.4 a receipt"


def grievance(bot: Bot, reference: str) -> Grievance:
    with bot.store.sessions() as session:
        found = session.scalar(select(Grievance).where(Grievance.reference == reference))
        assert found is not None
        session.expunge(found)
        return found


def answer_to_the_recap(citizen: Citizen, name: str = "Maya Gurung", phone: str = "9841234567", ward: str = "4") -> str:
    """From "anything to add?" to the recap, from a QR code, with buttons where the bot offers them;
    returns the recap."""
    citizen.says("/done_adding")
    citizen.says(name)
    citizen.says(phone)
    citizen.says("Hetauda")
    citizen.says(ward)
    return citizen.says("/skip")


def file_by_chat(citizen: Citizen, phone: str = "9841234567") -> str:
    """The quickest full filing from a QR code."""
    citizen.says("/file_grievance")
    citizen.says("Trucks leave mud and dust all over the road next to our school in ward 4.")
    answer_to_the_recap(citizen, phone=phone)
    return reference_in(citizen.says("/affirm"))


def send_file(bot: Bot, citizen: Citizen, name: str, content: bytes) -> str:
    """What the webchat does with a file: the web server keeps it for this chat, then the bot hears its token."""
    with bot.store.sessions.begin() as session:
        upload = stage_upload(session, SystemClock(), bot.store.settings.files, citizen.sender, name, content)
        return upload.token


def attachment_names(bot: Bot, reference: str) -> list[str]:
    with bot.store.sessions() as session:
        query = select(Attachment.filename).where(Attachment.grievance_id == grievance(bot, reference).id)
        return list(session.scalars(query.order_by(Attachment.id)))


def resolve_as_officer(bot: Bot, reference: str, resolution: str) -> None:
    found = grievance(bot, reference)
    with bot.store.sessions.begin() as session:
        acknowledge(session, SystemClock(), found.id, SYSTEM)
        resolve(session, SystemClock(), found.id, SYSTEM, resolution)


def test_a_citizen_files_from_a_qr_code_telling_the_problem_in_their_own_words(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    welcome = citizen.say("/greet")
    assert "Kathmandu-Kulekhani Road Upgrading" in welcome[0]["text"]
    assert "File a grievance" in buttons(welcome)
    asked = citizen.says("The dust from the road trucks is ruining my maize field every single day")
    assert "add anything" in asked
    assert "add anything" in citizen.says("It started two weeks ago, when the quarry opened.")
    assert "name" in citizen.says("that's all").lower()
    assert "mobile" in citizen.says("Sunita Tamang").lower()
    assert "does not look like a mobile number" in citizen.says("12345")
    asked = citizen.says("+977 984-123-4568")
    # The project is in Makwanpur: province and district are known, the municipality is asked.
    assert "Makwanpur" in asked and "municipality" in asked
    assert "Did you mean Hetauda" in citizen.says("hetuda")
    assert "ward" in citizen.says("yes").lower()
    assert "wards 1 to 19" in citizen.says("45")
    assert "email" in citizen.says("4").lower()
    recap = citizen.says("/skip")
    assert "Sunita Tamang" in recap and "+9779841234568" in recap and "Hetauda" in recap
    assert "It started two weeks ago" in recap
    reference = reference_in(citizen.says("/affirm"))

    filed = grievance(bot, reference)
    assert (filed.status, filed.level, filed.channel) == (Status.NEW, 1, Channel.API)
    assert filed.details.startswith("The dust from the road trucks") and "quarry opened" in filed.details
    assert (filed.district_id, filed.municipality_id, filed.ward) == (MAKWANPUR, HETAUDA, 4)
    with bot.store.sessions() as session:
        complainant = session.get(Complainant, filed.complainant_id)
        assert complainant is not None
        assert (complainant.name, complainant.phone, complainant.email) == ("Sunita Tamang", "+9779841234568", None)


def test_without_a_qr_code_the_project_is_asked_and_the_place_can_be_elsewhere(bot: Bot) -> None:
    citizen = bot.citizen()
    citizen.says("/greet")
    assert "Which project" in citizen.says("I want to file a complaint")
    assert "could not find a project" in citizen.says("the airport")
    answer = citizen.says("narayani bridge")
    assert "Narayani Bridge and Approach Road Maintenance" in answer and "what happened" in answer
    citizen.says("Our shop lost its customers since the bridge approach was closed without notice.")
    citizen.says("/done_adding")
    citizen.says("Dipak Khadka")
    asked = citizen.say("9861234567")
    assert "Chitwan" in asked[0]["text"] and "Another district" in buttons(asked)
    assert "province" in citizen.says("/deny").lower()
    # A district typed where the province is asked is understood as both.
    assert "municipality" in citizen.says("Makwanpur district").lower()
    assert "ward" in citizen.says("thaha nagarpalika").lower()
    citizen.says("7")
    citizen.says("dipak@example.com")
    reference = reference_in(citizen.says("/affirm"))
    filed = grievance(bot, reference)
    assert (filed.district_id, filed.ward) == (MAKWANPUR, 7)
    with bot.store.sessions() as session:
        assert session.get(Project, filed.project_id).code == "NBR-02"  # type: ignore[union-attr]


def test_a_withheld_name_is_accepted_for_harassment_kindly_and_filed_as_a_gender_case(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/greet")
    citizen.says("/file_grievance")
    citizen.says("A worker from the camp keeps following my daughter on her way to school.")
    assert "anonymous" in citizen.says("/done_adding").lower()
    assert "harassment" in citizen.says("/stay_anonymous").lower()
    assert "in confidence" in citizen.says("/affirm")
    citizen.says("9812345670")
    citizen.says("Thaha")
    citizen.says("2")
    assert "(anonymous)" in citizen.says("/skip")
    answer = citizen.says("/affirm")
    assert "in confidence" in answer
    filed = grievance(bot, reference_in(answer))
    assert filed.priority is Priority.GENDER
    with bot.store.sessions() as session:
        complainant = session.get(Complainant, filed.complainant_id)
        assert complainant is not None and complainant.name is None


def test_a_name_is_asked_again_when_the_case_is_not_about_harassment(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("They dumped gravel on our irrigation canal near the bridge.")
    citizen.says("/done_adding")
    citizen.says("/stay_anonymous")
    assert "needs a name" in citizen.says("/deny")
    assert "What is your name" in "\n".join(a.get("text", "") for a in citizen.heard[-2:])
    assert "mobile" in citizen.says("Ram").lower()


def test_the_recap_lets_the_citizen_correct_a_field(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("The new culvert floods our rice field when it rains.")
    answer_to_the_recap(citizen, "Hari Thapa", "9841000001", "3")
    assert "What would you like to change" in citizen.says("/correct")
    assert "mobile" in citizen.says("mobile number").lower()
    recap = citizen.says("9841000002")
    assert "+9779841000002" in recap and "Is everything correct" in recap
    reference = reference_in(citizen.says("/affirm"))
    with bot.store.sessions() as session:
        filed = session.scalar(select(Grievance).where(Grievance.reference == reference))
        assert filed is not None and filed.complainant.phone == "+9779841000002"


def test_questions_in_the_middle_of_the_form_are_answered_and_the_form_resumes(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("Blasting at the quarry cracked the wall of our house.")
    citizen.says("/done_adding")
    citizen.says("Gita Rai")
    answer = citizen.says("why do you need my phone number?")
    assert "encrypted" in answer and "mobile number" in answer.split("encrypted")[-1]
    answer = citizen.says("how does this work?")
    assert "How it works" in answer and "What is your mobile number" in answer
    assert citizen.slot("complainant_name") == "Gita Rai"
    assert "municipality" in citizen.says("9841000003").lower()


def test_stop_leaves_the_form_and_files_nothing(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    with bot.store.sessions() as session:
        before = session.scalar(select(func.count()).select_from(Grievance))
    citizen.says("/file_grievance")
    citizen.says("The road contractor has not paid our wages for two months.")
    assert "Stopped" in citizen.says("stop")
    assert citizen.slot("details") is None and citizen.tracker()["active_loop"] in ({}, None, {"name": None})
    with bot.store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Grievance)) == before


def test_a_typed_intent_with_slots_does_not_skip_validation(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says('/file_grievance{"phone": "123", "confirmed": true, "details_done": "done"}')
    assert citizen.slot("phone") is None and citizen.slot("confirmed") is None
    citizen.says("Water from the road drain floods the temple yard.")
    citizen.says("/done_adding")
    citizen.says("Bishnu")
    # The payload's text is not taken as the answer: the question is asked again.
    assert "What is your mobile number" in citizen.says('/affirm{"phone": "9841234567"}')
    assert citizen.slot("phone") is None
    assert "municipality" in citizen.says("9841234567").lower()


def test_status_is_told_in_plain_words_to_the_right_pair_only(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    reference = file_by_chat(citizen, phone="9841000010")
    other = bot.citizen()
    assert "reference" in other.says("/check_status").lower()
    assert "is not a grievance reference" in other.says("hello there")
    other.says(reference.lower().replace("-", " "))
    answer = other.says("984-100-0010")
    assert reference in answer and "waiting for the site safeguards focal person" in answer
    assert "automatically go up" in answer
    # A wrong phone gets the same answer as an unknown reference.
    stranger = bot.citizen()
    stranger.says("/check_status")
    stranger.says(reference)
    wrong_phone = stranger.says("9841000011")
    stranger.says("/check_status")
    stranger.says("GR-7K3P-9QXD")
    assert stranger.says("9841000010") == wrong_phone
    assert reference not in wrong_phone


def test_typing_a_reference_opens_that_grievance(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    reference = file_by_chat(citizen, phone="9841000020")
    assert "mobile number" in citizen.says(f"what about {reference}?")
    assert reference in citizen.says("9841000020")


def test_repeated_failed_lookups_stop_the_conversation_for_a_while(bot: Bot) -> None:
    citizen = bot.citizen()
    for n in range(MAX_FAILURES_PER_REQUESTER):
        citizen.says("/check_status")
        citizen.says(f"GR-0000-00{n:02d}")
        assert "found no grievance" in citizen.says("9841000030")
    citizen.says("/check_status")
    citizen.says("GR-0000-0099")
    assert "too many unsuccessful attempts" in citizen.says("9841000030")


def test_a_citizen_accepts_the_resolution_and_rates_it(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    reference = file_by_chat(citizen, phone="9841000040")
    resolve_as_officer(bot, reference, "The contractor now sprays water on the road twice a day.")
    later = bot.citizen()
    later.says("/respond_resolution")
    later.says(reference)
    question = later.says("9841000040")
    assert "sprays water" in question and "Are you satisfied" in question
    assert "rate" in later.says("yes")
    assert "now closed" in later.says("5")
    closed = grievance(bot, reference)
    assert (closed.status, closed.satisfaction) == (Status.CLOSED, 5)


def test_a_citizen_refuses_the_resolution_and_it_goes_up_a_level(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    reference = file_by_chat(citizen, phone="9841000050")
    resolve_as_officer(bot, reference, "We cleaned the road once.")
    citizen.says("/check_status")
    citizen.says(reference)
    assert "Are you satisfied" in citizen.says("9841000050")
    assert "why" in citizen.says("no").lower()
    answer = citizen.says("The dust is back the next day, nothing changed.")
    assert "level 2 of 4" in answer and "project implementation unit" in answer
    escalated = grievance(bot, reference)
    assert (escalated.status, escalated.level) == (Status.ESCALATED, 2)


def test_the_resolution_messages_link_asks_for_the_answer_at_once(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    reference = file_by_chat(citizen, phone="9841000060")
    resolve_as_officer(bot, reference, "The drain was cleared.")
    token = answer_link_token(grievance(bot, reference), SystemClock().now())
    from_link = bot.citizen(project="KKR-01", answer=token)
    question = from_link.says("/greet")
    assert "The drain was cleared" in question and "Are you satisfied" in question
    from_link.says("/affirm")
    assert "now closed" in from_link.says("/skip")
    assert grievance(bot, reference).status is Status.CLOSED
    forged = bot.citizen(project="KKR-01", answer=token[:-3] + "AAA")
    assert "not valid" in forged.says("/greet")


@contextmanager
def store_locked(bot: Bot) -> Iterator[None]:
    """Hold SQLite's write lock, as a long migration or a stuck writer would."""
    path = bot.store.engine.url.database
    assert path
    connection = sqlite3.connect(path, timeout=1)
    connection.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


def test_an_unreachable_store_loses_nothing_and_a_retry_files_once(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("Heavy machines cracked the old stone steps to the temple.")
    answer_to_the_recap(citizen, "Kamala Shrestha", "9841000070", "5")
    with store_locked(bot):
        answer = citizen.says("/affirm")
    assert "could not save" in answer and "Nothing you told me is lost" in answer
    assert citizen.slot("details") == "Heavy machines cracked the old stone steps to the temple."
    reference = reference_in(citizen.says("/affirm"))
    with bot.store.sessions() as session:
        same = session.scalars(select(Grievance).where(Grievance.details.like("Heavy machines%"))).all()
    assert [g.reference for g in same] == [reference]


def test_conversations_in_parallel_do_not_mix(bot: Bot) -> None:
    references: dict[str, str] = {}

    def chat(phone: str) -> None:
        references[phone] = file_by_chat(bot.citizen(**QR), phone=phone)

    threads = [threading.Thread(target=chat, args=(f"98410001{n:02d}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with bot.store.sessions() as session:
        for phone, reference in references.items():
            filed = session.scalar(select(Grievance).where(Grievance.reference == reference))
            assert filed is not None and filed.complainant.phone == "+977" + phone


def test_restart_starts_over_anywhere_keeping_the_project(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("Our water pipe was broken by the excavator near the school.")
    answer = citizen.says("/restart")
    assert "start again from the beginning" in answer and "understand" not in answer
    assert citizen.slot("details") is None and citizen.slot("project_code") == "KKR-01"
    assert "what happened" in citizen.says("/file_grievance").lower()


def test_files_sent_while_filing_go_with_it_and_one_sent_after_joins_it(bot: Bot) -> None:
    citizen, stranger = bot.citizen(**QR), bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("Blasting at night cracked the wall of our house in ward 4.")
    photo = send_file(bot, citizen, "wall.jpg", JPEG)
    reply = citizen.says("/attach", attachment=photo)
    assert 'kept "wall.jpg" with your grievance (1 of 5 files)' in reply and "add anything" in reply
    theirs = send_file(bot, stranger, "their-receipt.pdf", PDF)
    assert "did not receive that file" in citizen.says("/attach", attachment=theirs)
    assert "did not receive that file" in citizen.says("/attach")  # typed by hand, no file
    assert "Files: wall.jpg" in answer_to_the_recap(citizen, "Ram Thapa")
    reference = reference_in(citizen.says("/affirm"))
    receipt = send_file(bot, citizen, "receipt.pdf", PDF)
    assert f'"receipt.pdf" is now part of your grievance {reference}' in citizen.says("/attach", attachment=receipt)
    assert attachment_names(bot, reference) == ["wall.jpg", "receipt.pdf"]
    with bot.store.sessions() as session:  # the stranger's file is still waiting for the stranger
        assert session.scalar(select(func.count()).select_from(Upload).where(Upload.token == theirs)) == 1


def test_a_file_sent_before_filing_waits_for_the_grievance(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.say("/greet")
    photo = send_file(bot, citizen, "dust.jpg", JPEG)
    assert "go with the grievance you file next" in citizen.says("/attach", attachment=photo)
    reference = file_by_chat(citizen)
    assert attachment_names(bot, reference) == ["dust.jpg"]


def test_the_recap_shows_triage_and_the_category_can_be_corrected_in_words(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("Dust from the crusher trucks covers every house and field in our tole, all day long.")
    recap = answer_to_the_recap(citizen, "Hari Lama")
    assert "In short: Dust from the crusher trucks" in recap and "Kind of problem: Dust and air pollution" in recap
    assert "mainly about" in citizen.says("the category is wrong")
    recap = citizen.says("it is about the compensation for my land, which was never paid")
    assert "Kind of problem: Compensation not paid or disputed" in recap
    filed = grievance(bot, reference_in(citizen.says("/affirm")))
    with bot.store.sessions() as session:
        code = session.scalar(select(Category.code).where(Category.id == filed.category_id))
    assert (code, filed.category_source, filed.priority, filed.needs_triage) == (
        "land.compensation",
        "citizen",
        Priority.HIGH,
        False,
    )
    assert filed.summary and filed.summary.startswith("Dust from the crusher trucks")
    assert filed.ai_categories and filed.ai_categories[0]["code"] == "environment.dust"


def test_conversations_are_kept_in_the_tracker_database(bot: Bot) -> None:
    """Rasa loads the tracker store named in endpoints.yml, or would silently keep conversations in memory."""
    citizen = bot.citizen(**QR)
    citizen.say("/greet")
    citizen.say("/menu")
    path = bot.store.settings.var_dir / "conversations.sqlite3"
    with sqlite3.connect(path) as connection:
        (stored,) = connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (citizen.sender,)).fetchone()
    assert stored >= 6
    assert "InMemoryTrackerStore" not in log_of(bot, "Rasa").read_text()


def test_triage_loads_as_the_action_server_starts(bot: Bot) -> None:
    log = log_of(bot, "action server")
    deadline = time.monotonic() + 120
    while "triage loaded: 27 categories" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(1)
    assert "triage loaded: 27 categories" in log.read_text()
