"""The words the store's columns take: priorities, channels, roles, who acted, why a case
closed, notification states. Plain enums, free of SQLAlchemy."""

from __future__ import annotations

from enum import StrEnum


class ProjectType(StrEnum):
    CONSTRUCTION = "construction"
    OPERATION_MAINTENANCE = "operation_maintenance"
    OTHER = "other"


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    GENDER = "gender"


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
