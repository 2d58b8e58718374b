"""The demo's carrier part: the simulator tells Ordertrail where the sampled orders' parcels are.

The shipments the revenue sample dispatched (registered by the pipeline's tracking handler) are
tracked two ways, both in process and through the real code: some by signed webhooks the
simulator posts to the API (FedEx, AfterShip, UPS Track Alert, Shippo, 17TRACK, EasyPost, each
with a secret the demo configures), the rest by polling the simulated UPS, DHL and USPS APIs
through the real clients and rate limiters (entrypoints/workers/simulated_polling.py). One
tampered webhook is sent on purpose, to show it refused. The deliveries become
`shipment.delivered` order events; only those messages are then relayed and handled by the
revenue consumer (the rest of the month's messages stay in the outbox for `ordertrail serve`),
and the summary says how many became revenue.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from prometheus_client import Counter as PromCounter
from rich.table import Table
from sqlalchemy import select, update

from ordertrail.adapters.carriers.signing import sign
from ordertrail.adapters.carriers.simulator.scenario import (
    Faults,
    build_scenario,
)
from ordertrail.adapters.carriers.simulator.webhooks import WebhookSender, WebhookTarget
from ordertrail.adapters.carriers.tracking_app import webhook_path
from ordertrail.adapters.db.tables import events, outbox
from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.shipments.status import TERMINAL_STATUSES
from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.cli.common import console
from ordertrail.entrypoints.cli.ledger_reports import money
from ordertrail.entrypoints.workers.simulated_polling import poll_simulated_carriers
from ordertrail.services.consumer import consume_round
from ordertrail.services.messaging import LANES, Message, message_id_of
from ordertrail.services.relay import relay_round
from ordertrail.services.revenue_ports import RevenueUnitOfWork

ORDERTRAIL_URL = "http://ordertrail"
SEED = 7
# The webhook providers that track each carrier's parcels, in turn; the carrier's own API is
# polled for every other of its shipments (FedEx has no poller, so all of its go by webhook).
WEBHOOK_ROTATION: Mapping[str, tuple[str | None, ...]] = {
    "fedex": ("fedex", "aftership"),
    "ups": ("ups", None, "shippo", None),
    "dhl": ("17track", None),
    "usps": ("easypost", None),
}
ROUNDS_MAX = 20
# Providers whose signature covers the body (UPS Track Alert sends a fixed credential instead).
BODY_SIGNED = ("aftership", "easypost", "shippo", "fedex", "17track")


@dataclass(frozen=True, slots=True)
class CarrierRun:
    webhooks: Mapping[str, Mapping[str, int]]  # provider -> sent, accepted, duplicate, rejected
    polls: Mapping[str, Mapping[str, int]]  # provider -> requests, 429s
    statuses: Mapping[str, int]  # every shipment of the tenant, by canonical status
    delivered: int  # shipments this run delivered
    already_known: int  # of which the order had already been told (recorded, nothing new)
    recognized: int  # of which the delivery became revenue
    revenue: Mapping[str, int]  # currency -> revenue those deliveries recognized (minor units)
    elapsed_s: float


@dataclass(slots=True)
class _Routes:
    webhook: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # provider -> (n, c)


def run_carriers(app: Ordertrail, *, tenant_id: str) -> CarrierRun | None:
    """Track the tenant's active shipments from the simulator; None when there are none."""
    started = time.perf_counter()
    active = _active_shipments(app, tenant_id=tenant_id)
    if not active or app.tracking is None:
        return None
    before = _delivery_events(app, tenant_id=tenant_id)
    routes = _route(active)
    webhooks = asyncio.run(_send_webhooks(app, tenant_id=tenant_id, routes=routes))
    polling = asyncio.run(poll_simulated_carriers(app=app, seed=SEED, shipments_max=len(active)))
    polls = {
        provider: {"requests": stats["requests"], "throttled": stats["throttled"]}
        for provider, stats in polling.simulator.items()
    }
    delivered = sorted(set(_delivery_events(app, tenant_id=tenant_id)) - set(before))
    _relay_and_consume(app, event_ids=delivered)
    recognized, revenue = _recognized(app, tenant_id=tenant_id, event_ids=delivered)
    return CarrierRun(
        webhooks=webhooks,
        polls=polls,
        statuses=_statuses(app, tenant_id=tenant_id),
        delivered=len(delivered),
        already_known=_recorded_only(app, tenant_id=tenant_id, event_ids=delivered),
        recognized=recognized,
        revenue=revenue,
        elapsed_s=time.perf_counter() - started,
    )


def _active_shipments(app: Ordertrail, *, tenant_id: str) -> list[tuple[str, str]]:
    query = (
        select(shipments.c.carrier, shipments.c.tracking_number)
        .where(
            shipments.c.tenant_id == tenant_id,
            shipments.c.status.not_in([str(s) for s in TERMINAL_STATUSES]),
        )
        .order_by(shipments.c.created_at, shipments.c.tracking_number)
    )
    with app.engine.connect() as connection:
        return [(carrier, number) for carrier, number in connection.execute(query)]


