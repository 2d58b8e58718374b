"""What real feeds do to a clean history: late arrivals, resends, and events that must be refused.

Every forged event has an intended outcome, so a test can check that ingest gave exactly that
answer to each one. Late arrivals are only kept when the real order aggregate accepts the order
they arrive in: lateness is realistic, a late event that ingest must refuse is a different thing.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ordertrail.adapters.traffic.story import HOUR_S, Story
from ordertrail.domain.orders import CURRENT_VERSION, EventRejected, Order, parse_event

SHARES: dict[str, float] = {
    "late_order": 0.15,  # orders with one or two events that arrive hours or days late
    "duplicate": 0.03,  # of events: resent with the same event id and body
}
# Event types whose feeds are often delayed: carrier scans, nightly billing exports, stock syncs.
LATE_PRONE = frozenset(
    {"order.confirmed", "line.allocated", "shipment.delivered", "invoice.issued", "hold.released"}
)
LATE_DELAY_S = (4 * HOUR_S, 4 * 24 * HOUR_S)
RESEND_DELAY_S = (1, 2 * 24 * HOUR_S)


class Intent(NamedTuple):
    """The outcome ingest should give an event, and why the event is in the traffic."""

    outcome: str  # applied | duplicate | rejected | conflict
    kind: str  # event | late | duplicate | an invalid kind from INVALID_KINDS


@dataclass(slots=True)
class Sending:
    sent_at: datetime
    envelope: dict[str, Any]
    intent: Intent


def _delay(rng: random.Random, at: datetime, bounds: tuple[int, int]) -> datetime:
    return at + timedelta(seconds=rng.randint(*bounds))


def _occurred(envelope: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(envelope["occurred_at"])


def refused_positions(envelopes: list[dict[str, Any]], *, now: datetime) -> list[int]:
    """Replay one order's events through the real aggregate; return the positions it refuses."""
    order: Order | None = None
    seen: set[str] = set()
    refused = []
    for position, raw in enumerate(envelopes):
        if raw["event_id"] in seen:
            continue
        try:
            event = parse_event(raw, now=now)
            if order is None:
                order, _change = Order.place(event)
            else:
                order.apply(event)
        except EventRejected:
            refused.append(position)
            continue
        seen.add(raw["event_id"])
    return refused


def with_late_arrivals(
    rng: random.Random, sendings: list[Sending], *, now: datetime
) -> list[Sending]:
    """Delay one or two late-prone events of an order, if the aggregate accepts the result."""
    candidates = [s for s in sendings if s.envelope["type"] in LATE_PRONE]
    if not candidates or rng.random() >= SHARES["late_order"]:
        return sendings
    delayed = {id(s) for s in rng.sample(candidates, min(len(candidates), rng.randint(1, 2)))}
    trial = [
        Sending(_delay(rng, s.sent_at, LATE_DELAY_S), s.envelope, s.intent)
        if id(s) in delayed
        else s
        for s in sendings
    ]
    trial.sort(key=lambda s: s.sent_at)
    if refused_positions([s.envelope for s in trial], now=now):
        return sendings
    return trial


def with_resends(rng: random.Random, sendings: list[Sending]) -> list[Sending]:
    """Resend some events unchanged, as at-least-once webhooks and retrying clients do."""
    resends = [
        Sending(
            _delay(rng, s.sent_at, RESEND_DELAY_S),
            copy.deepcopy(s.envelope),
            Intent("duplicate", "duplicate"),
        )
        for s in sendings
        if s.intent.outcome == "applied" and rng.random() < SHARES["duplicate"]
    ]
    return sendings + resends


# ---- events ingest must refuse ------------------------------------------------------------------


def _forged(sendings: list[Sending], suffix: str, **changes: Any) -> dict[str, Any]:
    """A new event for the order of `sendings`, with a fresh id and its type's current version."""
    placed = sendings[0].envelope
    return {
        **copy.deepcopy(placed),
        "event_id": f"{placed['event_id']}-{suffix}",
        "schema_version": CURRENT_VERSION.get(changes["type"], 1),
        **changes,
    }


def _first_unit() -> list[dict[str, Any]]:
    return [{"line_id": "1", "quantity": 1}]


def _missing_field(_rng: random.Random, story: Story, sent: list[Sending]) -> dict[str, Any]:
    payload = {"shipment_id": f"SH-{story.number}-M", "carrier": "ups", "lines": _first_unit()}
    return _forged(sent, "mf", type="shipment.dispatched", source="wms", payload=payload)


def _over_shipment(rng: random.Random, story: Story, sent: list[Sending]) -> dict[str, Any]:
    payload = {
        "shipment_id": f"SH-{story.number}-X",
        "carrier": "dhl",
        "tracking_number": f"{rng.randrange(10**10):010d}",
        "lines": [{"line_id": "1", "quantity": story.lines["1"].ordered_max + rng.randint(1, 5)}],
    }
    return _forged(sent, "os", type="shipment.dispatched", source="wms", payload=payload)


