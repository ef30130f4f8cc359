"""Word search over the case texts: PostgreSQL full-text search, SQLite FTS5.

Officers type a few words, English or Nepali, or a reference. Every word must begin a word
of the summary or the citizen's details; matching by prefix lets "dust" find "dusty" and
"धुलो" find "धुलोले" (Nepali adds its case endings to the word). The texts are indexed with
PostgreSQL's "simple" configuration (no stemming, which would only suit English) under a
GIN index, and with an FTS5 table that triggers keep in step with the grievance table on
SQLite. Migration 0008 builds both; a later SQLite batch migration that rebuilds the
grievance table must create the triggers again.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Integer, false, literal_column, select, text
from sqlalchemy.sql.elements import TextClause

from ticketing.store.case_models import Grievance
from ticketing.values.references import normalise_reference

# The indexed expression, written once: PostgreSQL uses the index only for this exact one.
PG_DOCUMENT = "to_tsvector('simple'::regconfig, coalesce(grievance.summary, '') || ' ' || grievance.details)"
PG_INDEX = "ix_grievance_search"
SQLITE_TABLE = "grievance_text"
# FTS5 keeps its index in shadow tables named after the virtual table.
SQLITE_TABLES = frozenset(
    {SQLITE_TABLE, *(f"{SQLITE_TABLE}_{part}" for part in ("data", "idx", "docsize", "config", "content"))}
)
# Separators between words: spaces, control characters (PostgreSQL's text cannot hold a NUL),
# punctuation and the Devanagari full stops (danda).
_SEPARATORS = re.compile(r"[\s\x00-\x1f\x7f!-/:-@\[-`{-~।॥]+")
MAX_WORDS = 8


def is_search_index(name: str | None) -> bool:
    """Whether a table or index belongs to the search machinery (which the models do not
    describe, so schema comparisons leave it out)."""
    return name == PG_INDEX or name in SQLITE_TABLES


def words(typed: str) -> list[str]:
    return [word for word in _SEPARATORS.split(typed.lower()) if word][:MAX_WORDS]


def matching(dialect: str, typed: str) -> ColumnElement[bool]:
    """The condition on Grievance for what an officer typed in the search box."""
    reference = normalise_reference(typed)
    if reference is not None and typed.strip().upper().startswith("GR"):
        return Grievance.reference == reference
    found = words(typed)
    if not found:
        return false()
    if dialect == "postgresql":
        # Each word quoted as a lexeme (quotes doubled), with :* for a prefix match.
        query = " & ".join("'{}':*".format(word.replace("'", "''")) for word in found)
        return literal_column(PG_DOCUMENT).op("@@")(
            text("to_tsquery('simple', :search_query)").bindparams(search_query=query)
        )
    fts_query = " ".join('"{}"*'.format(word.replace('"', '""')) for word in found)
    rows = (
        select(literal_column("rowid", Integer))
        .select_from(text(SQLITE_TABLE))
        .where(text(f"{SQLITE_TABLE} MATCH :search_query").bindparams(search_query=fts_query))
    )
    return Grievance.id.in_(rows)


def sqlite_drop_statements() -> list[TextClause]:
    """Undo sqlite_statements: before the grievance table is rebuilt, or the index removed."""
    triggers = [text(f"DROP TRIGGER {SQLITE_TABLE}_{trigger}") for trigger in ("insert", "delete", "update")]
    return [*triggers, text(f"DROP TABLE {SQLITE_TABLE}")]


def sqlite_statements() -> list[TextClause]:
    """The FTS5 table over the grievance texts, filled from the rows already there, and the
    triggers that keep it current."""
    columns = "summary, details"
    new_values = "new.summary, new.details"
    old_values = "old.summary, old.details"
    remove = f"INSERT INTO {SQLITE_TABLE} ({SQLITE_TABLE}, rowid, {columns}) VALUES ('delete', old.id, {old_values});"
    add = f"INSERT INTO {SQLITE_TABLE} (rowid, {columns}) VALUES (new.id, {new_values});"
    return [
        text(f"CREATE VIRTUAL TABLE {SQLITE_TABLE} USING fts5({columns}, content='grievance', content_rowid='id')"),
        text(f"INSERT INTO {SQLITE_TABLE} ({SQLITE_TABLE}) VALUES ('rebuild')"),
        text(f"CREATE TRIGGER {SQLITE_TABLE}_insert AFTER INSERT ON grievance BEGIN {add} END"),
        text(f"CREATE TRIGGER {SQLITE_TABLE}_delete AFTER DELETE ON grievance BEGIN {remove} END"),
        # Only the texts: status moves, the common update, leave the index alone.
        text(f"CREATE TRIGGER {SQLITE_TABLE}_update AFTER UPDATE OF {columns} ON grievance BEGIN {remove} {add} END"),
    ]
