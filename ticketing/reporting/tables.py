"""Tables as officers take them away: CSV, Excel (XLSX) and PDF.

Reports and case lists are built as a `Document` of `Table`s once; each format writes the
same content. In a spreadsheet every table has a sheet of its own, headed by the document's
title and subtitle; the PDF puts them one after another on landscape A4 pages.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from ticketing.reporting.pdffonts import LATIN, LATIN_BOLD, has_devanagari, markup, register_fonts

# Where a sheet's header row sits: below the title, the subtitle and a blank line.
HEADER_ROW = 4
# A spreadsheet runs a cell that starts with one of these as a formula, and names, details
# and categories come from citizens and officers: such a text gets a leading apostrophe,
# which spreadsheets show as text and never run (CSV or formula injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"

    @property
    def mimetype(self) -> str:
        return {
            Format.CSV: "text/csv; charset=utf-8",
            Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format.PDF: "application/pdf",
        }[self]


@dataclass(frozen=True)
class Table:
    sheet: str  # a spreadsheet's sheet name: 31 characters at most
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    tables: list[Table]


def write(document: Document, form: Format) -> bytes:
    return {Format.CSV: to_csv, Format.XLSX: to_xlsx, Format.PDF: to_pdf}[form](document)


def to_csv(document: Document) -> bytes:
    """One table after another, each under its title, a blank line between them. The byte
    order mark makes Excel read the file as UTF-8 (Nepali names stay readable)."""
    output = io.StringIO()
    writer = csv.writer(output)
    for index, table in enumerate(document.tables):
        if index:
            writer.writerow(())
        if len(document.tables) > 1:
            writer.writerow(_inert((table.title,)))
        writer.writerow(_inert(table.headers))
        writer.writerows(_inert(_plain(row)) for row in table.rows)
    return ("\ufeff" + output.getvalue()).encode("utf-8")


def to_xlsx(document: Document) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for table in document.tables:
        sheet = book.create_sheet(table.sheet[:31])
        sheet.append(_inert((document.title if len(document.tables) == 1 else f"{document.title}: {table.title}",)))
        sheet.append(_inert((document.subtitle,)))
        sheet.append(())
        sheet.append(_inert(table.headers))
        for row in table.rows:
            sheet.append(_inert(_plain(row)))
        for cell in sheet[HEADER_ROW]:
            cell.font = Font(bold=True)
        for index, column in enumerate(sheet.iter_cols(min_row=HEADER_ROW), start=1):
            widest = max(len(str(cell.value or "")) for cell in column)
            sheet.column_dimensions[get_column_letter(index)].width = min(60, max(12, widest + 2))
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def to_pdf(document: Document) -> bytes:
    register_fonts()
    styles = getSampleStyleSheet()
    # Every style in the Latin font, shaped: markup() sets the Devanagari runs in theirs.
    title, subtitle, heading = (
        ParagraphStyle(f"grm-{name}", parent=styles[name], fontName=font, shaping=1)
        for name, font in (("Title", LATIN_BOLD), ("Normal", LATIN), ("Heading2", LATIN_BOLD))
    )
    cell = ParagraphStyle("grm-cell", fontName=LATIN, fontSize=8, leading=10, shaping=1)
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
            ("FONTNAME", (0, 0), (-1, -1), LATIN),
            ("FONTNAME", (0, 0), (-1, 0), LATIN_BOLD),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    story: list[Flowable] = [Paragraph(markup(document.title), title), Paragraph(markup(document.subtitle), subtitle)]
    for table in document.tables:
        rows = [table.headers, *(_printable(row, cell) for row in table.rows)]
        grid_table = PdfTable(rows, repeatRows=1)
        grid_table.setStyle(grid)
        story += [Spacer(1, 12), Paragraph(markup(table.title), heading), grid_table]
    output = io.BytesIO()
    SimpleDocTemplate(output, pagesize=landscape(A4), title=document.title).build(story)
    return output.getvalue()


def _printable(row: tuple[Any, ...], style: ParagraphStyle) -> tuple[Any, ...]:
    """A row for the PDF: a text with Devanagari as a shaped paragraph, anything else as it is
    (a plain cell is drawn much faster, and most are plain)."""
    return tuple(
        Paragraph(markup(cell), style) if isinstance(cell, str) and has_devanagari(cell) else cell
        for cell in _plain(row)
    )


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_plain_cell(cell) for cell in row)


def _plain_cell(cell: Any) -> Any:
    # Enums as their values; numbers stay numbers so spreadsheets can sum them; anything
    # else (an audit row's details, a time with its zone) as text, which every format takes.
    if isinstance(cell, StrEnum):
        return cell.value
    if cell is None:
        return ""
    return cell if isinstance(cell, str | int | float) else str(cell)


def _inert(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row with every text a spreadsheet would run as a formula kept as text."""
    return tuple("'" + cell if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS) else cell for cell in row)
