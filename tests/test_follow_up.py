"""After filing, over the real Rasa and action servers: the number proven by a code typed back
(wrong, expired and sent-again codes too), the receipt by SMS, "my grievances", a voice note or
a photo of a letter as the whole description, adding to a
grievance (and replying to an officer's note), reopening a closed one, the village or tole, in
English, Devanagari and romanised Nepali, on the webchat's REST shape and on WhatsApp."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from tests.bot import Bot, Citizen, buttons, last_code, local, new_phone, reference_in, sms_to
from tests.test_conversation import (
    JPEG,
    QR,
    answer_to_the_recap,
    attachment_names,
    grievance,
    resolve_as_officer,
    send_file,
)
from tests.test_conversation_nepali import english, nepali
from tests.test_whatsapp import OGG, WhatsAppCitizen
from ticketing.cases.moves import add_note, record_citizen_answer
from ticketing.cases.records import CITIZEN, SYSTEM
from ticketing.clock import SystemClock
from ticketing.lifecycle import Action, Status
from ticketing.store.case_models import Grievance, Note, Notification, PhoneCode, StatusChange
from ticketing.store.vocabulary import ActorKind, NoteVisibility

DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")


def file_unproven(citizen: Citizen, phone: str) -> tuple[str, str]:
    """A webchat filing; returns its reference and what the bot said at filing."""
    citizen.says("/file_grievance")
    citizen.says("Trucks leave mud and dust all over the road next to our school in ward 4.")
    answer_to_the_recap(citizen, phone=local(phone))
    filed = citizen.says("/affirm")
    return reference_in(filed), filed


def test_a_webchat_filing_proves_its_number_with_the_code_and_gets_its_receipt(bot: Bot) -> None:
    phone = new_phone()
    citizen = bot.citizen(**QR)
    reference, filed = file_unproven(citizen, phone)
    assert english("utter_code_sent") in filed and phone[-3:] in filed and phone not in filed
    assert not grievance(bot, reference).phone_verified
    code = last_code(bot, phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert english("utter_code_wrong") in citizen.says(wrong) and "4 tries left" in citizen.heard[-1]["text"]
    confirmed = citizen.says(f"the code is {code}")
    assert english("utter_phone_confirmed") in confirmed and english("utter_anything_else") in confirmed
    assert grievance(bot, reference).phone_verified
    [receipt] = [m for m in sms_to(bot, phone) if reference in m["subject"]]
    assert receipt["subject"] == f"Grievance {reference} received" and "/chat" in receipt["body"]
    # The number is proven in this conversation: its grievances are listed without a new code.
    listed = citizen.say("/my_grievances")
    assert reference in listed[0]["text"] and "received, to be checked" in listed[0]["text"]
    assert buttons(listed) == [reference]
    status = citizen.says(listed[0]["buttons"][0]["payload"])
    assert reference in status and "mobile number" not in status


def test_my_grievances_in_a_new_conversation_needs_a_code_to_the_number(bot: Bot) -> None:
    phone = new_phone()
    first = bot.citizen(**QR)
    reference, _ = file_unproven(first, phone)
    first.says(last_code(bot, phone))
    someone = bot.citizen()
    assert english("utter_ask_mine_phone") in someone.says("show all my complaints")
    assert "12345" in someone.says("12345")  # not a number: asked again
    assert english("utter_code_sent") in someone.says(local(phone))
    listed = someone.says(last_code(bot, phone))
    assert reference in listed and english("utter_label_status_new") in listed
    # A number nobody filed with has nothing to list, once proven.
    stranger = bot.citizen()
    stranger.says("/my_grievances")
    other = new_phone()
    stranger.says(local(other))
    assert english("utter_no_grievances") in stranger.says(last_code(bot, other))


def test_a_code_in_devanagari_digits_an_expired_one_and_a_new_one_in_nepali(bot: Bot) -> None:
    phone = new_phone()
    citizen = bot.citizen(**QR, language="ne")
    citizen.says("/file_grievance")
    citizen.says("सडकको धुलोले हाम्रो विद्यालयका बालबालिका बिरामी परे।")
    answer_to_the_recap(citizen, name="सुनिता तामाङ", phone=local(phone).translate(DEVANAGARI_DIGITS))
    filed = citizen.says("/affirm")
    reference = reference_in(filed)
    assert nepali("utter_code_sent") in filed
    first = last_code(bot, phone)
    assert any(m["body"].startswith("तपाईंको गुनासो डेस्कको कोड") for m in sms_to(bot, phone))
    with bot.store.sessions.begin() as session:  # ten minutes pass
        session.execute(update(PhoneCode).values(expires_at=SystemClock().now()))
    assert nepali("utter_code_expired") in citizen.says(first.translate(DEVANAGARI_DIGITS))
    assert nepali("utter_code_sent") in citizen.says("कोड आएन")
    again = last_code(bot, phone)
    assert nepali("utter_phone_confirmed") in citizen.says(f"मेरो कोड {again.translate(DEVANAGARI_DIGITS)} हो")
    receipt = [m for m in sms_to(bot, phone) if reference in m["subject"]]
    assert [m["subject"] for m in receipt] == [f"गुनासो {reference} दर्ता भयो"]


def test_romanised_nepali_asks_for_the_list_and_a_new_code(bot: Bot) -> None:
    phone = new_phone()
    first = bot.citizen(**QR)
    reference, _ = file_unproven(first, phone)
    first.says(last_code(bot, phone))
    citizen = bot.citizen(language="ne")
    assert nepali("utter_ask_mine_phone") in citizen.says("mera gunaso haru")
    citizen.says(local(phone))
    # That code goes out before the citizen asks for another, as it would: sent in one run,
    # the two SMS may reach the outbox file in either order.
    sms_to(bot, phone)
    assert nepali("utter_code_sent") in citizen.says("code aayena")
    assert reference in citizen.says(last_code(bot, phone))


def test_an_unproven_number_gets_no_sms_but_the_code(bot: Bot) -> None:
    phone = new_phone()
    citizen = bot.citizen(**QR)
    file_unproven(citizen, phone)
    assert english("utter_goodbye") in citizen.says("no, thank you")
    [only] = sms_to(bot, phone)
    assert "code" in only["subject"]


def test_whatsapp_lists_the_senders_grievances_and_a_status_check_starts_from_them(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    citizen.says("Namaste! I am writing about project KKR-01.")
    citizen.says("1")
    citizen.says("Trucks of the road contractor leave mud and dust on the road next to our school.")
    citizen.says("That's all")
    citizen.says("Maya Gurung")
    citizen.says("1")  # "Yes, use this number": proven by WhatsApp itself, no code
    citizen.says("Hetauda")
    citizen.says("4")
    citizen.says("1")
    filed = citizen.says("1")
    reference = reference_in(filed)
    assert english("utter_code_sent") not in filed and grievance(bot, reference).phone_verified
    listed = citizen.says("my grievances")
    assert reference in listed and "1. " + reference in listed
    asked = citizen.says("check status")
    assert reference in asked and english("utter_ask_reference_listed") in asked
    status = citizen.says("1")
    assert reference in status and "mobile number you gave" not in status
    # Adding to it: the case the conversation just looked at is the one added to.
    asked = citizen.says("I want to add something to my complaint")
    assert english("utter_ask_addition") in asked and reference in asked
    assert english("utter_addition_sent") in citizen.says("The mud is now knee deep near the school gate.")
    # A place shared now goes with that case too, as the citizen's message and its spot.
    assert "27.42890, 85.03210" in citizen.shares_place("27.42890", "85.03210", Label="School gate")
    shared = grievance(bot, reference)
    assert (shared.latitude, shared.longitude) == (27.4289, 85.0321)
    assert citizen_messages(bot, reference)[-1] == "Shared a place: 27.42890, 85.03210 (School gate)"


def citizen_messages(bot: Bot, reference: str) -> list[str]:
    with bot.store.sessions() as session:
        query = select(Note.body).where(
            Note.grievance_id == grievance(bot, reference).id, Note.author_kind == ActorKind.CITIZEN
        )
        return list(session.scalars(query.order_by(Note.id)))


def test_the_citizen_adds_words_and_a_file_to_the_grievance_just_filed(bot: Bot) -> None:
    phone = new_phone()
    citizen = bot.citizen(**QR)
    reference, _ = file_unproven(citizen, phone)
    asked = citizen.says("I want to add something to my complaint")
    assert english("utter_ask_addition") in asked and reference in asked
    photo = send_file(bot, citizen, "cracks.jpg", JPEG)
    assert reference in citizen.says("/attach", attachment=photo)
    sent = citizen.says("The cracks in the wall grew wider after last night's blasting.")
    assert english("utter_addition_sent") in sent and reference in sent
    assert citizen_messages(bot, reference) == ["The cracks in the wall grew wider after last night's blasting."]
    assert attachment_names(bot, reference) == ["cracks.jpg"]
    with bot.store.sessions() as session:
        told = session.scalars(
            select(Notification.template).where(Notification.grievance_id == grievance(bot, reference).id)
        )
        assert "citizen_message" in told.all()


def test_in_romanised_nepali_the_grievance_is_found_first_then_added_to(bot: Bot) -> None:
    phone = new_phone()
    reference, _ = file_unproven(bot.citizen(**QR), phone)
    citizen = bot.citizen(language="ne")
    assert nepali("utter_ask_reference") in citizen.says("gunaso ma thapnu cha")
    citizen.says(reference.lower().replace("-", " "))
    asked = citizen.says(local(phone).translate(DEVANAGARI_DIGITS))
    assert nepali("utter_ask_addition") in asked and reference in asked
    assert nepali("utter_addition_sent") in citizen.says("हिजो राति फेरि ठूलो आवाज आयो।")
    assert citizen_messages(bot, reference) == ["हिजो राति फेरि ठूलो आवाज आयो।"]
    # The wrong phone finds nothing to add to.
    stranger = bot.citizen()
    stranger.says("/add_to_grievance")
    stranger.says(reference)
    assert english("utter_not_found") in stranger.says("9800000000")


def test_the_link_of_an_officers_note_opens_the_reply(bot: Bot) -> None:
    phone = new_phone()
    citizen = bot.citizen(**QR)
    reference, _ = file_unproven(citizen, phone)
    citizen.says(last_code(bot, phone))
    with bot.store.sessions.begin() as session:
        add_note(
            session,
            SystemClock(),
            grievance(bot, reference).id,
            SYSTEM,
            "When were the cracks first seen?",
            NoteVisibility.PUBLIC,
        )
    [note] = [m for m in sms_to(bot, phone) if "When were the cracks" in m["body"]]
    token = re.search(r"/chat\?resume=(\S+)", note["body"])
    assert token, note["body"]
    replying = bot.citizen(project="KKR-01", answer=token.group(1))
    asked = replying.says("/greet")
    assert english("utter_ask_addition") in asked and reference in asked
    replying.says("Two weeks ago, when the blasting began.")
    assert citizen_messages(bot, reference) == ["Two weeks ago, when the blasting began."]


def test_the_village_or_tole_is_written_with_the_ward(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    citizen.says("/file_grievance")
    citizen.says("Trucks leave mud and dust all over the road next to our school in ward 4.")
    recap = answer_to_the_recap(citizen, phone=local(new_phone()), ward="4, Bhimphedi tole")
    assert "ward 4, Bhimphedi tole, Hetauda" in recap
    reference = reference_in(citizen.says("/affirm"))
    filed = grievance(bot, reference)
    assert (filed.ward, filed.locality) == (4, "Bhimphedi tole")
    nepali_citizen = bot.citizen(**QR, language="ne")
    nepali_citizen.says("/file_grievance")
    nepali_citizen.says("सडकको धुलोले हाम्रो विद्यालयका बालबालिका बिरामी परे।")
    answer_to_the_recap(nepali_citizen, name="सुनिता तामाङ", phone=local(new_phone()), ward="वडा नं. ४, बसन्तपुर")
    filed = grievance(bot, reference_in(nepali_citizen.says("/affirm")))
    assert (filed.ward, filed.locality) == (4, "बसन्तपुर")


def close(bot: Bot, reference: str, days_ago: int = 0) -> None:
    """Resolve the case and record the citizen's acceptance, `days_ago` days back."""
    clock = SystemClock()
    case_id = grievance(bot, reference).id
    resolve_as_officer(bot, reference, "The road is watered twice a day.")
    with bot.store.sessions.begin() as session:
        record_citizen_answer(session, clock, case_id, CITIZEN, accepted=True)
        closed_at = clock.now() - timedelta(days=days_ago)
        session.execute(update(Grievance).where(Grievance.id == case_id).values(closed_at=closed_at))


