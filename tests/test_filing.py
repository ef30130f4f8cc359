"""Filing a grievance: idempotency, validation with clear errors, references, attachments."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from tests.helpers import BAGMATI, HETAUDA, MAKWANPUR, FakeClock, count, file, submission
from ticketing.cases import filing
from ticketing.cases.attachments import attach_file, attachment_path
from ticketing.cases.filing import file_grievance
from ticketing.cases.records import CITIZEN
from ticketing.citizen import heard_on_whatsapp
from ticketing.config import PROJECT_ROOT, FileShelf
from ticketing.errors import InvalidInput, NotFound
from ticketing.store.case_models import Attachment, AuditLog, Complainant, Grievance, StatusChange
from ticketing.store.db import Store
from ticketing.store.sqlfunctions import every_column
from ticketing.store.vocabulary import Channel, Priority
from ticketing.values.numerals import devanagari_digits
from ticketing.values.references import ALPHABET, new_reference, normalise_reference


def test_a_filed_case_is_new_at_level_one_with_everything_set(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock, details="  Dust on our maize.  ", language="ne")
    assert (grievance.status.value, grievance.level, grievance.priority) == ("new", 1, Priority.NORMAL)
    assert grievance.details == "Dust on our maize."
    assert (grievance.province_id, grievance.district_id, grievance.municipality_id, grievance.ward) == (
        BAGMATI,
        MAKWANPUR,
        HETAUDA,
        4,
    )
    assert grievance.created_at == grievance.level_entered_at == clock.now()
    assert grievance.language == "ne" and grievance.assignee_id is not None


@pytest.mark.parametrize(
    ("code", "priority"),
    [
        ("environment.dust", Priority.NORMAL),
        ("land.compensation", Priority.HIGH),
        ("safety.road", Priority.HIGH),
        ("gender.harassment", Priority.GENDER),
        ("labour.child", Priority.HIGH),
        ("labour.wages", Priority.NORMAL),
        (None, Priority.NORMAL),
    ],
)
def test_priority_follows_the_category(demo: Store, clock: FakeClock, code: str | None, priority: Priority) -> None:
    assert file(demo, clock, category_code=code).priority is priority


def test_a_column_filing_does_not_name_starts_at_its_default_or_empty() -> None:
    later = Table(
        "later",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("told", String),
        Column("tries", Integer, default=3),
        Column("note", String, nullable=True),
    )
    assert every_column(later, {"told": "yes"}) == {"told": "yes", "tries": 3, "note": None}
    assert every_column(later, {"told": "yes", "tries": None}) == {"told": "yes", "tries": None, "note": None}


def test_the_same_submission_retried_makes_one_ticket(demo: Store, clock: FakeClock) -> None:
    first = file(demo, clock, idempotency_key="webchat:abc:42")
    clock.advance(minutes=5)
    again = file(demo, clock, idempotency_key="webchat:abc:42", details="typed again")
    assert again.id == first.id and again.details == first.details
    assert count(demo, Grievance) == 1 and count(demo, StatusChange) == 1
    assert file(demo, clock, idempotency_key="webchat:abc:43").id != first.id


def test_concurrent_retries_of_one_submission_make_one_ticket(demo: Store, clock: FakeClock) -> None:
    start = threading.Barrier(4)
    ids: list[int] = []

    def submit() -> None:
        start.wait()
        ids.append(file(demo, clock, idempotency_key="whatsapp:SM123").id)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1 and len(ids) == 4
    assert count(demo, Grievance) == 1 and count(demo, StatusChange) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"details": "   "}, "details"),
        ({"details": "x" * 10_001}, "details"),
        ({"project_code": "NOPE-9"}, "project_code"),
        ({"phone": "12345"}, "phone"),
        ({"phone": None}, "phone"),
        ({"name": " "}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"category_code": "weather"}, "category_code"),
        ({"municipality_id": 99999}, "municipality_id"),
        ({"ward": 40}, "ward"),
        ({"municipality_id": None, "ward": 2}, "ward"),
        ({"district_id": 24}, "district_id"),
        ({"municipality_id": None, "ward": None, "district_id": MAKWANPUR, "province_id": 1}, "province_id"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(
    demo: Store, clock: FakeClock, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised, demo.sessions.begin() as session:
        file_grievance(session, clock, submission(**changes))
    assert raised.value.field == field
    assert count(demo, Grievance) == 0 and count(demo, Complainant) == 0


def test_project_code_is_matched_whatever_the_case(demo: Store, clock: FakeClock) -> None:
    assert file(demo, clock, project_code=" kkr-01 ").project_id == file(demo, clock).project_id


def test_gender_cases_may_be_anonymous(demo: Store, clock: FakeClock) -> None:
    grievance = file(demo, clock, category_code="gender.violence", name=None, phone=None)
    with demo.sessions() as session:
        complainant = session.get(Complainant, grievance.complainant_id)
        assert complainant is not None and complainant.name is None and complainant.phone_hash is None


def test_a_returning_citizen_is_recognised_by_phone(demo: Store, clock: FakeClock) -> None:
    first = file(demo, clock, phone="+977 984-1234567", email="s@example.org")
    second = file(demo, clock, phone="9841234567", name="Sunita T.", email=None)
    other = file(demo, clock, phone="9851000000")
    assert first.complainant_id == second.complainant_id != other.complainant_id
    with demo.sessions() as session:
        person = session.get(Complainant, first.complainant_id)
        assert person is not None
        assert (person.name, person.phone, person.email) == ("Sunita T.", "+9779841234567", "s@example.org")


def test_references_are_short_typable_random_and_unique(demo: Store, clock: FakeClock) -> None:
    references = [file(demo, clock).reference for _ in range(30)]
    assert len(set(references)) == 30
    for reference in references:
        assert len(reference) <= 12 and re.fullmatch(rf"GR-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", reference)
    # Random rather than sequential: consecutive tickets share no common prefix pattern.
    assert len({r[:5] for r in references}) > 10


def test_reference_collision_draws_again(demo: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = file(demo, clock).reference
    draws = iter([taken, taken, "GR-AAAA-BBBB"])
    monkeypatch.setattr(filing, "new_reference", lambda: next(draws))
    assert file(demo, clock).reference == "GR-AAAA-BBBB"
    assert count(demo, Grievance) == 2


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("GR-7K3P-9QXD", "GR-7K3P-9QXD"),
        ("gr 7k3p 9qxd", "GR-7K3P-9QXD"),
        ("7K3P9QXD", "GR-7K3P-9QXD"),
        ("GR-7K3P-9OXD", "GR-7K3P-90XD"),
        ("GR-1L1I-0000", "GR-1111-0000"),
        ("GR-७K३P-९QXD", "GR-7K3P-9QXD"),
        ("gr ७k३p ९qxd", "GR-7K3P-9QXD"),
        ("GR-7K3P-9QX", None),
        ("GR-7K3P-9QXU", None),
        ("", None),
        ("hello there", None),
    ],
)
def test_references_are_read_back_forgivingly(typed: str, canonical: str | None) -> None:
    assert normalise_reference(typed) == canonical


def nlu_reference_pattern() -> re.Pattern[str]:
    """The bot's own definition of a reference: the regex its training data gives Rasa."""
    items = yaml.safe_load((PROJECT_ROOT / "data" / "nlu" / "status.yml").read_text("utf-8"))["nlu"]
    examples = next(item["examples"] for item in items if item.get("regex") == "reference")
    return re.compile(examples.strip().removeprefix("- "))


