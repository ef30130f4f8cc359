"""The gender-based violence and harassment guard: a lexicon that catches what the model may miss.

Recall comes first. A case the guard flags is filed in a gender category with Gender
priority, so that it reaches a gender-cleared officer at once; one flagged wrongly costs
that officer a minute to re-file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ticketing.config import PROJECT_ROOT

LEXICON_FILE = PROJECT_ROOT / "data" / "triage" / "gbv_lexicon.json"
# Words are letters and the Devanagari signs inside them; anything else (the danda too) separates them.
TOKEN = re.compile(r"[\w\u0900-\u0963\u0966-\u097F']+")


@dataclass(frozen=True)
class Evidence:
    """The words that make a text a possible GBV case; circumstantial words alone are weak."""

    words: str
    strong: bool


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


@dataclass(frozen=True)
class Lexicon:
    explicit: tuple[re.Pattern[str], ...]
    person: re.Pattern[str]
    act: re.Pattern[str]
    circumstance: re.Pattern[str]
    window: int

    @classmethod
    def load(cls, path: Path = LEXICON_FILE) -> Lexicon:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            explicit=tuple(re.compile(pattern) for pattern in data["explicit"]),
            person=_any(data["person"]),
            act=_any(data["act"]),
            circumstance=_any(data["circumstance"]),
            window=int(data["window"]),
        )

    def evidence(self, text: str) -> Evidence | None:
        """What makes `text` a possible GBV case (an act before a circumstance), or None."""
        lowered = text.lower()
        for pattern in self.explicit:
            found = pattern.search(lowered)
            if found:
                return Evidence(found.group(0), strong=True)
        tokens = TOKEN.findall(lowered)
        people = [i for i, token in enumerate(tokens) if self.person.match(token)]
        # An act may be two words ("get in"): each word is also tried with the next one.
        pairs = [f"{token} {following}" for token, following in zip(tokens, [*tokens[1:], ""], strict=True)]
        for words, strong in ((self.act, True), (self.circumstance, False)):
            marked = [
                i
                for i, (token, pair) in enumerate(zip(tokens, pairs, strict=True))
                if words.match(token) or words.match(pair)
            ]
            for i in people:
                for j in marked:
                    if i != j and abs(i - j) <= self.window:
                        return Evidence(f"{tokens[min(i, j)]} … {tokens[max(i, j)]}", strong)
        return None
