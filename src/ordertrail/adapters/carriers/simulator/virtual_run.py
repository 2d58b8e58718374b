"""A polling run against the simulator on a virtual clock: hours of polling in about a second.

The real pollers (UPS, DHL, USPS clients over httpx) talk to the simulator's ASGI app in process,
and the poller, its rate limiters and the simulator share one clock that moves only when the
poller sleeps. Scans are "recorded" by an in-memory stand-in for the tracking service that
reads the simulated stage of the latest scan. The figures (requests, 429s, the most requests
any window held) are what the rate-limit test asserts and the design record reports.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from ordertrail.adapters.carriers.poll_dhl import DhlTrackingClient
from ordertrail.adapters.carriers.poll_ups import UpsTrackingClient
from ordertrail.adapters.carriers.poll_usps import UspsTrackingClient
from ordertrail.adapters.carriers.rate_limits import CredentialLimiter
from ordertrail.adapters.carriers.simulator.app import CarrierSimulator, create_simulator_app
from ordertrail.adapters.carriers.simulator.scenario import STAGE_STATUSES, VOCABULARY, Scenario
from ordertrail.adapters.clock import FixedClock
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services.poll_policy import Cadence, tier_of
from ordertrail.services.polling import Poller, PollerConfig
from ordertrail.services.polling_budget import CredentialQuota, QuotaWindow
from ordertrail.services.polling_ports import PollResult, Tracker, TrackingClient

BASE_URL = "http://carrier-simulator"
CREDENTIAL = "sim"
# The simulator accepts any secret; this one only has to be non-empty.
SIMULATOR_SECRET = "simulator"  # noqa: S105
IDLE_STEP_S = 60.0
ROUNDS_MAX = 100_000
# Simulated stage -> canonical status ("departed" is one more in-transit scan).
STAGE_STATUS = {
    stage: "in_transit" if stage == "departed" else stage for stage in VOCABULARY["ups"]
}


class VirtualClock:
    """A clock that moves only when slept on."""

    def __init__(self, at: datetime) -> None:
        self._clock = FixedClock(at)

    def now(self) -> datetime:
        return self._clock.now()

    async def sleep(self, seconds: float) -> None:
        self._clock.advance(timedelta(seconds=max(seconds, 0.0)))


@dataclass
class MemoryPollStateStore:
    """The poll-state store in memory, with shipment statuses kept beside it."""

    trackers: dict[tuple[str, str, str], Tracker] = field(default_factory=dict)
    statuses: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def add(self, tracker: Tracker) -> None:
        self.trackers[(tracker.tenant_id, tracker.carrier, tracker.tracking_number)] = tracker

    def due(self, *, now: datetime, limit: int) -> list[Tracker]:
        due = [t for t in self.trackers.values() if t.next_poll_at and t.next_poll_at <= now]
        return sorted(due, key=lambda t: (t.next_poll_at or now, t.tracking_number))[:limit]

    def save(self, *, result: PollResult, now: datetime) -> None:  # noqa: ARG002
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

    def refresh(self, *, now: datetime, cadence: Cadence, limit: int) -> int:  # noqa: ARG002
        return 0

    def next_due(self) -> datetime | None:
        times = [t.next_poll_at for t in self.trackers.values() if t.next_poll_at is not None]
        return min(times, default=None)


@dataclass(frozen=True, slots=True)
class ProviderFigures:
    requests: int
    throttled: int
    not_found: int
    # window label -> (limit, the most requests any window of that length held)
    windows: Mapping[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class RunFigures:
    virtual_s: float
    rounds: int
    trackers: int
    delivered: int
    lost: int  # trackers neither scheduled nor terminal: must be 0
    providers: Mapping[str, ProviderFigures]
    honoured_retry_after: bool  # no request to a credential before its Retry-After ran out

    @property
    def requests(self) -> int:
        return sum(figures.requests for figures in self.providers.values())

    @property
    def throttled(self) -> int:
        return sum(figures.throttled for figures in self.providers.values())


def _clients(http: httpx.AsyncClient, clock: VirtualClock) -> dict[str, TrackingClient]:
    return {
        "ups": UpsTrackingClient(
            http=http,
            client_id=CREDENTIAL,
            client_secret=SIMULATOR_SECRET,
            clock=clock,
            base_url=BASE_URL,
        ),
        "dhl": DhlTrackingClient(http=http, api_key=CREDENTIAL, clock=clock, base_url=BASE_URL),
        "usps": UspsTrackingClient(
            http=http,
            client_id=CREDENTIAL,
            client_secret=SIMULATOR_SECRET,
            clock=clock,
            base_url=BASE_URL,
        ),
    }


def _retry_after_honoured(simulator: CarrierSimulator) -> bool:
    resume: dict[tuple[str, str | None], datetime] = {}
    for arrival in simulator.journal:
        key = (arrival.provider, arrival.credential)
        if key in resume and arrival.at < resume[key]:
            return False
        if arrival.status == 429 and arrival.retry_after_s is not None:
            resume[key] = arrival.at + timedelta(seconds=arrival.retry_after_s)
    return True


async def run_virtual(
    *,
    scenario: Scenario,
    start: datetime,
    duration_s: float,
    simulator_limits: Mapping[str, tuple[QuotaWindow, ...]],
    poller_limits: Mapping[str, tuple[QuotaWindow, ...]],
    cadence: Cadence | None = None,
    seed: int = 0,
) -> RunFigures:
    """Poll every scenario parcel for `duration_s` of virtual time; return the figures."""
    clock = VirtualClock(start)
    simulator = CarrierSimulator(scenario=scenario, clock=clock, limits=simulator_limits)
    store = MemoryPollStateStore()
    for provider, number in scenario.parcels:
        store.add(Tracker("sim", provider, number, provider, CREDENTIAL, "label_created", start))
    limiters = {
        provider: CredentialLimiter(
            quota=CredentialQuota(provider=provider, credential=CREDENTIAL, windows=windows),
            now=start,
        )
        for provider, windows in poller_limits.items()
    }

    async def record(tenant_id: str, scans: Sequence[CarrierScan], received_at: datetime) -> None:  # noqa: ARG001
        latest = max(scans, key=lambda scan: scan.scanned_at)
        stage = _stage_of(latest)
        if stage is not None:
            store.statuses[(tenant_id, latest.carrier, latest.tracking_number)] = stage

    transport = httpx.ASGITransport(app=create_simulator_app(simulator))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        clients = _clients(http, clock)
        poller = Poller(
            store=store,
            client_for=lambda provider, credential: clients.get(provider),  # noqa: ARG005
            limiter_for=lambda provider, credential: limiters.get(provider),  # noqa: ARG005
            record=record,
            clock=clock,
            sleep=clock.sleep,
            random=random.Random(seed).random,  # noqa: S311 - jitter, not secrecy
            config=PollerConfig(batch_size=200, cadence=cadence or Cadence()),
        )
        end = start + timedelta(seconds=duration_s)
        rounds = 0
        while clock.now() < end and rounds < ROUNDS_MAX:
            rounds += 1
            await poller.poll_round()
            next_due = store.next_due()
            if next_due is None:
                break
            await clock.sleep(max((next_due - clock.now()).total_seconds(), 0.001))
    return _figures(simulator, store, start=start, end=clock.now(), rounds=rounds)


def _stage_of(scan: CarrierScan) -> str | None:
    for stage, (code, subcode, _) in VOCABULARY[scan.provider].items():
        if code == scan.raw_code and (subcode or None) == (scan.raw_subcode or None):
            return STAGE_STATUSES[stage]
    return None


def _figures(
    simulator: CarrierSimulator,
    store: MemoryPollStateStore,
    *,
    start: datetime,
    end: datetime,
    rounds: int,
) -> RunFigures:
    stats: dict[str, Any] = simulator.stats()
    providers = {
        provider: ProviderFigures(
            requests=entry["requests"],
            throttled=entry["throttled"],
            not_found=entry["not_found"],
            windows={
                label: (window["limit"], window["max_seen"])
                for label, window in entry["windows"].items()
            },
        )
        for provider, entry in stats.items()
    }
    trackers = list(store.trackers.values())
    delivered = sum(1 for t in trackers if t.status == "delivered")
    lost = sum(1 for t in trackers if t.next_poll_at is None and tier_of(t.status) != "done")
    return RunFigures(
        virtual_s=(end - start).total_seconds(),
        rounds=rounds,
        trackers=len(trackers),
        delivered=delivered,
        lost=lost,
        providers=providers,
        honoured_retry_after=_retry_after_honoured(simulator),
    )
