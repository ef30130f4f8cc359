"""REST API `/api/v1`: officers and integrations with a bearer token (issued on My account),
and the citizens' status lookup by reference and phone (throttled like the chatbot's; a
POST, since query strings end up in logs and browser histories).

Every answer is JSON; every error has one shape: {"error": {"code", "message", "field"}}.
Case queries go through `ticketing.permissions.visible`, moves through the same table of
moves as the backoffice, so the API can do nothing an officer's screen could not.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from admin_app import current_clock, current_store
from admin_app.intake import filing_note, received_by
from admin_app.moves import MOVES
from ticketing.accounts import officer_for_token
from ticketing.cases.filing import Submission, file_grievance
from ticketing.cases.records import Actor
from ticketing.cases.search import matching
from ticketing.catalog import catalog
from ticketing.citizen import TooManyAttempts, look_up
from ticketing.errors import GrmError, InvalidInput, NotFound
from ticketing.lifecycle import Status
from ticketing.permissions import Permission, Viewer, visible
from ticketing.store.case_models import Grievance
from ticketing.store.vocabulary import Channel
from ticketing.values.references import normalise_reference

api = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PAGE = 200
# Far beyond any list, and within what a database takes as an offset.
MAX_PAGE_NUMBER = 1_000_000
# What a filing may carry, by JSON type; the OpenAPI document is written from it too.
FILING_FIELDS: dict[str, type] = {
    "project_code": str,
    "details": str,
    "language": str,
    "name": str,
    "phone": str,
    "email": str,
    "address": str,
    "province_id": int,
    "district_id": int,
    "municipality_id": int,
    "ward": int,
    "category_code": str,
    "summary": str,
    "idempotency_key": str,
    # An officer typing in a grievance received in person, by phone, by letter or by e-mail
    # says which (a channel's name), and that the citizen agreed to their details being kept.
    "received": str,
    "consent": bool,
}
FILING_REQUIRED = ("details",)  # without project_code, the case is routed by its place
MOVE_FIELDS: dict[str, type] = {
    "text": str,
    "officer_id": int,
    "duplicate_of": str,
    "visibility": str,
    "category": str,
    "priority": str,
    "municipality_id": int,
    "ward": int,
    "answer": str,
    "way": str,
}


def _error(status: int, code: str, message: str, field: str | None = None) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message, "field": field}}), status


@api.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[Response, int]:
    return _error(error.code or 500, (error.name or "error").lower().replace(" ", "_"), error.description or "")


@api.app_errorhandler(404)
@api.app_errorhandler(405)
def _no_such_route(error: HTTPException) -> HTTPException | tuple[Response, int]:
    # Errors in routing happen before any blueprint is chosen: the API's own are JSON too.
    if request.path.startswith(f"{api.url_prefix}/"):
        return _http_error(error)
    return error


@api.errorhandler(GrmError)
def _domain_error(error: GrmError) -> tuple[Response, int]:
    if isinstance(error, TooManyAttempts):
        response, status = _error(429, error.code, str(error))
        response.headers["Retry-After"] = str(int(error.retry_after.total_seconds()))
        return response, status
    if isinstance(error, NotFound):
        return _error(404, error.code, str(error))
    field = error.field if isinstance(error, InvalidInput) else None
    message = error.message if isinstance(error, InvalidInput) else str(error)
    return _error(409 if error.code in ("illegal_transition", "concurrent_change") else 422, error.code, message, field)


def _caller(permission: Permission) -> Viewer:
    """The officer the bearer token acts as; 401 without a valid token, 403 without the permission."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        abort(401, "send Authorization: Bearer <token> (issued on My account in the backoffice)")
    with current_store().sessions.begin() as db:
        officer = officer_for_token(db, current_clock(), header.removeprefix("Bearer "))
        if officer is None:
            abort(401, "this token is not valid")
        viewer = Viewer.of(officer)
    if not viewer.can(permission):
        abort(403, f"your role may not {permission.value.replace('_', ' ')}")
    return viewer


def _json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("body", "send a JSON object")
    return body


def _fields(body: dict[str, Any], expected: dict[str, type]) -> dict[str, Any]:
    """The body's fields that are not null, each of the JSON type the document gives it."""
    unknown = set(body) - set(expected)
    if unknown:
        raise InvalidInput(min(unknown), "unknown field")
    for name, value in body.items():
        # JSON's true and false are not numbers, whatever Python's bool says.
        if value is not None and (
            isinstance(value, bool) is not (expected[name] is bool) or not isinstance(value, expected[name])
        ):
            raise InvalidInput(name, _JSON_TYPES[expected[name]])
    return {name: value for name, value in body.items() if value is not None}


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidInput(name, "is required, as a string")
    return value


