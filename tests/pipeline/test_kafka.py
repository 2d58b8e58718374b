"""The Kafka broker's own behaviour, beyond the shared contract: URL, protocol, topics, leases.

The tests that need a broker use Tansu from the `kafka_server` fixture (see kafka_server.py),
each under a topic prefix of its own.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.protocol.transaction import InitProducerIdRequest_v0

from ordertrail.adapters.brokers import BrokerContext, make_broker
from ordertrail.adapters.brokers.kafka import KafkaBroker
from ordertrail.adapters.brokers.kafka_protocol import (
    InitProducerIdRequest,
    InitProducerIdRequest_v3,
)
from ordertrail.adapters.brokers.kafka_records import H_ATTEMPTS, H_CONSUMER, H_ERROR
from ordertrail.adapters.brokers.kafka_settings import KafkaSettings, retry_tier_s
from ordertrail.adapters.tracing import messaging_system_for
from ordertrail.services.messaging import BrokerNotAvailable, Delivery
from tests.pipeline.kafka_server import TansuServer
from tests.pipeline.support import message
from tests.pipeline.test_broker_contract import KAFKA_TEST_OPTIONS

PATIENCE_S = 20.0


def test_kafka_urls_build_a_kafka_broker_without_connecting(sqlite_engine, clock):
    def broker(url: str):
        return make_broker(BrokerContext(url=url, engine=sqlite_engine, clock=clock, lease_s=30))

    built = broker("kafka://k1:9092,k2:9092?prefix=ot&group=workers&partitions=6")
    assert isinstance(built, KafkaBroker)
    assert built.settings.bootstrap == "k1:9092,k2:9092"
    assert (built.settings.prefix, built.settings.partitions) == ("ot", 6)
    assert built.settings.consumer_group("critical") == "workers.critical"
    assert built.settings.retry_topic("bulk", 30) == "ot.bulk.retry.30"
    defaults = KafkaSettings.from_url("kafka://k1:9092")
    assert defaults.consumer_group("bulk") == "ordertrail.bulk"
    for bad, said in [
        ("kafka://k1:9092?partitions=0", "partitions"),
        ("kafka://k1:9092?prefix=a/b", "prefix"),
        ("kafka://k1:9092?acks=1", "unknown Kafka option 'acks'"),
        ("kafka://k1:9092/topic", "no path"),
        ("kafka://?prefix=x", "host:port"),
        ("kafka://k1:9092?session_timeout_ms=1000&heartbeat_interval_ms=1000", "heartbeat"),
    ]:
        with pytest.raises(BrokerNotAvailable, match=said):
            broker(bad)


def test_spans_name_kafka_as_the_messaging_system_of_a_kafka_url():
    assert messaging_system_for("kafka://k1:9092,k2:9092?prefix=ot") == "kafka"


def test_the_retry_topic_is_the_shortest_tier_not_shorter_than_the_delay_or_the_longest():
    cases = {0: 1, 0.5: 1, 1: 1, 1.01: 5, 29: 30, 120: 120, 300: 600, 5000: 600}
    assert {delay: retry_tier_s(delay) for delay in cases} == cases


def test_the_producer_id_request_is_v3_with_a_new_producer_where_the_broker_speaks_v3():
    request = InitProducerIdRequest(None, 60_000)
    newest = request.prepare({22: (0, 4)})
    assert isinstance(newest, InitProducerIdRequest_v3)
    assert (newest.producer_id, newest.producer_epoch) == (-1, -1)
    # A broker that only knows the versions before v3 still gets v0, as aiokafka always sent.
    assert isinstance(request.prepare({22: (0, 2)}), InitProducerIdRequest_v0)


@pytest.fixture
def kafka_url(kafka_server: TansuServer) -> str:
    prefix = f"kafka_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    return f"{kafka_server.url}?prefix={prefix}&{KAFKA_TEST_OPTIONS}"


def kafka_broker(url: str, engine, clock, *, lease_s: float = 30.0) -> KafkaBroker:
    broker = make_broker(BrokerContext(url=url, engine=engine, clock=clock, lease_s=lease_s))
    assert isinstance(broker, KafkaBroker)
    return broker


async def receive_some(broker: KafkaBroker, *, lane: str = "critical") -> list[Delivery]:
    deadline = time.monotonic() + PATIENCE_S
    while not (got := await broker.receive(lane=lane, limit=10)):
        if time.monotonic() > deadline:
            pytest.fail("gave up waiting for a delivery")
    return got


async def read_topic(bootstrap: str, topic: str, *, count: int) -> list[Any]:
    """The first `count` records of `topic`, read without a group."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline = time.monotonic() + PATIENCE_S
        while len(records) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"gave up reading {topic}: {len(records)} of {count}")
            for batch in (await reader.getmany(timeout_ms=200)).values():
                records += batch
        return records
    finally:
        await reader.stop()


