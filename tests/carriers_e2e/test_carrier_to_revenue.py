"""Every provider end to end against the simulator: signed webhook or poll -> canonical status ->
`shipment.delivered` order event with proof of delivery -> revenue recognized.

The order is 2 GADGET at 25.00, FOB destination, so control (and revenue) passes at delivery:
the one recognition entry credits revenue_goods 5,000 for obligation 1/unit, caused by the
delivery event the carrier's scan became. Parametrized on SQLite; one provider of each kind also
runs on PostgreSQL (the `app` fixture), and one webhook provider over a real socket.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from ordertrail.adapters.carriers.simulator.scenario import POLLED_PROVIDERS, WEBHOOK_PROVIDERS
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from tests.carriers_e2e.support import (
    ORDER,
    QUANTITY,
    UNIT_PRICE,
    deliver_by_polling,
    deliver_by_webhook,
    delivered_events,
    journal,
    shipment,
)

REVENUE = QUANTITY * UNIT_PRICE


def assert_delivered_and_recognized(app: Ordertrail, *, provider: str) -> None:
    record = shipment(app)
    assert record.status == "delivered"
    assert record.provider == provider
    assert record.delivered_at is not None
    [delivered] = delivered_events(app)
    assert delivered["event_id"] == record.delivery_event_id
    assert delivered["source"] == f"carrier:{provider}"
    proof = delivered["payload"]["proof_of_delivery"]
    assert proof["delivered_at"] == record.delivered_at.isoformat()
    entries = journal(app)
    recognitions = [e for e in entries if e.kind == "recognition"]
    assert len(recognitions) == 1, entries
    [entry] = recognitions
    assert (entry.contract_id, entry.obligation_id) == (f"ctr-{ORDER}", "1/unit")
    assert entry.cause_event_id == record.delivery_event_id
    assert entry.occurred_on == record.delivered_at.date()
    credits = {p.account: p.amount_minor for p in entry.postings if p.amount_minor < 0}
    assert credits == {"revenue_goods": -REVENUE}
    assert sum(p.amount_minor for p in entry.postings) == 0


@pytest.mark.parametrize("provider", WEBHOOK_PROVIDERS)
def test_a_signed_webhook_from_the_simulator_becomes_revenue(sqlite_app: Ordertrail, provider: str):
    run = deliver_by_webhook(sqlite_app, provider=provider)
    assert run.sent >= 1
    # Every delivery, redeliveries included, was authenticated and accepted.
    assert set(run.outcomes) <= {200, 202}, run.outcomes
    assert_delivered_and_recognized(sqlite_app, provider=provider)


@pytest.mark.parametrize("provider", POLLED_PROVIDERS)
def test_a_polled_delivery_from_the_simulator_becomes_revenue(
    sqlite_app: Ordertrail, provider: str
):
    run = deliver_by_polling(sqlite_app, provider=provider)
    assert run.simulator["requests"] >= 1
    assert run.simulator["throttled"] == 0
    assert_delivered_and_recognized(sqlite_app, provider=provider)


def test_a_webhook_delivery_on_both_databases(app: Ordertrail):
    """On SQLite and PostgreSQL: a Shippo webhook delivers; the revenue is the same."""
    deliver_by_webhook(app, provider="shippo")
    assert_delivered_and_recognized(app, provider="shippo")


def test_a_polled_usps_delivery_on_both_databases(app: Ordertrail):
    deliver_by_polling(app, provider="usps")
    assert_delivered_and_recognized(app, provider="usps")


@pytest.fixture
def served(sqlite_app: Ordertrail) -> Iterator[str]:
    """The API on a loopback socket (uvicorn in a thread, no embedded workers)."""
    config = uvicorn.Config(
        create_app(sqlite_app),
        host="127.0.0.1",
        port=0,
        log_level="error",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.slow
def test_a_webhook_over_a_real_socket_becomes_revenue(sqlite_app: Ordertrail, served: str):
    run = deliver_by_webhook(
        sqlite_app,
        provider="aftership",
        transport=httpx.AsyncHTTPTransport(),
        base_url=served,
    )
    assert run.sent >= 1
    assert set(run.outcomes) <= {200, 202}, run.outcomes
    assert_delivered_and_recognized(sqlite_app, provider="aftership")