def _ticket(db: Session, grievance: Grievance, full: bool) -> dict[str, Any]:
    config = catalog(db)
    ticket: dict[str, Any] = {
        "reference": grievance.reference,
        "project": None if grievance.project_id is None else config.project_code(grievance.project_id),
        "status": grievance.status.value,
        "level": grievance.level,
        "priority": grievance.priority.value,
        "category": config.categories[grievance.category_id].code if grievance.category_id else None,
        "assignee_id": grievance.assignee_id,
        "due_at": grievance.due_at.isoformat() if grievance.due_at else None,
        "created_at": grievance.created_at.isoformat(),
        "summary": grievance.summary,
    }
    if full:
        ticket |= {
            "details": grievance.details,
            "resolution": grievance.resolution,
            "channel": grievance.channel.value,
            # Not proven the citizen's: the number gets no SMS and may be mistyped.
            "phone_verified": grievance.phone_verified,
            "place": {
                "ward": grievance.ward,
                "locality": grievance.locality,
                "municipality_id": grievance.municipality_id,
                "district_id": grievance.district_id,
                "province_id": grievance.province_id,
                # Finest first: municipality, district, province.
                "names": config.place_names(grievance.municipality_id, grievance.district_id, grievance.province_id),
            },
        }
    return ticket


def _visible_case(db: Session, reference: str, viewer: Viewer) -> Grievance:
    canonical = normalise_reference(reference)
    grievance = None
    if canonical is not None:
        grievance = db.scalar(select(Grievance).where(Grievance.reference == canonical, visible(viewer)))
    if grievance is None:
        raise NotFound("grievance", reference)
    return grievance


@api.get("/tickets")
def list_tickets() -> Response:
    viewer = _caller(Permission.VIEW)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    if page > MAX_PAGE_NUMBER:
        raise InvalidInput("page", f"from 1 to {MAX_PAGE_NUMBER}")
    per_page = min(max(request.args.get("per_page", 50, type=int) or 50, 1), MAX_PAGE)
    conditions = [visible(viewer)]
    if status := request.args.get("status"):
        if status not in {s.value for s in Status}:
            raise InvalidInput("status", f"one of {', '.join(s.value for s in Status)}")
        conditions.append(Grievance.status == Status(status))
    with current_store().sessions() as db:
        if code := request.args.get("project"):
            conditions.append(Grievance.project_id == catalog(db).project(code).id)
        if words := request.args.get("q"):
            conditions.append(matching(db.get_bind().dialect.name, words))
        total = db.scalar(select(func.count()).select_from(Grievance).where(*conditions)) or 0
        rows = db.scalars(
            select(Grievance)
            .where(*conditions)
            .order_by(Grievance.created_at.desc(), Grievance.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        items = [_ticket(db, row, full=False) for row in rows]
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total})


@api.get("/tickets/<reference>")
def get_ticket(reference: str) -> Response:
    viewer = _caller(Permission.VIEW)
    with current_store().sessions() as db:
        return jsonify(_ticket(db, _visible_case(db, reference, viewer), full=True))


@api.post("/tickets/<reference>/<move_name>")
def move_ticket(reference: str, move_name: str) -> Response:
    """One of MOVES, with the fields it needs ({"text": ...}, {"category": ...})."""
    move = MOVES.get(move_name)
    if move is None:
        abort(404, f"no move {move_name!r}; moves: {', '.join(MOVES)}")
    viewer = _caller(move.permission)
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise InvalidInput("body", "send a JSON object")
    form = {key: str(value) for key, value in _fields(body, MOVE_FIELDS).items()}
    with current_store().sessions.begin() as db:
        grievance = _visible_case(db, reference, viewer)
        move.apply(db, current_clock(), grievance.id, Actor.officer(viewer.id), form)
        # The case as the move left it, even if it has now left the caller's sight (an
        # escalation hands it to the next level): the caller saw it when they moved it.
        moved = _ticket(db, grievance, full=False)
    return jsonify(moved)


