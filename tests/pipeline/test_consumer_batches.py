"""Batched consumer transactions: one commit per handler per batch, per-message failure semantics.

`consume_round` runs each handler over a received batch in one unit of work. These tests pin what
must not change with it: a failing message fails alone, the inbox still deduplicates (also within
one batch), messages are handled in delivery order, nothing is acknowledged before its commit,
and every message keeps one `process` span with its handler spans inside.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.tracing import Tracing
from ordertrail.bootstrap import Ordertrail
from ordertrail.services.consumer import apply_handlers_batch, consume_round
from ordertrail.services.messaging import ConsumerUnitOfWork, Delivery, Message
from ordertrail.services.milestone_log import CONSUMER as MILESTONE_LOG
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.support import consume, effects, inbox_count, message, run


class Crashed(Exception):
    """The worker 'dies' here: after its commits, before its acks."""


class CrashBeforeAck:
    """A receiver that receives through the real broker and dies at its first ack."""

    def __init__(self, app: Ordertrail) -> None:
        self._broker = app.pipeline.broker

    async def receive(self, *, lane: str, limit: int) -> list[Delivery]:
        return await self._broker.receive(lane=lane, limit=limit)

    async def ack(self, *, delivery: Delivery) -> None:
        raise Crashed

    async def retry(self, *, delivery: Delivery, error: str, delay_s: float) -> None:
        await self._broker.retry(delivery=delivery, error=error, delay_s=delay_s)

    async def dead_letter(self, *, delivery: Delivery, consumer: str, error: str) -> None:
        await self._broker.dead_letter(delivery=delivery, consumer=consumer, error=error)


class OnePerTransaction(RecordingHandler):
    """A recorder that opts out of batches and checks it gets a unit of work per message."""

    batchable = False

    def __init__(self, *, clock: FixedClock) -> None:
        super().__init__(clock=clock, consumer="one-per-transaction")
        # The units of work it was handed, kept alive so that identities are not reused.
        self.units: list[ConsumerUnitOfWork] = []

    def handle(self, *, message: Message, uow: ConsumerUnitOfWork) -> None:
        self.units.append(uow)
        super().handle(message=message, uow=uow)


def publish(app: Ordertrail, *messages: Message) -> None:
    run(app.pipeline.broker.publish(messages=list(messages)))


def delivery(m: Message, *, tag: str = "t") -> Delivery:
    return Delivery(message=m, attempts=0, first_failed_at=None, tag=tag)


def ids(*messages: Message) -> list[str]:
    return [m.message_id for m in messages]


class TestFailureInsideABatch:
    def test_the_third_of_five_failing_commits_the_other_four_and_retries_the_third(
        self, papp, recorder
    ):
        batch = [message(order_id=f"SO-{n}") for n in range(5)]
        third = batch[2].message_id
        recorder.failures[third] = 1
        publish(papp, *batch)

        first = consume(papp)

        assert (first.handled, first.retried, first.dead_lettered) == (4, 1, 0)
        others = ids(*batch[:2], *batch[3:])
        assert effects(papp.engine) == others
        assert inbox_count(papp.engine) == 4
        # The batch transaction ran up to the third and rolled back; the third failed there
        # (once, as with one transaction per message) and the others were handled one by one.
        assert recorder.calls == [*ids(*batch[:3]), *others]
        # The handler before the recorder committed the whole batch in its own transaction.
        assert sorted(effects(papp.engine, consumer=MILESTONE_LOG)) == sorted(ids(*batch))

        papp.clock.advance(timedelta(seconds=10))
        second = consume(papp)

        assert (second.handled, second.retried) == (1, 0)
        assert effects(papp.engine) == [*others, third]
        assert inbox_count(papp.engine) == 5
        assert sorted(effects(papp.engine, consumer=MILESTONE_LOG)) == sorted(ids(*batch))

    def test_a_message_failing_every_attempt_is_dead_lettered_alone(self, papp, recorder):
        batch = [message(order_id=f"SO-{n}") for n in range(3)]
        recorder.failures[batch[1].message_id] = 100
        publish(papp, *batch)
        reports = [consume(papp)]
        for _ in range(2):
            papp.clock.advance(timedelta(minutes=10))
            reports.append(consume(papp))
        assert [(r.handled, r.retried, r.dead_lettered) for r in reports] == [
            (2, 1, 0),
            (0, 1, 0),
            (0, 0, 1),
        ]
        assert effects(papp.engine) == ids(batch[0], batch[2])


class TestDeduplication:
    def test_the_same_message_twice_in_one_batch_has_one_effect(self, papp, recorder):
        m, other = message(order_id="SO-1"), message(order_id="SO-2")
        failures = apply_handlers_batch(
            deliveries=[delivery(m, tag="a"), delivery(other), delivery(m, tag="b")],
            handlers=papp.pipeline.registry.for_lane("critical"),
            uow_factory=papp.pipeline.uow_factory,
            clock=papp.clock,
        )
        assert failures == [None, None, None]
        assert recorder.calls == ids(m, other)
        assert effects(papp.engine) == ids(m, other)
        assert inbox_count(papp.engine) == 2
        assert effects(papp.engine, consumer=MILESTONE_LOG) == ids(m, other)

    def test_the_same_message_twice_in_a_batch_that_falls_back_has_one_effect(self, papp, recorder):
        m, failing = message(order_id="SO-1"), message(order_id="SO-2")
        recorder.failures[failing.message_id] = 1
        failures = apply_handlers_batch(
            deliveries=[delivery(m, tag="a"), delivery(failing), delivery(m, tag="b")],
            handlers=[recorder],
            uow_factory=papp.pipeline.uow_factory,
            clock=papp.clock,
        )
        assert [f is None for f in failures] == [True, False, True]
        assert effects(papp.engine) == ids(m)
        assert inbox_count(papp.engine) == 1

    def test_a_batch_handled_again_is_skipped_whole_by_the_inbox(self, papp, recorder):
        batch = [delivery(message(order_id=f"SO-{n}")) for n in range(4)]
        for _ in range(2):
            failures = apply_handlers_batch(
                deliveries=batch,
                handlers=[recorder],
                uow_factory=papp.pipeline.uow_factory,
                clock=papp.clock,
            )
            assert failures == [None] * 4
        assert recorder.calls == [d.message.message_id for d in batch]
        assert inbox_count(papp.engine) == 4


class TestOrdering:
    def test_messages_of_one_order_are_handled_in_delivery_order_within_a_batch(
        self, papp, recorder
    ):
        x = [message(order_id="X") for _ in range(3)]
        y = [message(order_id="Y") for _ in range(2)]
        sequence = [x[0], y[0], x[1], x[2], y[1]]
        failures = apply_handlers_batch(
            deliveries=[delivery(m) for m in sequence],
            handlers=papp.pipeline.registry.for_lane("critical"),
            uow_factory=papp.pipeline.uow_factory,
            clock=papp.clock,
        )
        assert failures == [None] * 5
        assert recorder.calls == ids(*sequence)
        assert effects(papp.engine) == ids(*sequence)
        assert effects(papp.engine, consumer=MILESTONE_LOG) == ids(*sequence)

    def test_a_failure_stops_the_later_handlers_on_that_message_only(self, papp, clock):
        first = RecordingHandler(clock=clock, consumer="first")
        second = RecordingHandler(clock=clock, consumer="second")
        batch = [message(order_id=f"SO-{n}") for n in range(3)]
        first.failures[batch[1].message_id] = 1
        failures = apply_handlers_batch(
            deliveries=[delivery(m) for m in batch],
            handlers=[first, second],
            uow_factory=papp.pipeline.uow_factory,
            clock=clock,
        )
        assert [None if f is None else f.consumer for f in failures] == [None, "first", None]
        assert effects(papp.engine, consumer="second") == ids(batch[0], batch[2])
        assert second.calls == ids(batch[0], batch[2])


class TestCrashBeforeAck:
    def test_a_worker_dying_after_its_commits_redelivers_the_batch_and_the_inbox_skips_it(
        self, papp, recorder
    ):
        batch = [message(order_id=f"SO-{n}") for n in range(4)]
        publish(papp, *batch)
        app = papp
        with pytest.raises(Crashed):
            run(_consume_with(app, CrashBeforeAck(app)))
        assert effects(app.engine) == ids(*batch)

        app.clock.advance(timedelta(seconds=30))  # the dead worker's leases run out
        report = consume(app)

        assert report.handled == 4
        assert recorder.calls == ids(*batch)
        assert effects(app.engine) == ids(*batch)
        assert effects(app.engine, consumer=MILESTONE_LOG) == ids(*batch)
        assert consume(app).received == 0


class TestOptOut:
    def test_a_handler_that_is_not_batchable_gets_one_unit_of_work_per_message(self, papp, clock):
        handler = OnePerTransaction(clock=clock)
        batch = [message(order_id=f"SO-{n}") for n in range(3)]
        failures = apply_handlers_batch(
            deliveries=[delivery(m) for m in batch],
            handlers=[handler],
            uow_factory=papp.pipeline.uow_factory,
            clock=clock,
        )
        assert failures == [None] * 3
        assert len({id(unit) for unit in handler.units}) == 3
        assert effects(papp.engine, consumer=handler.consumer) == ids(*batch)


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


def test_each_message_of_a_batch_has_one_process_span_holding_its_handler_spans(
    papp, recorder, exporter
):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = Tracing(provider=provider, messaging_system="ordertrail")
    batch = [message(order_id=f"SO-{n}") for n in range(3)]
    recorder.failures[batch[1].message_id] = 1
    apply_handlers_batch(
        deliveries=[delivery(m) for m in batch],
        handlers=[recorder],
        uow_factory=papp.pipeline.uow_factory,
        clock=papp.clock,
        tracing=tracing,
    )
    provider.shutdown()
    spans = exporter.get_finished_spans()
    process = {
        s.attributes["messaging.message.id"]: s
        for s in spans
        if s.name == "ordertrail.critical process" and s.attributes is not None
    }
    handles = [s for s in spans if s.name == "recorder handle"]
    assert sorted(process) == sorted(ids(*batch))
    assert len([s for s in spans if s.name.endswith(" process")]) == 3
    assert handles
    for handle in handles:
        assert handle.attributes is not None
        owner = process[handle.attributes["messaging.message.id"]]
        assert handle.parent is not None
        assert handle.parent.span_id == owner.context.span_id


async def _consume_with(app: Ordertrail, receiver: CrashBeforeAck) -> None:
    await consume_round(
        receiver=receiver,
        registry=app.pipeline.registry,
        uow_factory=app.pipeline.uow_factory,
        clock=app.clock,
        policy=app.pipeline.retry,
        lane="critical",
        batch_size=50,
    )
