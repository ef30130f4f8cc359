"""Digits as Nepali is written (०-९) and as the store keeps them (0-9)."""

from __future__ import annotations

_DEVANAGARI = "०१२३४५६७८९"
_WESTERN = "0123456789"
_TO_WESTERN = str.maketrans(_DEVANAGARI, _WESTERN)
_TO_DEVANAGARI = str.maketrans(_WESTERN, _DEVANAGARI)


def western_digits(text: str) -> str:
    """The text with any Devanagari digit written 0-9 (what a Nepali keyboard types, as stored)."""
    return text.translate(_TO_WESTERN)


def devanagari_digits(text: object) -> str:
    """A number, or any text, with its digits written as Nepali readers write them."""
    return str(text).translate(_TO_DEVANAGARI)
