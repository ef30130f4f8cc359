"""The officers' moves on a case (acknowledge, assign, escalate, resolve, close, note, and the
corrections of category, priority and place): who may make each, what it calls and what it
says; the backoffice's buttons and the API's endpoint both take them from here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ticketing.cases.corrections import raise_priority, set_category, set_place
from ticketing.cases.moves import (
    acknowledge,
    add_note,
    assign,
    close_invalid,
    escalate,
    record_answer_heard,
    reopen,
    resolve,
)
from ticketing.cases.records import Actor
from ticketing.cases.reviews import decide_invalid, propose_invalid
from ticketing.clock import Clock
from ticketing.errors import InvalidInput
from ticketing.lifecycle import TRANSITIONS, Action
from ticketing.permissions import CLOSE_INVALID_WITH_APPROVAL, Permission
from ticketing.store.case_models import Grievance
from ticketing.store.vocabulary import NoteVisibility, Priority, Role


@dataclass(frozen=True)
class Move:
    """A workflow button: who may press it, what it calls, what it says when done."""

    permission: Permission
    label: str
    done: str
    apply: Callable[[Session, Clock, int, Actor, Mapping[str, str]], object]
    # The text field the move needs (a note, a reason, the resolution), if any.
    text: str | None = None
    # The lifecycle action it performs; None for notes and corrections, which any case takes.
    action: Action | None = None
    # Whether the case as it stands can take the move at all (beyond the lifecycle's table).
    fits: Callable[[Grievance], bool] = lambda case: True
    # Whether the move is offered to an officer of this role (a contractor proposes what
    # others do outright).
    suits: Callable[[Role], bool] = lambda role: True

    def offered(self, case: Grievance, role: Role) -> bool:
        return (
            (self.action is None or (case.status, self.action) in TRANSITIONS) and self.fits(case) and self.suits(role)
        )


def _number(form: Mapping[str, str], field: str, asking: str) -> int:
    value = str(form.get(field, "")).strip()
    if not value.isdigit():
        raise InvalidInput(field, asking)
    return int(value)


def _officer_id(form: Mapping[str, str]) -> int:
    return _number(form, "officer_id", "choose an officer")


def _ward(form: Mapping[str, str]) -> int | None:
    return _number(form, "ward", "the ward is a number") if str(form.get("ward", "")).strip() else None


def _current_level(db: Session, case_id: int) -> int:
    return db.get_one(Grievance, case_id).level


MOVES: dict[str, Move] = {
    "acknowledge": Move(
        Permission.UPDATE_STATUS,
        "Acknowledge",
        "Acknowledged: the case is in progress.",
        lambda db, clock, case_id, actor, form: acknowledge(db, clock, case_id, actor, form.get("text")),
        "Note (optional)",
        Action.ACKNOWLEDGE,
    ),
    "assign": Move(
        Permission.ASSIGN,
        "Assign",
        "Assigned.",
        lambda db, clock, case_id, actor, form: assign(db, clock, case_id, actor, _officer_id(form), form.get("text")),
        "Note (optional)",
        Action.ASSIGN,
    ),
    "escalate": Move(
        Permission.UPDATE_STATUS,
        "Escalate",
        "Escalated to the next level.",
        lambda db, clock, case_id, actor, form: escalate(
            db, clock, case_id, actor, form.get("text", ""), _current_level(db, case_id)
        ),
        "Reason",
        Action.ESCALATE,
    ),
    "resolve": Move(
        Permission.UPDATE_STATUS,
        "Resolve",
        "Resolved: the citizen is asked whether it satisfies them.",
        lambda db, clock, case_id, actor, form: resolve(db, clock, case_id, actor, form.get("text", "")),
        "Resolution (the citizen reads it)",
        Action.RESOLVE,
    ),
    "close_invalid": Move(
        Permission.UPDATE_STATUS,
        "Close as invalid",
        "Closed.",
        lambda db, clock, case_id, actor, form: close_invalid(
            db, clock, case_id, actor, form.get("text", ""), form.get("duplicate_of") or None
        ),
        "Reason (the citizen reads it)",
        Action.CLOSE_INVALID,
        suits=lambda role: role not in CLOSE_INVALID_WITH_APPROVAL,
    ),
    "propose_invalid": Move(
        Permission.UPDATE_STATUS,
        "Propose closing as invalid",
        "Proposed: a level-2 officer approves or rejects it; the case stays open until then.",
        lambda db, clock, case_id, actor, form: propose_invalid(
            db, clock, case_id, actor, form.get("text", ""), form.get("duplicate_of") or None
        ),
        "Reason (the citizen reads it if approved)",
        Action.CLOSE_INVALID,
        fits=lambda case: case.invalid_proposal is None,
        suits=lambda role: role in CLOSE_INVALID_WITH_APPROVAL,
    ),
    "approve_invalid": Move(
        Permission.UPDATE_STATUS,
        "Approve closing as invalid",
        "Approved: the case is closed as invalid.",
        lambda db, clock, case_id, actor, form: decide_invalid(db, clock, case_id, actor, True),
        None,
        Action.CLOSE_INVALID,
        fits=lambda case: case.invalid_proposal is not None,
        suits=lambda role: role not in CLOSE_INVALID_WITH_APPROVAL,
    ),
    "reject_invalid": Move(
        Permission.UPDATE_STATUS,
        "Reject closing as invalid",
        "Rejected: the case goes on.",
        lambda db, clock, case_id, actor, form: decide_invalid(db, clock, case_id, actor, False, form.get("text")),
        "Why the case goes on",
        Action.CLOSE_INVALID,
        fits=lambda case: case.invalid_proposal is not None,
        suits=lambda role: role not in CLOSE_INVALID_WITH_APPROVAL,
    ),
    "note": Move(
        Permission.COMMENT,
        "Add note",
        "Note added.",
        lambda db, clock, case_id, actor, form: add_note(
            db,
            clock,
            case_id,
            actor,
            form.get("text", ""),
            NoteVisibility.PUBLIC if form.get("visibility") == "public" else NoteVisibility.INTERNAL,
        ),
        "Note",
    ),
    "reopen": Move(
        Permission.UPDATE_STATUS,
        "Reopen",
        "Reopened: the case is in progress again at its level.",
        lambda db, clock, case_id, actor, form: reopen(db, clock, case_id, actor, form.get("text", "")),
        "Why it is reopened",
        Action.REOPEN,
    ),
    "citizen_answer": Move(
        Permission.RECORD_ANSWER,
        "Record the citizen's answer",
        "The citizen's answer is recorded.",
        lambda db, clock, case_id, actor, form: record_answer_heard(
            db, clock, case_id, actor, form.get("answer") == "accepted", form.get("way", ""), form.get("text")
        ),
        "What the citizen said (needed for a refusal)",
        Action.ACCEPT,
    ),
    "recategorise": Move(
        Permission.CORRECT,
        "Change the category",
        "Category changed: triage learns from it.",
        lambda db, clock, case_id, actor, form: set_category(db, clock, case_id, actor, form.get("category", "")),
    ),
    "raise_priority": Move(
        Permission.CORRECT,
        "Raise the priority",
        "Priority raised.",
        lambda db, clock, case_id, actor, form: raise_priority(db, clock, case_id, actor, form.get("priority", "")),
        fits=lambda case: case.priority is Priority.NORMAL,
    ),
    "relocate": Move(
        Permission.CORRECT,
        "Correct the place",
        "Place corrected.",
        lambda db, clock, case_id, actor, form: set_place(
            db, clock, case_id, actor, _number(form, "municipality_id", "choose a municipality"), _ward(form)
        ),
    ),
}