def reopenings(bot: Bot, reference: str) -> list[tuple[str, str | None]]:
    with bot.store.sessions() as session:
        query = select(StatusChange.actor_kind, StatusChange.note).where(
            StatusChange.grievance_id == grievance(bot, reference).id, StatusChange.action == Action.REOPEN
        )
        return [(kind.value, note) for kind, note in session.execute(query)]


def test_the_citizen_reopens_the_closed_grievance_just_filed_with_a_reason(bot: Bot) -> None:
    phone = new_phone()
    citizen = bot.citizen(**QR)
    reference, _ = file_unproven(citizen, phone)
    close(bot, reference)
    asked = citizen.says("I want to reopen my complaint")
    assert english("utter_ask_reopen_reason") in asked and reference in asked
    reopened = citizen.says("The dust is back since the watering stopped last week.")
    assert english("utter_reopened") in reopened and reference in reopened
    case = grievance(bot, reference)
    assert (case.status, case.closed_at) == (Status.IN_PROGRESS, None)
    assert reopenings(bot, reference) == [("citizen", "The dust is back since the watering stopped last week.")]
    assert not sms_to(bot, phone)[1:]  # the scheduler plans what the reopening tells (only the code went)
    with bot.store.sessions() as session:
        told = session.scalars(select(Notification.template).where(Notification.grievance_id == case.id))
        assert "reopened" in told.all()