@given(
    symbols=st.text(alphabet=ALPHABET, min_size=8, max_size=8),
    written=st.sampled_from(["GR-{a}-{b}", "gr {a} {b}", "GR{a}{b}", "{a}-{b}", "{a}{b}"]),
    nepali_digits=st.booleans(),
)
def test_the_bot_hears_every_reference_the_store_reads_back(symbols: str, written: str, nepali_digits: bool) -> None:
    """The chat (bot/, which cannot import ticketing) and the store define a reference apart:
    whatever way a citizen writes a real one, both must agree on it."""
    reference = f"GR-{symbols[:4]}-{symbols[4:]}"
    typed = written.format(a=symbols[:4], b=symbols[4:])
    typed = typed.lower() if written.startswith("gr") else typed
    typed = devanagari_digits(typed) if nepali_digits else typed
    # Without "GR", digits alone are a phone number and letters run together a word: the bot
    # then asks for the reference instead of guessing.
    if not written.startswith(("GR", "gr")) and (symbols.isdigit() or (written == "{a}{b}" and symbols.isalpha())):
        return
    found = nlu_reference_pattern().search(f"what about {typed}?")
    assert found is not None, typed
    assert normalise_reference(found.group(0)) == reference


def test_new_references_use_the_whole_alphabet() -> None:
    seen = {symbol for _ in range(400) for symbol in new_reference()[3:].replace("-", "")}
    assert seen == set(ALPHABET)


