"""The poller's ports: what it asks of a tracking client, a rate limiter and the poll-state store,
and the exceptions a client raises. Adapters implement them; tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services.poll_policy import Cadence


class Throttled(Exception):
    """The carrier answered 429: too many requests for this credential."""

    def __init__(self, message: str, *, retry_at: datetime | None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class TrackingNotFound(Exception):
    """The carrier does not know the tracking number (yet: new labels take minutes to appear)."""


class CarrierUnavailable(Exception):
    """The carrier could not answer: a timeout, a 5xx, a refused credential or a bad response."""


@dataclass(frozen=True, slots=True)
class Tracker:
    """One tracking number's polling state."""

    tenant_id: str
    carrier: str
    tracking_number: str
    provider: str
    credential: str
    status: str | None
    next_poll_at: datetime | None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll (or deferral) decided for a tracker; the store writes it back."""

    tracker: Tracker
    next_poll_at: datetime | None
    attempts: int
    status: str | None
    polled_at: datetime | None = None
    error: str | None = None


class TrackingClient(Protocol):
    provider: str

    async def track(self, *, tracking_number: str) -> list[CarrierScan]:
        """Every scan the carrier has for the number; raise Throttled, TrackingNotFound or
        CarrierUnavailable."""
        ...


class RateLimiter(Protocol):
    def try_acquire(self, *, now: datetime) -> float:
        """Take one request's token and return 0, or take nothing and return seconds to wait."""
        ...

    def pause_until(self, *, until: datetime) -> None:
        """Hand out no token before `until` (the carrier said so)."""
        ...

    def remaining(self, *, now: datetime) -> dict[str, int]:
        """Requests left in each quota window, keyed by the window's label."""
        ...


class PollStateStore(Protocol):
    def due(self, *, now: datetime, limit: int) -> list[Tracker]:
        """Trackers whose next poll time has come, the longest-waiting first."""
        ...

    def save(self, *, result: PollResult, now: datetime) -> None: ...

    def status_of(self, *, tenant_id: str, carrier: str, tracking_number: str) -> str | None:
        """The shipment's canonical status now (after the scans were recorded)."""
        ...

    def refresh(self, *, now: datetime, cadence: Cadence, limit: int) -> int:
        """Enrol new shipments and re-tier trackers whose status changed by webhook."""
        ...


class PollObserver(Protocol):
    """Where metrics go; the services never import prometheus."""

    def requested(self, *, provider: str, outcome: str) -> None: ...

    def throttled(self, *, provider: str) -> None: ...

    def quota(self, *, provider: str, credential: str, remaining: Mapping[str, int]) -> None: ...


class NoObserver:
    def requested(self, *, provider: str, outcome: str) -> None:
        pass

    def throttled(self, *, provider: str) -> None:
        pass

    def quota(self, *, provider: str, credential: str, remaining: Mapping[str, int]) -> None:
        pass


# (tenant_id, scans, received_at): bootstrap binds this to tracking.record_scans.
RecordScans = Callable[[str, Sequence[CarrierScan], datetime], Awaitable[object]]
Sleeper = Callable[[float], Awaitable[None]]
