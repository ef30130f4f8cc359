"""Public pages: the webchat, bound to a project when opened from its QR code, and the QR codes."""

from __future__ import annotations

import base64
import hmac
import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import segno
import yaml
from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from admin_app import current_clock, current_store
from admin_app.posters import PosterCode, poster_pdf
from bot.deeplinks import messenger_link, whatsapp_link
from ticketing.cases.attachments import MAX_BYTES, FileRefused, stage_upload, too_large
from ticketing.catalog import ProjectInfo, catalog
from ticketing.errors import InvalidInput
from ticketing.store.crypto import keyring
from ticketing.values.languages import DEFAULT_LANGUAGE, LANGUAGES, spoken

public = Blueprint("public", __name__)

# What the chat page says around the conversation, by language (English first: the default).
CHAT_TEXT: dict[str, dict[str, str]] = yaml.safe_load((Path(__file__).parent / "chat_text.yml").read_text("utf-8"))
# The language a visitor chose, kept for their next visit (a preference, not a secret).
LANGUAGE_COOKIE = "grm_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 86400
# Four modules of quiet zone is what the QR standard asks for; readers fail without it.
QR_QUIET_ZONE = 4
# Sharp at 5 cm wide on a 300 dpi print; larger boards should use the SVG, which scales freely.
QR_PRINT_PIXELS = 600
QR_MAX_AGE_SECONDS = 86400
# Only names a browser could have sent as Host end up in the CSP header.
_HOST_NAME = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")
_BASE_POLICY = "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"


@dataclass(frozen=True)
class RasaEndpoint:
    """Where the browser opens its Socket.IO connection to Rasa."""

    origin: str
    socket_path: str

    @property
    def websocket_origin(self) -> str:
        """The same origin with the ws/wss scheme, which CSP lists separately."""
        scheme, _, rest = self.origin.partition("://")
        return ("wss" if scheme == "https" else "ws") + "://" + rest


def find_project(code: str) -> ProjectInfo:
    """The active project with this code in any case; a 404 when there is none."""
    with current_store().sessions() as session:
        try:
            return catalog(session).project(code)
        except InvalidInput:
            abort(404)


def rasa_endpoint() -> RasaEndpoint:
    """GRM_RASA_URL when set, else this request's scheme and host on GRM_RASA_PORT."""
    configured: str | None = current_app.config.get("GRM_RASA_URL")
    if configured:
        parts = urlsplit(configured)
        netloc = parts.netloc.rpartition("@")[2]  # credentials never belong in a page
        return RasaEndpoint(f"{parts.scheme}://{netloc}", parts.path.rstrip("/") + "/socket.io/")
    host = _request_host_name()
    return RasaEndpoint(f"{request.scheme}://{host}:{current_app.config['GRM_RASA_PORT']}", "/socket.io/")


def _request_host_name() -> str:
    host = request.host
    # An IPv6 literal keeps its brackets; its colons are not a port separator.
    name = host[: host.index("]") + 1] if host.startswith("[") and "]" in host else host.partition(":")[0]
    if not _HOST_NAME.fullmatch(name):
        abort(400)
    return name


def chat_policy(rasa: RasaEndpoint) -> str:
    """The chat page's CSP: everything from this server, plus the socket to Rasa."""
    return (
        f"{_BASE_POLICY}; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {rasa.origin} {rasa.websocket_origin}"
    )


def public_chat_url(project_code: str, language: str = "en") -> str:
    """The absolute URL of a project's chat page, as printed in its QR code."""
    base = current_app.config.get("GRM_PUBLIC_URL") or request.url_root
    path = url_for("public.chat", project_code=project_code, lang=None if language == "en" else language)
    path = path[len(request.script_root) :]
    return base.rstrip("/") + path


def project_links(project_code: str, language: str = "en") -> dict[str, str]:
    """Where a project's QR codes lead, by channel, opening the conversation in `language`:
    the webchat always, WhatsApp and Messenger when this installation has them."""
    links = {"chat": public_chat_url(project_code, language)}
    number = current_app.config.get("GRM_WHATSAPP_NUMBER")
    if number:
        links["whatsapp"] = whatsapp_link(number, project_code, language)
    page = current_app.config.get("GRM_MESSENGER_PAGE")
    if page:
        links["messenger"] = messenger_link(page, project_code, language)
    return links


