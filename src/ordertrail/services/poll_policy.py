"""How often to poll a tracker, and how long to back off after a failure: policy as data.

A parcel out for delivery changes within the hour; one waiting for pickup may sit for days; a
delivered one never changes again. Polling each at the same interval either wastes the carrier's
quota on parcels that cannot change or misses the deliveries that release revenue. So statuses
fall into a few tiers, each with its own interval, and terminal statuses are never polled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from ordertrail.domain.shipments.status import TERMINAL_STATUSES, ShipmentStatus

# Tier names, most urgent first. `done` is never polled.
URGENT, MOVING, WAITING, DONE = "urgent", "moving", "waiting", "done"
TIERS = (URGENT, MOVING, WAITING)

# Status -> tier. A status missing here (a new one) is polled as `moving`, never dropped.
_TIERS_BY_STATUS: dict[str, str] = {
    ShipmentStatus.OUT_FOR_DELIVERY: URGENT,
    ShipmentStatus.DELIVERY_ATTEMPTED: URGENT,
    ShipmentStatus.AVAILABLE_FOR_PICKUP: URGENT,
    ShipmentStatus.PICKED_UP: MOVING,
    ShipmentStatus.IN_TRANSIT: MOVING,
    ShipmentStatus.EXCEPTION: MOVING,
    ShipmentStatus.RETURN_TO_SENDER: MOVING,
    ShipmentStatus.UNKNOWN: MOVING,
    ShipmentStatus.LABEL_CREATED: WAITING,
    ShipmentStatus.PRE_TRANSIT: WAITING,
} | {str(status): DONE for status in TERMINAL_STATUSES}
STATUS_TIERS: Mapping[str, str] = MappingProxyType(_TIERS_BY_STATUS)

# Default seconds between polls per tier: out for delivery every 30 min (the delivery scan is
# what releases revenue), moving parcels every 4 h, parcels waiting for pickup twice a day.
DEFAULT_INTERVALS_S: Mapping[str, int] = MappingProxyType(
    {URGENT: 30 * 60, MOVING: 4 * 3600, WAITING: 12 * 3600}
)
INTERVAL_S_MIN = 60
INTERVAL_S_MAX = 7 * 86_400


def tier_of(status: str | None) -> str:
    """The polling tier of a shipment status; an unknown or missing status polls as `moving`."""
    if status is None:
        return MOVING
    return STATUS_TIERS.get(status, MOVING)


@dataclass(frozen=True, slots=True)
class Cadence:
    """Seconds between two polls of one tracker, per tier."""

    intervals_s: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_INTERVALS_S))

    def __post_init__(self) -> None:
        if set(self.intervals_s) != set(TIERS):
            raise ValueError(f"the cadence needs an interval for each tier: {', '.join(TIERS)}")
        for tier, seconds in self.intervals_s.items():
            if not INTERVAL_S_MIN <= seconds <= INTERVAL_S_MAX:
                raise ValueError(
                    f"the {tier} interval must be between {INTERVAL_S_MIN} s and "
                    f"{INTERVAL_S_MAX} s, not {seconds}"
                )

    def interval_s(self, tier: str) -> int | None:
        """Seconds until the next poll in `tier`; None for `done` (never polled again)."""
        return None if tier == DONE else self.intervals_s[tier]

    def next_poll_at(self, *, status: str | None, now: datetime) -> datetime | None:
        interval = self.interval_s(tier_of(status))
        return None if interval is None else now + timedelta(seconds=interval)

    def polls_per_day(self, tier: str) -> float:
        interval = self.interval_s(tier)
        return 0.0 if interval is None else 86_400 / interval


@dataclass(frozen=True, slots=True)
class Backoff:
    """Jittered exponential backoff after failed polls, capped; a tracker is never given up.

    The n-th consecutive failure waits between half and all of `initial_s * 2**(n-1)` (at most
    `max_s`): the exponential part stops a failing carrier from being hammered, the random part
    stops every tracker that failed together from retrying together.
    """

    initial_s: float = 60.0
    max_s: float = 6 * 3600.0
    # After a 429, wait the time the carrier named plus up to this much, so the trackers it
    # throttled together do not all come back in the same second.
    throttle_jitter_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError("the backoff needs 0 < initial_s <= max_s")

    def delay_s(self, *, attempts: int, random: Callable[[], float]) -> float:
        """Seconds to wait after the `attempts`-th consecutive failure (attempts >= 1)."""
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(max(attempts, 1) - 1, 30))
        return ceiling / 2 + random() * ceiling / 2

    def after_throttle(
        self,
        *,
        now: datetime,
        retry_at: datetime | None,
        attempts: int,
        random: Callable[[], float],
    ) -> datetime:
        """When a throttled tracker may be polled again: never before the carrier's retry time."""
        backoff_at = now + timedelta(seconds=self.delay_s(attempts=attempts, random=random))
        if retry_at is None:
            return backoff_at
        return max(backoff_at, retry_at + timedelta(seconds=random() * self.throttle_jitter_s))
