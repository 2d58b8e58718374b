"""One contract every broker passes: db:// (SQLite and PostgreSQL), amqp:// and kafka://.

Each test drives a broker through the same port the relay and the consumers use. Where brokers
legitimately differ, the difference is a field of `BrokerCase`, stated once below, never a skip:

- `redelivery`: how an unacknowledged delivery comes back. The embedded queue leases it and hands
  it out again once the lease ran out (the test moves the clock past it); RabbitMQ and Kafka hand
  it out again when its consumer goes away (the test closes the broker and starts another).
- `real_time_delays`: the embedded queue, and RabbitMQ (which parks a retry in the database),
  measure retry delays on the application's clock (the test moves it); Kafka's retry topics wait
  in real time, so there the test checks that the wait was real.
- `retry_holds_order`: whether later messages of an order wait while an earlier one waits for its
  retry. The embedded queue holds them back, and so does RabbitMQ (it parks the order in the
  database); Kafka's retry topics let them overtake it.

RabbitMQ must listen at $ORDERTRAIL_TEST_AMQP_URL (default guest@127.0.0.1:5672); Kafka is Tansu,
started by the `kafka_server` fixture. A broker that is unreachable skips its cases, except under
CI=true, where they fail. Every wait is bounded by PATIENCE_S.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from ordertrail.adapters.brokers import BrokerContext, make_broker
from ordertrail.adapters.brokers.rabbitmq import RabbitBroker
from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.dead_letter_store import SqlDeadLetterStore
from ordertrail.adapters.db.engine import make_engine
from ordertrail.bootstrap import Ordertrail
from ordertrail.services.consumer import ConsumeReport, consume_round
from ordertrail.services.dead_letters import replay_dead_letter
from ordertrail.services.messaging import Delivery, Message
from tests.conftest import IN_CI, NOW, truncate_postgres
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.kafka_server import TansuServer
from tests.pipeline.support import effects, inbox_count, message, pipeline_app

AMQP_URL = os.environ.get("ORDERTRAIL_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PATIENCE_S = 20.0
LEASE_S = 30.0
# Short enough for brokers that wait in real time: 0.3 s, then 0.6 s.
BACKOFF_INITIAL_S = 0.3
ATTEMPTS_MAX = 3
# Kafka options for tests: small partitions count, a group that forms and re-forms in seconds.
KAFKA_TEST_OPTIONS = (
    "partitions=3&session_timeout_ms=2000&heartbeat_interval_ms=300"
    "&receive_wait_s=0.1&request_timeout_ms=5000"
)


@dataclass(frozen=True, slots=True)
class BrokerCase:
    name: str
    url: str
    engine: Engine
    clock: FixedClock
    redelivery: str  # "lease expiry" or "consumer restart"
    real_time_delays: bool
    retry_holds_order: bool

    def app(self, *handlers: RecordingHandler) -> Ordertrail:
        return pipeline_app(
            self.engine,
            self.clock,
            *handlers,
            broker_url=self.url,
            worker_lease_s=LEASE_S,
            retry_attempts_max=ATTEMPTS_MAX,
            retry_backoff_initial_s=BACKOFF_INITIAL_S,
        )

    async def redeliver(self, app: Ordertrail, *handlers: RecordingHandler) -> Ordertrail:
        """Make the broker give up on what `app` holds unacknowledged; return the app to use."""
        if self.redelivery == "lease expiry":
            self.clock.advance(timedelta(seconds=LEASE_S + 1))
            return app
        await app.pipeline.broker.close()
        return self.app(*handlers)

    def tick(self) -> None:
        """Between consume rounds: let retry delays pass on brokers that use the app's clock."""
        if not self.real_time_delays:
            self.clock.advance(timedelta(seconds=1))


def _unreachable(host_port: tuple[str, int]) -> str | None:
    try:
        with socket.create_connection(host_port, timeout=3):
            return None
    except OSError as error:
        return str(error)


def _unavailable(problem: str) -> None:
    if IN_CI:
        pytest.fail(f"required under CI=true: {problem}")
    pytest.skip(problem)


