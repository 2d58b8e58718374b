"""In-memory stand-ins for the poller's ports, and a virtual clock whose sleep advances time."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ordertrail.adapters.clock import FixedClock
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services.poll_policy import Cadence
from ordertrail.services.polling_ports import PollResult, Tracker


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


class VirtualTime:
    """A clock that only moves when someone sleeps: hours of polling run in milliseconds."""

    def __init__(self, at: datetime) -> None:
        self.clock = FixedClock(at)
        self.slept_s = 0.0

    async def sleep(self, seconds: float) -> None:
        self.slept_s += seconds
        self.clock.advance(timedelta(seconds=seconds))

    def now(self) -> datetime:
        return self.clock.now()


@dataclass
class MemoryPollStore:
    trackers: dict[tuple[str, str, str], Tracker] = field(default_factory=dict)
    statuses: dict[tuple[str, str, str], str] = field(default_factory=dict)
    saved: list[PollResult] = field(default_factory=list)

    def add(self, tracker: Tracker) -> None:
        self.trackers[(tracker.tenant_id, tracker.carrier, tracker.tracking_number)] = tracker

    def due(self, *, now: datetime, limit: int) -> list[Tracker]:
        due = [
            t
            for t in self.trackers.values()
            if t.next_poll_at is not None and t.next_poll_at <= now
        ]
        return sorted(due, key=lambda t: (t.next_poll_at, t.tracking_number))[:limit]

    def save(self, *, result: PollResult, now: datetime) -> None:
        self.saved.append(result)
        tracker = result.tracker
        self.trackers[(tracker.tenant_id, tracker.carrier, tracker.tracking_number)] = replace(
            tracker,
            status=result.status,
            next_poll_at=result.next_poll_at,
            attempts=result.attempts,
            last_error=result.error,
        )

    def status_of(self, *, tenant_id: str, carrier: str, tracking_number: str) -> str | None:
        return self.statuses.get((tenant_id, carrier, tracking_number))

    def refresh(self, *, now: datetime, cadence: Cadence, limit: int) -> int:
        return 0


@dataclass
class ScriptedClient:
    """Answers from a script per tracking number: scans, or an exception to raise."""

    provider: str
    script: dict[str, list[object]] = field(default_factory=dict)
    calls: list[tuple[datetime, str]] = field(default_factory=list)
    clock: VirtualTime | None = None

    async def track(self, *, tracking_number: str) -> list[CarrierScan]:
        if self.clock is not None:
            self.calls.append((self.clock.now(), tracking_number))
        answers = self.script.get(tracking_number, [])
        answer = answers.pop(0) if answers else []
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, list)
        return answer


@dataclass
class Recorder:
    """Collects what the poller hands to record_scans, and the observer's calls."""

    recorded: list[tuple[str, Sequence[CarrierScan], datetime]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    throttles: list[str] = field(default_factory=list)
    quotas: list[Mapping[str, int]] = field(default_factory=list)

    async def record(self, tenant_id: str, scans: Sequence[CarrierScan], at: datetime) -> None:
        self.recorded.append((tenant_id, scans, at))

    def requested(self, *, provider: str, outcome: str) -> None:
        self.requests.append((provider, outcome))

    def throttled(self, *, provider: str) -> None:
        self.throttles.append(provider)

    def quota(self, *, provider: str, credential: str, remaining: Mapping[str, int]) -> None:
        self.quotas.append(dict(remaining))