def _route(active: Sequence[tuple[str, str]]) -> _Routes:
    routes = _Routes()
    seen: Counter[str] = Counter()
    for carrier, number in active:
        rotation = WEBHOOK_ROTATION.get(carrier, ("aftership",))
        provider = rotation[seen[carrier] % len(rotation)]
        seen[carrier] += 1
        if provider is not None:  # None: left to the poller
            routes.webhook.setdefault(provider, []).append((number, carrier))
    return routes


async def _send_webhooks(
    app: Ordertrail, *, tenant_id: str, routes: _Routes
) -> dict[str, dict[str, int]]:
    assert app.tracking is not None
    targets: dict[str, WebhookTarget] = {}
    for provider in routes.webhook:
        secret = f"demo-{provider}-webhook-secret"
        endpoint = app.tracking.set_secret(
            tenant_id=tenant_id, provider=provider, secret=secret, actor="demo"
        )
        path = webhook_path(provider=provider, token=endpoint.token)
        targets[provider] = WebhookTarget(
            provider=provider, url=ORDERTRAIL_URL + path, secret=secret
        )
    numbers = [
        (provider, number, carrier)
        for provider, parcels in routes.webhook.items()
        for number, carrier in parcels
    ]
    scenario = build_scenario(
        seed=SEED,
        start=app.clock.now() - timedelta(days=14),
        parcels_per_provider=0,
        providers=(),
        faults=Faults(lag_s_max=0),
        numbers=numbers,
    )
    counted = {provider: _webhook_counts(app, provider) for provider in targets}
    sender = WebhookSender(scenario=scenario, targets=targets, clock=app.clock)
    sent: Counter[str] = Counter()
    transport = httpx.ASGITransport(app=create_app(app))
    async with httpx.AsyncClient(transport=transport) as http:
        due = sender.due()
        for target, raw in due:
            sent[target.provider] += 1
            await _post(http, target=target, raw=raw, now=app.clock.now())
        # One tampered body, on purpose, to a provider that signs the body: refused with 401.
        signed = [(t, raw) for t, raw in due if t.provider in BODY_SIGNED]
        if signed:
            target, raw = signed[0]
            sent[target.provider] += 1
            await _post(http, target=target, raw=raw, now=app.clock.now(), tamper=True)
    result: dict[str, dict[str, int]] = {}
    for provider in targets:
        after = _webhook_counts(app, provider)
        counts = {k: after[k] - counted[provider][k] for k in after}
        result[provider] = {"sent": sent[provider], **counts}
    return result


async def _post(
    http: httpx.AsyncClient,
    *,
    target: WebhookTarget,
    raw: bytes,
    now: datetime,
    tamper: bool = False,
) -> int:
    headers = sign(provider=target.provider, secret=target.secret, body=raw, now=now)
    headers["Content-Type"] = "application/json"
    body = raw[:-1] + b', "tampered": true}' if tamper and raw.endswith(b"}") else raw
    response = await http.post(target.url, content=body, headers=headers)
    return response.status_code


def _webhook_counts(app: Ordertrail, provider: str) -> dict[str, int]:
    return {
        outcome: _counter_value(app.metrics.webhooks, provider=provider, outcome=outcome)
        for outcome in ("accepted", "duplicate", "rejected")
    }


def _counter_value(counter: PromCounter, **labels: str) -> int:
    for metric in counter.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels == labels:
                return int(sample.value)
    return 0


def _delivery_events(app: Ordertrail, *, tenant_id: str) -> list[str]:
    query = select(shipments.c.delivery_event_id).where(
        shipments.c.tenant_id == tenant_id, shipments.c.delivery_event_id.is_not(None)
    )
    with app.engine.connect() as connection:
        return [str(event_id) for event_id in connection.scalars(query)]


class _DeliveriesOutbox:
    """The outbox seen through the carriers' delivery events only: the relay publishes those and
    leaves the rest of the month's rows for `serve`."""

    def __init__(self, app: Ordertrail, *, event_ids: Sequence[str]) -> None:
        self._app = app
        self._event_ids = list(event_ids)

    def unpublished(self, *, lane: str, limit: int) -> list[tuple[int, Message]]:
        query = (
            select(outbox)
            .where(
                outbox.c.lane == lane,
                outbox.c.published_at.is_(None),
                outbox.c.event_id.in_(self._event_ids),
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        with self._app.engine.connect() as connection:
            return [(row.id, _message(row)) for row in connection.execute(query)]

    def mark_published(self, *, ids: Sequence[int], published_at: datetime) -> None:
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(list(ids)), outbox.c.published_at.is_(None))
            .values(published_at=published_at)
        )
        with self._app.engine.begin() as connection:
            connection.execute(statement)


