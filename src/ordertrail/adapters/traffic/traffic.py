"""Assemble a month of order traffic: every order's story, then the mischief, in sending order."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ordertrail.adapters.traffic import mischief
from ordertrail.adapters.traffic.mischief import Intent, Sending
from ordertrail.adapters.traffic.ordering import order_story
from ordertrail.adapters.traffic.story import Story

# Orders arrive mostly in office hours and less at weekends (UTC stands in for local time).
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 2, 1)
WEEKEND_KEEP_SHARE = 0.5
# How long a source system takes to send what happened: one latency per order keeps each
# system's own order of events, so only the deliberate late arrivals overtake anything.
SEND_LATENCY_S = (1, 90)


@dataclass(frozen=True, slots=True)
class Traffic:
    """The events in the order they are sent, each with the outcome ingest should give it."""

    events: list[dict[str, Any]]
    intents: list[Intent]
    month_start: datetime
    month_end: datetime


def last_complete_month(now: datetime) -> datetime:
    """Return the start of the last calendar month that ended before `now` (UTC)."""
    this_month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (this_month - timedelta(days=1)).replace(day=1)


def _month_after(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


def _placed_at(rng: random.Random, *, month_start: datetime, days: int) -> datetime:
    while True:
        day = month_start + timedelta(days=rng.randrange(days))
        if day.weekday() < 5 or rng.random() < WEEKEND_KEEP_SHARE:
            break
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return day + timedelta(hours=hour, seconds=rng.randrange(3600))


def _envelopes(story: Story, *, tenant_id: str, cutoff: datetime) -> list[dict[str, Any]]:
    """The order's events up to the cutoff, in time order, with ids like the systems' own."""
    steps = sorted((s for s in story.steps if s.occurred_at < cutoff), key=lambda s: s.occurred_at)
    return [
        {
            "event_id": f"{step.source.rsplit(':', 1)[-1]}-{story.number}-{position:02d}",
            "type": step.event_type,
            "schema_version": step.schema_version,
            "tenant_id": tenant_id,
            "source": step.source,
            "occurred_at": step.occurred_at.isoformat().replace("+00:00", "Z"),
            "order_id": story.order_id,
            "payload": step.payload,
        }
        for position, step in enumerate(steps, start=1)
    ]


def generate_traffic(
    *, seed: int, orders_count: int, month_start: datetime, tenant_id: str = "demo"
) -> Traffic:
    """Return a seeded month of traffic for `orders_count` orders; the same seed, the same bytes."""
    if orders_count < 1:
        raise ValueError("generate at least one order")
    # Reproducible simulation, not secrets: a seeded Mersenne Twister is exactly what is wanted.
    rng = random.Random(seed)  # noqa: S311
    month_end = _month_after(month_start)
    days = (month_end - month_start).days
    customers_count = max(20, orders_count // 3)
    sendings: list[Sending] = []
    for index in range(orders_count):
        number = 100_001 + index
        story = order_story(
            rng,
            order_id=f"SO-{number}",
            number=number,
            customer_id=f"CUST-{rng.randrange(customers_count) + 1001}",
            placed_at=_placed_at(rng, month_start=month_start, days=days),
        )
        sendings.extend(
            _send_order(rng, story, order_index=index, tenant_id=tenant_id, month_end=month_end)
        )
    sendings.sort(key=lambda s: s.sent_at)
    return Traffic(
        events=[s.envelope for s in sendings],
        intents=_mark_late(sendings),
        month_start=month_start,
        month_end=month_end,
    )


def _send_order(
    rng: random.Random, story: Story, *, order_index: int, tenant_id: str, month_end: datetime
) -> list[Sending]:
    latency = timedelta(seconds=rng.randint(*SEND_LATENCY_S))
    sendings = [
        Sending(datetime.fromisoformat(e["occurred_at"]) + latency, e, Intent("applied", "event"))
        for e in _envelopes(story, tenant_id=tenant_id, cutoff=month_end)
    ]
    sendings = mischief.with_late_arrivals(rng, sendings, now=month_end)
    sendings = mischief.with_invalid(rng, story, sendings, order_index=order_index)
    return mischief.with_resends(rng, sendings)


def _mark_late(sendings: list[Sending]) -> list[Intent]:
    """Mark applied events that arrive after a later-occurring event of their order was applied."""
    newest: dict[str, datetime] = {}
    intents = []
    for sending in sendings:
        intent = sending.intent
        if intent.outcome == "applied":
            order_id = sending.envelope["order_id"]
            occurred = datetime.fromisoformat(sending.envelope["occurred_at"])
            late = order_id in newest and occurred < newest[order_id]
            intent = Intent("applied", "late" if late else "event")
            newest[order_id] = max(occurred, newest.get(order_id, occurred))
        intents.append(intent)
    return intents
