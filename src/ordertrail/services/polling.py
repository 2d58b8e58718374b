"""Poll carrier tracking APIs for the trackers that are due, within each credential's rate limits.

One round takes a bounded batch of due trackers from the poll-state store, groups them by
provider and credential (each credential has its own quota), and polls each group in turn of its
rate limiter's tokens, the groups side by side. Scans go to `record_scans` through the `record`
callback; the tracker is then rescheduled by the cadence of the status it now has.

No tracker is ever dropped. A 429 pauses the credential until the carrier's retry time and puts
the tracker back with a jittered backoff; an error backs it off exponentially; a group that would
have to wait too long for a token leaves its remaining trackers scheduled for when the token
comes. Time and sleep are injected, so tests run hours of polling in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ordertrail.services.poll_policy import Backoff, Cadence, tier_of
from ordertrail.services.polling_ports import (
    CarrierUnavailable,
    NoObserver,
    PollObserver,
    PollResult,
    PollStateStore,
    RateLimiter,
    RecordScans,
    Sleeper,
    Throttled,
    Tracker,
    TrackingClient,
    TrackingNotFound,
)
from ordertrail.services.ports import Clock

BATCH_SIZE_MAX = 1_000
ERROR_TEXT_MAX = 500


@dataclass(frozen=True, slots=True)
class PollerConfig:
    batch_size: int = 100
    # The longest one round waits for a credential's next token. Past it, the group's remaining
    # trackers are rescheduled for when the token comes, so a spent daily quota cannot hold a
    # round (and the credentials polled beside it) for hours.
    wait_s_max: float = 60.0
    cadence: Cadence = field(default_factory=Cadence)
    backoff: Backoff = field(default_factory=Backoff)
    # How often a round first enrols new shipments and follows webhook status changes: both scan
    # the shipments table, which polling every few seconds would do for no gain.
    refresh_every_s: float = 60.0
    # Rows one refresh enrols or re-tiers at most (a backlog is taken over several refreshes).
    refresh_limit: int = 1_000

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= BATCH_SIZE_MAX:
            raise ValueError(f"the polling batch size must be between 1 and {BATCH_SIZE_MAX}")
        if not 0 <= self.wait_s_max <= 3600:
            raise ValueError("wait_s_max must be between 0 and 3600 seconds")


@dataclass(slots=True)
class RoundReport:
    polled: int = 0
    scans: int = 0
    throttled: int = 0
    not_found: int = 0
    errors: int = 0
    deferred: int = 0

    def add(self, other: RoundReport) -> None:
        for name in ("polled", "scans", "throttled", "not_found", "errors", "deferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class Poller:
    """Everything a polling round needs, wired once (bootstrap or a test)."""

    store: PollStateStore
    client_for: Callable[[str, str], TrackingClient | None]  # (provider, credential) -> client
    limiter_for: Callable[[str, str], RateLimiter | None]  # (provider, credential) -> limiter
    record: RecordScans
    clock: Clock
    sleep: Sleeper
    random: Callable[[], float]
    config: PollerConfig = field(default_factory=PollerConfig)
    observer: PollObserver = field(default_factory=NoObserver)
    # When the last refresh ran (a one-element list: the poller itself is frozen).
    _refreshed_at: list[datetime] = field(default_factory=list)

    async def poll_round(self) -> RoundReport:
        """Enrol new trackers (now and then), poll one batch of due ones; say what happened."""
        now = self.clock.now()
        last = self._refreshed_at[0] if self._refreshed_at else None
        if last is None or (now - last).total_seconds() >= self.config.refresh_every_s:
            await asyncio.to_thread(
                self.store.refresh,
                now=now,
                cadence=self.config.cadence,
                limit=self.config.refresh_limit,
            )
            self._refreshed_at[:] = [now]
        trackers = await asyncio.to_thread(self.store.due, now=now, limit=self.config.batch_size)
        groups: dict[tuple[str, str], list[Tracker]] = {}
        for tracker in trackers:
            groups.setdefault((tracker.provider, tracker.credential), []).append(tracker)
        # Every group finishes (and saves what it did) before a failure of one is raised.
        outcomes = await asyncio.gather(
            *(self._poll_group(key=key, trackers=group) for key, group in groups.items()),
            return_exceptions=True,
        )
        total = RoundReport()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            total.add(outcome)
        return total

    async def _poll_group(self, *, key: tuple[str, str], trackers: list[Tracker]) -> RoundReport:
        provider, credential = key
        report = RoundReport()
        client = self.client_for(provider, credential)
        limiter = self.limiter_for(provider, credential)
        if client is None or limiter is None:
            # A credential removed from the configuration: say so on every tracker, keep them.
            error = f"no {provider} credential {credential!r} is configured"
            for tracker in trackers:
                await self._save(self._failed(tracker, now=self.clock.now(), error=error))
            report.errors += len(trackers)
            return report
        for index, tracker in enumerate(trackers):
            wait_s = await self._wait_for_token(limiter)
            if wait_s > 0:
                # The token is further away than a round may wait: keep the rest scheduled.
                ready_at = self.clock.now() + timedelta(seconds=wait_s)
                for rest in trackers[index:]:
                    await self._save(_deferred(rest, ready_at))
                report.deferred += len(trackers) - index
                return report
            result, paused_until = await self._poll_one(
                tracker, client=client, limiter=limiter, report=report
            )
            await self._save(result)
            self.observer.quota(
                provider=provider,
                credential=credential,
                remaining=limiter.remaining(now=self.clock.now()),
            )
            if paused_until is not None:
                # The credential is paused: the others wait for the pause to end, in their place.
                for rest in trackers[index + 1 :]:
                    await self._save(_deferred(rest, paused_until))
                report.deferred += len(trackers) - index - 1
                return report
        return report

    async def _wait_for_token(self, limiter: RateLimiter) -> float:
        """Sleep for the limiter's next token; return 0 once taken, else the wait still due."""
        waited = 0.0
        while (wait_s := limiter.try_acquire(now=self.clock.now())) > 0:
            if waited + wait_s > self.config.wait_s_max:
                return wait_s
            await self.sleep(wait_s)
            waited += wait_s
        return 0.0

    async def _poll_one(
        self,
        tracker: Tracker,
        *,
        client: TrackingClient,
        limiter: RateLimiter,
        report: RoundReport,
    ) -> tuple[PollResult, datetime | None]:
        """Poll one tracker; return its result and, after a 429, when the credential may resume."""
        now = self.clock.now()
        attempts = tracker.attempts + 1
        backoff = self.config.backoff
        try:
            scans = await client.track(tracking_number=tracker.tracking_number)
        except Throttled as throttled:
            report.throttled += 1
            self.observer.requested(provider=tracker.provider, outcome="throttled")
            self.observer.throttled(provider=tracker.provider)
            pause = throttled.retry_at or now + timedelta(seconds=backoff.initial_s)
            limiter.pause_until(until=pause)
            next_at = backoff.after_throttle(
                now=now, retry_at=throttled.retry_at, attempts=attempts, random=self.random
            )
            result = PollResult(
                tracker=tracker,
                next_poll_at=next_at,
                attempts=attempts,
                status=tracker.status,
                polled_at=now,
                error=_text(f"throttled: {throttled}"),
            )
            return result, pause
        except TrackingNotFound as missing:
            report.not_found += 1
            self.observer.requested(provider=tracker.provider, outcome="ok")
            error = f"not found: {missing}"
            return self._failed(tracker, now=now, error=error, at_least_cadence=True), None
        except CarrierUnavailable as failure:
            report.errors += 1
            self.observer.requested(provider=tracker.provider, outcome="error")
            return self._failed(tracker, now=now, error=f"error: {failure}"), None
        except Exception as failure:  # a response the client could not read: kept on the tracker
            # A malformed answer must not block the trackers behind this one round after round;
            # it is recorded on the tracker and counted as an error, then backed off like one.
            report.errors += 1
            self.observer.requested(provider=tracker.provider, outcome="error")
            error = f"unexpected {type(failure).__name__}: {failure}"
            return self._failed(tracker, now=now, error=error), None
        self.observer.requested(provider=tracker.provider, outcome="ok")
        report.polled += 1
        report.scans += len(scans)
        if scans:
            await self.record(tracker.tenant_id, scans, now)
        status = await asyncio.to_thread(
            self.store.status_of,
            tenant_id=tracker.tenant_id,
            carrier=tracker.carrier,
            tracking_number=tracker.tracking_number,
        )
        status = status or tracker.status
        result = PollResult(
            tracker=tracker,
            next_poll_at=self.config.cadence.next_poll_at(status=status, now=now),
            attempts=0,
            status=status,
            polled_at=now,
        )
        return result, None

    def _failed(
        self, tracker: Tracker, *, now: datetime, error: str, at_least_cadence: bool = False
    ) -> PollResult:
        attempts = tracker.attempts + 1
        delay_s = self.config.backoff.delay_s(attempts=attempts, random=self.random)
        if at_least_cadence:
            delay_s = max(delay_s, self.config.cadence.interval_s(tier_of(tracker.status)) or 0)
        return PollResult(
            tracker=tracker,
            next_poll_at=now + timedelta(seconds=delay_s),
            attempts=attempts,
            status=tracker.status,
            polled_at=now,
            error=_text(error),
        )

    async def _save(self, result: PollResult) -> None:
        await asyncio.to_thread(self.store.save, result=result, now=self.clock.now())


def _deferred(tracker: Tracker, ready_at: datetime) -> PollResult:
    """Keep a tracker that was not polled this round scheduled for when its token comes."""
    return PollResult(
        tracker=tracker,
        next_poll_at=max(ready_at, tracker.next_poll_at or ready_at),
        attempts=tracker.attempts,
        status=tracker.status,
        error=tracker.last_error,
    )


def _text(message: str) -> str:
    return message[:ERROR_TEXT_MAX]
