"""Faults on a real RabbitMQ: dropped connections mid-stream, a crash before the ack, poison.

RabbitMQ must listen at $ORDERTRAIL_TEST_AMQP_URL, as for test_rabbitmq.py; when it does not these
tests skip, except under CI=true, where they fail. Connections are dropped with
`rabbitmqctl close_all_connections`, which needs the tool and the right to use it: without them
that test skips (fails under CI). Stopping the broker itself and killing the relay process are
in test_rabbitmq_outages.py. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import insert

from ordertrail.adapters.brokers.rabbitmq import RabbitBroker, RabbitSettings
from ordertrail.adapters.db.tables import outbox
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers.relay import run_relay
from ordertrail.entrypoints.workers.worker import run_worker
from ordertrail.services.consumer import ConsumeReport, apply_handlers, consume_round
from ordertrail.services.dead_letters import replay_dead_letter
from ordertrail.services.messaging import LANES, DeadLetter, Delivery
from ordertrail.services.relay import relay_round
from tests.conftest import IN_CI
from tests.pipeline.support import (
    FAST,
    add_outbox,
    effects,
    inbox_count,
    message,
    outbox_row,
    pipeline_app,
)
from tests.pipeline.support import unpublished as unpublished_rows
from tests.pipeline.test_rabbitmq import AMQP_URL, _rabbit_problem, dead_queue

# Bounds, not timings: a healthy run finishes each wait in a fraction of these.
DRAIN_PATIENCE_S = 30.0
RABBITMQCTL_TIMEOUT_S = 30.0


def _unavailable(problem: str) -> None:
    if IN_CI:
        pytest.fail(f"required under CI=true: {problem}")
    pytest.skip(problem)


@pytest.fixture
def rabbit_url() -> Iterator[str]:
    """A broker URL with a prefix of its own; its queues and exchange are deleted afterwards."""
    problem = _rabbit_problem()
    if problem is not None:
        _unavailable(f"RabbitMQ unreachable: {problem}")
    url = f"{AMQP_URL}?prefix=ordertrail_fault_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield url
    janitor = RabbitBroker(RabbitSettings.from_url(url), engine=None, clock=None)  # type: ignore[arg-type]

    async def clean() -> None:
        await janitor.delete_topology()
        await janitor.close()

    asyncio.run(clean())


async def until(check: Callable[[], Awaitable[bool]], *, what: str) -> None:
    """Poll `check` until it holds; fail after DRAIN_PATIENCE_S."""
    deadline = time.monotonic() + DRAIN_PATIENCE_S
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def close_all_connections() -> None:
    """Make RabbitMQ drop every client connection, as a broker failover or network cut would."""
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "close_all_connections",
        "test",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), RABBITMQCTL_TIMEOUT_S)
    assert process.returncode == 0, (out + err).decode()


async def leftover(url: str) -> dict[str, int]:
    """Messages still in each lane queue, counted on a connection of its own.

    Call it after the consumers closed theirs: an ack is not confirmed, so only then has the
    broker surely applied it, and anything unacknowledged is back in its queue to be counted.
    """
    counter = RabbitBroker(RabbitSettings.from_url(url), engine=None, clock=None)  # type: ignore[arg-type]
    channel = await counter._ready()
    counts = {}
    for lane in LANES:
        queue = await channel.declare_queue(counter.name(lane), passive=True)
        counts[lane] = queue.declaration_result.message_count
    await counter.close()
    return counts


def _pipeline(engine, clock, *handlers, url: str, **settings) -> Ordertrail:
    return pipeline_app(engine, clock, *handlers, broker_url=url, **FAST, **settings)


def test_dropped_connections_mid_stream_lose_nothing_and_double_no_effect(
    rabbit_url, sqlite_engine, clock, recorder
):
    if shutil.which("rabbitmqctl") is None:
        _unavailable("rabbitmqctl is not installed")
    # The relay and the worker are separate apps, so each has its own connection, as processes.
    relay_app = _pipeline(sqlite_engine, clock, url=rabbit_url)
    worker_app = _pipeline(sqlite_engine, clock, recorder, url=rabbit_url)
    sent = [
        message(order_id=f"SO-{n % 40:02d}", lane="bulk" if n % 4 == 0 else "critical")
        for n in range(200)
    ]

    async def ingest() -> None:
        for start in range(0, len(sent), 10):
            if start == len(sent) // 2:
                await close_all_connections()
            await asyncio.to_thread(add_outbox, sqlite_engine, sent[start : start + 10])
            await asyncio.sleep(0.02)

    async def all_effects_recorded() -> bool:
        done = await asyncio.to_thread(effects, sqlite_engine)
        left = await asyncio.to_thread(unpublished_rows, sqlite_engine)
        return len(set(done)) == len(sent) and left == 0

    async def scenario() -> dict[str, int]:
        stop = asyncio.Event()
        loops = [
            asyncio.create_task(run_relay(app=relay_app, stop=stop, max_seconds=60)),
            asyncio.create_task(run_worker(app=worker_app, lanes=LANES, stop=stop, max_seconds=60)),
        ]
        try:
            await ingest()
            await until(all_effects_recorded, what="every message's effect")
        finally:
            stop.set()
            await asyncio.gather(*loops)
            await worker_app.pipeline.broker.close()
            await relay_app.pipeline.broker.close()
        return await leftover(rabbit_url)

    assert asyncio.run(scenario()) == dict.fromkeys(LANES, 0)
    assert unpublished_rows(sqlite_engine) == 0
    recorded = Counter(effects(sqlite_engine))
    assert recorded == Counter(m.message_id for m in sent)  # each exactly once
    assert inbox_count(sqlite_engine) == len(sent)
    assert Counter(recorder.calls) == recorded


async def receive_one(broker: RabbitBroker, *, what: str) -> Delivery:
    deadline = time.monotonic() + DRAIN_PATIENCE_S
    while not (got := await broker.receive(lane="critical", limit=10)):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
    [delivery] = got
    return delivery


def test_a_worker_killed_between_its_effect_and_its_ack_leaves_exactly_one_effect(
    rabbit_url, sqlite_engine, clock, recorder
):
    app = _pipeline(sqlite_engine, clock, recorder, url=rabbit_url)
    sent = message()
    add_outbox(sqlite_engine, [sent])
    pipeline = app.pipeline

    async def scenario() -> None:
        await relay_round(
            outbox=pipeline.outbox, publisher=pipeline.broker, clock=clock, config=pipeline.relay
        )
        delivery = await receive_one(pipeline.broker, what="the first delivery")
        failure = await asyncio.to_thread(
            apply_handlers,
            delivery=delivery,
            handlers=pipeline.registry.for_lane("critical"),
            uow_factory=pipeline.uow_factory,
            clock=clock,
        )
        assert failure is None
        # The effect is committed; the worker dies before its ack (its connection goes away).
        await pipeline.broker.close()
        successor = _pipeline(sqlite_engine, clock, recorder, url=rabbit_url)
        report = await consume_until(successor, what="the redelivery", handled=1)
        assert report.handled == 1
        await successor.pipeline.broker.close()
        assert await leftover(rabbit_url) == dict.fromkeys(LANES, 0)

    asyncio.run(scenario())
    assert effects(sqlite_engine) == [sent.message_id]
    assert inbox_count(sqlite_engine) == 1
    # The redelivery was skipped by the inbox: the handler never ran a second time.
    assert recorder.calls == [sent.message_id]


async def consume_until(
    app: Ordertrail, *, what: str, handled: int = 0, dead_lettered: int = 0, tick_s: float = 0
) -> ConsumeReport:
    """Run consume rounds on the critical lane until the counts are reached (bounded).

    Each round moves the app's fixed clock on by `tick_s`, so retries come due.
    """
    deadline = time.monotonic() + DRAIN_PATIENCE_S
    total = ConsumeReport()
    while total.handled < handled or total.dead_lettered < dead_lettered:
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}: {total}")
        app.clock.advance(timedelta(seconds=tick_s))  # type: ignore[attr-defined]
        total += await consume_round(
            receiver=app.pipeline.broker,
            registry=app.pipeline.registry,
            uow_factory=app.pipeline.uow_factory,
            clock=app.clock,
            policy=app.pipeline.retry,
            lane="critical",
            batch_size=10,
        )
    return total


def test_a_poison_message_is_retried_with_backoff_dead_lettered_then_replayed_once_fixed(
    rabbit_url, sqlite_engine, clock, recorder
):
    # Three attempts, 10 s then 20 s of backoff on the test's clock, which the rounds advance.
    app = _pipeline(
        sqlite_engine,
        clock,
        recorder,
        url=rabbit_url,
        retry_attempts_max=3,
        retry_backoff_initial_s=10.0,
    )
    sent = message()
    with sqlite_engine.begin() as connection:  # as ingest writes it, with the request's trace
        connection.execute(
            insert(outbox).values(**outbox_row(sent), traceparent=sent.headers["traceparent"])
        )
    pipeline = app.pipeline
    recorder.fail_always = True

    async def scenario() -> tuple[ConsumeReport, list, DeadLetter, ConsumeReport]:
        await relay_round(
            outbox=pipeline.outbox, publisher=pipeline.broker, clock=clock, config=pipeline.relay
        )
        failing = await consume_until(app, what="the dead letter", dead_lettered=1, tick_s=5)
        dead = await dead_queue(pipeline.broker)
        [letter] = pipeline.dead_letters.list(
            tenant_id="acme", include_purged=False, limit=10, cursor=None
        ).items
        recorder.fail_always = False  # the fix is deployed
        replayed = await replay_dead_letter(
            store=pipeline.dead_letters,
            publisher=pipeline.broker,
            tenant_id="acme",
            dead_letter_id=letter["id"],
            actor="ops@acme",
            now=clock.now(),
        )
        fixed = await consume_until(app, what="the replayed message", handled=1)
        await pipeline.broker.close()
        assert await leftover(rabbit_url) == dict.fromkeys(LANES, 0)
        return failing, dead, replayed, fixed

    started = clock.now()
    failing, dead, replayed, fixed = asyncio.run(scenario())
    assert (failing.retried, failing.dead_lettered, failing.handled) == (2, 1, 0)
    # The backoff was waited out on the clock: 10 s, then 20 s.
    [letter] = pipeline.dead_letters.list(
        tenant_id="acme", include_purged=False, limit=10, cursor=None
    ).items
    letter_shown = app.dead_letter(tenant_id="acme", dead_letter_id=letter["id"])
    assert letter_shown.first_failed_at > started
    assert (letter_shown.last_failed_at - letter_shown.first_failed_at).total_seconds() >= 30
    assert letter_shown.attempts == 3
    assert letter_shown.consumer == "recorder"
    assert dead == []  # recorded in the database; nothing left for the dead queue's recorder
    assert replayed.message == sent  # the traceparent included, from the outbox on
    assert [actor for actor, _ in replayed.replays] == ["ops@acme"]
    assert fixed == ConsumeReport(handled=1)
    # Three failed attempts rolled their effects back; the replay made the only one.
    assert recorder.calls == [sent.message_id] * 4
    assert effects(sqlite_engine) == [sent.message_id]
    assert inbox_count(sqlite_engine) == 1
