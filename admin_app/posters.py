"""A project's printable A4 poster: its QR codes (webchat, WhatsApp, Messenger) and how to use them,
in English and Nepali, for the site board and the ward office."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from ticketing.reporting.pdffonts import DEVANAGARI, DEVANAGARI_BOLD, LATIN, LATIN_BOLD, register_fonts

MARGIN = 1.8 * cm
# A code this wide reads from about a metre away with a phone's camera.
QR_SIZE = 5.2 * cm
BAND = colors.HexColor("#0b5563")


@dataclass(frozen=True)
class PosterCode:
    """One QR code on the poster: what it opens, and its caption in both languages."""

    url: str
    title: str
    title_ne: str
    detail: str  # printed under it, for those who would rather type


STEPS = (
    ("Scan a code with your phone's camera.", "आफ्नो फोनको क्यामेराले कोड स्क्यान गर्नुहोस्।"),
    ("Tell the assistant what happened. It takes about five minutes.", "के भयो सहायकलाई बताउनुहोस्। करिब पाँच मिनेट लाग्छ।"),
    (
        "Keep the reference you are given: with it you can follow your grievance.",
        "दिइएको सन्दर्भ नम्बर राख्नुहोस्: यसैबाट आफ्नो गुनासो कहाँ पुग्यो थाहा पाउन सक्नुहुन्छ।",
    ),
)
FOOTER = (
    "Free of charge and confidential. Harassment or violence can be reported without a name.",
    "निःशुल्क। तपाईंको विवरण गोप्य राखिन्छ। उत्पीडन वा हिंसाको गुनासो नाम नदिई पनि गर्न सकिन्छ।",
)


def _style(font: str, size: float, colour: colors.Color = colors.black, centred: bool = False) -> ParagraphStyle:
    return ParagraphStyle(
        font,
        fontName=font,
        fontSize=size,
        leading=size * 1.35,
        textColor=colour,
        alignment=TA_CENTER if centred else 0,
        shaping=1,
    )


def _write(canvas: Canvas, text: str, style: ParagraphStyle, x: float, top: float, width: float) -> float:
    """Draw a paragraph whose top is at `top`; returns where the next one starts."""
    paragraph = Paragraph(text, style)
    _, height = paragraph.wrapOn(canvas, width, A4[1])
    paragraph.drawOn(canvas, x, top - height)
    return float(top - height)


def _draw_qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """The code as vector squares, so it prints sharp at any size."""
    code = segno.make(url, error="m", micro=False)
    rows = [list(row) for row in code.matrix]
    quiet = 2  # modules of white around it, inside the drawn square
    module = size / (len(rows) + 2 * quiet)
    canvas.setFillColor(colors.white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                left = x + (c + quiet) * module
                bottom = y + size - (r + quiet + 1) * module
                canvas.rect(left, bottom, module, module, stroke=0, fill=1)


def poster_pdf(project_name: str, project_code: str, codes: Sequence[PosterCode]) -> bytes:
    """The A4 poster of one project, as PDF bytes."""
    register_fonts()
    buffer = io.BytesIO()
    width, height = A4
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"Grievances: {project_name} ({project_code})")
    canvas.setAuthor("Grievance Redress Mechanism")
    text_width = width - 2 * MARGIN

    canvas.setFillColor(BAND)
    canvas.rect(0, height - 3.2 * cm, width, 3.2 * cm, stroke=0, fill=1)
    top = height - 0.8 * cm
    top = _write(
        canvas, "Grievance Redress Mechanism", _style(LATIN_BOLD, 20, colors.white, True), MARGIN, top, text_width
    )
    _write(canvas, "गुनासो सुनुवाइ संयन्त्र", _style(DEVANAGARI_BOLD, 18, colors.white, True), MARGIN, top, text_width)

    top = height - 4.2 * cm
    top = _write(canvas, project_name, _style(LATIN_BOLD, 22, BAND, True), MARGIN, top, text_width)
    top = _write(canvas, f"Project code: {project_code}", _style(LATIN, 12, colors.grey, True), MARGIN, top, text_width)
    top -= 0.5 * cm
    headline = "Has this project caused you a problem? Tell us."
    top = _write(canvas, headline, _style(LATIN_BOLD, 18, centred=True), MARGIN, top, text_width)
    top = _write(
        canvas,
        "यो आयोजनाले तपाईंलाई कुनै समस्या पारेको छ? हामीलाई भन्नुहोस्।",
        _style(DEVANAGARI_BOLD, 17, centred=True),
        MARGIN,
        top,
        text_width,
    )

    top -= 0.8 * cm
    column = text_width / max(1, len(codes))
    for index, code in enumerate(codes):
        left = MARGIN + index * column
        _draw_qr(canvas, code.url, left + (column - QR_SIZE) / 2, top - QR_SIZE, QR_SIZE)
        below = _write(canvas, code.title, _style(LATIN_BOLD, 14, centred=True), left, top - QR_SIZE - 0.2 * cm, column)
        below = _write(canvas, code.title_ne, _style(DEVANAGARI, 13, centred=True), left, below, column)
        _write(canvas, code.detail, _style(LATIN, 8.5, colors.grey, True), left, below, column)
    top -= QR_SIZE + 3.4 * cm

    for number, (english, nepali) in enumerate(STEPS, start=1):
        top = _write(canvas, f"{number}. {english}", _style(LATIN, 13), MARGIN, top, text_width)
        top = _write(canvas, nepali, _style(DEVANAGARI, 12.5), MARGIN + 0.6 * cm, top, text_width) - 0.25 * cm

    canvas.setStrokeColor(BAND)
    canvas.line(MARGIN, 3.4 * cm, width - MARGIN, 3.4 * cm)
    bottom = _write(canvas, FOOTER[0], _style(LATIN, 10, centred=True), MARGIN, 3.2 * cm, text_width)
    _write(canvas, FOOTER[1], _style(DEVANAGARI, 10, centred=True), MARGIN, bottom, text_width)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
