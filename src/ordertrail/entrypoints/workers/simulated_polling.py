"""Carrier traffic from the simulator for the demo: poll the app's own shipments from simulated
UPS, DHL and USPS APIs, in process, through the real clients, limiters and tracking service.

The simulator serves journeys that began two weeks ago for the tracking numbers found in the
`shipments` table, so one pass delivers most of them (booking their `shipment.delivered` events)
while a few stall in transit, as real parcels do. Nothing leaves the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from ordertrail.adapters.carriers.poll_config import CredentialConfig, PollingConfig
from ordertrail.adapters.carriers.simulator.app import CarrierSimulator, create_simulator_app
from ordertrail.adapters.carriers.simulator.scenario import POLLED_PROVIDERS, Faults, build_scenario
from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.shipments.status import TERMINAL_STATUSES
from ordertrail.entrypoints.workers.poller import build_poller
from ordertrail.services.polling import RoundReport
from ordertrail.services.polling_budget import QuotaWindow
from ordertrail.services.polling_ports import Sleeper

SIMULATOR_URL = "http://carrier-simulator"
# Generous limits, enforced by the simulator and kept by the limiter: the demo should not wait.
DEMO_LIMITS: Mapping[str, tuple[QuotaWindow, ...]] = {
    provider: (QuotaWindow("second", 1, 200),) for provider in POLLED_PROVIDERS
}
SECRETS = {
    "ups": ("client_id", "client_secret"),
    "dhl": ("api_key",),
    "usps": ("client_id", "client_secret"),
}
ROUNDS_MAX = 200


@dataclass(frozen=True, slots=True)
class SimulatedPolling:
    shipments: int
    report: RoundReport
    simulator: Mapping[str, Any]  # the simulator's counters per provider


def _numbers(app: Ordertrail, *, shipments_max: int) -> list[tuple[str, str, str]]:
    query = (
        select(shipments.c.carrier, shipments.c.tracking_number)
        .where(
            shipments.c.carrier.in_(POLLED_PROVIDERS),
            shipments.c.status.not_in([str(s) for s in TERMINAL_STATUSES]),
        )
        .order_by(shipments.c.created_at)
        .limit(shipments_max)
    )
    with app.engine.connect() as connection:
        return [(carrier, number, carrier) for carrier, number in connection.execute(query)]


def _config() -> PollingConfig:
    credentials = tuple(
        CredentialConfig(
            provider=provider,
            name="simulator",
            base_url=SIMULATOR_URL,
            secrets=dict.fromkeys(SECRETS[provider], "simulator"),
            windows=DEMO_LIMITS[provider],
            bursts={},
            carriers=(provider,),
        )
        for provider in POLLED_PROVIDERS
    )
    return PollingConfig(credentials=credentials, batch_size=100)


async def poll_simulated_carriers(
    *, app: Ordertrail, seed: int = 7, shipments_max: int = 500, sleep: Sleeper = asyncio.sleep
) -> SimulatedPolling:
    """Poll up to `shipments_max` of the app's active UPS, DHL and USPS shipments once each.

    `sleep` must move the app's clock: asyncio.sleep for a system clock, a stepping function
    for a fixed one (tests).
    """
    numbers = _numbers(app, shipments_max=shipments_max)
    scenario = build_scenario(
        seed=seed,
        start=app.clock.now() - timedelta(days=14),
        parcels_per_provider=0,
        faults=Faults(lag_s_max=0, scan_gap_minutes=(20, 600)),
        numbers=numbers,
    )
    simulator = CarrierSimulator(scenario=scenario, clock=app.clock, limits=DEMO_LIMITS)
    total = RoundReport()
    transport = httpx.ASGITransport(app=create_simulator_app(simulator))
    async with httpx.AsyncClient(transport=transport) as http:
        poller = build_poller(app=app, config=_config(), http=http, sleep=sleep)
        for _ in range(ROUNDS_MAX):
            report = await poller.poll_round()
            total.add(report)
            if report.polled + report.throttled + report.not_found + report.errors == 0:
                break
    return SimulatedPolling(shipments=len(numbers), report=total, simulator=simulator.stats())