def test_attachments_are_kept_by_hash(demo: Store, clock: FakeClock, tmp_path: Path) -> None:
    grievance = file(demo, clock)
    tmp_path = tmp_path / "attachments"
    photo = b"\xff\xd8\xff\xe0 pretend jpeg"
    with demo.sessions.begin() as session:
        kept = attach_file(session, clock, FileShelf(tmp_path), grievance.id, CITIZEN, "../../field.jpg", photo)
        again = attach_file(session, clock, FileShelf(tmp_path), grievance.id, CITIZEN, "copy.jpg", photo)
        with pytest.raises(InvalidInput):
            attach_file(session, clock, FileShelf(tmp_path), grievance.id, CITIZEN, "x.jpg", b"MZ\x90\x00\x03\x00")
        with pytest.raises(InvalidInput):
            attach_file(session, clock, FileShelf(tmp_path), grievance.id, CITIZEN, "empty.jpg", b"")
        with pytest.raises(NotFound):
            attach_file(session, clock, FileShelf(tmp_path), 999, CITIZEN, "a.jpg", photo)
    assert kept.filename == "field.jpg" and kept.size_bytes == len(photo) and kept.mime_type == "image/jpeg"
    assert attachment_path(FileShelf(tmp_path), kept).read_bytes() == photo
    assert kept.storage_key == again.storage_key
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [attachment_path(FileShelf(tmp_path), kept)]
    assert count(demo, Attachment) == 2
    with demo.sessions() as session:
        actions = session.scalars(select(AuditLog.action).where(AuditLog.grievance_id == grievance.id)).all()
    assert actions.count("attach_file") == 2


def test_ai_triage_results_are_kept(demo: Store, clock: FakeClock) -> None:
    triage = [{"code": "environment.dust", "score": 0.91}, {"code": "environment.crops", "score": 0.88}]
    grievance = file(demo, clock, summary="Truck dust on maize.", ai_categories=triage)
    with demo.sessions() as session:
        stored = session.get(Grievance, grievance.id)
        assert stored is not None and (stored.summary, stored.ai_categories) == ("Truck dust on maize.", triage)


def test_a_filing_on_whatsapp_opens_the_24_hour_window_and_keeps_the_shared_place(
    demo: Store, clock: FakeClock
) -> None:
    case = file(demo, clock, channel=Channel.WHATSAPP, latitude=27.4289, longitude=85.0321)
    assert (case.latitude, case.longitude) == (27.4289, 85.0321)
    opened = clock.now()
    clock.advance(hours=2)
    # A later filing from the webchat by the same citizen does not close the window.
    file(demo, clock, channel=Channel.WEBCHAT)
    with demo.sessions() as session:
        complainant = session.get(Complainant, case.complainant_id)
        assert complainant is not None and complainant.whatsapp_inbound_at == opened
    # Any later WhatsApp message from the same number reopens it (the chat's actions say so).
    with demo.sessions.begin() as session:
        heard_on_whatsapp(session, "+977 984-123-4567", clock.now())
    with demo.sessions() as session:
        complainant = session.get(Complainant, case.complainant_id)
        assert complainant is not None and complainant.whatsapp_inbound_at == clock.now()


@pytest.mark.parametrize("latitude, longitude", [(91.0, 85.0), (27.0, -181.0)])
def test_a_place_off_the_map_is_refused(demo: Store, clock: FakeClock, latitude: float, longitude: float) -> None:
    with pytest.raises(InvalidInput, match="not on the map"):
        file(demo, clock, latitude=latitude, longitude=longitude)