@pytest.fixture
def rabbit_contract_url() -> Iterator[str]:
    address = urlsplit(AMQP_URL)
    problem = _unreachable((address.hostname or "127.0.0.1", address.port or 5672))
    if problem is not None:
        _unavailable(f"RabbitMQ unreachable: {problem}")
    url = f"{AMQP_URL}?prefix=ordertrail_contract_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield url
    janitor = make_broker(BrokerContext(url=url, engine=None, clock=None, lease_s=LEASE_S))  # type: ignore[arg-type]

    async def clean() -> None:
        assert isinstance(janitor, RabbitBroker)
        await janitor.delete_topology()
        await janitor.close()

    asyncio.run(clean())


@pytest.fixture(
    params=[
        "db-sqlite",
        pytest.param("db-postgres", marks=pytest.mark.postgres),
        "amqp",
        "kafka",
    ]
)
def case(
    request: pytest.FixtureRequest, sqlite_engine: Engine, clock: FixedClock
) -> Iterator[BrokerCase]:
    name = request.param
    engine = sqlite_engine
    if name == "db-postgres":
        engine = make_engine(request.getfixturevalue("postgres_url"))
        truncate_postgres(engine)
    if name.startswith("db-"):
        yield BrokerCase(
            name=name,
            url="db://",
            engine=engine,
            clock=clock,
            redelivery="lease expiry",
            real_time_delays=False,
            retry_holds_order=True,
        )
    elif name == "amqp":
        yield BrokerCase(
            name=name,
            url=request.getfixturevalue("rabbit_contract_url"),
            engine=engine,
            clock=clock,
            redelivery="consumer restart",
            real_time_delays=False,
            retry_holds_order=True,
        )
    else:
        server: TansuServer = request.getfixturevalue("kafka_server")
        prefix = f"contract_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        yield BrokerCase(
            name=name,
            url=f"{server.url}?prefix={prefix}&{KAFKA_TEST_OPTIONS}",
            engine=engine,
            clock=clock,
            redelivery="consumer restart",
            real_time_delays=True,
            retry_holds_order=False,
        )
    if engine is not sqlite_engine:
        engine.dispose()


async def receive_until(
    app: Ordertrail, *, lane: str = "critical", count: int, what: str
) -> list[Delivery]:
    """Receive until `count` deliveries came; fail after PATIENCE_S."""
    deadline = time.monotonic() + PATIENCE_S
    got: list[Delivery] = []
    while len(got) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}: {len(got)} of {count}")
        got += await app.pipeline.broker.receive(lane=lane, limit=50)
        await asyncio.sleep(0.01)
    return got


async def consume_until(
    case: BrokerCase,
    app: Ordertrail,
    done: Callable[[ConsumeReport], Awaitable[bool] | bool],
    *,
    lanes: tuple[str, ...] = ("critical",),
    what: str,
) -> ConsumeReport:
    """Run the real consumer rounds until `done(total so far)`; fail after PATIENCE_S."""
    deadline = time.monotonic() + PATIENCE_S
    total = ConsumeReport()
    rounds = 0
    while True:
        verdict = done(total)
        if verdict if isinstance(verdict, bool) else await verdict:
            return total
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}: {total}")
        if rounds:
            case.tick()
        rounds += 1
        for lane in lanes:
            total += await consume_round(
                receiver=app.pipeline.broker,
                registry=app.pipeline.registry,
                uow_factory=app.pipeline.uow_factory,
                clock=app.clock,
                policy=app.pipeline.retry,
                lane=lane,
                batch_size=20,
            )


def has_effects(
    case: BrokerCase, expected: list[str]
) -> Callable[[ConsumeReport], Awaitable[bool]]:
    """A `done` check: every message in `expected` has its effect committed."""

    async def check(_: ConsumeReport) -> bool:
        done = await asyncio.to_thread(effects, case.engine)
        return set(expected) <= set(done)

    return check


def test_published_messages_are_received_once_and_nothing_comes_back_after_the_ack(case):
    sent = [message(order_id="SO-1"), message(order_id="SO-2"), message(order_id="SO-3")]
    sentinel = message(order_id="SO-1")

    async def scenario() -> list[Delivery]:
        app = case.app()
        await app.pipeline.broker.publish(messages=sent)
        received = await receive_until(app, count=3, what="the published messages")
        for delivery in received:
            await app.pipeline.broker.ack(delivery=delivery)
        # A consumer that starts afresh must not see them again: the sentinel, published after
        # them on one of their orders, comes first only if nothing acknowledged came back.
        await app.pipeline.broker.close()
        successor = case.app()
        await successor.pipeline.broker.publish(messages=[sentinel])
        [after] = await receive_until(successor, count=1, what="the sentinel")
        await successor.pipeline.broker.ack(delivery=after)
        await successor.pipeline.broker.close()
        return [*received, after]

    deliveries = asyncio.run(scenario())
    assert sorted(d.message.message_id for d in deliveries[:3]) == sorted(
        m.message_id for m in sent
    )
    assert {d.message.message_id: d.message for d in deliveries[:3]} == {
        m.message_id: m for m in sent
    }
    assert [d.attempts for d in deliveries] == [0, 0, 0, 0]
    assert deliveries[3].message == sentinel


