"""Determinism: replaying every stored event into an empty database gives the same journal,
entry ids and postings included, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Engine, text

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.tables import metadata
from ordertrail.bootstrap import Ordertrail
from ordertrail.services.close import run_close
from ordertrail.services.revenue_ports import RevenueUnitOfWork
from tests.builders import envelope
from tests.conftest import make_principal
from tests.pipeline.support import pipeline_app
from tests.revenue.support import TENANT, load_catalog, order_events, pump

ENTRY_COLUMNS = (
    "entry_id, kind, contract_id, obligation_id, cause_event_id, occurred_on, posted_on, period, "
    "reverses, memo"
)
POSTING_COLUMNS = (
    "entry_id, line_no, account, amount_minor, currency, contract_id, obligation_id, customer_id, "
    "cause_event_id, period, posted_on"
)


def history() -> list[dict[str, Any]]:
    """Two orders: one shipped, invoiced, partly returned and credited; one amended, shipped."""
    second = "SO-2"
    lines = [{"line_id": "1", "sku": "WIDGET", "quantity": 2, "unit_price_minor": 1500}]
    terms = {"customer_id": "CUST-2", "currency": "USD", "shipping_terms": "fob_destination"}
    return [
        *order_events("SO-1"),
        envelope(
            "shipment.delivered",
            {"shipment_id": "SO-1-S1"},
            order_id="SO-1",
            minutes=10,
            source="carrier:ups",
        ),
        envelope(
            "return.received",
            {"return_id": "R1", "lines": [{"line_id": "1", "quantity": 1}]},
            order_id="SO-1",
            minutes=20,
            source="wms",
        ),
        envelope(
            "credit_note.issued",
            {"credit_note_id": "C1", "amount_minor": 1500, "currency": "USD", "reason": "return"},
            order_id="SO-1",
            minutes=30,
            source="billing",
        ),
        envelope("order.placed", {**terms, "lines": lines}, order_id=second, minutes=1),
        envelope("order.confirmed", {}, order_id=second, minutes=2),
        envelope(
            "order.amended",
            {"reason": "more", "lines": [{"line_id": "1", "quantity": 3}]},
            order_id=second,
            minutes=3,
        ),
        envelope(
            "shipment.dispatched",
            {
                "shipment_id": "SO-2-S1",
                "carrier": "ups",
                "tracking_number": "1Z2",
                "lines": [{"line_id": "1", "quantity": 3}],
            },
            order_id=second,
            minutes=4,
            source="wms",
        ),
        envelope(
            "shipment.delivered",
            {"shipment_id": "SO-2-S1"},
            order_id=second,
            minutes=5,
            source="carrier:ups",
        ),
    ]


def books(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as connection:
        entries = connection.execute(
            text(f"SELECT {ENTRY_COLUMNS} FROM journal_entries ORDER BY entry_id")
        ).all()
        postings = connection.execute(
            text(f"SELECT {POSTING_COLUMNS} FROM journal_postings ORDER BY entry_id, line_no")
        ).all()
    return [tuple(r) for r in entries], [tuple(r) for r in postings]


def run_books(app: Ordertrail, events: list[dict[str, Any]]) -> None:
    load_catalog(app)
    results = app.ingest(raw_events=events, principal=make_principal(app)[0])
    assert [r.error_code for r in results] == [None] * len(events)
    pump(app)
    run_close(
        uow_factory=lambda: cast(RevenueUnitOfWork, app.uow_factory()),
        tenant_id=TENANT,
        period="2026-11",
        actor="test",
        now=app.clock.now,
    )


def empty(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            if engine.dialect.name == "postgresql":
                connection.execute(text(f"TRUNCATE {table.name} CASCADE"))
            else:
                # SQLite has no TRUNCATE; the append-only triggers refuse DELETE, so drop them
                # for the wipe: this empties a database, it is not how the app treats history.
                connection.execute(text(f"DROP TRIGGER IF EXISTS {table.name}_no_delete"))
                connection.execute(text(f"DELETE FROM {table.name}"))


def test_replaying_every_stored_event_rebuilds_the_same_journal(
    engine: Engine, clock: FixedClock
) -> None:
    first = pipeline_app(engine, clock)
    run_books(first, history())
    entries, postings = books(engine)
    with engine.connect() as connection:
        stored = [
            json.loads(body)
            for (body,) in connection.execute(text("SELECT body FROM events ORDER BY seq"))
        ]
    kinds = {row[1] for row in entries}
    assert {"recognition", "return", "invoice", "credit_note", "close"} <= kinds

    empty(engine)
    assert books(engine) == ([], [])
    run_books(pipeline_app(engine, clock), stored)

    assert books(engine) == (entries, postings)
