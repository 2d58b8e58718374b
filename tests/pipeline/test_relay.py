"""The relay: bounded batches, marked published only after the broker's confirm, nothing skipped."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import insert, select, text

from ordertrail.adapters.db.outbox_store import RELAY_LOCK_KEY, relay_lock_for
from ordertrail.adapters.db.tables import outbox
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers.relay import RelayBusy, run_relay
from ordertrail.services.messaging import Message, Publisher, PublishFailed
from ordertrail.services.relay import RelayConfig, relay_lane, relay_round
from tests.pipeline.support import (
    add_outbox,
    message,
    outbox_row,
    pipeline_app,
    queued,
    run,
    unpublished,
)


class WatchingPublisher:
    """Passes messages to the real broker, noting each batch and what the outbox said meanwhile."""

    def __init__(self, app: Ordertrail) -> None:
        self.app = app
        self.batches: list[list[str]] = []
        self.unpublished_during: list[int] = []

    async def publish(self, *, messages: Sequence[Message]) -> None:
        self.batches.append([m.message_id for m in messages])
        self.unpublished_during.append(unpublished(self.app.engine))
        await self.app.pipeline.broker.publish(messages=messages)


class ConfirmLost:
    """Delivers everything to the broker, then fails as if the confirm never came back."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner

    async def publish(self, *, messages: Sequence[Message]) -> None:
        await self.inner.publish(messages=messages)
        raise ConnectionResetError("connection lost before the confirm")


class ConfirmsSome:
    """Delivers and confirms the first `confirmed` messages, then fails."""

    def __init__(self, inner: Publisher, *, confirmed: int) -> None:
        self.inner = inner
        self.confirmed = confirmed

    async def publish(self, *, messages: Sequence[Message]) -> None:
        await self.inner.publish(messages=messages[: self.confirmed])
        raise PublishFailed("nack", confirmed=self.confirmed)


def relay(app: Ordertrail, publisher: Publisher | None = None, *, batch_size: int = 500) -> dict:
    return run(
        relay_round(
            outbox=app.pipeline.outbox,
            publisher=publisher or app.pipeline.broker,
            clock=app.clock,
            config=RelayConfig(batch_size=batch_size),
        )
    )


def test_the_relay_publishes_in_bounded_batches_in_outbox_order(papp):
    messages = [message(order_id=f"SO-{n % 2}") for n in range(5)]
    add_outbox(papp.engine, messages)
    watcher = WatchingPublisher(papp)
    rounds = [relay(papp, watcher, batch_size=2) for _ in range(4)]
    assert [r["critical"] for r in rounds] == [2, 2, 1, 0]
    assert [len(batch) for batch in watcher.batches] == [2, 2, 1]
    assert queued(papp.engine) == [m.message_id for m in messages]
    assert unpublished(papp.engine) == 0


def test_rows_are_marked_published_only_after_the_broker_confirmed(papp):
    add_outbox(papp.engine, [message() for _ in range(3)])
    watcher = WatchingPublisher(papp)
    relay(papp, watcher)
    # While the broker was still confirming, every row of the batch was still unpublished.
    assert watcher.unpublished_during == [3]
    assert unpublished(papp.engine) == 0


def test_a_lost_confirm_leaves_rows_unpublished_and_a_resend_enqueues_each_once(papp):
    messages = [message(order_id=f"SO-{n}") for n in range(4)]
    add_outbox(papp.engine, messages)
    with pytest.raises(ConnectionResetError):
        relay(papp, ConfirmLost(papp.pipeline.broker))
    assert unpublished(papp.engine) == 4
    assert relay(papp)["critical"] == 4
    assert unpublished(papp.engine) == 0
    assert queued(papp.engine) == [m.message_id for m in messages]


def test_a_publisher_failing_mid_batch_keeps_the_confirmed_part_and_loses_nothing(papp):
    messages = [message(order_id=f"SO-{n}") for n in range(5)]
    add_outbox(papp.engine, messages)
    with pytest.raises(PublishFailed):
        relay(papp, ConfirmsSome(papp.pipeline.broker, confirmed=2))
    assert unpublished(papp.engine) == 3
    assert queued(papp.engine) == [m.message_id for m in messages[:2]]
    assert relay(papp)["critical"] == 3
    assert queued(papp.engine) == [m.message_id for m in messages]