def test_in_devanagari_a_closed_grievance_checked_is_reopened_from_its_button(bot: Bot) -> None:
    phone = new_phone()
    reference, _ = file_unproven(bot.citizen(**QR), phone)
    close(bot, reference, days_ago=3)
    citizen = bot.citizen(language="ne")
    citizen.says("मेरो गुनासोको अवस्था के छ?")
    citizen.says(reference)
    status = citizen.say(local(phone).translate(DEVANAGARI_DIGITS))
    assert nepali("utter_status_closed") in status[0]["text"]
    assert [button["payload"] for button in status[0]["buttons"]] == ["/reopen_grievance"]
    asked = citizen.says("/reopen_grievance")
    assert nepali("utter_ask_reopen_reason") in asked and reference in asked
    assert nepali("utter_reopened") in citizen.says("धुलो अझै आउँछ, पानी हाल्न छोडियो।")
    assert reopenings(bot, reference) == [("citizen", "धुलो अझै आउँछ, पानी हाल्न छोडियो।")]


def test_the_grievance_reopened_is_the_one_checked_last_not_the_one_filed_before(bot: Bot) -> None:
    phone = new_phone()
    closed, _ = file_unproven(bot.citizen(**QR), phone)
    close(bot, closed)
    citizen = bot.citizen(**QR)
    filed, _ = file_unproven(citizen, phone)
    citizen.says("/check_status")
    citizen.says(closed)
    assert english("utter_status_closed") in citizen.says(local(phone))
    asked = citizen.says("/reopen_grievance")
    assert closed in asked and filed not in asked
    citizen.says("The wall cracked again.")
    assert reopenings(bot, closed) == [("citizen", "The wall cracked again.")]


