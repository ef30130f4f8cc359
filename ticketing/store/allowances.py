"""Allowances: at most so many events per name within a window (failed lookups and sign-ins,
files sent), counted in the ticket store so that every process and worker sees the same count.

A name is a conversation, a reference or a client's address; only a keyed hash of it is
kept, so no address, phone or reference lies readable in the table.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ticketing.store.case_models import LookupFailure
from ticketing.store.crypto import keyring
from ticketing.store.models import table

# No allowance looks further back; older events are dropped by the scheduler.
ALLOWANCE_MEMORY = timedelta(days=1)


def client_name(address: str) -> str:
    """The name a client's address is counted under: an IPv6 client is usually given a whole
    /64 to hop around in, so the network counts; an IPv4-mapped address is the IPv4 one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{address}"
    if isinstance(ip, ipaddress.IPv6Address):
        return f"address:{ip.ipv4_mapped or ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"address:{ip}"


@dataclass(frozen=True)
class Allowance:
    """At most `limit` events per name within `window`, as rows of the lookup_failure table
    (a keyed hash of the name under `purpose`, and a time)."""

    purpose: str
    limit: int
    window: timedelta

    def __post_init__(self) -> None:
        assert self.window <= ALLOWANCE_MEMORY, "forget_spent_allowances would drop events still counted"

    def _key(self, name: str) -> str:
        return keyring().digest(self.purpose, name).hex()

    def wait(self, session: Session, name: str, now: datetime, weight: int = 1) -> timedelta | None:
        """How long until `weight` more events fit; None when they fit now."""
        recent = select(func.count(), func.min(LookupFailure.at)).where(
            LookupFailure.key_digest == self._key(name), LookupFailure.at > now - self.window
        )
        count, oldest = session.execute(recent).tuples().one()
        if count + weight <= self.limit or oldest is None:
            return None
        return oldest + self.window - now

    def spend(self, session: Session, name: str, now: datetime, weight: int = 1) -> None:
        """Count `weight` events for the name, now."""
        key, events = self._key(name), table(LookupFailure)
        # Rows past the window count for nothing: drop this name's old ones as new ones come.
        session.execute(delete(events).where(events.c.key_digest == key, events.c.at <= now - self.window))
        session.execute(insert(events), [{"key_digest": key, "at": now}] * weight)


def forget_spent_allowances(session: Session, now: datetime) -> int:
    """Drop the events no allowance counts any more (names never seen again leave theirs)."""
    events = table(LookupFailure)
    forgotten: int = session.connection().execute(delete(events).where(events.c.at <= now - ALLOWANCE_MEMORY)).rowcount
    return forgotten
