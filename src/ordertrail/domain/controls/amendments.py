"""Contract amendments above a tenant's impact threshold wait for a second person's approval.

The impact of an amendment is how far it moves the contract's order value (the sum of the
lines' quantity times unit price): in absolute minor units, and in basis points of the value
before it. Either bound, when set, parks the amendment when met or exceeded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

BP = 10_000


class InvalidThreshold(Exception):
    pass


@dataclass(frozen=True, slots=True)
class AmendmentThreshold:
    """Per currency: park amendments moving the order value by at least `absolute_minor`, or by
    at least `percent_bp` basis points of it (None: that bound is off)."""

    currency: str
    absolute_minor: int | None = None
    percent_bp: int | None = None

    def __post_init__(self) -> None:
        if self.absolute_minor is None and self.percent_bp is None:
            raise InvalidThreshold("set absolute_minor, percent_bp or both")
        if self.absolute_minor is not None and self.absolute_minor < 0:
            raise InvalidThreshold("absolute_minor must not be negative")
        if self.percent_bp is not None and not 0 <= self.percent_bp <= 100 * BP:
            raise InvalidThreshold("percent_bp must be from 0 to 1,000,000 (100 x 100%)")

    def exceeded_by(self, *, impact_minor: int, before_minor: int) -> bool:
        if self.absolute_minor is not None and impact_minor >= self.absolute_minor:
            return True
        if self.percent_bp is None:
            return False
        # impact / before >= percent_bp / BP, in integers; any change to a zero-value order counts.
        return (
            impact_minor * BP >= self.percent_bp * before_minor
            if before_minor
            else impact_minor > 0
        )


def order_value(lines: Iterable[tuple[int, int]]) -> int:
    """The sum of quantity x unit price over (quantity, unit price) pairs, in minor units."""
    return sum(quantity * price for quantity, price in lines)
