"""Files given with a case: stored once by content hash under var/attachments/."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy.orm import Session

from ticketing.clock import Clock
from ticketing.errors import InvalidInput, NotFound
from ticketing.models import Attachment, Grievance
from ticketing.services import Actor, audit

MAX_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for media
ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "application/pdf",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/amr",
        "video/mp4",
        "video/3gpp",
        "text/plain",
    }
)


def _write_once(directory: Path, key: str, content: bytes) -> None:
    """Write the bytes under their hash, atomically; an identical file already there is kept."""
    path = directory / key
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_bytes(content)
    os.replace(partial, path)


def attach_file(
    session: Session,
    clock: Clock,
    directory: Path,
    grievance_id: int,
    actor: Actor,
    filename: str,
    content: bytes,
    mime_type: str,
) -> Attachment:
    """Keep a photo, document or voice note with a case."""
    mime_type = mime_type.split(";")[0].strip().lower()
    if mime_type not in ALLOWED_TYPES:
        raise InvalidInput("mime_type", "this kind of file is not accepted")
    if not content:
        raise InvalidInput("content", "the file is empty")
    if len(content) > MAX_BYTES:
        raise InvalidInput("content", f"files are limited to {MAX_BYTES // (1024 * 1024)} MB")
    grievance = session.get(Grievance, grievance_id)
    if grievance is None:
        raise NotFound("grievance", grievance_id)
    digest = hashlib.sha256(content).hexdigest()
    key = f"{digest[:2]}/{digest}"
    _write_once(directory, key, content)
    attachment = Attachment(
        grievance_id=grievance_id,
        created_at=clock.now(),
        filename=Path(filename).name[:255] or "attachment",
        storage_key=key,
        sha256=digest,
        size_bytes=len(content),
        mime_type=mime_type,
        uploaded_by_kind=actor.kind,
        uploaded_by_officer_id=actor.officer_id,
    )
    session.add(attachment)
    audit(session, attachment.created_at, actor, "attach_file", grievance, {"sha256": digest, "size": len(content)})
    return attachment


def attachment_path(directory: Path, attachment: Attachment) -> Path:
    return directory / attachment.storage_key
