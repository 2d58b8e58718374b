"""The RabbitMQ broker on a real server: confirms, acks, parked retries, dead letters, end to end.

RabbitMQ must listen at $ORDERTRAIL_TEST_AMQP_URL (default guest@127.0.0.1:5672). When it is
unreachable these tests skip, except under CI=true, where they fail. Each test declares its own
topology under a unique prefix and deletes it afterwards, so runs never see each other's messages.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import aio_pika
import pytest

from ordertrail.adapters.brokers import BrokerContext, make_broker
from ordertrail.adapters.brokers.rabbitmq import RabbitBroker, RabbitSettings
from ordertrail.adapters.db.dead_letter_store import SqlDeadLetterStore
from ordertrail.services.consumer import consume_round
from ordertrail.services.messaging import LANES, BrokerNotAvailable
from ordertrail.services.relay import relay_round
from tests.conftest import IN_CI
from tests.pipeline.support import (
    add_outbox,
    effects,
    inbox_count,
    message,
    pipeline_app,
    queued,
)
from tests.pipeline.support import unpublished as unpublished_rows

AMQP_URL = os.environ.get("ORDERTRAIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PATIENCE_S = 10.0


def _rabbit_problem() -> str | None:
    address = urlsplit(AMQP_URL)
    try:
        with socket.create_connection((address.hostname, address.port or 5672), timeout=3):
            return None
    except OSError as error:
        return str(error)


@pytest.fixture
def rabbit_url() -> Iterator[str]:
    """A broker URL with a prefix of its own; its queues and exchange are deleted afterwards."""
    problem = _rabbit_problem()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"RabbitMQ is required under CI=true but unreachable: {problem}")
        pytest.skip(f"RabbitMQ unreachable: {problem}")
    url = f"{AMQP_URL}?prefix=ordertrail_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield url
    janitor = RabbitBroker(RabbitSettings.from_url(url), engine=None, clock=None)  # type: ignore[arg-type]

    async def clean() -> None:
        await janitor.delete_topology()
        await janitor.close()

    asyncio.run(clean())


@pytest.fixture
def broker(rabbit_url, sqlite_engine, clock) -> RabbitBroker:
    return RabbitBroker(RabbitSettings.from_url(rabbit_url), engine=sqlite_engine, clock=clock)


async def eventually(receive: Callable[[], Awaitable[list]], *, count: int, what: str) -> list:
    """Receive until `count` deliveries came; fail after PATIENCE_S (a bound, not a timing)."""
    deadline = time.monotonic() + PATIENCE_S
    got: list = []
    while len(got) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}: {len(got)} of {count}")
        got += await receive()
    return got


async def dead_queue(broker: RabbitBroker) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Everything in the prefix's dead queue, taken off it."""
    channel = await broker._ready()
    queue = await channel.get_queue(broker.name("dead"), ensure=False)
    taken = []
    while (incoming := await queue.get(no_ack=True, fail=False)) is not None:
        taken.append(incoming)
    return taken


def test_amqp_urls_build_a_rabbitmq_broker_without_connecting(sqlite_engine, clock):
    def broker(url: str):
        return make_broker(BrokerContext(url=url, engine=sqlite_engine, clock=clock, lease_s=30))

    built = broker("amqps://user:pw@nowhere.invalid:5671/vh?prefix=ot&prefetch=10&heartbeat=30")
    assert isinstance(built, RabbitBroker)
    assert built.settings.url == "amqps://user:pw@nowhere.invalid:5671/vh?heartbeat=30"
    assert (built.settings.prefix, built.settings.prefetch) == ("ot", 10)
    with pytest.raises(BrokerNotAvailable, match="prefetch"):
        broker("amqp://rabbit/?prefetch=0")


def test_published_messages_are_confirmed_received_in_order_once_per_order_and_acked(broker):
    sent = [message(order_id="SO-1"), message(order_id="SO-2"), message(order_id="SO-1")]

    async def scenario() -> None:
        await broker.publish(messages=sent)
        first = await eventually(
            lambda: broker.receive(lane="critical", limit=10), count=1, what="the first batch"
        )
        # The second SO-1 waits for the next batch: at most one message per order per batch.
        assert [d.message for d in first] == sent[:2]
        assert [d.attempts for d in first] == [0, 0]
        for delivery in first:
            await broker.ack(delivery=delivery)
        second = await eventually(
            lambda: broker.receive(lane="critical", limit=10), count=1, what="the second batch"
        )
        assert [d.message for d in second] == sent[2:]
        await broker.ack(delivery=second[0])
        assert await broker.receive(lane="critical", limit=10) == []
        assert await broker.receive(lane="bulk", limit=10) == []
        await broker.close()

    asyncio.run(scenario())


