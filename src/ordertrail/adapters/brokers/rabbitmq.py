"""The RabbitMQ broker (`amqp://`, `amqps://`), through aio-pika.

Topology, declared idempotently on connect (names under a prefix, `ordertrail` by default):

- `{prefix}.events`, a durable direct exchange; the routing key is the lane.
- `{prefix}.{lane}`, a durable quorum queue per lane with a single active consumer, a delivery
  limit (the backstop for a consumer that crashes on a message again and again) and dead-lettering
  to `{prefix}.dead`.
- `{prefix}.dead`, a durable quorum queue where RabbitMQ puts what went over a delivery limit.
  Every worker also consumes it and records each message in the database's `dead_letters` table
  (once, see rabbitmq_store.py), the record `ordertrail dlq` works from.

Ordering: the single active consumer hands a lane's messages out in queue order, and a batch holds
at most one message per order. A failed message is parked in the database (rabbitmq_store.py)
until its retry, and every later message of its order that comes off the lane is parked behind
it, so retries never let a later message of an order overtake an earlier one. Parked messages are
served from the database by any worker of the lane, with the embedded queue's leases.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    AbstractRobustQueue,
)
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from pamqp.commands import Basic
from sqlalchemy import Engine

from ordertrail.adapters.brokers.rabbitmq_store import (
    Parked,
    dead_queue_key,
    park,
    parked_orders,
    record_broker_dead_letter,
)
from ordertrail.adapters.db.dead_letter_store import insert_dead_letter
from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.queue import SqlQueue
from ordertrail.services.messaging import LANES, Delivery, Message, PublishFailed
from ordertrail.services.ports import Clock

logger = logging.getLogger("ordertrail.broker.rabbitmq")

PREFETCH_DEFAULT = 100
PREFETCH_MAX = 1_000
DELIVERY_LIMIT_DEFAULT = 20
# How long an empty `receive` waits for a first message before it answers "nothing".
RECEIVE_WAIT_S_DEFAULT = 0.2
LEASE_S_DEFAULT = 60.0
# What a delivery's tag starts with: which of the two places it came from.
TAG_BROKER, TAG_PARKED = "amqp:", "db:"
# How long a dead-queue message whose recording failed waits before it is offered again.
DEAD_RECORD_RETRY_S = 1.0
# The consumer named on a dead letter that RabbitMQ made: no handler gave up, workers died.
BROKER_DEAD_CONSUMER = "(rabbitmq delivery limit)"

# Headers of our own; every other header that is not the broker's (x-…) is the message's.
H_TENANT, H_ORDER, H_LANE = "ordertrail-tenant-id", "ordertrail-order-id", "ordertrail-lane"
H_CREATED = "ordertrail-created-at"
# Retry state that earlier versions carried in headers; still read from messages they sent.
H_ATTEMPTS, H_FIRST_FAILED = "ordertrail-attempts", "ordertrail-first-failed-at"
# Set on dead-queue copies by earlier versions, which had recorded them already.
H_CONSUMER = "ordertrail-dead-consumer"

_QUORUM = {"x-queue-type": "quorum"}
# At-least-once dead-lettering: the source queue keeps a message until its target confirmed it.
_SAFE_DEAD_LETTERING = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


@dataclass(frozen=True, slots=True)
class RabbitSettings:
    """What the URL's query may set; the rest of the URL goes to aio-pika unchanged."""

    url: str
    prefix: str = "ordertrail"
    prefetch: int = PREFETCH_DEFAULT
    delivery_limit: int = DELIVERY_LIMIT_DEFAULT
    receive_wait_s: float = RECEIVE_WAIT_S_DEFAULT

    def __post_init__(self) -> None:
        if not 1 <= self.prefetch <= PREFETCH_MAX:
            raise ValueError(f"the RabbitMQ prefetch must be between 1 and {PREFETCH_MAX}")
        if not 1 <= self.delivery_limit <= 1_000:
            raise ValueError("the RabbitMQ delivery limit must be between 1 and 1000")
        if not 0 <= self.receive_wait_s <= 10:
            raise ValueError("the RabbitMQ receive wait must be between 0 and 10 seconds")
        if not self.prefix or not all(c.isalnum() or c in "._-" for c in self.prefix):
            raise ValueError("the RabbitMQ prefix takes letters, digits, '.', '_' and '-'")

    @classmethod
    def from_url(cls, url: str) -> RabbitSettings:
        """Split `?prefix=…&prefetch=…&delivery_limit=…&receive_wait_s=…` off a broker URL."""
        parts = urlsplit(url)
        ours = {"prefix": str, "prefetch": int, "delivery_limit": int, "receive_wait_s": float}
        query = parse_qsl(parts.query)
        options = {name: ours[name](value) for name, value in query if name in ours}
        rest = urlencode([(name, value) for name, value in query if name not in ours])
        return cls(url=urlunsplit(parts._replace(query=rest)), **options)


