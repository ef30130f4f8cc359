"""Moments as people in Nepal read them: Nepal time; for Nepali readers the Bikram Sambat date
in Devanagari digits, with the Gregorian one beside it (letters and officers use both)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import nepali_datetime

from ticketing.values.numerals import devanagari_digits

NEPAL = ZoneInfo("Asia/Kathmandu")
_NO_DATE = {"en": "no fixed date", "ne": "तोकिएको मिति छैन"}


def officer_time(moment: datetime | None) -> str:
    """A moment as officers read it in lists and reports: Nepal time, to the minute."""
    return "" if moment is None else moment.astimezone(NEPAL).strftime("%Y-%m-%d %H:%M")


def citizen_time(moment: datetime | None, language: str) -> str:
    """A moment in a message to a citizen, in their language; "no fixed date" for an open end."""
    if moment is None:
        return _NO_DATE.get(language, _NO_DATE["en"])
    local = moment.astimezone(NEPAL)
    if language != "ne":
        return local.strftime("%d %b %Y %H:%M (Nepal time)")
    # The library converts an aware moment to Nepal time itself (a naive one it takes as UTC).
    bikram_sambat = nepali_datetime.datetime.from_datetime_datetime(local)
    # e.g. "२०८३ मंसिर १७, २०:२७ (3 Dec 2026)": year, month and day as a Nepali calendar reads.
    month: str = bikram_sambat.strftime("%K %N")
    clock: str = bikram_sambat.strftime("%h:%l")
    return f"{month} {devanagari_digits(bikram_sambat.day)}, {clock}{local.strftime(' (%-d %b %Y)')}"
