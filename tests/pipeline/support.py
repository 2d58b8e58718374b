"""Helpers for pipeline tests: messages, outbox rows, an app wired with a recorder, counts."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from itertools import count
from typing import Any, TypeVar

from sqlalchemy import Engine, func, insert, select

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.tables import inbox, milestone_log, outbox, queue_messages
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.services.consumer import ConsumeReport, consume_round
from ordertrail.services.messaging import Message, message_id_of
from tests.conftest import NOW
from tests.pipeline.handlers import RecordingHandler

T = TypeVar("T")
_event_ids = count(1)
# Poll intervals short enough that background loops react within a test's patience.
FAST = {"relay_poll_s": 0.02, "worker_poll_s": 0.02}


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def message(
    *,
    order_id: str = "SO-1",
    lane: str = "critical",
    tenant_id: str = "acme",
    event_type: str = "shipment.delivered",
    event_id: str | None = None,
) -> Message:
    event_id = event_id or f"evt-{next(_event_ids):07d}"
    return Message(
        message_id=message_id_of(tenant_id=tenant_id, event_id=event_id),
        tenant_id=tenant_id,
        order_id=order_id,
        lane=lane,
        event_type=event_type,
        body=f'{{"event_id": "{event_id}"}}',
        created_at=NOW - timedelta(seconds=5),
        headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    )


def add_outbox(engine: Engine, messages: list[Message]) -> list[int]:
    """Write outbox rows as ingest would (one transaction); return their ids."""
    with engine.begin() as connection:
        return [
            connection.execute(
                insert(outbox).values(**outbox_row(m)).returning(outbox.c.id)
            ).scalar_one()
            for m in messages
        ]


def outbox_row(m: Message) -> dict[str, Any]:
    return {
        "tenant_id": m.tenant_id,
        "order_id": m.order_id,
        "event_id": m.message_id.split("/", 1)[1],
        "event_type": m.event_type,
        "lane": m.lane,
        "body": m.body,
        "created_at": m.created_at,
    }


def pipeline_app(
    engine: Engine, clock: FixedClock, *handlers: RecordingHandler, **settings: Any
) -> Ordertrail:
    return bootstrap(
        settings=Settings(database_url=str(engine.url), **settings),
        engine=engine,
        clock=clock,
        migrate=False,
        handlers=handlers,
    )


def consume(app: Ordertrail, *, lane: str = "critical", batch_size: int = 50) -> ConsumeReport:
    return run(
        consume_round(
            receiver=app.pipeline.broker,
            registry=app.pipeline.registry,
            uow_factory=app.pipeline.uow_factory,
            clock=app.clock,
            policy=app.pipeline.retry,
            lane=lane,
            batch_size=batch_size,
        )
    )


def _scalar(engine: Engine, query: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(query).scalar_one()


def effects(engine: Engine, *, consumer: str = "recorder") -> list[str]:
    """The message ids a consumer's effects were committed for, in commit order."""
    query = (
        select(milestone_log.c.message_id)
        .where(milestone_log.c.consumer == consumer)
        .order_by(milestone_log.c.id)
    )
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def inbox_count(engine: Engine, *, consumer: str = "recorder") -> int:
    return int(
        _scalar(engine, select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer))
    )


def queued(engine: Engine, *, lane: str | None = None) -> list[str]:
    """Message ids in the embedded queue, in queue order."""
    query = select(queue_messages.c.message_id).order_by(queue_messages.c.id)
    if lane is not None:
        query = query.where(queue_messages.c.lane == lane)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def unpublished(engine: Engine) -> int:
    query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    return int(_scalar(engine, query))