def test_in_romanised_nepali_a_grievance_closed_too_long_ago_or_still_open_is_not_reopened(bot: Bot) -> None:
    phone = new_phone()
    late, _ = file_unproven(bot.citizen(**QR), phone)
    close(bot, late, days_ago=31)
    citizen = bot.citizen(language="ne")
    assert nepali("utter_ask_reference") in citizen.says("mero gunaso pheri kholnus")
    citizen.says(late)
    refused = citizen.says(local(phone))
    assert nepali("utter_reopen_too_late") in refused and "३०" in refused
    assert grievance(bot, late).status is Status.CLOSED and reopenings(bot, late) == []
    still_open, _ = file_unproven(bot.citizen(**QR), phone)
    again = bot.citizen(language="ne")
    again.says("pheri kholne")
    again.says(still_open)
    told = again.says(local(phone))
    assert nepali("utter_reopen_still_open") in told and nepali("utter_ask_addition") in told
    assert nepali("utter_addition_sent") in again.says("aajhai dhulo aaucha")
    assert citizen_messages(bot, still_open) == ["aajhai dhulo aaucha"]


def test_a_voice_note_is_the_whole_description_and_is_not_triaged(bot: Bot) -> None:
    citizen = bot.citizen(**QR)
    asked = citizen.says("/file_grievance")
    assert "voice note" in asked
    voice = send_file(bot, citizen, "what-happened.ogg", OGG)
    taken = citizen.says("/attach", attachment=voice)
    assert english("utter_file_as_details") in taken and "voice note" in taken and "what-happened.ogg" in taken
    assert english("utter_ask_details_done") in taken
    recap = answer_to_the_recap(citizen, phone=local(new_phone()))
    assert "(voice note: what-happened.ogg)" in recap and english("utter_recap_no_category") in recap
    filed = grievance(bot, reference_in(citizen.says("/affirm")))
    assert filed.details == "(voice note: what-happened.ogg)"
    assert (filed.category_id, filed.needs_triage) == (None, False)
    assert attachment_names(bot, filed.reference) == ["what-happened.ogg"]