def _properties(message: Message) -> dict[str, Any]:
    headers: dict[str, Any] = {
        **message.headers,
        H_TENANT: message.tenant_id,
        H_ORDER: message.order_id,
        H_LANE: message.lane,
        H_CREATED: message.created_at.isoformat(),
    }
    return {
        "body": message.body.encode(),
        "headers": headers,
        "message_id": message.message_id,
        # The order id is the message's partition key; consumers can correlate on it.
        "correlation_id": message.order_id,
        "type": message.event_type,
        "content_type": "application/json",
        "delivery_mode": aio_pika.DeliveryMode.PERSISTENT,
    }


def _delivery(incoming: AbstractIncomingMessage, tag: str) -> Delivery:
    headers = dict(incoming.headers)
    first_failed = headers.get(H_FIRST_FAILED)
    message = Message(
        message_id=str(incoming.message_id),
        tenant_id=str(headers[H_TENANT]),
        order_id=str(headers[H_ORDER]),
        lane=str(headers[H_LANE]),
        event_type=str(incoming.type),
        body=incoming.body.decode(),
        created_at=datetime.fromisoformat(str(headers[H_CREATED])),
        headers={
            name: str(value)
            for name, value in headers.items()
            if not name.startswith(("ordertrail-", "x-"))
        },
    )
    return Delivery(
        message=message,
        attempts=int(str(headers.get(H_ATTEMPTS, 0))),
        first_failed_at=None if first_failed is None else datetime.fromisoformat(str(first_failed)),
        tag=tag,
    )


@dataclass(slots=True)
class _Consumer:
    """A lane's prefetched deliveries, in the order the broker sent them."""

    buffer: deque[AbstractIncomingMessage]
    arrived: asyncio.Event