def test_an_unacknowledged_delivery_is_handed_out_again_when_its_consumer_gives_up(case):
    sent = message()

    async def scenario() -> tuple[Delivery, Delivery]:
        app = case.app()
        await app.pipeline.broker.publish(messages=[sent])
        [first] = await receive_until(app, count=1, what="the first delivery")
        # case.redelivery: the lease runs out (db://) or the consumer goes away (amqp, kafka).
        app = await case.redeliver(app)
        [again] = await receive_until(app, count=1, what="the redelivery")
        await app.pipeline.broker.ack(delivery=again)
        await app.pipeline.broker.close()
        return first, again

    first, again = asyncio.run(scenario())
    assert first.message == again.message == sent
    assert again.attempts == 0


def test_a_failed_message_comes_back_after_its_delay_with_the_attempt_counted_then_succeeds(
    case, recorder
):
    sent = message()
    recorder.failures[sent.message_id] = 1

    async def scenario() -> tuple[ConsumeReport, float, ConsumeReport]:
        app = case.app(recorder)
        await app.pipeline.broker.publish(messages=[sent])
        failed = await consume_until(
            case, app, lambda total: total.retried == 1, what="the failure"
        )
        retried_at = time.monotonic()
        if not case.real_time_delays:
            # The application's clock has not moved: the retry is not due yet.
            assert await app.pipeline.broker.receive(lane="critical", limit=10) == []
        succeeded = await consume_until(
            case, app, lambda total: total.handled == 1, what="the retry"
        )
        waited_s = time.monotonic() - retried_at
        await app.pipeline.broker.close()
        return failed, waited_s, succeeded

    failed, waited_s, succeeded = asyncio.run(scenario())
    assert (failed.retried, failed.handled) == (1, 0)
    assert succeeded == ConsumeReport(handled=1)
    if case.real_time_delays:
        assert waited_s >= BACKOFF_INITIAL_S
    assert recorder.calls == [sent.message_id, sent.message_id]
    assert effects(case.engine) == [sent.message_id]


def test_a_message_failing_every_attempt_is_dead_lettered_with_its_history_and_replays_intact(
    case, recorder
):
    sent = message(order_id="SO-9")
    recorder.fail_always = True

    async def scenario() -> tuple[ConsumeReport, dict, Delivery]:
        app = case.app(recorder)
        await app.pipeline.broker.publish(messages=[sent])
        report = await consume_until(
            case, app, lambda total: total.dead_lettered == 1, what="the dead letter"
        )
        store = SqlDeadLetterStore(case.engine)
        [letter] = store.list(tenant_id="acme", include_purged=False, limit=10, cursor=None).items
        await replay_dead_letter(
            store=store,
            publisher=app.pipeline.broker,
            tenant_id="acme",
            dead_letter_id=letter["id"],
            actor="ops@acme",
            now=case.clock.now(),
        )
        [replayed] = await receive_until(app, count=1, what="the replayed message")
        await app.pipeline.broker.ack(delivery=replayed)
        await app.pipeline.broker.close()
        return report, letter, replayed

    report, letter, replayed = asyncio.run(scenario())
    assert (report.retried, report.dead_lettered, report.handled) == (ATTEMPTS_MAX - 1, 1, 0)
    assert (letter["message_id"], letter["consumer"], letter["attempts"]) == (
        sent.message_id,
        "recorder",
        ATTEMPTS_MAX,
    )
    assert letter["error"].startswith("HandlerFailed: told to fail")
    assert letter["first_failed_at"] == NOW.isoformat()
    assert letter["last_failed_at"] >= letter["first_failed_at"]
    # The replay is the original message: same id, body and headers (the trace context too).
    assert replayed.message == sent
    assert replayed.message.headers["traceparent"] == sent.headers["traceparent"]
    [(by, _)] = (
        SqlDeadLetterStore(case.engine).get(tenant_id="acme", dead_letter_id=letter["id"]).replays
    )  # type: ignore[union-attr]
    assert by == "ops@acme"
    assert effects(case.engine) == []


