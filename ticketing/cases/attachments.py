"""Files given with a case: stored once by content hash under var/attachments/."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from ticketing.cases.records import CITIZEN, Actor, audit
from ticketing.clock import Clock
from ticketing.config import FileShelf
from ticketing.errors import InvalidInput, NotFound
from ticketing.store.allowances import Allowance, client_name
from ticketing.store.case_models import Attachment, Grievance, Upload
from ticketing.store.crypto import keyring
from ticketing.store.db import hold_lock
from ticketing.store.models import table

MAX_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for media
MEBIBYTE = 1024 * 1024
# Files a citizen may give with one grievance (and hold unclaimed in one conversation):
# a case rarely needs more, and each file is a cost to whoever reads it.
MAX_CITIZEN_FILES = 5
_UPLOAD_PURPOSE = "upload-owner"
UPLOAD_TTL = timedelta(hours=24)
_TEXT_SAMPLE = 4096
_TEXT_CONTROLS = frozenset(b"\t\n\r\f")
# All unclaimed files together: beyond this, new chat files wait until old ones expire.
MAX_UNCLAIMED_BYTES = 2 * 1024**3
# What one client address may send from the chat page in a day, in files and in MiB begun.
# A citizen sends a few; phones behind one carrier's address share these, hence the room.
FILES_PER_ADDRESS = Allowance("upload-files", 50, timedelta(days=1))
MEBIBYTES_PER_ADDRESS = Allowance("upload-mebibytes", 250, timedelta(days=1))


class FileRefused(InvalidInput):
    """A file the GRM will not keep. `reason` names why (and `limit` the number it broke), so
    that each door (the chat page, the bot) says it in the citizen's language; the message is
    the English of it."""

    def __init__(self, reason: str, message: str, limit: int | None = None) -> None:
        super().__init__("content", message)
        self.reason = reason
        self.limit = limit


def too_large() -> FileRefused:
    megabytes = MAX_BYTES // MEBIBYTE
    return FileRefused("too_large", f"files are limited to {megabytes} MB", megabytes)


def _busy() -> FileRefused:
    return FileRefused("busy", "files cannot be received just now; please try again later")


# The extension of each accepted type, for the names files are downloaded under.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "application/pdf": "pdf",
    "audio/ogg": "ogg",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "text/plain": "txt",
}


def detect_type(content: bytes) -> str | None:
    """The accepted media type the bytes really are, or None: a sender's label is not trusted.

    A photo renamed .exe is still a photo, and a program labelled image/jpeg is refused.
    """
    head = content[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        return _iso_media_type(head[8:12])
    return _plain_text(content)


def _iso_media_type(brand: bytes) -> str:
    """ISO media files (MP4, 3GP, HEIC, M4A) say what they hold in their first box's brand."""
    if brand in (b"heic", b"heix", b"mif1", b"msf1"):
        return "image/heic"
    if brand.startswith(b"3gp"):
        return "video/3gpp"
    if brand.startswith(b"M4A"):
        return "audio/mp4"
    return "video/mp4"


def _plain_text(content: bytes) -> str | None:
    sample = content[:_TEXT_SAMPLE]
    if any(byte < 0x20 and byte not in _TEXT_CONTROLS for byte in sample):
        return None
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as cut:
        # The sample may end inside a character; anything earlier is a real decoding error.
        if cut.start < len(sample) - 3:
            return None
    return "text/plain"


def checked_type(content: bytes) -> str:
    """The media type of an acceptable file; FileRefused, in words a citizen understands, if not."""
    if not content:
        raise FileRefused("empty", "the file is empty")
    if len(content) > MAX_BYTES:
        raise too_large()
    mime_type = detect_type(content)
    if mime_type is None:
        raise FileRefused("type", "only photos, PDF documents, voice notes, videos and text files are accepted")
    return mime_type


def _write_once(shelf: FileShelf, key: str, content: bytes) -> None:
    """Write the bytes under their hash, atomically; an identical file already there is kept."""
    path = shelf.directory / key
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(path.parent).free < shelf.min_free_mb * MEBIBYTE + len(content):
        raise _busy()
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_bytes(content)
    os.replace(partial, path)


def attach_file(
    session: Session,
    clock: Clock,
    shelf: FileShelf,
    grievance_id: int,
    actor: Actor,
    filename: str,
    content: bytes,
) -> Attachment:
    """Keep a photo, document or voice note with a case."""
    grievance = session.get(Grievance, grievance_id)
    if grievance is None:
        raise NotFound("grievance", grievance_id)
    stored = _store_bytes(session, shelf, filename, content)
    return _attach(session, clock.now(), grievance, actor, stored)


@dataclass(frozen=True)
class _StoredFile:
    filename: str
    storage_key: str
    sha256: str
    size_bytes: int
    mime_type: str


def _file_lock(session: Session, key: str) -> None:
    """Writing a file and deleting it (purge_expired_uploads) wait for each other, so that a
    file is never deleted just as a new row comes to share it."""
    hold_lock(session, f"stored-file:{key}")


def _store_bytes(session: Session, shelf: FileShelf, filename: str, content: bytes) -> _StoredFile:
    mime_type = checked_type(content)
    digest = hashlib.sha256(content).hexdigest()
    key = f"{digest[:2]}/{digest}"
    _file_lock(session, key)
    _write_once(shelf, key, content)
    # Only the last part of a name: "../../x.jpg" from a browser must not name a path.
    name = Path(filename.replace("\\", "/")).name[:255] or "attachment"
    return _StoredFile(name, key, digest, len(content), mime_type)