def link_language() -> str:
    """The language a QR code or poster opens the conversation in: ?lang=, else English."""
    asked = request.args.get("lang", "")
    return spoken(asked)


_ANSWER_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,200}")
# The shape of the webchat's sender ids that bot/channels/web.py lets through to Rasa.
_CHAT_SESSION = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SESSION_PURPOSE = "chat-session"
_SESSION_NONCE_CHARS = 22  # 16 random bytes in url-safe base64


def _session_signature(nonce: str) -> str:
    return base64.urlsafe_b64encode(keyring().digest(_SESSION_PURPOSE, nonce)[:16]).decode("ascii").rstrip("=")


def new_chat_session() -> str:
    """A chat session id this site issues: random, and signed, so that files come only into
    conversations opened on the chat page (Rasa takes any id a client names); a script that
    fetches pages for fresh ids still meets its address's allowance."""
    nonce = secrets.token_urlsafe(16)
    return nonce + _session_signature(nonce)


def issued_chat_session(session_id: str) -> bool:
    """Whether a chat session id was issued by new_chat_session."""
    nonce, signature = session_id[:_SESSION_NONCE_CHARS], session_id[_SESSION_NONCE_CHARS:]
    return len(nonce) == _SESSION_NONCE_CHARS and hmac.compare_digest(signature, _session_signature(nonce))


@public.after_request
def _public_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _BASE_POLICY)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def page_language() -> str:
    """The language to show: ?lang=, else the one this browser chose before, else its preference."""
    for asked in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if asked in CHAT_TEXT:
            return asked
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


@public.errorhandler(404)
def _not_found(error: HTTPException) -> tuple[str, int]:
    language = page_language()
    return render_template("public/not_found.html", language=language, text=CHAT_TEXT[language]), 404


@public.get("/")
def index() -> BaseResponse:
    """The public entry point is the chat."""
    return redirect(url_for("public.chat"))


@public.get("/chat", defaults={"project_code": None})
@public.get("/chat/<project_code>")
def chat(project_code: str | None) -> Response:
    """The webchat page, bound to a project when opened from its QR code."""
    project = None if project_code is None else find_project(project_code)
    rasa = rasa_endpoint()
    # The resolution message links here with ?resume=<signed token>, which starts with the
    # case's reference; the bot checks the token and resumes at the resolution question.
    answer = request.args.get("resume", "")
    answer = answer if _ANSWER_TOKEN.fullmatch(answer) else ""
    language = page_language()
    response = Response(
        render_template(
            "public/chat.html",
            project=project,
            rasa=rasa,
            language=language,
            text=CHAT_TEXT[language],
            texts=CHAT_TEXT,
            # Asked for by a link or the page's switch: an ongoing conversation changes language too.
            language_asked=request.args.get("lang") == language,
            answer=answer,
            upload_limit=MAX_BYTES,
            # The conversation this page starts, unless the browser continues an earlier one.
            new_session=new_chat_session(),
        )
    )
    response.headers["Content-Security-Policy"] = chat_policy(rasa)
    # The page carries a session id of its own, and the Rasa URL derived from Host: it is
    # never kept by a cache, nor shared between visitors or hosts.
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Host")
    # The address may hold a resolution link's token: it must not travel as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.args.get("lang") == language:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_SECONDS, samesite="Lax", secure=request.is_secure
        )
    return response


@public.get("/qr/<project_code>.<any(png, svg):kind>", defaults={"channel": "chat"})
@public.get("/qr/<project_code>/<any(chat, whatsapp, messenger):channel>.<any(png, svg):kind>")
def qr_code(project_code: str, kind: str, channel: str) -> Response:
    """A printable QR code that opens the project's chat, or its WhatsApp or Messenger
    conversation (?lang=ne: in Nepali); ?download=1 saves it as a file."""
    project = find_project(project_code)
    url = project_links(project.code, link_language()).get(channel)
    if url is None:
        abort(404)  # this installation has no such channel
    # Level M survives a scratched or dusty board; segno raises it further when that is free.
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    width = int(code.symbol_size(scale=1, border=QR_QUIET_ZONE)[0])
    scale = max(1, round(QR_PRINT_PIXELS / width))
    if kind == "png":
        code.save(buffer, kind="png", scale=scale, border=QR_QUIET_ZONE)
        mimetype = "image/png"
    else:
        # An opaque background: a transparent quiet zone vanishes on a dark board design.
        code.save(buffer, kind="svg", scale=scale, border=QR_QUIET_ZONE, light="#fff", title=f"{project.code}: {url}")
        mimetype = "image/svg+xml"
    response = Response(buffer.getvalue(), mimetype=mimetype)
    response.cache_control.public = True
    response.cache_control.max_age = QR_MAX_AGE_SECONDS
    response.vary.add("Host")
    if request.args.get("download") == "1":
        name = f"grm-{project.code}.{kind}" if channel == "chat" else f"grm-{project.code}-{channel}.{kind}"
        response.headers.set("Content-Disposition", "attachment", filename=name)
    return response


