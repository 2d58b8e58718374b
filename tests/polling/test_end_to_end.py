"""Polling end to end on SQLite and PostgreSQL: shipments are enrolled from the shipments table,
polled from the simulator through the real clients within quota, recorded by the tracking
service, and a UPS delivery becomes the order's shipment.delivered event."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from ordertrail.adapters.carriers.poll_config import parse_polling_config
from ordertrail.adapters.carriers.poll_ups import parse_track_response
from ordertrail.adapters.carriers.simulator.app import CarrierSimulator, create_simulator_app
from ordertrail.adapters.carriers.simulator.responses import body_for
from ordertrail.adapters.carriers.simulator.scenario import Faults, build_scenario
from ordertrail.adapters.carriers.simulator.server import SimulatorServer
from ordertrail.adapters.db.shipment_store import SqlTrackingUnitOfWork
from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.adapters.db.tables_polling import carrier_poll_state
from ordertrail.adapters.metrics import Metrics
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers.poller import (
    MetricsObserver,
    build_poller,
    embedded_poller,
    poll_store,
)
from ordertrail.entrypoints.workers.simulated_polling import poll_simulated_carriers
from ordertrail.services import tracking
from ordertrail.services.keys import Principal
from ordertrail.services.polling_ports import PollResult
from tests.builders import envelope, placed, qty
from tests.conftest import NOW

SIMULATOR_URL = "http://carrier-simulator"
NUMBERS = [
    ("ups", "1ZE2E0000000000001", "ups"),
    ("ups", "1ZE2E0000000000002", "ups"),
    ("dhl", "JDE2E000000000001", "dhl"),
]
# Journeys that ended days ago, each scan reported at once: every parcel can be delivered.
FAULTS = Faults(stalled_share=0.0, lag_s_max=0, missing_share=0.0, scan_gap_minutes=(10, 60))


def _config(*, tenants: list[str] | None = None):
    credentials = [
        {"provider": "ups", "name": "main", "client_id": "id", "client_secret": "s"},
        {"provider": "dhl", "name": "main", "plan": "standard", "api_key": "k"},
    ]
    for credential in credentials:
        credential["base_url"] = SIMULATOR_URL
        credential["tenants"] = tenants or ["*"]
    return parse_polling_config({"polling": {"credentials": credentials}}, environ={})


def _ship(app: Ordertrail, *, order_id: str, carrier: str, number: str) -> None:
    events = [
        placed(order_id=order_id, at=NOW - timedelta(days=20)),
        envelope(
            "shipment.dispatched",
            {
                "shipment_id": f"SHP-{order_id}",
                "carrier": carrier,
                "tracking_number": number,
                "lines": qty(l1=2, l2=1),
            },
            order_id=order_id,
            source="wms",
            at=NOW - timedelta(days=15),
        ),
    ]
    principal_results = app.ingest(raw_events=events, principal=_principal())
    assert [r.outcome.value for r in principal_results] == ["applied", "applied"]
    with SqlTrackingUnitOfWork(app.engine) as uow:
        tracking.register_shipment(
            uow=uow,
            tenant_id="acme",
            order_id=order_id,
            shipment_id=f"SHP-{order_id}",
            carrier=carrier,
            tracking_number=number,
            estimated_delivery_at=None,
            now=NOW,
            new_id=app.new_id,
        )
        uow.commit()


def _principal() -> Principal:
    return Principal(key_id="test", tenant_id="acme", roles=("integration",))


def _poll_rows(app: Ordertrail) -> dict[str, dict]:
    with app.engine.connect() as connection:
        rows = connection.execute(select(carrier_poll_state)).mappings()
        return {row["tracking_number"]: dict(row) for row in rows}


def test_a_polled_ups_delivery_becomes_the_orders_delivery_event(app: Ordertrail):
    for index, (_, number, carrier) in enumerate(NUMBERS):
        _ship(app, order_id=f"SO-{index}", carrier=carrier, number=number)
    scenario = build_scenario(
        seed=1,
        start=NOW - timedelta(days=14),
        parcels_per_provider=0,
        faults=FAULTS,
        numbers=NUMBERS,
    )
    simulator = CarrierSimulator(scenario=scenario, clock=app.clock)

    async def sleep(seconds: float) -> None:
        app.clock.advance(timedelta(seconds=seconds))  # type: ignore[attr-defined]

    async def run() -> None:
        transport = httpx.ASGITransport(app=create_simulator_app(simulator))
        async with httpx.AsyncClient(transport=transport) as http:
            poller = build_poller(app=app, config=_config(), http=http, sleep=sleep)
            for _ in range(3):
                await poller.poll_round()

    asyncio.run(run())

    rows = _poll_rows(app)
    assert set(rows) == {number for _, number, _ in NUMBERS}
    with SqlTrackingUnitOfWork(app.engine) as uow:
        for index, (provider, number, _) in enumerate(NUMBERS):
            shipment = uow.shipments.get(tenant_id="acme", shipment_id=f"SHP-SO-{index}")
            assert shipment is not None
            if provider == "ups":
                assert shipment.status == "delivered"
                assert shipment.delivery_event_id is not None
                events = uow.orders.find_events(
                    tenant_id="acme", event_ids=[shipment.delivery_event_id]
                )
                assert shipment.delivery_event_id in events
                # Delivered: the tracker is done and never polled again.
                assert rows[number]["tier"] == "done"
                assert rows[number]["next_poll_at"] is None
    assert simulator.stats()["ups"]["throttled"] == 0
    requests = app.metrics.carrier_requests.labels(provider="ups", outcome="ok")._value.get()
    assert requests >= 2
    remaining = app.metrics.carrier_quota_remaining.labels(
        provider="ups", credential="main", window="day"
    )._value.get()
    assert remaining == 25_000 - requests


def test_a_429_is_counted_as_throttled_in_the_metrics():
    metrics = Metrics()
    observer = MetricsObserver(metrics)
    observer.requested(provider="dhl", outcome="throttled")
    observer.throttled(provider="dhl")
    assert metrics.carrier_throttled.labels(provider="dhl")._value.get() == 1
    assert metrics.carrier_requests.labels(provider="dhl", outcome="throttled")._value.get() == 1


def test_a_tenant_without_a_credential_is_enrolled_but_never_polled_and_says_why(app: Ordertrail):
    _ship(app, order_id="SO-9", carrier="ups", number="1ZNOCREDENTIAL01")
    store = poll_store(app, _config(tenants=["another-tenant"]))
    assert store.refresh(now=NOW, cadence=_config().cadence, limit=10) == 1
    row = _poll_rows(app)["1ZNOCREDENTIAL01"]
    assert row["next_poll_at"] is None
    assert "no polling credential" in row["last_error"]
    assert store.due(now=NOW + timedelta(days=30), limit=10) == []
    # Once the tenant is given a credential, the next refresh routes the tracker and it is due.
    config = _config()
    assert poll_store(app, config).refresh(now=NOW, cadence=config.cadence, limit=10) == 1
    row = _poll_rows(app)["1ZNOCREDENTIAL01"]
    assert (row["provider"], row["credential"], row["last_error"]) == ("ups", "main", None)
    assert [t.tracking_number for t in poll_store(app, config).due(now=NOW, limit=10)] == [
        "1ZNOCREDENTIAL01"
    ]


def test_due_trackers_are_claimed_so_a_second_poller_does_not_take_them(app: Ordertrail):
    _ship(app, order_id="SO-1", carrier="ups", number="1ZCLAIM000000001")
    config = _config()
    store = poll_store(app, config)
    store.refresh(now=NOW, cadence=config.cadence, limit=10)
    first = store.due(now=NOW, limit=10)
    assert [t.tracking_number for t in first] == ["1ZCLAIM000000001"]
    assert store.due(now=NOW, limit=10) == []  # leased to the first poller
    # A poller that died: the lease runs out and the tracker comes back.
    assert len(store.due(now=NOW + timedelta(minutes=16), limit=10)) == 1
    store.save(
        result=PollResult(
            tracker=first[0], next_poll_at=NOW + timedelta(hours=4), attempts=0, status="in_transit"
        ),
        now=NOW,
    )
    assert _poll_rows(app)["1ZCLAIM000000001"]["tier"] == "moving"


def test_a_status_change_by_webhook_re_tiers_the_tracker(app: Ordertrail):
    _ship(app, order_id="SO-1", carrier="ups", number="1ZWEBHOOK0000001")
    config = _config()
    store = poll_store(app, config)
    store.refresh(now=NOW, cadence=config.cadence, limit=10)
    tracker = store.due(now=NOW, limit=10)[0]
    store.save(
        result=PollResult(
            tracker=tracker,
            next_poll_at=NOW + timedelta(hours=12),
            attempts=0,
            status="pre_transit",
        ),
        now=NOW,
    )
    scenario = build_scenario(
        seed=3,
        start=NOW - timedelta(days=3),
        parcels_per_provider=0,
        faults=FAULTS,
        numbers=[("ups", "1ZWEBHOOK0000001", "ups")],
    )
    parcel = next(iter(scenario.parcels.values()))
    out_for_delivery = [
        scan
        for scan in parse_track_response(
            body_for(parcel, now=NOW, shuffle=None), tracking_number="1ZWEBHOOK0000001"
        )
        if scan.raw_subcode == "OT"
    ]
    assert app.tracking is not None
    app.tracking.record_scans(tenant_id="acme", scans=out_for_delivery[:1], received_at=NOW)
    assert store.refresh(now=NOW, cadence=config.cadence, limit=10) == 1
    row = _poll_rows(app)["1ZWEBHOOK0000001"]
    assert (row["status"], row["tier"]) == ("out_for_delivery", "urgent")
    assert row["next_poll_at"] == NOW + timedelta(minutes=30)


def test_the_budget_counts_active_shipments_per_credential(app: Ordertrail):
    _ship(app, order_id="SO-1", carrier="ups", number="1ZBUDGET00000001")
    _ship(app, order_id="SO-2", carrier="dhl", number="JDBUDGET0000001")
    counts = poll_store(app, _config()).active_counts()
    assert set(counts) == {("ups", "main"), ("dhl", "main")}
    assert sum(counts[("ups", "main")].values()) == 1


@pytest.mark.slow
def test_polling_over_a_real_socket_to_the_simulator_on_loopback(sqlite_app: Ordertrail):
    app = sqlite_app
    _ship(app, order_id="SO-1", carrier="ups", number=NUMBERS[0][1])
    scenario = build_scenario(
        seed=1, start=NOW - timedelta(days=14), parcels_per_provider=0, faults=FAULTS,
        numbers=NUMBERS[:1],
    )  # fmt: skip
    simulator = CarrierSimulator(scenario=scenario, clock=app.clock)
    with SimulatorServer(simulator) as server:
        config = parse_polling_config(
            {
                "polling": {
                    "credentials": [
                        {"provider": "ups", "name": "main", "client_id": "id",
                         "client_secret": "s", "base_url": server.url},
                    ]
                }
            },
            environ={},
        )  # fmt: skip

        async def run() -> None:
            async with httpx.AsyncClient(timeout=5.0) as http:
                poller = build_poller(app=app, config=config, http=http)
                await poller.poll_round()

        asyncio.run(run())
        stats = httpx.get(f"{server.url}/_simulator/stats", timeout=5.0).json()
    assert stats["ups"]["ok"] == 1
    assert stats["ups"]["tokens"] == 1


def test_serve_polls_only_when_the_polling_file_asks_for_it(sqlite_app: Ordertrail, tmp_path):
    app = sqlite_app
    stop = asyncio.Event()
    assert embedded_poller(app=app, stop=stop) is None  # no polling file
    polling = tmp_path / "polling.toml"
    for embedded in ("false", "true"):
        polling.write_text(
            f'[polling]\nembedded = {embedded}\n[[polling.credentials]]\nprovider = "dhl"\n'
            f'api_key = "k"\nbase_url = "{SIMULATOR_URL}"\n',
            encoding="utf-8",
        )
        app.settings = replace(app.settings, carrier_polling=str(polling))
        loop = embedded_poller(app=app, stop=stop)
        assert (loop is not None) == (embedded == "true")
    # With nothing to poll, one pass of the loop ends at once and reports nothing.
    stop.set()
    assert loop is not None
    report = asyncio.run(loop)
    assert report.polled == 0


def test_the_demo_polls_its_own_shipments_from_the_simulator(sqlite_app: Ordertrail):
    app = sqlite_app
    for index, number in enumerate(["1ZDEMO000000001", "1ZDEMO000000002", "1ZDEMO000000003"]):
        _ship(app, order_id=f"SO-{index}", carrier="ups", number=number)

    async def sleep(seconds: float) -> None:
        app.clock.advance(timedelta(seconds=seconds))  # type: ignore[attr-defined]

    result = asyncio.run(poll_simulated_carriers(app=app, seed=7, sleep=sleep))
    assert result.shipments == 3
    assert (result.report.polled, result.report.throttled) == (3, 0)
    assert result.simulator["ups"]["ok"] == 3
    with app.engine.connect() as connection:
        statuses = [row.status for row in connection.execute(select(shipments.c.status))]
    assert "delivered" in statuses
