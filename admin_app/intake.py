"""New grievance: an officer types in a grievance received in person, by phone, by letter or
by e-mail (seed 000 section 1.1, "Web Interface"), through the same filing service as the
chat; the scanned letter goes with it, the citizen's consent and how it came are kept in its
history, and triage (by the scheduler) reads it unless the officer chose the category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import flash, redirect, request, url_for
from flask_admin import BaseView, expose
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response as BaseResponse

from admin_app import current_clock, current_store
from admin_app.auth import Guarded, viewer
from ticketing.cases.attachments import MAX_BYTES, attach_file
from ticketing.cases.filing import Submission, file_grievance
from ticketing.cases.records import Actor
from ticketing.catalog import catalog
from ticketing.errors import GrmError, InvalidInput
from ticketing.permissions import Permission
from ticketing.store.vocabulary import Channel

# How a grievance reaches an officer outside the chat, as the history tells it.
RECEIVED = {
    Channel.IN_PERSON: "in person",
    Channel.PHONE: "by phone",
    Channel.LETTER: "by letter",
    Channel.EMAIL: "by e-mail",
}
CONSENT = "the citizen agreed that these contact details are kept and used for this grievance"


def _number(form: Mapping[str, str], name: str) -> int | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(name, "must be a number")
    return int(value)


def received_by(value: str | None, field: str) -> Channel:
    """The way a grievance reached the officer, by its channel's name; InvalidInput if none."""
    channel = next((c for c in RECEIVED if c.value == value), None)
    if channel is None:
        raise InvalidInput(field, f"say how the grievance was received: one of {', '.join(RECEIVED)}")
    return channel


def filing_note(channel: Channel, consented: bool, contact: Sequence[str | None]) -> str:
    """What the history keeps of how the grievance came, and of the citizen's consent: contact
    details are kept only with it (InvalidInput otherwise)."""
    given = any(contact)
    if given and not consented:
        raise InvalidInput("consent", "note the citizen's consent, or leave their contact details out")
    return f"Received {RECEIVED[channel]}" + (f"; {CONSENT}" if given else "")


def submission_from(form: Mapping[str, str]) -> Submission:
    """The grievance as the officer typed it; InvalidInput, in words an officer reads, if not."""
    channel = received_by(form.get("channel"), "channel")
    contact = [form.get(name, "").strip() for name in ("name", "phone", "email")]
    how = filing_note(channel, form.get("consent") == "yes", contact)
    category = form.get("category_code") or None
    return Submission(
        project_code=form.get("project_code") or None,
        details=form.get("details", ""),
        channel=channel,
        language=form.get("language", "en"),
        name=contact[0] or None,
        phone=contact[1] or None,
        email=contact[2] or None,
        municipality_id=_number(form, "municipality_id"),
        ward=_number(form, "ward"),
        category_code=category,
        category_source="officer" if category else None,
        # Without the officer's category, the scheduler's triage job reads it.
        needs_triage=category is None,
        note=how,
    )


class IntakeView(Guarded, BaseView):  # type: ignore[misc]
    permission = Permission.CREATE

    @expose("/", methods=("GET", "POST"))
    def index(self) -> BaseResponse | str:
        typed: Mapping[str, str] = request.form if request.method == "POST" else {}
        if request.method == "POST":
            try:
                reference, case_id = self._file(typed, request.files.get("letter"))
            except GrmError as error:
                # The page comes back with everything typed, and what to put right.
                flash(f"Not filed: {error}", "error")
            else:
                flash(f"Filed: {reference}. Give the citizen this reference to follow the grievance.", "success")
                return redirect(url_for("grievance.case", case_id=case_id))
        with current_store().sessions() as db:
            config = catalog(db)
        page: str = self.render(
            "backoffice/new_grievance.html",
            typed=typed,
            received=RECEIVED,
            languages={"en": "English", "ne": "Nepali (नेपाली)"},
            projects=sorted((p for p in config.projects.values() if p.active), key=lambda p: p.code),
            categories=config.fileable(),
            # The local levels of the districts where the projects run, for the place.
            districts=[
                (config.gazetteer.district(district), config.gazetteer.municipalities_of(district))
                for district in sorted({p.district_id for p in config.projects.values() if p.active and p.district_id})
            ],
        )
        return page

    @staticmethod
    def _file(form: Mapping[str, str], letter: FileStorage | None) -> tuple[str, int]:
        submission = submission_from(form)
        content = letter.read(MAX_BYTES + 1) if letter and letter.filename else b""
        store = current_store()
        actor = Actor.officer(viewer().id)
        with store.sessions.begin() as db:
            grievance = file_grievance(db, current_clock(), submission, actor)
            if content and letter is not None:
                attach_file(
                    db, current_clock(), store.settings.files, grievance.id, actor, letter.filename or "", content
                )
            return grievance.reference, grievance.id
