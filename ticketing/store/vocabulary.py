"""The words the store's columns take: priorities, channels, roles, who acted, why a case
closed, notification states. Plain enums, free of SQLAlchemy."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class ProjectType(StrEnum):
    CONSTRUCTION = "construction"
    OPERATION_MAINTENANCE = "operation_maintenance"
    OTHER = "other"


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    # The confidential kinds: seen and held only by officers cleared for them, and no
    # message outside the backoffice says what happened.
    GENDER = "gender"  # gender-based violence and harassment
    INTEGRITY = "integrity"  # bribery, fraud, misuse of funds (a bank's integrity office's matter)

    @property
    def confidential(self) -> bool:
        return self in (Priority.GENDER, Priority.INTEGRITY)


class Cleared(Protocol):
    """An officer's clearances, as any of their views (row, catalog entry, viewer) holds them."""

    @property
    def gender_cleared(self) -> bool: ...

    @property
    def integrity_cleared(self) -> bool: ...


def cleared_for(priority: Priority, officer: Cleared) -> bool:
    """Whether the officer may see and hold a case of this priority."""
    if priority is Priority.GENDER:
        return officer.gender_cleared
    if priority is Priority.INTEGRITY:
        return officer.integrity_cleared
    return True


class Channel(StrEnum):
    WEBCHAT = "webchat"
    WHATSAPP = "whatsapp"
    FACEBOOK = "facebook"
    SMS = "sms"
    API = "api"
    BACKOFFICE = "backoffice"
    PHONE = "phone"
    IN_PERSON = "in_person"
    LETTER = "letter"
    EMAIL = "email"


class Role(StrEnum):
    """Backoffice roles of seed 000 section 2; handling officers also carry a level."""

    SUPER_ADMIN = "super_admin"
    PROJECT_ADMIN = "project_admin"
    BANK_VIEWER = "bank_viewer"
    PROJECT_DIRECTOR = "project_director"
    PROJECT_MANAGER = "project_manager"
    CONTRACTOR = "contractor"
    FOCAL_PERSON = "focal_person"


class ActorKind(StrEnum):
    OFFICER = "officer"
    CITIZEN = "citizen"
    SYSTEM = "system"


class CloseReason(StrEnum):
    ACCEPTED = "accepted"
    NO_ANSWER = "no_answer"
    INVALID = "invalid"
    DUPLICATE = "duplicate"


class NoteVisibility(StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Audience(StrEnum):
    OFFICER = "officer"
    CITIZEN = "citizen"
    ADDRESS = "address"
    STAKEHOLDER = "stakeholder"


class NotificationChannel(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    CONSOLE = "console"
