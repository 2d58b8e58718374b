"""The recognition gate's arithmetic: how many of a line's transferred units may count now.

Fulfilment facts carry cumulative counts per line and the engine is target-based, so the gate
only has to choose, per line, which cumulative counts to hand the engine. A line that may be
recognized gets its full counts; a blocked line (under an open hold, or its rule not met) gets
the counts it was last released at, never more than it has now. Releasing later re-applies the
full counts, and the engine posts exactly the difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["recognized", "deferred", "held", "fallback"]
COUNT_FIELDS = ("shipped", "delivered", "accepted", "returned")


@dataclass(frozen=True, slots=True)
class Counts:
    """A line's cumulative fulfilment counts."""

    shipped: int = 0
    delivered: int = 0
    accepted: int = 0
    returned: int = 0

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Counts:
        return cls(**{name: int(values.get(name, 0) or 0) for name in COUNT_FIELDS})

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNT_FIELDS}

    def capped_by(self, other: Counts) -> Counts:
        """Each count no higher than `other`'s: what was released, within what is known now."""
        return Counts(**{n: min(getattr(self, n), getattr(other, n)) for n in COUNT_FIELDS})


ZERO = Counts()


@dataclass(frozen=True, slots=True)
class LineVerdict:
    """What the gate decided for one line: the counts to apply and why."""

    line_id: str
    outcome: Outcome
    counts: Counts
    reason: str


def releasable(
    *,
    line_id: str,
    full: Counts,
    released: Counts | None,
    held_by: tuple[str, ...],
    rule_met: bool,
    fallback: Counts | None,
) -> LineVerdict:
    """The counts one line may be recognized at now.

    `held_by` names the open holds covering the line; `rule_met` says whether its completion
    criterion holds over the facts; `fallback` carries the counts a fallback policy would release
    when the rule is not met (None when no fallback applies). Holds win over everything.
    """
    kept = (released or ZERO).capped_by(full)
    if held_by:
        return LineVerdict(line_id, "held", kept, f"held by {', '.join(held_by)}")
    if rule_met:
        return LineVerdict(line_id, "recognized", full, "completion criterion met")
    if fallback is not None:
        return LineVerdict(line_id, "fallback", fallback, "fallback policy")
    return LineVerdict(line_id, "deferred", kept, "completion criterion not met")


def fallback_counts(full: Counts) -> Counts:
    """The counts a fallback recognition releases: shipped units treated as delivered."""
    return Counts(
        shipped=full.shipped,
        delivered=max(full.delivered, full.shipped),
        accepted=full.accepted,
        returned=full.returned,
    )


RETURNS_BOUND: dict[str, str] = {
    "shipment": "shipped",
    "delivery": "delivered",
    "acceptance": "delivered",
}
"""For each transfer trigger, the count a line's returned units may not exceed for the engine to
take them out of what its obligations transferred."""


def with_returns(counts: Counts, *, full: Counts, triggers: tuple[str, ...]) -> Counts:
    """A blocked line's counts with its returns let through: a hold stops recognition, never a
    reversal, so returned units pass up to what the held counts transferred for every trigger
    on the line (the engine refuses returns of units its obligations never took)."""
    bounds = [getattr(counts, RETURNS_BOUND[t]) for t in triggers if t in RETURNS_BOUND]
    if not bounds:
        return counts
    return Counts(
        shipped=counts.shipped,
        delivered=counts.delivered,
        accepted=counts.accepted,
        returned=max(counts.returned, min(full.returned, *bounds)),
    )
