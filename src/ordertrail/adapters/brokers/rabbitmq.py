"""The RabbitMQ broker (`amqp://`, `amqps://`), through aio-pika.

Topology, declared idempotently on connect (names under a prefix, `ordertrail` by default):

- `{prefix}.events`, a durable direct exchange; the routing key is the lane.
- `{prefix}.{lane}`, a durable quorum queue per lane with a single active consumer, a delivery
  limit (the backstop for a consumer that crashes on a message again and again) and dead-lettering
  to `{prefix}.dead`.
- `{prefix}.{lane}.retry.{ttl_s}`, quorum queues whose messages expire after `ttl_s` back into the
  lane (one per tier of `RETRY_TIERS_S`); a retry goes to the shortest tier at least as long as
  the delay asked for, or the longest tier.
- `{prefix}.dead`, a durable quorum queue of dead letters. The database's `dead_letters` table
  stays the record operators work from; this queue is the broker-side copy.

Ordering: the single active consumer hands a lane's messages out in queue order, and a batch holds
at most one message per order. A retry takes its message out of the lane until its tier expires,
so later messages of the same order go ahead of it: unlike `db://`, retries reorder an order.

RabbitMQ keeps no per-message state, so a message's failed attempts travel in its headers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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

from ordertrail.adapters.db.dead_letter_store import insert_dead_letter
from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.services.messaging import LANES, Delivery, Message, PublishFailed
from ordertrail.services.ports import Clock

logger = logging.getLogger("ordertrail.broker.rabbitmq")

RETRY_TIERS_S = (1, 5, 30, 120, 600)
PREFETCH_DEFAULT = 100
PREFETCH_MAX = 1_000
DELIVERY_LIMIT_DEFAULT = 20
# How long an empty `receive` waits for a first message before it answers "nothing".
RECEIVE_WAIT_S_DEFAULT = 0.2
ERROR_HEADER_CHARS_MAX = 1_000

# Headers of our own; every other header that is not the broker's (x-…) is the message's.
H_TENANT, H_ORDER, H_LANE = "ordertrail-tenant-id", "ordertrail-order-id", "ordertrail-lane"
H_CREATED, H_ATTEMPTS = "ordertrail-created-at", "ordertrail-attempts"
H_FIRST_FAILED, H_ERROR = "ordertrail-first-failed-at", "ordertrail-last-error"
H_CONSUMER = "ordertrail-dead-consumer"

_QUORUM = {"x-queue-type": "quorum"}
# At-least-once dead-lettering: the source queue keeps a message until its target confirmed it.
_SAFE_DEAD_LETTERING = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


def retry_tier_s(delay_s: float) -> int:
    """The TTL of the retry queue for `delay_s`: the shortest tier not shorter, else the longest."""
    return next((tier for tier in RETRY_TIERS_S if tier >= delay_s), RETRY_TIERS_S[-1])


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


def _properties(message: Message, extra: dict[str, Any]) -> dict[str, Any]:
    headers: dict[str, Any] = {
        **message.headers,
        H_TENANT: message.tenant_id,
        H_ORDER: message.order_id,
        H_LANE: message.lane,
        H_CREATED: message.created_at.isoformat(),
        **extra,
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
    def __init__(self, settings: RabbitSettings, *, engine: Engine, clock: Clock) -> None:
        self.settings = settings
        self._engine = engine
        self._clock = clock
        self._tags = (str(n) for n in itertools.count(1))
        self._reset()

    def _reset(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._consume_channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._queues: dict[str, AbstractRobustQueue] = {}
        self._consumers: dict[str, _Consumer] = {}
        self._leased: dict[str, AbstractIncomingMessage] = {}
        self._connecting = asyncio.Lock()

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
            for tier_s in RETRY_TIERS_S:
                await channel.declare_queue(
                    self.name(lane, "retry", str(tier_s)),
                    durable=True,
                    arguments={
                        **_QUORUM,
                        **_SAFE_DEAD_LETTERING,
                        "x-message-ttl": tier_s * 1_000,
                        "x-dead-letter-exchange": self.name("events"),
                        "x-dead-letter-routing-key": lane,
                    },
                )

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

    async def _publish_all(self, routing: Sequence[tuple[str, str, dict[str, Any]]]) -> int:
        """Publish (exchange, routing key, properties) in order; return the leading confirmed.

        The publishes run side by side so the confirms overlap; aiormq writes them to the channel
        in the order they were started (one FIFO lock), so the lane keeps their order.
        """
        channel = await self._ready()

        async def one(exchange: str, routing_key: str, properties: dict[str, Any]) -> bool:
            target = self._exchange if exchange else channel.default_exchange
            assert target is not None
            try:
                # Mandatory: a message no queue takes comes back as a failure, never vanishes.
                result = await target.publish(
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
        routing = [(self.name("events"), m.lane, _properties(m, {})) for m in messages]
        confirmed = await self._publish_all(routing)
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
                self._consume_channel = await self._connection.channel()
                await self._consume_channel.set_qos(prefetch_count=self.settings.prefetch)
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
        if not consumer.buffer:
            consumer.arrived.clear()
            try:
                await asyncio.wait_for(consumer.arrived.wait(), self.settings.receive_wait_s)
            except TimeoutError:
                return []
        deliveries: list[Delivery] = []
        orders: set[tuple[str, str]] = set()
        while consumer.buffer and len(deliveries) < limit:
            incoming = consumer.buffer[0]
            if incoming.channel.is_closed:
                # Its channel died; the broker has put it back and sends it again.
                consumer.buffer.popleft()
                continue
            delivery = _delivery(incoming, next(self._tags))
            order = (delivery.message.tenant_id, delivery.message.order_id)
            if order in orders:
                break  # at most one per order per batch: the next batch takes it, in order
            orders.add(order)
            consumer.buffer.popleft()
            self._leased[delivery.tag] = incoming
            deliveries.append(delivery)
        return deliveries

    async def ack(self, *, delivery: Delivery) -> None:
        incoming = self._leased.pop(delivery.tag)
        try:
            await incoming.ack()
        except CONNECTION_EXCEPTIONS:
            # The effects committed; the broker redelivers the message and the inbox skips it.
            logger.warning("ack of %s lost; it will be redelivered", delivery.message.message_id)

    async def retry(self, *, delivery: Delivery, error: str, delay_s: float) -> None:
        """Publish the message to its retry tier with one more attempt, then ack the original."""
        now = self._clock.now().isoformat()
        extra = {
            H_ATTEMPTS: delivery.attempts + 1,
            H_FIRST_FAILED: now
            if delivery.first_failed_at is None
            else delivery.first_failed_at.isoformat(),
            H_ERROR: error[:ERROR_HEADER_CHARS_MAX],
        }
        tier = self.name(delivery.message.lane, "retry", str(retry_tier_s(delay_s)))
        await self._settle_via(delivery, tier, _properties(delivery.message, extra))

    async def dead_letter(self, *, delivery: Delivery, consumer: str, error: str) -> None:
        """Record the dead letter in the database, copy it to `{prefix}.dead`, ack the original."""
        now = self._clock.now()
        first_failed_at = delivery.first_failed_at or now
        await asyncio.to_thread(
            self._record_dead_letter, delivery, consumer, error, first_failed_at, now
        )
        extra = {
            H_ATTEMPTS: delivery.attempts + 1,
            H_FIRST_FAILED: first_failed_at.isoformat(),
            H_ERROR: error[:ERROR_HEADER_CHARS_MAX],
            H_CONSUMER: consumer,
        }
        await self._settle_via(delivery, self.name("dead"), _properties(delivery.message, extra))

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

    async def _settle_via(self, delivery: Delivery, queue: str, properties: dict[str, Any]) -> None:
        # Publish first, ack second: a crash in between delivers the message twice, never zero
        # times, and the inbox makes the second delivery a no-op.
        if await self._publish_all([("", queue, properties)]) != 1:
            raise PublishFailed(f"RabbitMQ did not confirm the move to {queue}", confirmed=0)
        await self.ack(delivery=delivery)

    async def delete_topology(self) -> None:
        """Delete every queue and the exchange under the prefix (tests, decommissioning)."""
        channel = await self._ready()
        for lane in LANES:
            for tier_s in RETRY_TIERS_S:
                await channel.queue_delete(self.name(lane, "retry", str(tier_s)))
            await channel.queue_delete(self.name(lane))
        await channel.queue_delete(self.name("dead"))
        await channel.exchange_delete(self.name("events"))

    async def close(self) -> None:
        """Close the connection; unsettled deliveries go back to their queues."""
        if self._connection is not None and self._loop is asyncio.get_running_loop():
            await self._connection.close()
        self._reset()