def _attach(session: Session, now: datetime, grievance: Grievance, actor: Actor, stored: _StoredFile) -> Attachment:
    attachment = Attachment(
        grievance_id=grievance.id,
        created_at=now,
        filename=stored.filename,
        storage_key=stored.storage_key,
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        mime_type=stored.mime_type,
        uploaded_by_kind=actor.kind,
        uploaded_by_officer_id=actor.officer_id,
    )
    session.add(attachment)
    audit(session, now, actor, "attach_file", grievance, {"sha256": stored.sha256, "size": stored.size_bytes})
    return attachment


def too_many_files() -> FileRefused:
    return FileRefused("too_many", f"at most {MAX_CITIZEN_FILES} files can go with one grievance", MAX_CITIZEN_FILES)


def _owner(conversation: str) -> str:
    return keyring().digest(_UPLOAD_PURPOSE, conversation).hex()


def stage_upload(
    session: Session,
    clock: Clock,
    shelf: FileShelf,
    conversation: str,
    filename: str,
    content: bytes,
    address: str | None = None,
) -> Upload:
    """Keep a file a chat sent before its grievance exists; its token goes into the conversation.

    A conversation may hold MAX_CITIZEN_FILES unclaimed files at once, and a client address
    (`address`, for the chat page) a day's allowance: a public page must not be a free disk
    for anyone who finds it.
    """
    now = clock.now()
    uploads = table(Upload)
    unexpired = uploads.c.created_at > now - UPLOAD_TTL
    owner = _owner(conversation)
    waiting = session.scalar(
        select(func.count()).select_from(uploads).where(uploads.c.owner_digest == owner, unexpired)
    )
    if (waiting or 0) >= MAX_CITIZEN_FILES:
        raise too_many_files()
    counted: list[tuple[Allowance, str, int]] = []
    if address is not None:
        # A file counts once, and once per MiB begun.
        client = client_name(address)
        counted = [(FILES_PER_ADDRESS, client, 1), (MEBIBYTES_PER_ADDRESS, client, -(-len(content) // MEBIBYTE))]
    if any(allowance.wait(session, name, now, weight) is not None for allowance, name, weight in counted):
        raise FileRefused("allowance", "this connection has sent many files today; please try again tomorrow")
    unclaimed = session.scalar(select(func.coalesce(func.sum(uploads.c.size_bytes), 0)).where(unexpired))
    if int(unclaimed or 0) + len(content) > MAX_UNCLAIMED_BYTES:
        raise _busy()
    stored = _store_bytes(session, shelf, filename, content)
    for allowance, name, weight in counted:
        allowance.spend(session, name, now, weight)
    upload = Upload(token=secrets.token_urlsafe(18), owner_digest=owner, created_at=now, **asdict(stored))
    session.add(upload)
    session.flush()
    return upload


def purge_expired_uploads(session: Session, clock: Clock, shelf: FileShelf, limit: int = 500) -> int:
    """Delete up to `limit` chat files left unclaimed past UPLOAD_TTL, and their bytes once no
    attachment or other upload holds them (identical files are stored once)."""
    expired = session.scalars(
        select(Upload)
        .where(Upload.created_at <= clock.now() - UPLOAD_TTL)
        .order_by(Upload.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for upload in expired:
        session.delete(upload)
    session.flush()
    for key in sorted({upload.storage_key for upload in expired}):
        _file_lock(session, key)
        held = or_(exists().where(Attachment.storage_key == key), exists().where(Upload.storage_key == key))
        if not session.scalar(select(held)):
            (shelf.directory / key).unlink(missing_ok=True)
    return len(expired)


def staged_upload(session: Session, clock: Clock, conversation: str, token: str) -> Upload | None:
    """The conversation's own unclaimed, unexpired file with this token; None for anyone else's."""
    upload = session.scalar(select(Upload).where(Upload.token == token))
    if upload is None or not hmac.compare_digest(upload.owner_digest, _owner(conversation)):
        return None
    return upload if upload.created_at > clock.now() - UPLOAD_TTL else None


def claim_uploads(
    session: Session, clock: Clock, grievance: Grievance, conversation: str, tokens: Sequence[str]
) -> list[Attachment]:
    """Turn the conversation's files named by `tokens` into the grievance's attachments.

    Tokens already claimed, expired or another conversation's are skipped, so a retried
    filing (which returns the ticket filed the first time) attaches nothing twice.
    """
    uploads = [u for u in (staged_upload(session, clock, conversation, t) for t in dict.fromkeys(tokens)) if u]
    given = session.scalar(
        select(func.count())
        .select_from(Attachment)
        .where(Attachment.grievance_id == grievance.id, Attachment.uploaded_by_kind == CITIZEN.kind)
    )
    if (given or 0) + len(uploads) > MAX_CITIZEN_FILES:
        raise too_many_files()
    attached = []
    for upload in uploads:
        stored = _StoredFile(upload.filename, upload.storage_key, upload.sha256, upload.size_bytes, upload.mime_type)
        attached.append(_attach(session, clock.now(), grievance, CITIZEN, stored))
        session.delete(upload)
    return attached


def attachment_path(shelf: FileShelf, attachment: Attachment) -> Path:
    return shelf.directory / attachment.storage_key


def download_name(reference: str, number: int, mime_type: str) -> str:
    """The name a case's file is saved under: never the sender's own, which may mislead."""
    return f"{reference}-{number}.{EXTENSIONS.get(mime_type, 'bin')}"
