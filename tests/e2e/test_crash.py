"""kill -9 the server mid-stream: every acknowledged event survives exactly once.

A client thread per producer sends batches of 200 events as fast as the server takes them and
records which events were acknowledged (HTTP 200, outcome applied or duplicate). The server is
killed with SIGKILL while requests are in flight, at several moments, and restarted on the same
database. After each restart: every acknowledged event is stored exactly once, the outbox has one
row per event, and the order projection equals a replay of the event log. Then everything, the
unacknowledged rest included, is sent again and must end up complete, each event once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.event_log import SqlEventLog
from ordertrail.adapters.db.tables import events, orders, outbox
from ordertrail.bootstrap import Settings, bootstrap
from ordertrail.services.keys import create_key
from ordertrail.services.projections import verify_projections
from tests.builders import envelope
from tests.conftest import truncate_postgres
from tests.e2e.conftest import Server, Servers, child_environment

pytestmark = pytest.mark.slow

TENANT = "crash"
PRODUCERS = 3
BATCHES_PER_PRODUCER = 6
BATCH_SIZE = 200
# Kill after this many batches were acknowledged in the round: early, middle, late.
KILL_AFTER_ACKNOWLEDGED = (1, 5, 11)
TEST_BUDGET_S = 60


# ---- the traffic -----------------------------------------------------------------------------


def order_events(order_id: str, event_prefix: str, at: datetime) -> list[dict[str, Any]]:
    """placed (2 lines), one shipment of everything, its delivery."""
    lines = [{"line_id": "1", "quantity": 2}, {"line_id": "2", "quantity": 1}]
    common = {"order_id": order_id, "tenant_id": TENANT, "at": at}
    return [
        envelope(
            "order.placed",
            {
                "customer_id": "C-1",
                "currency": "USD",
                "lines": [
                    {"line_id": "1", "sku": "W", "quantity": 2, "unit_price_minor": 1500},
                    {"line_id": "2", "sku": "G", "quantity": 1, "unit_price_minor": 4000},
                ],
            },
            event_id=f"{event_prefix}-p",
            **common,
        ),
        envelope(
            "shipment.dispatched",
            {"shipment_id": "S1", "carrier": "ups", "tracking_number": "1Z1", "lines": lines},
            event_id=f"{event_prefix}-s",
            source="wms",
            minutes=1,
            **common,
        ),
        envelope(
            "shipment.delivered",
            {"shipment_id": "S1"},
            event_id=f"{event_prefix}-d",
            source="carrier:ups",
            minutes=2,
            **common,
        ),
    ]


def producer_batches(round_no: int, producer: int) -> list[list[dict[str, Any]]]:
    """One producer's batches, in sending order. Orders are staggered so that an order's three
    events usually fall into different batches, and a kill can split an order mid-life."""
    at = datetime.now(UTC) - timedelta(days=1)
    total = BATCHES_PER_PRODUCER * BATCH_SIZE
    per_order = [
        order_events(f"R{round_no}-P{producer}-O{n:05d}", f"r{round_no}p{producer}o{n}", at)
        for n in range(total // 3 + 2)
    ]
    stream: list[dict[str, Any]] = []
    for step in range(len(per_order) + 2):
        for stage in range(3):
            order = step - stage * 2  # placed of n, dispatched of n-2, delivered of n-4
            if 0 <= order < len(per_order):
                stream.append(per_order[order][stage])
    stream = stream[:total]
    # Only events whose predecessors are in the stream, so every one of them can apply.
    return [stream[i : i + BATCH_SIZE] for i in range(0, total, BATCH_SIZE)]


# ---- sending ---------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the clients saw: acknowledged events, failures, and requests still in flight."""

    acknowledged: set[str] = field(default_factory=set)
    acknowledged_batches: int = 0
    transport_errors: int = 0
    unexpected: list[str] = field(default_factory=list)
    in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_until_failure(
    base_url: str, token: str, batches: list[list[dict[str, Any]]], ledger: Ledger
) -> None:
    """Send batches in order; stop at the first one not acknowledged (as a real client would)."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        for batch in batches:
            with ledger.lock:
                ledger.in_flight += 1
            try:
                response = http.post("/v1/events/batch", json=batch)
            except httpx.TransportError:
                with ledger.lock:
                    ledger.transport_errors += 1
                return
            finally:
                with ledger.lock:
                    ledger.in_flight -= 1
            if response.status_code != 200:
                ledger.unexpected.append(f"{response.status_code}: {response.text[:300]}")
                return
            results = response.json()["results"]
            outcomes = {r["outcome"] for r in results}
            if outcomes != {"applied"}:
                ledger.unexpected.append(f"outcomes {outcomes}: {results[:2]}")
                return
            with ledger.lock:
                ledger.acknowledged.update(r["event_id"] for r in results)
                ledger.acknowledged_batches += 1


def stream_and_kill(
    server: Server, token: str, all_batches: list[list[list[dict[str, Any]]]], kill_after: int
) -> tuple[Ledger, int]:
    """Run the producers, SIGKILL the server once `kill_after` batches are acknowledged."""
    ledger = Ledger()
    threads = [
        threading.Thread(
            target=send_until_failure, args=(server.base_url, token, batches, ledger), daemon=True
        )
        for batches in all_batches
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while ledger.acknowledged_batches < kill_after and time.monotonic() < deadline:
        if not any(t.is_alive() for t in threads):
            break
        time.sleep(0.001)
    with ledger.lock:
        in_flight_at_kill = ledger.in_flight
    server.kill_9()
    for thread in threads:
        thread.join(timeout=30)
    assert not ledger.unexpected, ledger.unexpected
    assert ledger.acknowledged_batches >= kill_after, "the server was too slow to reach the kill"
    return ledger, in_flight_at_kill


def resend_everything(base_url: str, token: str, batches: list[list[dict[str, Any]]]) -> dict:
    """Send every batch again, in order; return event id -> outcome."""
    outcomes: dict[str, str] = {}
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        for batch in batches:
            response = http.post("/v1/events/batch", json=batch)
            assert response.status_code == 200, response.text
            outcomes.update((r["event_id"], r["outcome"]) for r in response.json()["results"])
    return outcomes


# ---- checking the database -------------------------------------------------------------------


def stored_event_counts(engine: Engine) -> dict[str, int]:
    query = (
        select(events.c.event_id, func.count())
        .where(events.c.tenant_id == TENANT)
        .group_by(events.c.event_id)
    )
    with engine.connect() as connection:
        return dict(connection.execute(query).all())


def outbox_event_ids(engine: Engine) -> list[str]:
    query = select(outbox.c.event_id).where(outbox.c.tenant_id == TENANT)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def assert_consistent(engine: Engine, *, must_hold: set[str]) -> dict[str, int]:
    """Every event in `must_hold` is stored once; no event twice; outbox = events; projection ok."""
    counts = stored_event_counts(engine)
    missing = must_hold - set(counts)
    assert not missing, f"{len(missing)} acknowledged events were lost, e.g. {sorted(missing)[:3]}"
    twice = {event_id: n for event_id, n in counts.items() if n != 1}
    assert not twice, f"events stored more than once: {list(twice.items())[:3]}"
    in_outbox = outbox_event_ids(engine)
    assert len(in_outbox) == len(counts)
    assert set(in_outbox) == set(counts)
    findings = verify_projections(log=SqlEventLog(engine), tenant_id=TENANT)
    assert findings == [], findings[:5]
    return counts


# ---- the test --------------------------------------------------------------------------------


@dataclass
class Target:
    database: str  # what `serve --database` is given
    url: str  # the SQLAlchemy URL for checking


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        path = tmp_path / "crash.db"
        yield Target(database=str(path), url=sqlite_url(path))
        return
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    truncate_postgres(engine)
    engine.dispose()
    yield Target(database=url, url=url)


def make_token(url: str) -> str:
    app = bootstrap(settings=Settings(database_url=url))  # applies migrations
    try:
        _, token = create_key(
            store=app.keys,
            tenant_id=TENANT,
            roles=["integration"],
            name="crash test",
            now=datetime.now(UTC),
        )
    finally:
        app.close()
    return token


def test_acknowledged_events_survive_kill_9_exactly_once(target: Target, servers: Servers):
    started = time.monotonic()
    token = make_token(target.url)
    env = child_environment()
    engine = make_engine(target.url)
    server = servers.start(database=target.database, env=env)
    in_flight_kills = 0
    try:
        for round_no, kill_after in enumerate(KILL_AFTER_ACKNOWLEDGED):
            round_batches = [producer_batches(round_no, p) for p in range(PRODUCERS)]
            ledger, in_flight = stream_and_kill(server, token, round_batches, kill_after)
            in_flight_kills += in_flight > 0
            sent = {e["event_id"] for batches in round_batches for b in batches for e in b}
            assert ledger.acknowledged < sent, "the kill came after everything was sent"

            server = servers.start(database=target.database, env=env)
            before = assert_consistent(engine, must_hold=ledger.acknowledged)

            outcomes: dict[str, str] = {}
            for batches in round_batches:
                outcomes |= resend_everything(server.base_url, token, batches)
            # Acknowledged events are answered as duplicates: stored once, never re-applied.
            assert {outcomes[e] for e in ledger.acknowledged} <= {"duplicate"}
            assert {outcomes[e] for e in before.keys() & sent} <= {"duplicate"}
            assert set(outcomes.values()) <= {"applied", "duplicate"}
            after = assert_consistent(engine, must_hold=sent)
            assert sent <= set(after)

        with engine.connect() as connection:
            statuses = connection.execute(
                select(orders.c.status, func.count())
                .where(orders.c.tenant_id == TENANT)
                .group_by(orders.c.status)
            ).all()
        # Each round's stream ends with the last orders only part-way through their life.
        assert {status for status, _ in statuses} <= {"pending", "fulfilled", "delivered"}
        assert dict(statuses)["delivered"] > 0
        assert in_flight_kills >= 1, "no kill ever hit a request in flight"
    finally:
        engine.dispose()
    assert time.monotonic() - started < TEST_BUDGET_S
