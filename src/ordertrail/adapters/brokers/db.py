"""The embedded `db://` broker: the queue tables of the application's own database.

No server to run. Its async methods run the blocking SQL in a worker thread, so the relay, the
workers and the API can share one event loop in `ordertrail serve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ordertrail.adapters.db.queue import SqlQueue
from ordertrail.services.messaging import Delivery, Message, PublishFailed
from ordertrail.services.ports import Clock


class DbBroker:
    def __init__(self, engine: Engine, *, clock: Clock, lease_s: float) -> None:
        self.queue = SqlQueue(engine, clock=clock, lease_s=lease_s)

    async def publish(self, *, messages: Sequence[Message]) -> None:
        # All or nothing: the messages commit in one transaction, and the commit is the confirm.
        try:
            await asyncio.to_thread(self.queue.publish, messages)
        except SQLAlchemyError as error:
            raise PublishFailed(f"the queue did not commit: {error}", confirmed=0) from error

    async def receive(self, *, lane: str, limit: int) -> list[Delivery]:
        return await asyncio.to_thread(self.queue.receive, lane=lane, limit=limit)

    async def ack(self, *, delivery: Delivery) -> None:
        await asyncio.to_thread(self.queue.ack, tag=delivery.tag)

    async def retry(self, *, delivery: Delivery, error: str, delay_s: float) -> None:
        await asyncio.to_thread(self.queue.retry, tag=delivery.tag, error=error, delay_s=delay_s)

    async def dead_letter(self, *, delivery: Delivery, consumer: str, error: str) -> None:
        await asyncio.to_thread(
            self.queue.dead_letter, tag=delivery.tag, consumer=consumer, error=error
        )

    async def close(self) -> None:
        """Nothing to close: the queue shares the application's engine."""
