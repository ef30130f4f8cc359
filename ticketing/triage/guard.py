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
# Words are letters and the Devanagari signs inside them; anything else separates them.
TOKEN = re.compile(r"[\w\u0900-\u097F']+")


@dataclass(frozen=True)
class Lexicon:
    explicit: tuple[re.Pattern[str], ...]
    person: re.Pattern[str]
    act: re.Pattern[str]
    window: int

    @classmethod
    def load(cls, path: Path = LEXICON_FILE) -> Lexicon:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            explicit=tuple(re.compile(pattern) for pattern in data["explicit"]),
            person=re.compile("|".join(f"(?:{p})" for p in data["person"])),
            act=re.compile("|".join(f"(?:{p})" for p in data["act"])),
            window=int(data["window"]),
        )

    def evidence(self, text: str) -> str | None:
        """The words that make `text` a possible GBV case, or None."""
        lowered = text.lower()
        for pattern in self.explicit:
            found = pattern.search(lowered)
            if found:
                return found.group(0)
        tokens = TOKEN.findall(lowered)
        people = [i for i, token in enumerate(tokens) if self.person.match(token)]
        # An act may be two words ("get in"): each word is also tried with the next one.
        pairs = [f"{token} {following}" for token, following in zip(tokens, [*tokens[1:], ""], strict=True)]
        acts = [
            i
            for i, (token, pair) in enumerate(zip(tokens, pairs, strict=True))
            if self.act.match(token) or self.act.match(pair)
        ]
        for i in people:
            for j in acts:
                if i != j and abs(i - j) <= self.window:
                    return f"{tokens[min(i, j)]} … {tokens[max(i, j)]}"
        return None