def _float_quantity(_rng: random.Random, _story: Story, sent: list[Sending]) -> dict[str, Any]:
    payload = {"lines": [{"line_id": "1", "quantity": 2.0}]}
    return _forged(sent, "fq", type="line.allocated", source="wms", payload=payload)


def _unknown_shipment(_rng: random.Random, story: Story, sent: list[Sending]) -> dict[str, Any]:
    payload = {"shipment_id": f"SH-{story.number}-404"}
    return _forged(sent, "us", type="shipment.delivered", source="carrier:fedex", payload=payload)


def _unknown_type(_rng: random.Random, story: Story, sent: list[Sending]) -> dict[str, Any]:
    payload = {"shipment_id": f"SH-{story.number}-1", "status": "in_transit"}
    return _forged(sent, "ut", type="shipment.in_transit", source="carrier:ups", payload=payload)


def _reused_id(rng: random.Random, _story: Story, sent: list[Sending]) -> dict[str, Any]:
    """An exporter that re-sends an applied event under its id with a corrected timestamp."""
    original = rng.choice([s for s in sent if s.intent.outcome == "applied"])
    forged = copy.deepcopy(original.envelope)
    # Earlier, never later: a later time could fall in the future and be refused for that instead.
    moved = _occurred(forged) - timedelta(minutes=rng.randint(1, 90))
    forged["occurred_at"] = moved.isoformat().replace("+00:00", "Z")
    return forged


def _unsupported_version(_rng: random.Random, _story: Story, sent: list[Sending]) -> dict[str, Any]:
    payload = {"confirmed_by": "order desk"}
    return _forged(sent, "uv", type="order.confirmed", payload=payload, schema_version=3)


def _credit_beyond_invoiced(
    _rng: random.Random, story: Story, sent: list[Sending]
) -> dict[str, Any]:
    invoiced_max = sum(line.ordered_max * line.price_minor for line in story.lines.values())
    payload = {
        "credit_note_id": f"CN-{story.number}-X",
        "amount_minor": invoiced_max * 2 + 100,
        "currency": story.currency,
        "reason": "goodwill credit keyed in twice",
    }
    return _forged(sent, "cx", type="credit_note.issued", source="billing", payload=payload)


def _wrong_tenant(_rng: random.Random, _story: Story, sent: list[Sending]) -> dict[str, Any]:
    return _forged(sent, "wt", type="order.confirmed", tenant_id="acme", payload={})


def _unknown_order(rng: random.Random, story: Story, sent: list[Sending]) -> dict[str, Any]:
    # A warehouse that appends its own suffix to order numbers: that order was never placed.
    payload = {
        "shipment_id": f"SH-{story.number}-B",
        "carrier": "usps",
        "tracking_number": f"9400{rng.randrange(10**18):018d}",
        "lines": _first_unit(),
    }
    order_id = f"{story.order_id}-B"
    return _forged(sent, "uo", type="shipment.dispatched", order_id=order_id, payload=payload)


Forge = Callable[[random.Random, Story, list[Sending]], dict[str, Any]]

# (kind, outcome, forge), taking turns: one order in INVALID_EVERY_ORDERS gets the next kind, so
# even a small demo shows several and a month of traffic shows them all.
INVALID_KINDS: tuple[tuple[str, str, Forge], ...] = (
    ("missing_field", "rejected", _missing_field),
    ("over_shipment", "rejected", _over_shipment),
    ("float_quantity", "rejected", _float_quantity),
    ("unknown_shipment", "rejected", _unknown_shipment),
    ("unknown_event_type", "rejected", _unknown_type),
    ("reused_event_id", "conflict", _reused_id),
    ("unsupported_schema_version", "rejected", _unsupported_version),
    ("credit_beyond_invoiced", "rejected", _credit_beyond_invoiced),
    ("wrong_tenant", "rejected", _wrong_tenant),
    ("unknown_order", "rejected", _unknown_order),
)
INVALID_EVERY_ORDERS = 20


def with_invalid(
    rng: random.Random, story: Story, sendings: list[Sending], *, order_index: int
) -> list[Sending]:
    """Give every INVALID_EVERY_ORDERS-th order one event that ingest must quarantine.

    It is sent after the order's last event, so a reused id always follows its original.
    """
    turn, remainder = divmod(order_index, INVALID_EVERY_ORDERS)
    if remainder:
        return sendings
    kind, outcome, forge = INVALID_KINDS[turn % len(INVALID_KINDS)]
    sent_at = _delay(rng, sendings[-1].sent_at, RESEND_DELAY_S)
    return [*sendings, Sending(sent_at, forge(rng, story, sendings), Intent(outcome, kind))]
