"""Typed errors of the ticket store; the edges (bot, backoffice, API) map them to messages."""

from __future__ import annotations

from datetime import timedelta


class GrmError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "error"


class ConfigurationError(GrmError):
    """The process was started without something it needs (keys, database)."""

    code = "configuration"


class RetryLater(GrmError):
    """An allowance is spent (failed lookups, codes sent): the caller must wait `retry_after`."""

    code = "retry_later"
    what = "attempts"

    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(f"too many {self.what}; retry in {retry_after}")
        self.retry_after = retry_after


class InvalidInput(GrmError):
    """A value given to a service is missing or malformed; `field` names which one."""

    code = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFound(GrmError):
    """A referenced record does not exist (or must not be revealed to exist)."""

    code = "not_found"

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} not found: {key}")
        self.what = what
        self.key = key


class GrievanceNotFound(NotFound):
    """No grievance matches; deliberately silent about which half of a lookup was wrong."""

    code = "grievance_not_found"

    def __init__(self) -> None:
        super().__init__("grievance", "no grievance matches these details")


class IllegalTransition(GrmError):
    """The lifecycle does not allow this action from the ticket's current state."""

    code = "illegal_transition"

    def __init__(self, status: str, action: str, level: int | None = None) -> None:
        where = f"{status}" if level is None else f"{status} at level {level}"
        super().__init__(f"cannot {action} a grievance that is {where}")
        self.status = status
        self.action = action
        self.level = level


class ConcurrentChange(GrmError):
    """Someone else changed the ticket since the caller looked at it."""

    code = "concurrent_change"

    def __init__(self, reference: str, detail: str) -> None:
        super().__init__(f"{reference} changed meanwhile: {detail}")
        self.reference = reference
        self.detail = detail


class HistoryIsAppendOnly(GrmError):
    """Something tried to change or delete a status change or audit row."""

    code = "history_is_append_only"

    def __init__(self, table: str) -> None:
        super().__init__(f"{table} rows are append-only")
