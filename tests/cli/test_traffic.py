"""The demo's traffic generator: deterministic, complete, and every answer ingest gives is meant."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from ordertrail.adapters.traffic import generate_traffic, last_complete_month
from ordertrail.adapters.traffic.mischief import INVALID_KINDS
from ordertrail.domain.canonical import canonical_json
from ordertrail.domain.orders import CURRENT_VERSION
from tests.conftest import NOW, make_principal

MONTH = last_complete_month(NOW)


def test_the_last_complete_month_is_the_one_before_the_clocks_month():
    assert last_complete_month(NOW) == datetime(2026, 10, 1, tzinfo=UTC)
    assert last_complete_month(datetime(2027, 1, 5, 3, tzinfo=UTC)) == datetime(
        2026, 12, 1, tzinfo=UTC
    )


def test_the_same_seed_gives_the_same_traffic_and_another_seed_does_not():
    first = generate_traffic(seed=3, orders_count=120, month_start=MONTH)
    again = generate_traffic(seed=3, orders_count=120, month_start=MONTH)
    other = generate_traffic(seed=4, orders_count=120, month_start=MONTH)
    assert canonical_json(first.events) == canonical_json(again.events)
    assert first.intents == again.intents
    assert canonical_json(first.events) != canonical_json(other.events)


def test_a_month_holds_every_event_type_and_late_resent_and_invalid_events():
    traffic = generate_traffic(seed=1, orders_count=300, month_start=MONTH)
    types = {event["type"] for event in traffic.events}
    assert set(CURRENT_VERSION) <= types
    kinds = Counter(intent.kind for intent in traffic.intents)
    assert kinds["late"] > 0
    assert kinds["duplicate"] > 0
    assert {kind for kind, _outcome, _forge in INVALID_KINDS} <= set(kinds)
    placed_versions = {e["schema_version"] for e in traffic.events if e["type"] == "order.placed"}
    assert placed_versions == {1, 2}


def test_orders_have_one_to_five_lines_in_one_currency_and_ship_with_every_carrier():
    traffic = generate_traffic(seed=2, orders_count=300, month_start=MONTH)
    placed = [e for e in traffic.events if e["type"] == "order.placed"]
    assert {len(e["payload"]["lines"]) for e in placed} == {1, 2, 3, 4, 5}
    currency_of = {e["order_id"]: e["payload"]["currency"] for e in placed}
    assert len(set(currency_of.values())) >= 3
    for event in traffic.events:
        currency = event["payload"].get("currency") if isinstance(event["payload"], dict) else None
        if currency and event["order_id"] in currency_of and event["tenant_id"] == "demo":
            assert currency == currency_of[event["order_id"]]
    carriers = {
        e["payload"].get("carrier") for e in traffic.events if e["type"] == "shipment.dispatched"
    }
    assert {"ups", "fedex", "dhl", "usps"} <= carriers


def test_every_event_occurs_before_the_month_ends():
    traffic = generate_traffic(seed=5, orders_count=200, month_start=MONTH)
    latest = max(datetime.fromisoformat(e["occurred_at"]) for e in traffic.events)
    assert latest < traffic.month_end <= NOW


def test_ingest_gives_every_generated_event_the_outcome_the_generator_meant(sqlite_app):
    traffic = generate_traffic(seed=11, orders_count=150, month_start=MONTH)
    principal, _ = make_principal(sqlite_app, tenant_id="demo")
    results = []
    for start in range(0, len(traffic.events), 500):
        batch = traffic.events[start : start + 500]
        results += sqlite_app.ingest(raw_events=batch, principal=principal)
    surprises = [
        (intent, result.outcome, result.error_code, event["event_id"])
        for event, intent, result in zip(traffic.events, traffic.intents, results, strict=True)
        if intent.outcome != result.outcome
        or (result.outcome == "applied" and result.late != (intent.kind == "late"))
    ]
    assert surprises == []