def test_a_retry_comes_back_after_its_delay_with_the_attempt_counted(broker, clock):
    sent = message()

    async def scenario() -> None:
        await broker.publish(messages=[sent])
        [delivery] = await eventually(
            lambda: broker.receive(lane="critical", limit=10), count=1, what="the message"
        )
        await broker.retry(delivery=delivery, error="boom", delay_s=30)
        assert await broker.receive(lane="critical", limit=10) == []  # not before its time
        clock.advance(timedelta(seconds=30))
        [again] = await broker.receive(lane="critical", limit=10)
        assert again.message == sent
        assert (again.attempts, again.first_failed_at) == (1, clock.now() - timedelta(seconds=30))
        await broker.ack(delivery=again)
        assert await broker.receive(lane="critical", limit=10) == []
        await broker.close()

    asyncio.run(scenario())


def test_later_messages_of_an_order_wait_behind_its_retry_and_others_go_ahead(
    broker, clock, sqlite_engine
):
    first, second, third = (message(order_id="SO-1") for _ in range(3))
    other = message(order_id="SO-2")

    async def scenario() -> list[str]:
        handled: list[str] = []
        await broker.publish(messages=[first, other, second, third])
        batch = await eventually(
            lambda: broker.receive(lane="critical", limit=10), count=2, what="the first batch"
        )
        assert [d.message for d in batch] == [first, other]
        await broker.retry(delivery=batch[0], error="boom", delay_s=5)
        await broker.ack(delivery=batch[1])
        handled.append(other.message_id)
        # SO-1's later messages come off the lane but wait behind the retry, in order.
        for _ in range(3):
            assert await broker.receive(lane="critical", limit=10) == []
        assert queued(sqlite_engine, lane="critical") == [
            m.message_id for m in (first, second, third)
        ]
        clock.advance(timedelta(seconds=5))
        while len(handled) < 4:
            for delivery in await broker.receive(lane="critical", limit=10):
                handled.append(delivery.message.message_id)
                await broker.ack(delivery=delivery)
        # SO-1 is back on the lane's fast path once nothing of it waits any more.
        fourth = message(order_id="SO-1")
        await broker.publish(messages=[fourth])
        [direct] = await eventually(
            lambda: broker.receive(lane="critical", limit=10), count=1, what="the fourth"
        )
        assert direct.tag.startswith("amqp:")
        await broker.ack(delivery=direct)
        handled.append(fourth.message_id)
        await broker.close()
        return handled

    handled = asyncio.run(scenario())
    assert [m for m in handled if m != other.message_id][:3] == [
        first.message_id,
        second.message_id,
        third.message_id,
    ]
    assert queued(sqlite_engine) == []


def test_a_worker_that_dies_during_a_retry_leaves_the_order_in_order_for_its_successor(
    rabbit_url, sqlite_engine, clock
):
    first, second = message(order_id="SO-1"), message(order_id="SO-1")

    def fresh() -> RabbitBroker:
        return RabbitBroker(RabbitSettings.from_url(rabbit_url), engine=sqlite_engine, clock=clock)

    async def scenario() -> list[str]:
        dying = fresh()
        await dying.publish(messages=[first, second])
        [delivery] = await eventually(
            lambda: dying.receive(lane="critical", limit=10), count=1, what="the first"
        )
        await dying.retry(delivery=delivery, error="boom", delay_s=5)
        assert await dying.receive(lane="critical", limit=10) == []  # parks the second
        await dying.close()  # dies: the successor has only the database to go on
        successor = fresh()
        assert await successor.receive(lane="critical", limit=10) == []
        clock.advance(timedelta(seconds=5))
        order = []
        while len(order) < 2:
            for got in await successor.receive(lane="critical", limit=10):
                order.append(got.message.message_id)
                await successor.ack(delivery=got)
        await successor.close()
        return order

    assert asyncio.run(scenario()) == [first.message_id, second.message_id]


def test_a_dead_letter_is_recorded_in_the_database_and_acked(broker, sqlite_engine):
    sent = message()

    async def scenario() -> list:
        await broker.publish(messages=[sent])
        [delivery] = await eventually(
            lambda: broker.receive(lane="critical", limit=10), count=1, what="the message"
        )
        await broker.dead_letter(delivery=delivery, consumer="recorder", error="gave up")
        assert await broker.receive(lane="critical", limit=10) == []
        await broker.close()
        return await dead_queue(broker)

    assert asyncio.run(scenario()) == []
    page = SqlDeadLetterStore(sqlite_engine).list(
        tenant_id="acme", include_purged=False, limit=10, cursor=None
    )
    [letter] = page.items
    assert (letter["message_id"], letter["consumer"], letter["error"], letter["attempts"]) == (
        sent.message_id,
        "recorder",
        "gave up",
        1,
    )


