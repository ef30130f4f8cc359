"""Files a citizen sends while telling a grievance or after filing it, from every channel. A
voice note or a photo (of a handwritten letter) sent when the bot asks what happened is the
description itself, for citizens who cannot write."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.common import (
    CLOCK,
    STORE_UNAVAILABLE,
    has_response,
    in_store,
    language,
    logger,
    numeral,
    phrase,
    store,
    unsealed,
)
from ticketing.cases.attachments import (
    MAX_CITIZEN_FILES,
    FileRefused,
    claim_uploads,
    stage_upload,
    staged_upload,
    too_many_files,
)
from ticketing.cases.media import MediaSource, MediaUnavailable, fetch_media, media_filename, media_sources
from ticketing.errors import InvalidInput, NotFound
from ticketing.store.case_models import Grievance


@functools.cache
def media_sources_here() -> dict[str, MediaSource]:
    """Which channels' files this action server can fetch, by its settings (made on the first file)."""
    return media_sources(store().settings)


def files(tracker: Tracker) -> list[dict[str, str]]:
    """The files sent for the grievance being told, as {token, name, type}."""
    return list(tracker.get_slot("attachments") or [])


# The kinds of file that can stand for the written description, by the label that names them.
DESCRIBING_KINDS = {"audio/": "utter_label_voice_note", "image/": "utter_label_photo"}


def describing_label(tracker: Tracker, sent: dict[str, str]) -> str | None:
    """The label of a file that answers "what happened?" (a voice note or a photo sent while
    that question waits for its answer), or None."""
    if tracker.get_slot("requested_slot") != "details" or tracker.get_slot("details"):
        return None
    kind = sent.get("type", "")
    return next((label for prefix, label in DESCRIBING_KINDS.items() if kind.startswith(prefix)), None)


def as_description(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, kept: list[dict[str, str]]
) -> list[EventType]:
    """When a voice note or photo answers "what happened?", it is the description: the form
    goes on, and the case is filed with a line naming the file, for an officer to listen to
    or read (no AI triage of that line)."""
    for sent in kept:
        label = describing_label(tracker, sent)
        if label is not None:
            kind = phrase(domain, label, language(tracker))
            dispatcher.utter_message(response="utter_file_as_details", kind=kind, name=sent["name"])
            return [SlotSet("details", f"({kind}: {sent['name']})"), SlotSet("details_by_file", True)]
    return []


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
        if kept == before:
            return []
        described = (
            as_description(dispatcher, tracker, domain, kept) if tracker.active_loop_name == "grievance_form" else []
        )
        return [SlotSet("attachments", kept), *described]

    async def _receive(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, media: list[Any]
    ) -> list[str]:
        """Fetch each file from the channel's provider and stage it; say which were refused."""
        source = media_sources_here().get(tracker.get_latest_input_channel() or "")
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
        directory = store().settings.files
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
            name, mime_type = await in_store(lambda session: self._name(session, conversation, token))
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
        sent = {"token": token, "name": name, "type": mime_type}
        # The first voice note or photo that answers "what happened?" is told as the description.
        describes = filing and describing_label(tracker, sent) and not any(describing_label(tracker, f) for f in kept)
        kept = [f for f in kept if f["token"] != token] + [sent]
        if filing and not describes:  # a description is told as such by as_description
            dispatcher.utter_message(
                response="utter_attachment_kept",
                name=name,
                count=numeral(len(kept), language(tracker)),
                limit=numeral(MAX_CITIZEN_FILES, language(tracker)),
            )
        elif not filing:
            dispatcher.utter_message(response="utter_attachment_held", name=name)
        return kept

    @staticmethod
    def _name(session: Session, conversation: str, token: str) -> tuple[str, str]:
        upload = staged_upload(session, CLOCK, conversation, token)
        if upload is None:
            raise NotFound("upload", token)
        return upload.filename, upload.mime_type

    @staticmethod
    def _add(session: Session, conversation: str, token: str, reference: str) -> str:
        grievance = session.scalar(select(Grievance).where(Grievance.reference == reference))
        added = claim_uploads(session, CLOCK, grievance, conversation, [token]) if grievance else []
        if not added:
            raise NotFound("upload", token)
        return added[0].filename
