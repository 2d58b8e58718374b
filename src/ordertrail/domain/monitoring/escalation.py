"""Escalation paths: who hears about an unacknowledged alert, and after how long.

A path is a short list of levels, each with a delay from the alert's opening and a target role
(an on-call role such as ops or finance, not an API role). An alert reaches a level once its delay
has passed while nobody acknowledged it; acknowledging stops the climb. A tenant's own path
replaces the default path as a whole, because levels only make sense together.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

LEVELS_MAX = 10
DELAY_MINUTES_MAX = 30 * 24 * 60
RECIPIENTS_MAX = 20
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# Deliberately loose: the SMTP server is the authority on addresses; this catches typos only.
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class InvalidEscalation(ValueError):
    """An escalation path that cannot be followed: gaps, delays going back, bad targets."""


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    """Notify `target_role` (and its `email_to` addresses) `delay_minutes` after an alert opened."""

    level: int
    delay_minutes: int
    target_role: str
    email_to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.level <= LEVELS_MAX:
            raise InvalidEscalation(f"level must be between 1 and {LEVELS_MAX}")
        if not 0 <= self.delay_minutes <= DELAY_MINUTES_MAX:
            raise InvalidEscalation(f"delay_minutes must be between 0 and {DELAY_MINUTES_MAX}")
        if not ROLE_PATTERN.match(self.target_role):
            raise InvalidEscalation(
                f"target_role {self.target_role!r} must be lower-case letters, digits, - or _"
            )
        if len(self.email_to) > RECIPIENTS_MAX:
            raise InvalidEscalation(f"at most {RECIPIENTS_MAX} email recipients per level")
        for address in self.email_to:
            if not EMAIL_PATTERN.match(address):
                raise InvalidEscalation(f"{address!r} is not an email address")


DEFAULT_PATH: tuple[EscalationLevel, ...] = (
    EscalationLevel(level=1, delay_minutes=0, target_role="ops"),
    EscalationLevel(level=2, delay_minutes=4 * 60, target_role="ops-lead"),
    EscalationLevel(level=3, delay_minutes=24 * 60, target_role="finance"),
)


def check_path(levels: Sequence[EscalationLevel]) -> tuple[EscalationLevel, ...]:
    """Return the path ordered by level if it can be followed; raise InvalidEscalation if not.

    Levels are numbered 1..n without gaps and their delays never go back: a later level reached
    earlier than the one before it would page the finance team before the operators.
    """
    path = tuple(sorted(levels, key=lambda item: item.level))
    if not path:
        raise InvalidEscalation("an escalation path needs at least one level")
    if [item.level for item in path] != list(range(1, len(path) + 1)):
        raise InvalidEscalation("levels must be numbered 1, 2, 3, ... without gaps or repeats")
    for earlier, later in itertools.pairwise(path):
        if later.delay_minutes < earlier.delay_minutes:
            raise InvalidEscalation(
                f"level {later.level} comes {later.delay_minutes} min after opening, before "
                f"level {earlier.level} ({earlier.delay_minutes} min)"
            )
    return path


def due_level(*, path: Sequence[EscalationLevel], opened_at: datetime, now: datetime) -> int:
    """Return the highest level whose delay has passed since `opened_at` (0 when none has)."""
    reached = [
        item.level for item in path if opened_at + timedelta(minutes=item.delay_minutes) <= now
    ]
    return max(reached, default=0)