def test_a_dead_letter_is_copied_to_the_dead_topic_with_its_history(
    kafka_url, kafka_server, sqlite_engine, clock
):
    broker = kafka_broker(kafka_url, sqlite_engine, clock)
    sent = message()

    async def scenario() -> list[Any]:
        await broker.publish(messages=[sent])
        [delivery] = await receive_some(broker)
        await broker.dead_letter(delivery=delivery, consumer="recorder", error="gave up")
        await broker.close()
        return await read_topic(kafka_server.bootstrap, broker.settings.dead_topic, count=1)

    [dead] = asyncio.run(scenario())
    headers = {name: value.decode() for name, value in dead.headers}
    assert headers["ordertrail-message-id"] == sent.message_id
    assert (headers[H_ATTEMPTS], headers[H_CONSUMER], headers[H_ERROR]) == (
        "1",
        "recorder",
        "gave up",
    )
    assert headers["traceparent"] == sent.headers["traceparent"]
    assert dead.key == b"acme/SO-1"


def test_a_record_that_is_not_ours_is_set_aside_in_the_dead_topic_and_does_not_block_the_lane(
    kafka_url, kafka_server, sqlite_engine, clock
):
    broker = kafka_broker(kafka_url, sqlite_engine, clock)
    sent = message(order_id="SO-FOREIGN")

    async def scenario() -> tuple[list[Delivery], list[Any]]:
        await broker._ready()  # the topics exist from here on
        stranger = AIOKafkaProducer(bootstrap_servers=kafka_server.bootstrap)
        await stranger.start()
        await stranger.send_and_wait(
            broker.settings.name("critical"), value=b"hello", key=b"acme/SO-FOREIGN"
        )
        await stranger.stop()
        await broker.publish(messages=[sent])
        got = await receive_some(broker)
        for delivery in got:
            await broker.ack(delivery=delivery)
        await broker.close()
        return got, await read_topic(kafka_server.bootstrap, broker.settings.dead_topic, count=1)

    got, [aside] = asyncio.run(scenario())
    assert [d.message for d in got] == [sent]
    assert aside.value == b"hello"
    assert dict(aside.headers)[H_ERROR] == b"not an Ordertrail message"


def test_a_delivery_not_settled_within_its_lease_is_handed_out_again_by_the_same_consumer(
    kafka_url, sqlite_engine, clock
):
    broker = kafka_broker(kafka_url, sqlite_engine, clock, lease_s=0.5)
    sent = message()

    async def scenario() -> tuple[Delivery, list[Delivery], Delivery]:
        await broker.publish(messages=[sent])
        [first] = await receive_some(broker)
        # Within the lease the order is busy: nothing more of it is handed out.
        early = await broker.receive(lane="critical", limit=10)
        await asyncio.sleep(0.6)
        [again] = await receive_some(broker)
        await broker.ack(delivery=first)  # late: its lease ran out, so this changes nothing
        await broker.ack(delivery=again)
        await broker.close()
        return first, early, again

    first, early, again = asyncio.run(scenario())
    assert early == []
    assert first.message == again.message == sent
    assert first.tag != again.tag