def _message(row: Any) -> Message:
    headers = {"traceparent": row.traceparent} if row.traceparent else {}
    return Message(
        message_id=message_id_of(tenant_id=row.tenant_id, event_id=row.event_id),
        tenant_id=row.tenant_id,
        order_id=row.order_id,
        lane=row.lane,
        event_type=row.event_type,
        body=row.body,
        created_at=row.created_at,
        headers=headers,
    )


def _relay_and_consume(app: Ordertrail, *, event_ids: Sequence[str]) -> None:
    if not event_ids:
        return
    pipeline = app.pipeline
    deliveries = _DeliveriesOutbox(app, event_ids=event_ids)
    for _ in range(ROUNDS_MAX):
        published = asyncio.run(
            relay_round(
                outbox=deliveries, publisher=pipeline.broker, config=pipeline.relay, clock=app.clock
            )
        )
        report = asyncio.run(
            consume_round(
                receiver=pipeline.broker,
                registry=pipeline.registry,
                uow_factory=pipeline.uow_factory,
                clock=app.clock,
                policy=pipeline.retry,
                lane=LANES[0],
                batch_size=len(event_ids),
            )
        )
        if not any(published.values()) and report.received == 0:
            return


def _recognized(
    app: Ordertrail, *, tenant_id: str, event_ids: Sequence[str]
) -> tuple[int, dict[str, int]]:
    wanted = set(event_ids)
    with cast(RevenueUnitOfWork, app.uow_factory()) as uow:
        entries = [
            e
            for e in uow.ledger.entries(tenant_id=tenant_id)
            if e.kind == "recognition" and e.cause_event_id in wanted
        ]
    revenue: Counter[str] = Counter()
    for entry in entries:
        for posting in entry.postings:
            if posting.account.startswith("revenue") and posting.amount_minor < 0:
                revenue[posting.currency] += -posting.amount_minor
    return len({e.cause_event_id for e in entries}), dict(revenue)


def _recorded_only(app: Ordertrail, *, tenant_id: str, event_ids: Sequence[str]) -> int:
    query = select(events.c.event_id).where(
        events.c.tenant_id == tenant_id,
        events.c.event_id.in_(list(event_ids)),
        events.c.effect == "recorded",
    )
    with app.engine.connect() as connection:
        return len(list(connection.scalars(query)))


def _statuses(app: Ordertrail, *, tenant_id: str) -> dict[str, int]:
    query = select(shipments.c.status).where(shipments.c.tenant_id == tenant_id)
    with app.engine.connect() as connection:
        return dict(Counter(str(status) for status in connection.scalars(query)))


def carrier_tables(run: CarrierRun) -> tuple[Table, Table, Table]:
    """Webhooks per provider, polls per provider, shipments by canonical status."""
    hooks = Table("provider", "sent", "accepted", "duplicate", "rejected",
                  title="Carrier webhooks from the simulator")  # fmt: skip
    for provider, counts in sorted(run.webhooks.items()):
        hooks.add_row(provider, *(f"{counts[k]:,}" for k in
                                  ("sent", "accepted", "duplicate", "rejected")))  # fmt: skip
    polls = Table("provider", "requests", "429s", title="Carrier polls of the simulator")
    for provider, counts in sorted(run.polls.items()):
        polls.add_row(provider, f"{counts['requests']:,}", f"{counts['throttled']:,}")
    statuses = Table("status", "shipments", title="Shipments by canonical status")
    for status, count in sorted(run.statuses.items(), key=lambda item: (-item[1], item[0])):
        statuses.add_row(status, f"{count:,}")
    for table in (hooks, polls, statuses):
        for column in table.columns[1:]:
            column.justify = "right"
    return hooks, polls, statuses


def carrier_sentence(run: CarrierRun) -> str:
    rejected = sum(counts["rejected"] for counts in run.webhooks.values())
    amounts = ", ".join(
        f"{cur} {money(amount, cur)}" for cur, amount in sorted(run.revenue.items())
    )
    return (
        f"Carriers: the simulator delivered {run.delivered:,} shipments in {run.elapsed_s:.1f} s; "
        f"{run.recognized:,} of those deliveries became revenue"
        + (f" ({amounts})" if amounts else "")
        + f"; {run.already_known:,} were deliveries the orders had already been told of by their"
        " own events (recorded, nothing new to recognize)."
        + (f" {rejected} tampered webhook was refused (sent on purpose)." if rejected else "")
    )


def show_carriers(app: Ordertrail, *, tenant_id: str) -> None:
    """Run the carrier part and print its summary (nothing when no shipment is active)."""
    run = run_carriers(app, tenant_id=tenant_id)
    if run is None:
        return
    console.print("\n" + carrier_sentence(run), *carrier_tables(run))
