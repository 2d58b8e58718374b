"""Consumers: one effect per message, retries with backoff, dead letters, per-order ordering."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from ordertrail.adapters.brokers.db import DbBroker
from ordertrail.adapters.db.tables import dead_letters
from ordertrail.entrypoints.workers.relay import run_relay
from ordertrail.entrypoints.workers.worker import run_worker
from ordertrail.services.consumer import HandlerRegistry, apply_handlers
from ordertrail.services.messaging import LANES, RetryPolicy
from ordertrail.services.milestone_log import CONSUMER as MILESTONE_LOG
from tests.conftest import NOW
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.support import (
    add_outbox,
    consume,
    effects,
    inbox_count,
    message,
    pipeline_app,
    queued,
    run,
)


def publish(app, *messages) -> None:
    run(app.pipeline.broker.publish(messages=list(messages)))


def receive(app, *, lane: str = "critical", limit: int = 50):
    return run(app.pipeline.broker.receive(lane=lane, limit=limit))


class TestIdempotency:
    def test_a_message_delivered_twice_has_one_effect_and_one_inbox_row(self, papp, recorder):
        sent = message()
        publish(papp, sent)
        assert consume(papp).handled == 1
        publish(papp, sent)  # a relay resend after the first delivery was acknowledged
        assert consume(papp).handled == 1
        assert effects(papp.engine) == [sent.message_id]
        assert inbox_count(papp.engine) == 1
        assert recorder.calls == [sent.message_id]

    def test_a_delivery_handled_again_before_its_ack_is_skipped_by_the_inbox(self, papp, recorder):
        publish(papp, message())
        [delivery] = receive(papp)
        for _ in range(2):
            failure = apply_handlers(
                delivery=delivery,
                handlers=[recorder],
                uow_factory=papp.pipeline.uow_factory,
                clock=papp.clock,
            )
            assert failure is None
        assert effects(papp.engine) == [delivery.message.message_id]
        assert inbox_count(papp.engine) == 1

    def test_the_effect_and_the_inbox_row_roll_back_together_when_the_handler_raises(
        self, papp, recorder
    ):
        sent = message()
        recorder.failures[sent.message_id] = 1
        publish(papp, sent)
        assert consume(papp).retried == 1
        assert effects(papp.engine) == []
        assert inbox_count(papp.engine) == 0
        papp.clock.advance(timedelta(seconds=10))
        assert consume(papp).handled == 1
        assert effects(papp.engine) == [sent.message_id]
        assert inbox_count(papp.engine) == 1

    def test_a_consumer_that_succeeded_skips_the_retry_another_consumer_needed(
        self, papp, recorder
    ):
        sent = message()
        recorder.failures[sent.message_id] = 1
        publish(papp, sent)
        consume(papp)
        papp.clock.advance(timedelta(seconds=10))
        consume(papp)
        # The milestone log ran first and succeeded both times it was offered the message.
        assert effects(papp.engine, consumer=MILESTONE_LOG) == [sent.message_id]
        assert effects(papp.engine) == [sent.message_id]


class TestRetries:
    def test_a_failed_message_comes_back_only_after_its_backoff(self, papp, recorder):
        recorder.fail_always = True
        publish(papp, message())
        assert consume(papp).retried == 1
        papp.clock.advance(timedelta(seconds=9))
        assert consume(papp).received == 0
        papp.clock.advance(timedelta(seconds=1))
        assert consume(papp).retried == 1
        # The second failure doubles the wait: 20 s.
        papp.clock.advance(timedelta(seconds=19))
        assert consume(papp).received == 0
        papp.clock.advance(timedelta(seconds=1))
        assert consume(papp).received == 1

    def test_a_message_is_dead_lettered_after_the_last_attempt_with_its_history(
        self, papp, recorder
    ):
        recorder.fail_always = True
        sent = message(order_id="SO-9")
        publish(papp, sent)
        reports = []
        for wait_s in (0, 10, 20):
            papp.clock.advance(timedelta(seconds=wait_s))
            reports.append(consume(papp))
        assert [(r.retried, r.dead_lettered) for r in reports] == [(1, 0), (1, 0), (0, 1)]
        assert queued(papp.engine) == []
        with papp.engine.connect() as connection:
            [letter] = connection.execute(select(dead_letters)).all()
        assert letter.message_id == sent.message_id
        assert letter.consumer == "recorder"
        assert letter.attempts == 3
        assert letter.first_failed_at == NOW
        assert letter.last_failed_at == letter.dead_at == NOW + timedelta(seconds=30)
        assert "HandlerFailed: told to fail" in letter.error
        assert (letter.tenant_id, letter.order_id, letter.lane) == ("acme", "SO-9", "critical")
        assert effects(papp.engine) == []

    def test_the_backoff_doubles_up_to_its_cap(self):
        policy = RetryPolicy(attempts_max=10, backoff_initial_s=1.0, backoff_max_s=5.0)
        assert [policy.delay_s(attempt=n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
        assert not policy.exhausted(attempt=9)
        assert policy.exhausted(attempt=10)


class TestOrdering:
    def test_a_later_message_of_an_order_waits_while_an_earlier_one_waits_for_retry(
        self, papp, recorder
    ):
        x1, x2 = message(order_id="X"), message(order_id="X")
        y1 = message(order_id="Y")
        recorder.failures[x1.message_id] = 1
        publish(papp, x1, x2, y1)
        first = consume(papp)
        assert (first.retried, first.handled) == (1, 1)
        assert recorder.calls == [x1.message_id, y1.message_id]
        # x1 waits 10 s for its retry; x2 must not overtake it meanwhile.
        assert consume(papp).received == 0
        papp.clock.advance(timedelta(seconds=10))
        consume(papp)
        consume(papp)
        assert recorder.calls == [x1.message_id, y1.message_id, x1.message_id, x2.message_id]
        assert effects(papp.engine) == [y1.message_id, x1.message_id, x2.message_id]

    def test_a_leased_message_holds_back_its_order_and_is_offered_again_when_the_lease_ends(
        self, papp
    ):
        x1, x2 = message(order_id="X"), message(order_id="X")
        publish(papp, x1, x2)
        other_worker = DbBroker(papp.engine, clock=papp.clock, lease_s=30.0)
        [taken] = run(other_worker.receive(lane="critical", limit=10))
        assert taken.message.message_id == x1.message_id
        assert receive(papp) == []
        papp.clock.advance(timedelta(seconds=30))  # the other worker died holding it
        [again] = receive(papp)
        assert again.message.message_id == x1.message_id

    def test_one_order_gets_one_message_per_claim_and_other_orders_are_not_held_up(self, papp):
        publish(papp, *[message(order_id="X") for _ in range(3)], message(order_id="Y"))
        claimed = receive(papp)
        assert sorted(d.message.order_id for d in claimed) == ["X", "Y"]

    def test_messages_of_another_lane_never_block_an_order(self, papp):
        publish(papp, message(order_id="X", lane="bulk"), message(order_id="X", lane="critical"))
        [delivery] = receive(papp, lane="critical")
        assert delivery.message.order_id == "X"


class TestLanes:
    def test_a_critical_delivery_reaches_its_handler_behind_a_large_bulk_backlog(
        self, engine, clock
    ):
        backlog = 2_000
        seen: dict[str, int] = {}

        class Watcher(RecordingHandler):
            """Notes how much bulk had been handled when the delivery arrived, then stops."""

            def handle(self, *, message, uow):
                super().handle(message=message, uow=uow)
                if message.lane == "critical":
                    seen["bulk_handled"] = sum(1 for c in self.calls if c.startswith("acme/bulk"))
                    stop.set()

        watcher = Watcher(clock=clock)
        app = pipeline_app(engine, clock, watcher, relay_batch_size=500, worker_batch_size=50)
        bulk = [
            message(
                order_id=f"B-{n}", lane="bulk", event_type="line.allocated", event_id=f"bulk-{n}"
            )
            for n in range(backlog)
        ]
        add_outbox(engine, [*bulk, message(order_id="SO-1", event_id="delivery")])
        stop = asyncio.Event()

        async def everything() -> None:
            await run_relay(app=app, stop=asyncio.Event(), once=True)
            await run_worker(app=app, lanes=LANES, stop=stop, max_seconds=60)

        run(everything())
        assert "acme/delivery" in watcher.calls
        # The critical lane did not queue behind the bulk backlog: when the delivery was handled
        # at most one bulk batch had been.
        assert seen["bulk_handled"] <= 50
        assert len(queued(engine, lane="bulk")) >= backlog - 50


@pytest.mark.postgres
def test_concurrent_workers_on_postgresql_never_claim_the_same_message(pg_engine, clock):
    app = pipeline_app(pg_engine, clock)
    sent = [message(order_id=f"SO-{n}") for n in range(300)]
    publish(app, *sent)
    claimed: list[list[str]] = [[], [], []]

    def work(slot: int) -> None:
        broker = DbBroker(pg_engine, clock=clock, lease_s=30.0)
        while batch := run(broker.receive(lane="critical", limit=7)):
            claimed[slot].extend(d.message.message_id for d in batch)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [message_id for slot in claimed for message_id in slot]
    assert sorted(everything) == sorted(m.message_id for m in sent)
    assert len(set(everything)) == len(everything)


def test_a_registry_refuses_two_consumers_of_one_name_and_unknown_lanes(clock):
    registry = HandlerRegistry([RecordingHandler(clock=clock)])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(RecordingHandler(clock=clock))
    with pytest.raises(ValueError, match="unknown lanes"):
        registry.register(RecordingHandler(clock=clock, consumer="x", lanes=frozenset({"slow"})))
    only_bulk = RecordingHandler(clock=clock, consumer="bulk-only", lanes=frozenset({"bulk"}))
    registry.register(only_bulk)
    assert registry.for_lane("critical") == (registry.for_lane("bulk")[0],)
    assert registry.names() == ["recorder", "bulk-only"]