# How each channel's code is captioned on the poster, in English and Nepali.
_POSTER_TITLES = {
    "whatsapp": ("WhatsApp", "ह्वाट्सएप"),
    "messenger": ("Facebook Messenger", "फेसबुक मेसेन्जर"),
    "chat": ("Chat in the browser", "ब्राउजरमा कुराकानी"),
}


@public.get("/poster/<project_code>.pdf")
def poster(project_code: str) -> Response:
    """The project's printable A4 poster with its QR codes and short instructions, in both
    languages; ?lang=ne makes its codes open the conversation in Nepali."""
    project = find_project(project_code)
    links = project_links(project.code, link_language())
    # Under each code what one would type instead: the number for WhatsApp, else the link.
    number = str(current_app.config.get("GRM_WHATSAPP_NUMBER") or "").removeprefix("whatsapp:")
    codes = [
        PosterCode(url, *_POSTER_TITLES[channel], number if channel == "whatsapp" else url)
        for channel in ("whatsapp", "messenger", "chat")
        if (url := links.get(channel))
    ]
    response = Response(poster_pdf(project.name, project.code, codes), mimetype="application/pdf")
    response.cache_control.public = True
    response.cache_control.max_age = QR_MAX_AGE_SECONDS
    response.vary.add("Host")
    response.headers.set("Content-Disposition", "inline", filename=f"grm-poster-{project.code}.pdf")
    return response


def _upload_refused(status: int, reason: str, limit: int | None = None) -> tuple[Response, int]:
    """The refusal in the chat page's language; `reason` names a text of chat_text.yml."""
    try:
        language = request.form.get("language", "")
    except RequestEntityTooLarge:
        language = ""  # the form was too large to read
    text = CHAT_TEXT[language if language in CHAT_TEXT else page_language()]
    return jsonify(error=text[f"upload_{reason}"].format(limit=limit), reason=reason), status


def _from_this_site() -> bool:
    """Whether a browser sent the request from this site's own page (it names the page's origin)."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


@public.post("/chat/upload")
def upload() -> tuple[Response, int]:
    """Receive a file for the grievance a chat is telling; the widget then gives the bot its token.

    The file is bound to the chat's session, which this site issued: only that conversation
    can attach it. Each session and each client address has an allowance of files.
    """
    if not _from_this_site():
        return _upload_refused(403, "origin")
    try:
        conversation = request.form.get("session_id", "")
        sent = request.files.get("file")
    except RequestEntityTooLarge:
        refused = too_large()
        return _upload_refused(413, refused.reason, refused.limit)
    if sent is None or not _CHAT_SESSION.fullmatch(conversation):
        return _upload_refused(400, "missing")
    if not issued_chat_session(conversation):
        return _upload_refused(403, "session")
    content = sent.read(MAX_BYTES + 1)
    store = current_store()
    try:
        with store.sessions.begin() as session:
            kept = stage_upload(
                session,
                current_clock(),
                store.settings.files,
                conversation,
                sent.filename or "",
                content,
                address=request.remote_addr or "unknown",
            )
            answer = {"token": kept.token, "name": kept.filename, "size": kept.size_bytes, "type": kept.mime_type}
    except FileRefused as problem:
        return _upload_refused(422, problem.reason, problem.limit)
    except DBAPIError:
        current_app.logger.exception("the ticket store is unreachable; a chat file was not received")
        return _upload_refused(503, "busy")
    return jsonify(answer), 201
