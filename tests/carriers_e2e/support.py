"""One order from placement to recognized revenue, with the delivery told by the carrier simulator.

The catalog holds one goods SKU whose control passes per shipping terms; the order ships FOB
destination, so nothing is recognized until the carrier says it was delivered. Delivery comes
either as signed webhooks the simulator sends to the real API (in process, over ASGI) or from
polling the simulator through the real clients, credentials and rate limiters.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import select

from ordertrail.adapters.carriers.poll_config import parse_polling_config
from ordertrail.adapters.carriers.simulator.app import CarrierSimulator, create_simulator_app
from ordertrail.adapters.carriers.simulator.scenario import Faults, Scenario, build_scenario
from ordertrail.adapters.carriers.simulator.webhooks import WebhookSender, WebhookTarget
from ordertrail.adapters.carriers.tracking_app import webhook_path
from ordertrail.adapters.db.shipment_store import SqlTrackingUnitOfWork
from ordertrail.adapters.db.tables import events
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.ledger.entries import JournalEntry
from ordertrail.domain.revenue import ObligationTemplate, SspRow, TemplateVersion
from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.workers.poller import build_poller
from ordertrail.services.revenue_ports import RevenueUnitOfWork
from ordertrail.services.tracking_ports import ShipmentRecord
from tests.builders import envelope
from tests.conftest import NOW, make_principal
from tests.revenue.support import load_catalog, pump

TENANT = "acme"
ORDER = "SO-CARRIER-1"
SHIPMENT = "SHP-CARRIER-1"
UNIT_PRICE = 2500
QUANTITY = 2
SIMULATOR_URL = "http://carrier-simulator"
ORDERTRAIL_URL = "http://ordertrail"
# Every parcel delivered, each scan visible at once: the journey is over by NOW.
FAULTS = Faults(stalled_share=0.0, lag_s_max=0, missing_share=0.0, scan_gap_minutes=(30, 240))
# The carrier each provider's parcel travels with (aggregators name the carrier).
WEBHOOK_CARRIERS = {
    "aftership": "fedex",
    "easypost": "usps",
    "shippo": "ups",
    "ups": "ups",
    "fedex": "fedex",
    "17track": "dhl",
}
POLL_SECRETS = {
    "ups": {"client_id": "sim-id", "client_secret": "sim-secret"},
    "dhl": {"api_key": "sim-key"},
    "usps": {"client_id": "sim-id", "client_secret": "sim-secret"},
}


def catalog() -> list[TemplateVersion | SspRow]:
    since = date(2026, 1, 1)
    goods = ObligationTemplate(
        component="unit", nature="goods", timing="point_in_time", trigger="control_transfer"
    )
    return [
        TemplateVersion(sku="GADGET", effective_from=since, templates=(goods,)),
        SspRow(
            sku="GADGET",
            component="unit",
            currency="USD",
            effective_from=since,
            unit_ssp_minor=UNIT_PRICE,
        ),
    ]


def tracking_number(provider: str) -> str:
    return f"SIM{provider.upper()}0000000042"


def place_and_dispatch(app: Ordertrail, *, carrier: str, number: str) -> None:
    """Catalog, order placed and confirmed FOB destination, shipment dispatched; pipeline run."""
    load_catalog(app, catalog())
    placed_at = NOW - timedelta(days=20)
    lines = [
        {"line_id": "1", "sku": "GADGET", "quantity": QUANTITY, "unit_price_minor": UNIT_PRICE}
    ]
    order = [
        envelope(
            "order.placed",
            {"customer_id": "C-1", "currency": "USD", "shipping_terms": "fob_destination",
             "lines": lines},
            order_id=ORDER, at=placed_at,
        ),
        envelope("order.confirmed", {}, order_id=ORDER, at=placed_at, minutes=5),
        envelope(
            "shipment.dispatched",
            {"shipment_id": SHIPMENT, "carrier": carrier, "tracking_number": number,
             "lines": [{"line_id": "1", "quantity": QUANTITY}]},
            order_id=ORDER, source="wms", at=NOW - timedelta(days=15),
        ),
    ]  # fmt: skip
    results = app.ingest(raw_events=order, principal=make_principal(app)[0])
    assert [r.error_code for r in results] == [None, None, None]
    pump(app)  # the tracking handler registers the shipment from the dispatch milestone
    # FOB destination: shipped is not yet delivered, so nothing is recognized.
    assert [e.kind for e in journal(app) if e.kind == "recognition"] == []
    assert shipment(app).status == "label_created"


def scenario_for(provider: str, *, carrier: str, number: str, seed: int = 11) -> Scenario:
    return build_scenario(
        seed=seed,
        start=NOW - timedelta(days=14),
        parcels_per_provider=0,
        providers=[provider],
        faults=FAULTS,
        numbers=[(provider, number, carrier)],
    )


@dataclass(frozen=True, slots=True)
class WebhookRun:
    sent: int
    outcomes: dict[int, int]


def deliver_by_webhook(
    app: Ordertrail,
    *,
    provider: str,
    transport: httpx.AsyncBaseTransport | None = None,
    base_url: str = ORDERTRAIL_URL,
) -> WebhookRun:
    """The tenant configures a secret; the simulator signs and posts every scan to the API."""
    carrier = WEBHOOK_CARRIERS[provider]
    number = tracking_number(provider)
    place_and_dispatch(app, carrier=carrier, number=number)
    assert app.tracking is not None
    secret = f"{provider}-simulator-secret"
    endpoint = app.tracking.set_secret(
        tenant_id=TENANT, provider=provider, secret=secret, actor="test"
    )
    target = WebhookTarget(
        provider=provider,
        url=base_url + webhook_path(provider=provider, token=endpoint.token),
        secret=secret,
    )
    sender = WebhookSender(
        scenario=scenario_for(provider, carrier=carrier, number=number),
        targets={provider: target},
        clock=app.clock,
    )

    async def send() -> int:
        chosen = transport or httpx.ASGITransport(app=create_app(app))
        async with httpx.AsyncClient(transport=chosen) as http:
            return await sender.send_due(http)

    sent = asyncio.run(send())
    pump(app)
    return WebhookRun(sent=sent, outcomes=dict(sender.outcomes))


@dataclass(frozen=True, slots=True)
class PollRun:
    rounds: int
    simulator: dict[str, Any]


def deliver_by_polling(app: Ordertrail, *, provider: str, rounds_max: int = 10) -> PollRun:
    """Poll the simulator through the real client and limiter until the shipment is delivered."""
    number = tracking_number(provider)
    place_and_dispatch(app, carrier=provider, number=number)
    credential = {"provider": provider, "name": "sim", "base_url": SIMULATOR_URL,
                  "tenants": [TENANT], **POLL_SECRETS[provider]}  # fmt: skip
    config = parse_polling_config({"polling": {"credentials": [credential]}}, environ={})
    simulator = CarrierSimulator(
        scenario=scenario_for(provider, carrier=provider, number=number), clock=app.clock
    )

    async def sleep(seconds: float) -> None:
        app.clock.advance(timedelta(seconds=seconds))  # type: ignore[attr-defined]

    async def poll() -> int:
        transport = httpx.ASGITransport(app=create_simulator_app(simulator))
        async with httpx.AsyncClient(transport=transport) as http:
            poller = build_poller(app=app, config=config, http=http, sleep=sleep)
            for rounds in range(1, rounds_max + 1):
                await poller.poll_round()
                if shipment(app).status == "delivered":
                    return rounds
        return rounds_max

    rounds = asyncio.run(poll())
    pump(app)
    return PollRun(rounds=rounds, simulator=simulator.stats()[provider])


def shipment(app: Ordertrail) -> ShipmentRecord:
    with SqlTrackingUnitOfWork(app.engine) as uow:
        record = uow.shipments.get(tenant_id=TENANT, shipment_id=SHIPMENT)
    assert record is not None
    return record


def delivered_events(app: Ordertrail) -> list[dict[str, Any]]:
    """The order's `shipment.delivered` envelopes as stored."""
    query = select(events.c.body).where(
        events.c.tenant_id == TENANT,
        events.c.order_id == ORDER,
        events.c.event_type == "shipment.delivered",
    )
    with app.engine.connect() as connection:
        return [cast(dict[str, Any], json.loads(body)) for body in connection.scalars(query)]


def journal(app: Ordertrail) -> list[JournalEntry]:
    with cast(RevenueUnitOfWork, app.uow_factory()) as uow:
        return uow.ledger.entries(tenant_id=TENANT)
