"""Property tests: random histories of plausible and implausible events, late ones included.

The generator keeps a shadow of each order (applying what it generates) only to choose
quantities and ids that are valid often enough to reach deep statuses; the properties are then
checked on fresh orders, and through the ingest service in random batch splits.
"""

from __future__ import annotations

import copy
from itertools import count
from typing import Any

from hypothesis import HealthCheck, Phase, find, given, settings, target
from hypothesis import strategies as st

from ordertrail.adapters.memory import MemoryStorage
from ordertrail.domain.canonical import canonical_json, sha256_hex
from ordertrail.domain.orders import (
    IllegalTransition,
    Order,
    OrderEvent,
    SchemaRejected,
    order_to_state,
    parse_event,
)
from ordertrail.domain.orders.status import LIFECYCLE, derive_status, is_allowed
from ordertrail.services.ingest import ingest
from ordertrail.services.projections import verify_projections
from ordertrail.services.results import Outcome
from tests.conftest import NOW
from tests.unit.histories import histories

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _snapshot(order: Order | None) -> Any:
    return (
        None
        if order is None
        else copy.deepcopy((order.status, order.version, order_to_state(order)))
    )


def _check_invariants(order: Order) -> None:
    for line in order.lines.values():
        assert 0 <= line.cancelled <= line.ordered
        assert 0 <= line.shipped <= line.active
        assert 0 <= line.delivered <= line.shipped
        assert 0 <= line.accepted <= line.delivered
        assert 0 <= line.returned <= line.delivered
        assert 0 <= line.allocated <= line.active
        assert 0 <= line.backordered <= line.unshipped
    assert order.status == derive_status(totals=order.totals(), confirmed=order.confirmed)
    assert 0 <= order.credited_minor <= order.invoiced_minor
    for shipment in order.shipments.values():
        for line_id, quantity in shipment.delivered.items():
            assert 0 < quantity <= shipment.lines[line_id]


def _apply_in_order(raws: list[dict[str, Any]]) -> tuple[dict[str, Order], list[OrderEvent]]:
    """Apply the history as ingest would (first use of an event id wins); check every step."""
    orders: dict[str, Order] = {}
    accepted: list[OrderEvent] = []
    seen: set[str] = set()
    for raw in raws:
        try:
            event = parse_event(raw, now=NOW)
        except SchemaRejected:
            continue
        if event.event_id in seen:
            continue
        order = orders.get(event.order_id)
        before = _snapshot(order)
        refusal: IllegalTransition | None = None
        try:
            if order is None:
                order, change = Order.place(event)
                orders[event.order_id] = order
            else:
                change = order.apply(event)
        except IllegalTransition as error:
            refusal = error
        if refusal is not None:
            assert _snapshot(orders.get(event.order_id)) == before
            # derive_status and the transition table are two statements of one lifecycle: a
            # reachable state where they disagree is a bug in one of them.
            assert refusal.code != "transition_not_allowed", refusal.message
            continue
        seen.add(event.event_id)
        accepted.append(event)
        _check_invariants(order)
        assert change.to_status == order.status
        if change.from_status is not None:
            assert is_allowed(from_status=change.from_status, to_status=change.to_status)
            if change.late:
                assert LIFECYCLE[change.to_status].rank >= LIFECYCLE[change.from_status].rank
    return orders, accepted


@SETTINGS
@given(raws=histories())
def test_every_applied_event_keeps_the_invariants_and_replay_rebuilds_the_same_orders(raws):
    orders, accepted = _apply_in_order(raws)
    target(max((LIFECYCLE[o.status].rank for o in orders.values()), default=0), label="rank")
    rebuilt: dict[str, Order] = {}
    for event in accepted:
        if event.order_id in rebuilt:
            rebuilt[event.order_id].apply(event)
        else:
            rebuilt[event.order_id], _ = Order.place(event)
    assert {k: _snapshot(v) for k, v in rebuilt.items()} == {
        k: _snapshot(v) for k, v in orders.items()
    }


def _reaches(status: str):
    def predicate(raws: list[dict[str, Any]]) -> bool:
        orders, _ = _apply_in_order(raws)
        return any(order.status == status for order in orders.values())

    return predicate


def test_the_generator_reaches_the_deep_statuses():
    # Guards the properties against a generator that only ever produces shallow histories.
    for status in ("delivered", "completed", "partially_returned", "returned", "cancelled"):
        find(
            histories(),
            _reaches(status),
            settings=settings(
                max_examples=500,
                deadline=None,
                phases=[Phase.generate],
                database=None,
                derandomize=True,
            ),
        )


def _split(raws: list[Any], sizes: list[int]) -> list[list[Any]]:
    batches, start = [], 0
    for size in sizes:
        if start >= len(raws):
            break
        batches.append(raws[start : start + size])
        start += size
    if start < len(raws):
        batches.append(raws[start:])
    return batches


@SETTINGS
@given(raws=histories(steps_max=30), sizes=st.lists(st.integers(1, 8), max_size=30))
def test_ingesting_in_any_batch_split_stores_each_event_once_and_the_projection_replays(
    raws, sizes
):
    storage = MemoryStorage()
    quarantine_ids = count(1)
    results = []
    for batch in _split(raws, sizes):
        results += ingest(
            uow_factory=storage.uow_factory,
            raw_events=batch,
            tenant_id="acme",
            actor="key:test",
            now=NOW,
            new_id=lambda: f"q{next(quarantine_ids):06d}",
        )
    assert verify_projections(log=storage.event_log, tenant_id=None) == []

    stored = [row.event.event_id for row in storage.database.events]
    assert len(stored) == len(set(stored))
    applied = [r.event_id for r in results if r.outcome == Outcome.APPLIED]
    assert applied == stored
    orders, accepted = _apply_in_order(raws)
    assert [e.event_id for e in accepted] == stored

    first_body: dict[str, str] = {}
    for raw, result in zip(raws, results, strict=True):
        body = canonical_json(raw)
        if result.outcome == Outcome.APPLIED:
            first_body[raw["event_id"]] = body
        elif result.outcome == Outcome.DUPLICATE:
            assert first_body[raw["event_id"]] == body
        elif result.outcome == Outcome.CONFLICT:
            assert first_body[raw["event_id"]] != body
    assert len(storage.database.quarantine) == sum(
        r.outcome in (Outcome.REJECTED, Outcome.CONFLICT) for r in results
    )
    for rejection in storage.database.quarantine.values():
        assert rejection.checksum_sha256 == sha256_hex(rejection.body)
    for order_id, order in orders.items():
        document = storage.queries.get_order(tenant_id="acme", order_id=order_id)
        assert (document["status"], document["version"]) == (order.status.value, order.version)