def test_a_message_over_the_delivery_limit_is_recorded_once_and_can_be_replayed(
    rabbit_url, sqlite_engine, clock, recorder
):
    url = rabbit_url + "&delivery_limit=1"
    sent = message()

    def fresh() -> RabbitBroker:
        return RabbitBroker(RabbitSettings.from_url(url), engine=sqlite_engine, clock=clock)

    def letters() -> list[dict]:
        store = SqlDeadLetterStore(sqlite_engine)
        return store.list(tenant_id="acme", include_purged=False, limit=10, cursor=None).items

    async def scenario() -> None:
        await fresh().publish(messages=[sent])
        # Two workers die holding it: the second delivery is the last the limit allows.
        for attempt in range(2):
            dying = fresh()
            await eventually(
                lambda b=dying: b.receive(lane="critical", limit=10), count=1, what=f"#{attempt}"
            )
            await dying.close()
        survivor = fresh()
        deadline = time.monotonic() + PATIENCE_S
        while not await asyncio.to_thread(letters):
            assert await survivor.receive(lane="critical", limit=10) == []
            if time.monotonic() > deadline:
                pytest.fail("the dead letter was never recorded")
        await survivor.close()
        assert await dead_queue(survivor) == []  # recorded, then acked

    asyncio.run(scenario())
    [letter] = letters()
    assert letter["message_id"] == sent.message_id
    assert letter["consumer"] == "(rabbitmq delivery limit)"
    assert "delivered more than 1 times" in letter["error"]
    app = pipeline_app(sqlite_engine, clock, recorder, broker_url=url)
    replayed = asyncio.run(
        app.replay_dead_letter(tenant_id="acme", dead_letter_id=letter["id"], actor="ops")
    )
    assert replayed.message == sent  # body and headers, traceparent included

    async def consume_replay() -> None:
        async def one_round() -> list:
            report = await consume_round(
                receiver=app.pipeline.broker,
                registry=app.pipeline.registry,
                uow_factory=app.pipeline.uow_factory,
                clock=clock,
                policy=app.pipeline.retry,
                lane="critical",
                batch_size=10,
            )
            return ["handled"] * report.handled

        await eventually(one_round, count=1, what="the replayed message")
        await app.pipeline.broker.close()

    asyncio.run(consume_replay())
    assert effects(sqlite_engine) == [sent.message_id]
    assert len(letters()) == 1

    async def clean() -> None:
        # Its own limit: the fixture would declare the queues with the default one first.
        janitor = fresh()
        await janitor.delete_topology()
        await janitor.close()

    asyncio.run(clean())


def test_outbox_to_rabbitmq_to_handler_has_one_effect_and_the_inbox_dedupes_a_resend(
    rabbit_url, sqlite_engine, clock, recorder
):
    app = pipeline_app(sqlite_engine, clock, recorder, broker_url=rabbit_url)
    sent = [message(order_id="SO-1"), message(order_id="SO-1"), message(lane="bulk")]
    add_outbox(sqlite_engine, sent)
    pipeline = app.pipeline

    async def consume_all(count: int) -> None:
        async def one_round() -> list:
            handled = []
            for lane in LANES:
                report = await consume_round(
                    receiver=pipeline.broker,
                    registry=pipeline.registry,
                    uow_factory=pipeline.uow_factory,
                    clock=clock,
                    policy=pipeline.retry,
                    lane=lane,
                    batch_size=50,
                )
                handled += [lane] * report.handled
            return handled

        await eventually(one_round, count=count, what="the handled deliveries")

    async def scenario() -> None:
        published = await relay_round(
            outbox=pipeline.outbox, publisher=pipeline.broker, clock=clock, config=pipeline.relay
        )
        assert published == {"critical": 2, "bulk": 1}
        await consume_all(3)
        # A relay that lost its confirms resends: the inbox makes the second delivery a no-op.
        await pipeline.broker.publish(messages=sent[:1])
        await consume_all(1)
        await pipeline.broker.close()

    asyncio.run(scenario())
    assert unpublished_rows(sqlite_engine) == 0
    critical = [m.message_id for m in sent[:2]]
    assert [e for e in effects(sqlite_engine) if e in critical] == critical
    assert sorted(effects(sqlite_engine)) == sorted(m.message_id for m in sent)
    assert inbox_count(sqlite_engine) == 3
    assert sorted(recorder.calls) == sorted(m.message_id for m in sent)
