"""The Kafka consumer's bookkeeping, without a broker: what is handed out, what may be committed."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord, TopicPartition

from ordertrail.adapters.brokers.kafka_leases import LaneLeases
from ordertrail.adapters.brokers.kafka_records import (
    H_DUE,
    Record,
    partition_key,
    record_headers,
)
from ordertrail.services.messaging import Message
from tests.pipeline.support import message

LANE = TopicPartition("ot.critical", 0)
OTHER = TopicPartition("ot.critical", 1)
RETRY = TopicPartition("ot.critical.retry.1", 0)
NOW_S = 1_000_000.0


def record(tp: TopicPartition, offset: int, m: Message, *, due_s: float | None = None) -> Record:
    extra = {} if due_s is None else {H_DUE: repr(due_s)}
    headers = record_headers(m, extra)
    return ConsumerRecord(
        topic=tp.topic,
        partition=tp.partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=partition_key(m),
        value=m.body.encode(),
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=tuple(headers),
    )


def leases() -> LaneLeases:
    return LaneLeases(lane="critical", topics=("ot.critical", "ot.critical.retry.1"))


def take(book: LaneLeases, *, limit: int = 10, now_s: float = NOW_S, at_s: float = 0.0):
    deliveries, foreign = book.take(limit=limit, now_s=now_s, monotonic_s=at_s)
    assert foreign == []
    return deliveries


def test_an_offset_is_committed_only_past_a_run_of_settled_deliveries():
    sent = [message(order_id=f"SO-{n}") for n in range(3)]
    book = leases()
    book.hold({LANE: [record(LANE, 10 + n, m) for n, m in enumerate(sent)]})
    first, second, third = take(book)
    assert book.settle(third.tag)
    assert book.settle(second.tag)
    # The first is still being handled: committing 13 would skip it after a crash.
    assert book.to_commit(assigned={LANE}) == {}
    assert book.settle(first.tag)
    assert book.to_commit(assigned={LANE}) == {LANE: 13}
    book.committed({LANE: 13})
    assert book.to_commit(assigned={LANE}) == {}


def test_a_later_message_of_an_order_waits_until_the_earlier_one_is_settled():
    x1, y1, x2 = message(order_id="X"), message(order_id="Y"), message(order_id="X")
    book = leases()
    book.hold({LANE: [record(LANE, 0, x1)], OTHER: [record(OTHER, 0, y1), record(OTHER, 1, x2)]})
    out = take(book)
    assert [d.message for d in out] == [x1, y1]
    assert book.settle(out[1].tag)  # y1 done; x2 still waits for x1
    assert take(book) == []
    assert book.settle(out[0].tag)
    assert [d.message for d in take(book)] == [x2]


def test_a_retry_waits_at_the_head_of_its_topic_until_it_is_due():
    early, later = message(order_id="A"), message(order_id="B")
    book = leases()
    book.hold(
        {
            RETRY: [
                record(RETRY, 0, early, due_s=NOW_S + 1),
                record(RETRY, 1, later, due_s=NOW_S + 0.5),
            ]
        }
    )
    assert take(book) == []
    assert [d.message for d in take(book, now_s=NOW_S + 1)] == [early, later]


def test_a_delivery_past_its_lease_goes_back_in_its_place_and_its_late_settle_is_refused():
    a, b = message(order_id="A"), message(order_id="B")
    book = leases()
    book.hold({LANE: [record(LANE, 0, a), record(LANE, 1, b)]})
    first, second = take(book, at_s=0.0)
    assert book.settle(second.tag)
    assert book.expired(monotonic_s=31.0, lease_s=30.0) == [first.tag]
    book.release(first.tag)
    [again] = take(book, at_s=31.0)
    assert again.message == a
    assert again.tag != first.tag
    assert not book.settle(first.tag)  # the late holder's ack changes nothing
    assert book.to_commit(assigned={LANE}) == {}
    assert book.settle(again.tag)
    assert book.to_commit(assigned={LANE}) == {LANE: 2}


def test_partitions_that_moved_away_are_forgotten_with_their_leases_and_commits():
    a, b = message(order_id="A"), message(order_id="B")
    book = leases()
    book.hold({LANE: [record(LANE, 0, a)], OTHER: [record(OTHER, 0, b)]})
    first, second = take(book)
    assert book.settle(second.tag)
    book.forget({LANE})
    assert not book.settle(first.tag)
    # A commit is only for partitions still assigned.
    assert book.to_commit(assigned={LANE}) == {}
    assert book.held() == {OTHER: 0}


def test_a_record_ordertrail_did_not_write_is_handed_back_as_foreign_and_then_passed():
    stranger = ConsumerRecord(
        topic=LANE.topic,
        partition=0,
        offset=0,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=b"hello",
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=(),
    )
    sent = message()
    book = leases()
    book.hold({LANE: [stranger, record(LANE, 1, sent)]})
    deliveries, foreign = book.take(limit=10, now_s=NOW_S, monotonic_s=0.0)
    assert foreign == [(LANE, stranger)]
    assert [d.message for d in deliveries] == [sent]
    book.settle_foreign(LANE, stranger)
    assert book.settle(deliveries[0].tag)
    assert book.to_commit(assigned={LANE}) == {LANE: 2}