def test_the_critical_lane_is_relayed_before_a_bulk_backlog(papp):
    bulk = [message(lane="bulk", event_type="line.allocated") for _ in range(30)]
    critical = message(event_type="shipment.delivered", order_id="SO-URGENT")
    add_outbox(papp.engine, [*bulk, critical])
    counts = relay(papp, batch_size=10)
    assert counts == {"critical": 1, "bulk": 10}
    assert queued(papp.engine, lane="critical") == [critical.message_id]


def test_the_relay_forwards_the_trace_context_when_ingest_recorded_one(papp):
    traced, untraced = message(), message()
    with papp.engine.begin() as connection:
        connection.execute(
            insert(outbox).values(**outbox_row(traced), traceparent=traced.headers["traceparent"])
        )
        connection.execute(insert(outbox).values(**outbox_row(untraced)))
    [(_, first), (_, second)] = papp.pipeline.outbox.unpublished(lane="critical", limit=10)
    assert first.headers == {"traceparent": traced.headers["traceparent"]}
    assert second.headers == {}


@pytest.mark.postgres
def test_a_row_that_commits_after_a_later_id_is_still_relayed(pg_engine, clock, recorder):
    engine = pg_engine
    papp = pipeline_app(engine, clock, recorder)
    early, late = message(order_id="SO-A"), message(order_id="SO-B")
    with engine.connect() as slow, engine.connect() as fast:
        slow.begin()
        slow_id = slow.execute(
            insert(outbox).values(**outbox_row(early)).returning(outbox.c.id)
        ).scalar_one()
        fast.begin()
        fast_id = fast.execute(
            insert(outbox).values(**outbox_row(late)).returning(outbox.c.id)
        ).scalar_one()
        fast.commit()
        assert slow_id < fast_id

        assert relay(papp)["critical"] == 1
        assert queued(engine) == [late.message_id]
        # A relay that remembered "published up to id N" would now start after fast_id.
        slow.commit()

    assert relay(papp)["critical"] == 1
    assert queued(engine) == [late.message_id, early.message_id]
    with engine.connect() as connection:
        published = connection.execute(
            select(outbox.c.id).where(outbox.c.published_at.is_not(None)).order_by(outbox.c.id)
        ).all()
    assert [row.id for row in published] == [slow_id, fast_id]


def test_only_one_relay_holds_the_lock_at_a_time(engine):
    first, second = relay_lock_for(engine), relay_lock_for(engine)
    try:
        assert first.acquire()
        assert not second.acquire()
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()


def test_a_relay_run_once_refuses_while_another_relay_is_active(papp):
    holder = relay_lock_for(papp.engine)
    assert holder.acquire()
    try:
        add_outbox(papp.engine, [message()])
        with pytest.raises(RelayBusy):
            run(run_relay(app=papp, stop=asyncio.Event(), once=True))
        assert unpublished(papp.engine) == 1
    finally:
        holder.release()
    assert run(run_relay(app=papp, stop=asyncio.Event(), once=True)) == 1


def test_a_relay_run_once_drains_every_lane_batch_by_batch(papp):
    add_outbox(papp.engine, [message(lane=("bulk", "critical")[n % 2]) for n in range(7)])
    assert run(run_relay(app=papp, stop=asyncio.Event(), once=True)) == 7
    assert unpublished(papp.engine) == 0


def test_a_relay_batch_size_beyond_the_bound_is_refused():
    with pytest.raises(ValueError, match="between 1 and"):
        RelayConfig(batch_size=0)
    with pytest.raises(ValueError, match="between 1 and"):
        RelayConfig(batch_size=1_000_000)


def test_a_single_lane_round_with_nothing_to_do_publishes_nothing(papp):
    assert (
        run(
            relay_lane(
                outbox=papp.pipeline.outbox,
                publisher=papp.pipeline.broker,
                clock=papp.clock,
                lane="bulk",
                config=RelayConfig(),
            )
        )
        == 0
    )


@pytest.mark.postgres
def test_a_relay_that_lost_its_database_session_knows_it_no_longer_leads(pg_engine):
    leader, standby = relay_lock_for(pg_engine), relay_lock_for(pg_engine)
    assert leader.acquire()
    assert leader.still_held()
    with pg_engine.connect() as admin:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objid = :key"
            ),
            {"key": RELAY_LOCK_KEY},
        )
    assert not leader.still_held()
    assert standby.acquire()
    standby.release()
    leader.release()


def test_a_released_lock_is_no_longer_held(engine):
    lock = relay_lock_for(engine)
    assert not lock.still_held()
    assert lock.acquire()
    assert lock.still_held()
    lock.release()
    assert not lock.still_held()