@api.post("/grievances")
def create_grievance() -> tuple[Response, int]:
    """A grievance told in person, by phone or by another system, filed for the citizen."""
    viewer = _caller(Permission.CREATE)
    fields = _fields(_json_object(), FILING_FIELDS)
    for name in FILING_REQUIRED:
        fields.setdefault(name, "")  # the services say what is missing, in their words
    fields.setdefault("project_code", None)
    if "category_code" in fields:
        fields["category_source"] = "officer"
    channel, consented = Channel.API, fields.pop("consent", False)
    if "received" in fields:  # as the backoffice's New grievance: the way it came, the consent
        channel = received_by(fields.pop("received"), "received")
        fields["note"] = filing_note(channel, consented, [fields.get(n) for n in ("name", "phone", "email")])
    with current_store().sessions.begin() as db:
        grievance = file_grievance(db, current_clock(), Submission(channel=channel, **fields), Actor.officer(viewer.id))
        created = _ticket(db, grievance, full=True)
    return jsonify(created), 201


@api.post("/status")
def status() -> Response:
    """A citizen's own case by reference and phone; failures are counted per address and reference."""
    body = _json_object()
    reference, phone = _text(body, "reference"), _text(body, "phone")
    # The unit of work commits a failed lookup too: that is what throttles guessing.
    with current_store().sessions.begin() as db:
        found = look_up(db, current_clock(), reference, phone, f"api:{request.remote_addr}")
    if found is None:
        raise NotFound("grievance", "no grievance matches this reference and phone")
    return jsonify(
        {
            "reference": found.reference,
            "project": found.project_code,
            "status": found.status.value,
            "level": found.level,
            "updated_at": found.updated_at.isoformat(),
            "due_at": found.due_at.isoformat() if found.due_at else None,
            "resolution": found.resolution,
        }
    )


def _operation(summary: str, auth: bool = True, **extra: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {"description": "OK"},
            "default": {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
        **extra,
    }
    if auth:
        operation["security"] = [{"bearer": []}]
    return operation


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": "string"}}


def _json_body(properties: dict[str, Any], required: tuple[str, ...] = (), closed: bool = True) -> dict[str, Any]:
    """A request body of one JSON object with these properties (and, `closed`, no others);
    the body itself is required when some property is."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


_JSON_TYPES = {int: "must be a whole number", str: "must be a string", bool: "must be true or false"}


def _json_type(kind: type) -> dict[str, str]:
    return {"type": {int: "integer", bool: "boolean"}.get(kind, "string")}


REFERENCE = {"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "GRM API", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": ["string", "null"]},
                        },
                    }
                },
            }
        },
    },
    "paths": {
        "/api/v1/tickets": {
            "get": _operation(
                "Tickets the caller may see, newest first",
                parameters=[
                    _query("status", "new, in_progress, escalated, resolved or closed"),
                    _query("project", "project code"),
                    _query("q", "words of the summary or details (each a word's beginning), or a reference"),
                    _query("page", "from 1"),
                    _query("per_page", f"1 to {MAX_PAGE}"),
                ],
            )
        },
        "/api/v1/tickets/{reference}": {"get": _operation("One ticket", parameters=[REFERENCE])},
        "/api/v1/tickets/{reference}/{move}": {
            "post": _operation(
                "A workflow move: " + ", ".join(MOVES),
                parameters=[
                    REFERENCE,
                    {"name": "move", "in": "path", "required": True, "schema": {"enum": list(MOVES)}},
                ],
                requestBody=_json_body(
                    {
                        "text": {"type": "string", "description": "note, reason or resolution"},
                        "officer_id": {"type": "integer"},
                        "duplicate_of": {"type": "string"},
                        "visibility": {"enum": ["internal", "public"]},
                        "category": {"type": "string", "description": "a category code (recategorise)"},
                        "priority": {"enum": ["normal", "high"], "description": "raise_priority"},
                        "municipality_id": {"type": "integer", "description": "relocate"},
                        "ward": {"type": "integer", "description": "relocate (optional)"},
                        "answer": {"enum": ["accepted", "refused"], "description": "citizen_answer"},
                        "way": {"enum": ["in person", "by phone", "by letter"], "description": "citizen_answer"},
                    }
                ),
            )
        },
        "/api/v1/grievances": {
            "post": _operation(
                "File a grievance for a citizen (web interface / API source)",
                requestBody=_json_body(
                    {name: _json_type(kind) for name, kind in FILING_FIELDS.items()}, tuple(FILING_REQUIRED)
                ),
            )
        },
        "/api/v1/status": {
            "post": _operation(
                "A citizen's own grievance by reference and phone (failed lookups are throttled)",
                auth=False,
                requestBody=_json_body(
                    {
                        "reference": {"type": "string", "description": "GR-XXXX-XXXX"},
                        "phone": {"type": "string", "description": "the phone given when filing"},
                    },
                    ("reference", "phone"),
                    closed=False,
                ),
            )
        },
    },
}


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(OPENAPI)
