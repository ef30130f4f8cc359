"""Files sent from a chat before the grievance exists: what is accepted, who may claim them,
and the web endpoint the widget posts them to."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import FakeClock, count, file, make_jobs
from tests.test_public_pages import make_app, widget_settings
from ticketing.cases import attachments
from ticketing.cases.attachments import (
    MAX_BYTES,
    MAX_CITIZEN_FILES,
    MEBIBYTE,
    UPLOAD_TTL,
    attach_file,
    attachment_path,
    claim_uploads,
    detect_type,
    stage_upload,
    staged_upload,
)
from ticketing.cases.records import CITIZEN
from ticketing.clock import SystemClock
from ticketing.config import FileShelf, load_settings
from ticketing.errors import ConfigurationError, InvalidInput
from ticketing.store.allowances import Allowance
from ticketing.store.case_models import Attachment, Grievance, Upload
from ticketing.store.db import Store

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
CHAT = "5f0c0c1ad3a04a8a9b0f6b0f2f1e7c11"
OTHER_CHAT = "0d1f3b0a7a3e4c1e8f2a9b8c7d6e5f40"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (PNG, "image/png"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
        (b"OggS\x00\x02" + bytes(20), "audio/ogg"),
        (b"#!AMR\n" + bytes(10), "audio/amr"),
        (b"ID3\x04\x00" + bytes(10), "audio/mpeg"),
        (b"\x00\x00\x00\x18ftypheic" + bytes(8), "image/heic"),
        (b"\x00\x00\x00\x18ftyp3gp4" + bytes(8), "video/3gpp"),
        (b"\x00\x00\x00\x18ftypM4A " + bytes(8), "audio/mp4"),
        (b"\x00\x00\x00\x18ftypisom" + bytes(8), "video/mp4"),
        ("धुलो धेरै भयो\nDust everywhere.\n".encode(), "text/plain"),
        (b"MZ\x90\x00\x03\x00\x00\x00", None),
        (b"\x7fELF\x02\x01\x01", None),
        (b"<html>\x00</html>", None),
    ],
)
def test_the_type_is_read_from_the_bytes_not_the_label(content: bytes, expected: str | None) -> None:
    assert detect_type(content) == expected


def test_a_text_cut_inside_a_character_is_still_text() -> None:
    text = "अ" * 2000  # three bytes each: the 4096-byte sample ends inside one
    assert detect_type(text.encode()) == "text/plain"


def test_a_staged_file_is_found_only_by_its_own_conversation(demo: Store, clock: FakeClock, tmp_path: Path) -> None:
    with demo.sessions.begin() as session:
        token = stage_upload(session, clock, FileShelf(tmp_path), CHAT, "C:\\photos\\dust.png", PNG).token
    with demo.sessions() as session:
        mine = staged_upload(session, clock, CHAT, token)
        assert mine is not None and (mine.filename, mine.mime_type, mine.size_bytes) == (
            "dust.png",
            "image/png",
            len(PNG),
        )
        assert staged_upload(session, clock, OTHER_CHAT, token) is None
        assert staged_upload(session, clock, CHAT, "no-such-token") is None
    clock.advance(seconds=UPLOAD_TTL.total_seconds() + 1)
    with demo.sessions() as session:
        assert staged_upload(session, clock, CHAT, token) is None


def test_filing_claims_the_files_once_and_only_the_conversations_own(
    demo: Store, clock: FakeClock, tmp_path: Path
) -> None:
    with demo.sessions.begin() as session:
        mine = stage_upload(session, clock, FileShelf(tmp_path), CHAT, "dust.png", PNG).token
        theirs = stage_upload(session, clock, FileShelf(tmp_path), OTHER_CHAT, "secret.pdf", b"%PDF-1.4 theirs").token
    grievance = file(demo, clock)
    with demo.sessions.begin() as session:
        case = session.get_one(Grievance, grievance.id)
        attached = claim_uploads(session, clock, case, CHAT, [mine, theirs, mine])
        assert [a.filename for a in attached] == ["dust.png"]
        path = attachment_path(FileShelf(tmp_path), attached[0])
    with demo.sessions.begin() as session:  # a retried filing attaches nothing twice
        assert claim_uploads(session, clock, session.get_one(Grievance, grievance.id), CHAT, [mine]) == []
    assert path.read_bytes() == PNG
    assert count(demo, Attachment, grievance_id=grievance.id) == 1
    assert count(demo, Upload) == 1  # the other conversation's file is still theirs


def test_a_conversation_holds_a_few_files_and_a_grievance_takes_a_few(
    demo: Store, clock: FakeClock, tmp_path: Path
) -> None:
    tokens = []
    with demo.sessions.begin() as session:
        for number in range(MAX_CITIZEN_FILES):
            tokens.append(
                stage_upload(
                    session, clock, FileShelf(tmp_path), CHAT, f"{number}.txt", f"note {number}".encode()
                ).token
            )
        with pytest.raises(InvalidInput, match="at most"):
            stage_upload(session, clock, FileShelf(tmp_path), CHAT, "one-more.txt", b"one more")
    grievance = file(demo, clock)
    with demo.sessions.begin() as session:
        claim_uploads(session, clock, session.get_one(Grievance, grievance.id), CHAT, tokens)
    with demo.sessions.begin() as session:
        extra = stage_upload(session, clock, FileShelf(tmp_path), CHAT, "late.txt", b"a late note").token
        with pytest.raises(InvalidInput, match="at most"):
            claim_uploads(session, clock, session.get_one(Grievance, grievance.id), CHAT, [extra])


def test_expired_files_no_longer_count_and_are_purged_from_disk(demo: Store, clock: FakeClock) -> None:
    directory = demo.settings.files
    stored_under = directory.directory
    photo, note, shared = PNG, b"a note nobody claimed", b"the same words, sent twice"
    case = file(demo, clock)
    with demo.sessions.begin() as session:
        for number in range(MAX_CITIZEN_FILES - 2):
            stage_upload(session, clock, directory, CHAT, f"{number}.txt", f"note {number}".encode())
        stage_upload(session, clock, directory, CHAT, "photo.png", photo)
        stage_upload(session, clock, directory, CHAT, "note.txt", note)
        # The same photo is also a case's attachment: its bytes are stored once.
        attach_file(session, clock, directory, case.id, CITIZEN, "site.png", photo)
        stage_upload(session, clock, directory, OTHER_CHAT, "shared.txt", shared)
    clock.advance(hours=23)
    with demo.sessions.begin() as session:
        stage_upload(session, clock, directory, "a" * 32, "shared-again.txt", shared)
    clock.advance(hours=1)
    with demo.sessions.begin() as session:  # the expired ones leave room in their conversation
        stage_upload(session, clock, directory, CHAT, "today.txt", b"a note of today")
    stored = {content: stored_under / f"{hashlib.sha256(content).hexdigest()[:2]}/{hashlib.sha256(content).hexdigest()}"
              for content in (photo, note, shared)}  # fmt: skip
    assert all(path.is_file() for path in stored.values())

    assert make_jobs(demo, clock).purge() == MAX_CITIZEN_FILES + 1
    assert count(demo, Upload) == 2  # today's note, and the shared words sent an hour later
    assert not stored[note].exists()
    assert stored[photo].read_bytes() == photo  # still the case's attachment
    assert stored[shared].read_bytes() == shared  # still another chat's upload
    clock.advance(days=1)
    assert make_jobs(demo, clock).purge() == 2
    assert not stored[shared].exists() and count(demo, Upload) == 0
    assert stored[photo].is_file()


def nearly_full(store: Store) -> Store:
    """The store with a floor of free disk (GRM_MIN_FREE_DISK_MB) that no disk reaches."""
    return replace(store, settings=replace(store.settings, min_free_disk_mb=10**12))


def test_files_are_refused_kindly_when_the_disk_is_nearly_full(demo: Store, clock: FakeClock) -> None:
    full = nearly_full(demo).settings.files
    case = file(demo, clock)
    with pytest.raises(InvalidInput, match="cannot be received just now"), demo.sessions.begin() as session:
        stage_upload(session, clock, full, CHAT, "dust.png", PNG)
    with pytest.raises(InvalidInput, match="cannot be received just now"), demo.sessions.begin() as session:
        attach_file(session, clock, full, case.id, CITIZEN, "dust.png", PNG)
    assert count(demo, Upload) == 0 and not [path for path in full.directory.rglob("*") if path.is_file()]
    with pytest.raises(ConfigurationError, match="GRM_MIN_FREE_DISK_MB"):
        load_settings({"GRM_MIN_FREE_DISK_MB": "many"})


def test_an_address_has_a_daily_allowance_of_files_and_bytes(
    demo: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attachments, "FILES_PER_ADDRESS", Allowance("upload-files", 3, timedelta(days=1)))
    monkeypatch.setattr(attachments, "MEBIBYTES_PER_ADDRESS", Allowance("upload-mebibytes", 4, timedelta(days=1)))
    directory = demo.settings.files

    def send(content: bytes, address: str = "203.0.113.7") -> None:
        # A new conversation each time: the address's allowance holds across them.
        with demo.sessions.begin() as session:
            stage_upload(session, clock, directory, secrets.token_hex(16), "f.txt", content, address=address)

    for number in range(3):
        send(f"note {number}".encode())
    with pytest.raises(InvalidInput, match="many files today"):
        send(b"one more")
    send(b"from another address", address="198.51.100.2")
    send(b"x" * (3 * MEBIBYTE + 1), address="198.51.100.3")  # four MiB begun
    with pytest.raises(InvalidInput, match="many files today"):
        send(b"a small one", address="198.51.100.3")
    clock.advance(days=1)
    send(b"the next day")
    send(b"the next day too", address="198.51.100.3")


@pytest.fixture
def client(demo: Store) -> FlaskClient:
    return make_app(demo).test_client()


def issued_session(client: FlaskClient) -> str:
    """The session id the chat page hands a new conversation."""
    return widget_settings(client.get("/chat/KKR-01").get_data(as_text=True))["new-session"]


def post_file(
    client: FlaskClient, content: bytes, name: str = "dust.png", session_id: str | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/chat/upload",
        data={"session_id": session_id or issued_session(client), "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        headers=headers,
    )
    return response.status_code, response.get_json()


def test_the_chat_page_posts_a_file_and_gets_its_token(client: FlaskClient, demo: Store) -> None:
    chat = issued_session(client)
    status, answer = post_file(client, PNG, "../../dust.png", chat, Origin="http://localhost")
    assert status == 201 and answer["name"] == "dust.png" and answer["type"] == "image/png"
    with demo.sessions() as session:
        upload = staged_upload(session, SystemClock(), chat, answer["token"])
        assert upload is not None and upload.size_bytes == len(PNG)


def test_the_chat_is_told_kindly_when_the_disk_is_nearly_full(demo: Store) -> None:
    status, answer = post_file(make_app(nearly_full(demo)).test_client(), PNG)
    assert status == 422 and answer == {
        "error": "files cannot be received just now; please try again later.",
        "reason": "busy",
    }
    assert count(demo, Upload) == 0


def test_only_a_session_the_chat_page_issued_may_send_files(client: FlaskClient, demo: Store) -> None:
    issued = issued_session(client)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", issued) and issued != issued_session(client)
    made_up = secrets.token_hex(16)  # the shape of a Rasa session id, drawn by a script
    forged = issued[:22] + ("A" if issued[22] != "A" else "B") + issued[23:]
    for session_id in (made_up, forged, issued[:22] + made_up[:22]):
        status, answer = post_file(client, PNG, session_id=session_id)
        assert status == 403 and "start a new one" in answer["error"]
    assert count(demo, Upload) == 0
    assert post_file(client, PNG, session_id=issued)[0] == 201


@pytest.mark.parametrize(
    ("content", "headers", "status", "message"),
    [
        (b"MZ\x90\x00\x03\x00", {}, 422, "only photos, PDF documents"),
        (b"", {}, 422, "empty"),
        (PNG, {"Origin": "https://elsewhere.example"}, 403, "chat page"),
    ],
)
def test_a_refused_file_gets_a_reason(
    client: FlaskClient, demo: Store, content: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    code, answer = post_file(client, content, **headers)
    assert code == status and message in answer["error"]
    assert count(demo, Upload) == 0


def test_a_file_without_its_chat_or_too_large_is_refused(client: FlaskClient, demo: Store) -> None:
    response = client.post(
        "/chat/upload", data={"file": (io.BytesIO(PNG), "a.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and "error" in response.get_json()
    status, answer = post_file(client, PNG + bytes(MAX_BYTES))
    assert status == 422 and "16 MB" in answer["error"]
    status, answer = post_file(client, PNG + bytes(MAX_BYTES + 100_000))  # stopped before it is read
    assert status == 413 and "16 MB" in answer["error"]
    assert count(demo, Upload) == 0