class RabbitBroker:
    def __init__(
        self,
        settings: RabbitSettings,
        *,
        engine: Engine,
        clock: Clock,
        lease_s: float = LEASE_S_DEFAULT,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._clock = clock
        self._lease_s = lease_s
        self._parking: SqlQueue | None = None
        self._tags = (str(n) for n in itertools.count(1))
        self._reset()

    def _reset(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._consume_channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._consumers: dict[str, _Consumer] = {}
        self._leased: dict[str, AbstractIncomingMessage] = {}
        self._connecting = asyncio.Lock()

    @property
    def parking(self) -> SqlQueue:
        """The database side of the lanes: parked messages, served with the queue's leases."""
        if self._parking is None:
            self._parking = SqlQueue(self._engine, clock=self._clock, lease_s=self._lease_s)
        return self._parking

    def name(self, *parts: str) -> str:
        return ".".join((self.settings.prefix, *parts))

    async def _ready(self) -> AbstractRobustChannel:
        """Connect and declare the topology once per event loop; return the publishing channel."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A connection belongs to the loop that made it; a new loop (a new `asyncio.run`)
            # starts afresh, and the broker redelivers whatever the old one had not settled.
            self._reset()
            self._loop = loop
        async with self._connecting:
            if self._publish_channel is None:
                self._connection = await aio_pika.connect_robust(self.settings.url)
                channel = await self._connection.channel(publisher_confirms=True)
                await self._declare(channel)
                self._publish_channel = channel
        return self._publish_channel

    async def _declare(self, channel: AbstractRobustChannel) -> None:
        await channel.declare_queue(self.name("dead"), durable=True, arguments=_QUORUM)
        self._exchange = await channel.declare_exchange(
            self.name("events"), aio_pika.ExchangeType.DIRECT, durable=True
        )
        for lane in LANES:
            queue = await self._declare_lane(channel, lane)
            await queue.bind(self._exchange, routing_key=lane)

    async def _declare_lane(self, channel: AbstractRobustChannel, lane: str) -> AbstractRobustQueue:
        return await channel.declare_queue(
            self.name(lane),
            durable=True,
            arguments={
                **_QUORUM,
                **_SAFE_DEAD_LETTERING,
                # One consumer at a time reads the lane, so it sees the lane in queue order.
                "x-single-active-consumer": True,
                "x-delivery-limit": self.settings.delivery_limit,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.name("dead"),
            },
        )

    async def _publish_all(self, routing: Sequence[tuple[str, dict[str, Any]]]) -> int:
        """Publish (lane, properties) in order; return how many leading ones were confirmed.

        The publishes run side by side so the confirms overlap; aiormq writes them to the channel
        in the order they were started (one FIFO lock), so the lane keeps their order.
        """
        await self._ready()
        exchange = self._exchange
        assert exchange is not None

        async def one(routing_key: str, properties: dict[str, Any]) -> bool:
            try:
                # Mandatory: a message no queue takes comes back as a failure, never vanishes.
                result = await exchange.publish(
                    aio_pika.Message(**properties), routing_key=routing_key, mandatory=True
                )
            except (*CONNECTION_EXCEPTIONS, TimeoutError):
                logger.warning("publish to %r was not confirmed", routing_key, exc_info=True)
                return False
            return isinstance(result, Basic.Ack)

        results = await asyncio.gather(*(one(*item) for item in routing))
        return next((n for n, ok in enumerate(results) if not ok), len(results))

    async def publish(self, *, messages: Sequence[Message]) -> None:
        if not messages:
            return
        confirmed = await self._publish_all([(m.lane, _properties(m)) for m in messages])
        if confirmed < len(messages):
            raise PublishFailed(
                f"RabbitMQ confirmed {confirmed} of {len(messages)} messages", confirmed=confirmed
            )

    async def _consumer(self, lane: str) -> _Consumer:
        await self._ready()
        consumer = self._consumers.get(lane)
        if consumer is None:
            assert self._connection is not None
            if self._consume_channel is None:
                channel = await self._connection.channel()
                await channel.set_qos(prefetch_count=self.settings.prefetch)
                # Every receiving process also records what RabbitMQ dead-lettered by itself.
                # Declared (not just looked up) so the robust channel consumes it again after a
                # reconnect.
                dead = await channel.declare_queue(
                    self.name("dead"), durable=True, arguments=_QUORUM
                )
                await dead.consume(self._on_dead, no_ack=False)
                self._consume_channel = channel
            consumer = _Consumer(buffer=deque(), arrived=asyncio.Event())

            async def on_message(incoming: AbstractIncomingMessage) -> None:
                consumer.buffer.append(incoming)
                consumer.arrived.set()

            queue = await self._declare_lane(self._consume_channel, lane)
            await queue.consume(on_message, no_ack=False)
            self._consumers[lane] = consumer
        return consumer

    async def receive(self, *, lane: str, limit: int) -> list[Delivery]:
        consumer = await self._consumer(lane)
        parked = [
            replace(d, tag=TAG_PARKED + d.tag)
            for d in await asyncio.to_thread(self.parking.receive, lane=lane, limit=limit)
        ]
        if len(parked) >= limit:
            return parked
        if not consumer.buffer and not parked:
            consumer.arrived.clear()
            try:
                await asyncio.wait_for(consumer.arrived.wait(), self.settings.receive_wait_s)
            except TimeoutError:
                return []
        taken = self._take(consumer, limit=limit - len(parked))
        if not taken:
            return parked
        waiting = await asyncio.to_thread(
            parked_orders,
            self._engine,
            lane=lane,
            orders={(d.message.tenant_id, d.message.order_id) for d, _ in taken},
        )
        behind, fresh = [], []
        for delivery, incoming in taken:
            if (delivery.message.tenant_id, delivery.message.order_id) in waiting:
                behind.append((delivery, incoming))
            else:
                self._leased[delivery.tag] = incoming
                fresh.append(delivery)
        if behind:
            await self._park_behind(behind)
        return parked + fresh

    def _take(
        self, consumer: _Consumer, *, limit: int
    ) -> list[tuple[Delivery, AbstractIncomingMessage]]:
        """Take up to `limit` messages off the buffer, in order, at most one per order."""
        taken: list[tuple[Delivery, AbstractIncomingMessage]] = []
        orders: set[tuple[str, str]] = set()
        while consumer.buffer and len(taken) < limit:
            incoming = consumer.buffer[0]
            if incoming.channel.is_closed:
                # Its channel died; the broker has put it back and sends it again.
                consumer.buffer.popleft()
                continue
            delivery = _delivery(incoming, TAG_BROKER + next(self._tags))
            order = (delivery.message.tenant_id, delivery.message.order_id)
            if order in orders:
                break  # at most one per order per batch: the next batch takes it, in order
            orders.add(order)
            consumer.buffer.popleft()
            taken.append((delivery, incoming))
        return taken

    async def _park_behind(self, behind: list[tuple[Delivery, AbstractIncomingMessage]]) -> None:
        """Move messages of orders that wait for a retry behind them, in the database."""
        now = self._clock.now()
        await asyncio.to_thread(
            park,
            self._engine,
            parked=[
                Parked(
                    message=d.message,
                    attempts=d.attempts,
                    available_at=now,
                    first_failed_at=d.first_failed_at,
                )
                for d, _ in behind
            ],
            now=now,
        )
        for delivery, incoming in behind:
            await self._ack_incoming(incoming, delivery)

    async def _ack_incoming(self, incoming: AbstractIncomingMessage, delivery: Delivery) -> None:
        try:
            await incoming.ack()
        except CONNECTION_EXCEPTIONS:
            # What it stood for committed; the broker redelivers it and the inbox (or the
            # parked table's unique message id) makes the second delivery a no-op.
            logger.warning("ack of %s lost; it will be redelivered", delivery.message.message_id)

    async def ack(self, *, delivery: Delivery) -> None:
        if delivery.tag.startswith(TAG_PARKED):
            await asyncio.to_thread(self.parking.ack, tag=delivery.tag.removeprefix(TAG_PARKED))
            return
        await self._ack_incoming(self._leased.pop(delivery.tag), delivery)

    async def retry(self, *, delivery: Delivery, error: str, delay_s: float) -> None:
        """Park the message with one more attempt until `delay_s` from now, then ack it."""
        if delivery.tag.startswith(TAG_PARKED):
            await asyncio.to_thread(
                self.parking.retry,
                tag=delivery.tag.removeprefix(TAG_PARKED),
                error=error,
                delay_s=delay_s,
            )
            return
        now = self._clock.now()
        parked = Parked(
            message=delivery.message,
            attempts=delivery.attempts + 1,
            available_at=now + timedelta(seconds=delay_s),
            first_failed_at=delivery.first_failed_at or now,
            last_failed_at=now,
            last_error=error,
        )
        # Parked first, acked second: a crash in between parks a redelivery as a no-op.
        await asyncio.to_thread(park, self._engine, parked=[parked], now=now)
        await self.ack(delivery=delivery)

    async def dead_letter(self, *, delivery: Delivery, consumer: str, error: str) -> None:
        """Record the dead letter in the database, then ack the original."""
        if delivery.tag.startswith(TAG_PARKED):
            await asyncio.to_thread(
                self.parking.dead_letter,
                tag=delivery.tag.removeprefix(TAG_PARKED),
                consumer=consumer,
                error=error,
            )
            return
        now = self._clock.now()
        await asyncio.to_thread(
            self._record_dead_letter,
            delivery,
            consumer,
            error,
            delivery.first_failed_at or now,
            now,
        )
        await self.ack(delivery=delivery)

    def _record_dead_letter(
        self, delivery: Delivery, consumer: str, error: str, first: datetime, now: datetime
    ) -> None:
        with self._engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
            insert_dead_letter(
                connection,
                message=delivery.message,
                consumer=consumer,
                error=error,
                attempts=delivery.attempts + 1,
                first_failed_at=first,
                last_failed_at=now,
            )
            connection.commit()

    async def _on_dead(self, incoming: AbstractIncomingMessage) -> None:
        """Record a message of the dead queue in `dead_letters` (once), then ack it."""
        try:
            if H_CONSUMER not in incoming.headers:  # earlier versions' copies: recorded already
                await asyncio.to_thread(self._record_broker_dead, incoming)
        except Exception:  # the database is away: offer it again shortly, never drop it
            logger.exception("could not record dead letter %s; will retry", incoming.message_id)
            await asyncio.sleep(DEAD_RECORD_RETRY_S)
            await incoming.nack(requeue=True)
            return
        await incoming.ack()

    def _record_broker_dead(self, incoming: AbstractIncomingMessage) -> None:
        delivery = _delivery(incoming, "dead")
        deaths = incoming.headers.get("x-death")
        death: dict[str, Any] = (
            deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
        )
        reason = str(death.get("reason", incoming.headers.get("x-first-death-reason", "unknown")))
        queue = str(death.get("queue", incoming.headers.get("x-first-death-queue", "?")))
        died_at = death.get("time")
        now = self._clock.now()
        limit = self.settings.delivery_limit
        record_broker_dead_letter(
            self._engine,
            message=delivery.message,
            key=dead_queue_key(
                message_id=delivery.message.message_id,
                death=f"{queue}|{reason}|{death.get('count')}|{died_at}",
            ),
            consumer=BROKER_DEAD_CONSUMER,
            error=(
                f"RabbitMQ dead-lettered it from {queue} ({reason}): it was delivered more than "
                f"{limit} times without being settled, so the workers handling it kept dying or "
                "losing their connection"
            ),
            attempts=delivery.attempts + limit + 1,
            first_failed_at=delivery.first_failed_at
            or (died_at if isinstance(died_at, datetime) else now),
            now=now,
        )

    async def delete_topology(self) -> None:
        """Delete every queue and the exchange under the prefix (tests, decommissioning)."""
        channel = await self._ready()
        for lane in LANES:
            await channel.queue_delete(self.name(lane))
        await channel.queue_delete(self.name("dead"))
        await channel.exchange_delete(self.name("events"))

    async def close(self) -> None:
        """Close the connection; unsettled deliveries go back to their queues."""
        if self._connection is not None and self._loop is asyncio.get_running_loop():
            await self._connection.close()
        self._reset()
