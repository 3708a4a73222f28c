"""A ticket's service-level clocks, computed from its timeline (a pure module).

Three clocks, each counting business time of the service level's calendar towards
its target:

- **first response**: from the ticket's creation until the first agent article the
  customer can see;
- **update**: after the first response, from the first customer article that no agent
  article (visible to the customer) has answered yet, until one does;
- **solution**: from the creation (or the last reopening of a closed ticket) until
  the ticket is closed.

A clock runs only while the ticket's state is new or open: pending states stop it
(the time they last is not counted), closing ends every clock.  The due time of a
clock is the moment its target is reached if it runs on from now; while the clock
is stopped there is none.  Everything here follows from the timeline alone, so a
recomputation after any change (or a change of the service level) gives the same
answer as one kept up event by event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from helpline.sla.calendar import BusinessCalendar

RUNNING = frozenset({"new", "open"})
PENDING = frozenset({"pending_reminder", "pending_auto"})


class Clock(StrEnum):
    FIRST_RESPONSE = "first_response"
    UPDATE = "update"
    SOLUTION = "solution"


class Contact(StrEnum):
    REPLY = "reply"  # an agent's article the customer can see
    CUSTOMER = "customer"  # the customer's article


@dataclass(frozen=True)
class Targets:
    """Business minutes per clock; None: the service level sets no such target."""

    first_response: int | None = None
    update: int | None = None
    solution: int | None = None

    def of(self, clock: Clock) -> int | None:
        minutes: int | None = getattr(self, clock.value)
        return minutes


@dataclass(frozen=True)
class Timeline:
    """``states``: (moment, state type) in time order, the first one the state the
    ticket was created in; ``contacts``: (moment, kind) in time order."""

    created: datetime
    states: Sequence[tuple[datetime, str]]
    contacts: Sequence[tuple[datetime, Contact]] = ()


@dataclass
class ClockState:
    clock: Clock
    start: datetime  # when this period of the clock started (names it)
    due: datetime | None  # None while stopped
    left: timedelta  # business time left (negative: overdue) at ``due``'s reckoning


@dataclass
class Dues:
    clocks: list[ClockState] = field(default_factory=list)

    def due(self, clock: Clock) -> datetime | None:
        return next((c.due for c in self.clocks if c.clock == clock), None)

    @property
    def escalation(self) -> datetime | None:
        dues = [c.due for c in self.clocks if c.due is not None]
        return min(dues) if dues else None

    @property
    def stopped(self) -> bool:
        return any(c.due is None for c in self.clocks)


def _segments(timeline: Timeline) -> list[tuple[datetime, datetime | None, str]]:
    """(from, until or None for the current one, state type)."""
    states = list(timeline.states) or [(timeline.created, "new")]
    out: list[tuple[datetime, datetime | None, str]] = []
    for index, (moment, state) in enumerate(states):
        until = states[index + 1][0] if index + 1 < len(states) else None
        out.append((moment, until, state))
    return out


def _reopened(timeline: Timeline) -> datetime:
    """When the ticket last left a closed state (else its creation)."""
    start = timeline.created
    previous = ""
    for moment, state in timeline.states:
        if previous and previous not in RUNNING | PENDING and state in RUNNING:
            start = moment
        previous = state
    return start


def _run(
    calendar: BusinessCalendar,
    segments: list[tuple[datetime, datetime | None, str]],
    start: datetime,
    target: timedelta,
) -> tuple[datetime | None, timedelta]:
    """Consume ``target`` of running business time from ``start``: (due, left)."""
    left = target
    for begin, until, state in segments:
        if until is not None and until <= start:
            continue
        begin = max(begin, start)
        if until is None:
            if state in RUNNING:
                return calendar.add(begin, left), left
            return None, left  # stopped now, ``left`` still to go
        if state not in RUNNING:
            continue
        spent = calendar.between(begin, until)
        if left <= spent:
            return calendar.add(begin, left), left
        left -= spent
    return None, left


def _update_start(timeline: Timeline) -> datetime | None:
    replied = False
    waiting: datetime | None = None
    for moment, kind in timeline.contacts:
        if kind == Contact.REPLY:
            replied, waiting = True, None
        elif replied and waiting is None:
            waiting = moment
    return waiting


def compute(calendar: BusinessCalendar, targets: Targets, timeline: Timeline) -> Dues:
    """The clocks of a ticket under these targets."""
    segments = _segments(timeline)
    current = segments[-1][2]
    dues = Dues()
    if current not in RUNNING | PENDING:
        return dues
    first_reply = next(
        (m for m, kind in timeline.contacts if kind == Contact.REPLY), None
    )
    starts: dict[Clock, datetime | None] = {
        Clock.FIRST_RESPONSE: timeline.created if first_reply is None else None,
        Clock.UPDATE: _update_start(timeline),
        Clock.SOLUTION: _reopened(timeline),
    }
    for clock, start in starts.items():
        minutes = targets.of(clock)
        if start is None or minutes is None:
            continue
        due, left = _run(calendar, segments, start, timedelta(minutes=minutes))
        dues.clocks.append(ClockState(clock, start, due, left))
    return dues