def test_the_messages_of_an_order_are_handled_in_publish_order(case, recorder):
    sent = [
        message(order_id="X"),
        message(order_id="Y"),
        message(order_id="X"),
        message(order_id="Y"),
        message(order_id="X"),
    ]

    async def scenario() -> None:
        app = case.app(recorder)
        await app.pipeline.broker.publish(messages=sent)
        await consume_until(
            case, app, has_effects(case, [m.message_id for m in sent]), what="every effect"
        )
        await app.pipeline.broker.close()

    asyncio.run(scenario())
    done = effects(case.engine)
    for order in ("X", "Y"):
        expected = [m.message_id for m in sent if m.order_id == order]
        assert [e for e in done if e in expected] == expected


def test_a_later_message_of_an_order_waits_for_an_earlier_retry_only_where_the_broker_says(
    case, recorder
):
    first, second = message(order_id="X"), message(order_id="X")
    recorder.failures[first.message_id] = 1

    async def scenario() -> None:
        app = case.app(recorder)
        await app.pipeline.broker.publish(messages=[first, second])
        await consume_until(
            case,
            app,
            has_effects(case, [first.message_id, second.message_id]),
            what="both effects",
        )
        await app.pipeline.broker.close()

    asyncio.run(scenario())
    # case.retry_holds_order: db:// and RabbitMQ hold the order back; Kafka lets it overtake.
    in_order = [first.message_id, second.message_id]
    overtaken = [second.message_id, first.message_id]
    assert effects(case.engine) == (in_order if case.retry_holds_order else overtaken)


def test_a_backlog_on_one_lane_does_not_hold_back_the_other(case):
    bulk = [message(order_id=f"B-{n}", lane="bulk", event_type="line.allocated") for n in range(60)]
    urgent = message(order_id="SO-URGENT")

    async def scenario() -> tuple[list[Delivery], list[Delivery]]:
        app = case.app()
        await app.pipeline.broker.publish(messages=bulk)
        await app.pipeline.broker.publish(messages=[urgent])
        # Bulk deliveries leased and left unacknowledged do not stand in the critical lane's way.
        leased = await receive_until(app, lane="bulk", count=1, what="bulk deliveries")
        critical = await receive_until(app, lane="critical", count=1, what="the critical one")
        for delivery in critical:
            await app.pipeline.broker.ack(delivery=delivery)
        await app.pipeline.broker.close()
        return leased, critical

    leased, critical = asyncio.run(scenario())
    assert {d.message.lane for d in leased} == {"bulk"}
    assert [d.message for d in critical] == [urgent]


def test_a_message_published_twice_has_one_effect(case, recorder):
    duplicated = message(order_id="SO-DUP")
    after = message(order_id="SO-DUP")

    async def scenario() -> None:
        app = case.app(recorder)
        # A relay that lost its confirm publishes the batch again.
        await app.pipeline.broker.publish(messages=[duplicated])
        await app.pipeline.broker.publish(messages=[duplicated, after])
        # `after` comes behind both copies on its order, so once its effect is there every copy
        # of `duplicated` was handled.
        await consume_until(
            case, app, has_effects(case, [after.message_id]), what="the later message"
        )
        await app.pipeline.broker.close()

    asyncio.run(scenario())
    assert effects(case.engine) == [duplicated.message_id, after.message_id]
    assert inbox_count(case.engine) == 2
    # The inbox skipped the second copy before the handler ran.
    assert recorder.calls == [duplicated.message_id, after.message_id]


def test_every_message_id_and_header_survives_the_round_trip(case):
    sent = Message(
        message_id="acme/evt-headers",
        tenant_id="acme",
        order_id="SO-H",
        lane="bulk",
        event_type="line.allocated",
        body='{"event_id": "evt-headers", "note": "ünïcode ✓"}',
        created_at=NOW - timedelta(seconds=5),
        headers={
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tracestate": "vendor=value",
        },
    )

    async def scenario() -> Delivery:
        app = case.app()
        await app.pipeline.broker.publish(messages=[sent])
        [delivery] = await receive_until(app, lane="bulk", count=1, what="the message")
        await app.pipeline.broker.ack(delivery=delivery)
        await app.pipeline.broker.close()
        return delivery

    assert asyncio.run(scenario()).message == sent