def test_in_nepali_a_photo_of_a_letter_is_the_description_and_words_after_it_are_triaged(bot: Bot) -> None:
    citizen = bot.citizen(**QR, language="ne")
    citizen.says("गुनासो दर्ता गर्न चाहन्छु")
    letter = send_file(bot, citizen, "chithi.jpg", JPEG)
    taken = citizen.says("/attach", attachment=letter)
    assert nepali("utter_file_as_details") in taken and "फोटो" in taken
    assert nepali("utter_ask_details_done") in citizen.says("सडकको धुलोले बाली नष्ट भयो")
    recap = answer_to_the_recap(citizen, name="सुनिता तामाङ", phone=local(new_phone()))
    assert "(फोटो: chithi.jpg)" in recap and nepali("utter_recap_no_category") not in recap
    filed = grievance(bot, reference_in(citizen.says("/affirm")))
    assert filed.details == "(फोटो: chithi.jpg)\nसडकको धुलोले बाली नष्ट भयो" and filed.category_id is not None


def test_on_whatsapp_a_voice_note_answers_what_happened(bot: Bot) -> None:
    citizen = WhatsAppCitizen(bot)
    citizen.says("Namaste! I am writing about project KKR-01.")
    citizen.says("1")
    taken = citizen.sends_media((OGG, "audio/ogg"))
    assert "voice-note-1.ogg" in taken and "listen" in taken
    assert "name" in citizen.says("That's all").lower()
    assert bot.tracker(citizen.address)["slots"]["details"] == "(voice note: voice-note-1.ogg)"
