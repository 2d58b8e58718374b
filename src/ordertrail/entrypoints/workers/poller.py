"""The polling loop: enrol shipments, poll the due trackers within quota, pause when idle.

`ordertrail carriers poll` runs it as a process of its own (or `--once`); `serve` runs it beside
the relay and workers when the polling file says `embedded = true`. Run one poller per quota:
two processes sharing one credential would each pace to the full quota.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from ordertrail.adapters.carriers.poll_config import (
    PollingConfig,
    load_polling_config,
    make_clients,
)
from ordertrail.adapters.carriers.poll_http import TIMEOUT
from ordertrail.adapters.carriers.rate_limits import LimiterRegistry
from ordertrail.adapters.db.poll_state_store import SqlPollStateStore
from ordertrail.adapters.metrics import Metrics
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.entrypoints.workers import deadline_for, error_backoff_s, pause
from ordertrail.services.polling import Poller, PollerConfig, RoundReport
from ordertrail.services.polling_ports import Sleeper

logger = logging.getLogger("ordertrail.poller")
ONCE_ROUNDS_MAX = 1_000


class PollingNotConfigured(Exception):
    """No polling file is configured, or the app was wired without carrier tracking."""


@dataclass(frozen=True, slots=True)
class MetricsObserver:
    """Counts requests and 429s and sets the quota gauges, for services.polling.PollObserver."""

    metrics: Metrics

    def requested(self, *, provider: str, outcome: str) -> None:
        self.metrics.carrier_requests.labels(provider=provider, outcome=outcome).inc()

    def throttled(self, *, provider: str) -> None:
        self.metrics.carrier_throttled.labels(provider=provider).inc()

    def quota(self, *, provider: str, credential: str, remaining: Mapping[str, int]) -> None:
        for window, left in remaining.items():
            self.metrics.carrier_quota_remaining.labels(
                provider=provider, credential=credential, window=window
            ).set(left)


def polling_config_of(app: Ordertrail, *, path: str | None = None) -> PollingConfig:
    """The polling file named on the command line, else in the settings."""
    chosen = path or app.settings.carrier_polling
    if not chosen:
        raise PollingNotConfigured(
            "no polling configuration: set ORDERTRAIL_CARRIER_POLLING to a polling file "
            "(see docs/operators/carriers-polling.md)"
        )
    return load_polling_config(Path(chosen), environ=os.environ)


def poll_store(app: Ordertrail, config: PollingConfig) -> SqlPollStateStore:
    return SqlPollStateStore(
        app.engine,
        route=config.route,
        carriers=config.carriers(),
        credentials=tuple((c.provider, c.name) for c in config.credentials),
    )


def build_poller(
    *,
    app: Ordertrail,
    config: PollingConfig,
    http: httpx.AsyncClient,
    sleep: Sleeper = asyncio.sleep,
) -> Poller:
    tracking = app.tracking
    if tracking is None:
        raise PollingNotConfigured("this app was wired without carrier tracking")
    clients = make_clients(config, http=http, clock=app.clock)
    limiters = LimiterRegistry(quotas=config.quotas(), bursts=config.bursts(), now=app.clock.now())

    async def record(tenant_id: str, scans: Sequence[CarrierScan], received_at: datetime) -> None:
        await asyncio.to_thread(
            tracking.record_scans, tenant_id=tenant_id, scans=scans, received_at=received_at
        )

    return Poller(
        store=poll_store(app, config),
        client_for=lambda provider, credential: clients.get((provider, credential)),
        limiter_for=limiters.limiter_for,
        record=record,
        clock=app.clock,
        sleep=sleep,
        random=random.random,  # backoff jitter, not secrecy
        config=PollerConfig(batch_size=config.batch_size, cadence=config.cadence),
        observer=MetricsObserver(app.metrics),
    )


async def run_poller(
    *,
    app: Ordertrail,
    config: PollingConfig,
    stop: asyncio.Event,
    once: bool = False,
    max_seconds: float | None = None,
) -> RoundReport:
    """Poll round after round until stopped; return the sum of the rounds' reports.

    With `once`, return as soon as a round finds nothing due (errors then end the run).
    """
    deadline = deadline_for(max_seconds)
    total = RoundReport()
    failures = 0
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        poller = build_poller(app=app, config=config, http=http)
        rounds = 0
        while not stop.is_set() and not (once and rounds >= ONCE_ROUNDS_MAX):
            rounds += 1
            try:
                report = await poller.poll_round()
            except Exception:
                if once:
                    raise
                failures += 1
                logger.exception("polling round failed (%d in a row); retrying", failures)
                if await pause(stop, seconds=error_backoff_s(failures), deadline=deadline):
                    break
                continue
            failures = 0
            total.add(report)
            busy = report.polled + report.throttled + report.not_found + report.errors
            if busy:
                logger.info(
                    "polled %d (%d scans), %d throttled, %d not found, %d errors, %d deferred",
                    report.polled, report.scans, report.throttled, report.not_found,
                    report.errors, report.deferred,
                )  # fmt: skip
            elif once:
                break
            # After a busy round the next one starts at once; the deadline still ends the loop.
            if await pause(stop, seconds=0 if busy else config.idle_s, deadline=deadline):
                break
    return total


def embedded_poller(
    *, app: Ordertrail, stop: asyncio.Event
) -> Coroutine[None, None, RoundReport] | None:
    """The polling loop for `serve`, when the polling file asks for it (`embedded = true`)."""
    if not app.settings.carrier_polling:
        return None
    config = polling_config_of(app)
    if not config.embedded:
        return None
    return run_poller(app=app, config=config, stop=stop)
