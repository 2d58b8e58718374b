"""Several clients sending the same events at once: each event is applied once, never twice."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.event_log import SqlEventLog
from ordertrail.adapters.db.tables import events, outbox
from ordertrail.services.projections import verify_projections
from tests.conftest import truncate_postgres
from tests.e2e.conftest import Servers
from tests.e2e.test_crash import TENANT, make_token, order_events

pytestmark = pytest.mark.slow

CLIENTS = 4
ORDERS = 150
BATCH_SIZE = 50
# One instant for every client, so that their copies of an event are identical.
AT = datetime.now(UTC) - timedelta(days=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "concurrent.db")
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    truncate_postgres(engine)
    engine.dispose()
    return url


def batches_for(client_no: int) -> list[list[dict[str, Any]]]:
    """The same events for every client, each client cutting them into batches differently."""
    per_order = [order_events(f"C-{n:04d}", f"c{n}", AT) for n in range(ORDERS)]
    # Stage by stage (all placed, then all dispatched, then all delivered), so any cut is valid.
    stream = [per_order[n][stage] for stage in range(3) for n in range(ORDERS)]
    size = BATCH_SIZE + 7 * client_no
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def post_retrying(http: httpx.Client, batch: list[dict[str, Any]]) -> httpx.Response:
    """Post a batch; on 503 (lost a race with another writer) wait as told and retry, 5 times."""
    for _ in range(5):
        response = http.post("/v1/events/batch", json=batch)
        if response.status_code != 503:
            return response
        time.sleep(min(float(response.headers.get("retry-after", "1")), 1.0) * random.random())
    return response


def test_concurrent_clients_sending_the_same_events_apply_each_exactly_once(
    database: str, tmp_path: Path, servers: Servers
):
    token = make_token(database)
    server = servers.start(database=database)
    outcomes: Counter[tuple[str, str]] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(client_no: int) -> None:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            start.wait()
            for batch in batches_for(client_no):
                response = post_retrying(http, batch)
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:300]}")
                    return
                with lock:
                    outcomes.update(
                        (r["event_id"], r["outcome"]) for r in response.json()["results"]
                    )

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    event_ids = {event_id for event_id, _ in outcomes}
    assert len(event_ids) == ORDERS * 3
    for event_id in event_ids:
        seen = {outcome: n for (eid, outcome), n in outcomes.items() if eid == event_id}
        assert seen == {"applied": 1, "duplicate": CLIENTS - 1}, (event_id, seen)
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(events)).scalar_one()
            in_outbox = connection.execute(select(func.count()).select_from(outbox)).scalar_one()
        assert stored == in_outbox == ORDERS * 3
        assert verify_projections(log=SqlEventLog(engine), tenant_id=TENANT) == []
    finally:
        engine.dispose()
