"""What a Kafka consumer holds of one lane: records fetched, deliveries out, offsets to commit.

Kafka keeps one committed offset per partition ("everything before this is done"), while the
consumers settle deliveries one at a time, and not always in offset order: an ack after the
effects committed, a retry once its copy is on a retry topic, a dead letter once it is recorded.
This bookkeeping reconciles the two: a partition's offset to commit only ever moves past a run of
settled deliveries, so no offset passes a delivery whose effects are not committed.

It also decides what is handed out: records in partition order, round-robin over partitions
(the lane's topic first, then its retry topics), a retry record only once it is due, and a
record of an order only when no earlier delivery of that order is out. A delivery not settled
within its lease is put back where it was and handed out again.

No I/O and no clock of its own (times are arguments), so it is tested without a broker.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka.structs import TopicPartition

from ordertrail.adapters.brokers.kafka_records import ForeignRecord, Record, due_s, parse_record
from ordertrail.services.messaging import Delivery

# Tags are unique in a process, across lanes and across brokers that start afresh.
_tag_numbers = itertools.count(1)


@dataclass(slots=True)
class _Partition:
    records: deque[Record] = field(default_factory=deque)
    # Offsets handed out and not yet committable, in offset order, each with whether it is
    # settled. A delivery put back keeps its place here, unsettled, until it is settled.
    handed: dict[int, bool] = field(default_factory=dict)

    def hand_out(self, offset: int) -> None:
        self.handed.setdefault(offset, False)


@dataclass(frozen=True, slots=True)
class _Lease:
    partition: TopicPartition
    record: Record
    order: tuple[str, str]
    leased_at_s: float


class LaneLeases:
    def __init__(self, *, lane: str, topics: Sequence[str]) -> None:
        self.lane = lane
        self._rank = {topic: n for n, topic in enumerate(topics)}
        self._partitions: dict[TopicPartition, _Partition] = {}
        self._leases: dict[str, _Lease] = {}
        # Next offset to commit per partition.
        self._commits: dict[TopicPartition, int] = {}

    def owns(self, tag: str) -> bool:
        return tag.startswith(f"{self.lane}/")

    # Fetched records ----------------------------------------------------------------------------

    def hold(self, fetched: Mapping[TopicPartition, Sequence[Record]]) -> None:
        for tp, records in fetched.items():
            self._partitions.setdefault(tp, _Partition()).records.extend(records)

    def held(self) -> dict[TopicPartition, int]:
        """How many fetched records wait per partition (the consumer pauses full ones)."""
        return {tp: len(partition.records) for tp, partition in self._partitions.items()}

    def take(
        self, *, limit: int, now_s: float, monotonic_s: float
    ) -> tuple[list[Delivery], list[tuple[TopicPartition, Record]]]:
        """Hand out up to `limit` deliveries; also return records Ordertrail did not write.

        `now_s` (Unix time) says which retries are due; `monotonic_s` starts the leases. A
        foreign record is taken off its partition as handed out: the caller copies it aside
        and then settles it with `settle_foreign`.
        """
        busy = {lease.order for lease in self._leases.values()}
        order = sorted(self._partitions, key=lambda tp: (self._rank.get(tp.topic, 99), tp))
        deliveries: list[Delivery] = []
        foreign: list[tuple[TopicPartition, Record]] = []
        progress = True
        while progress and len(deliveries) < limit:
            progress = False
            for tp in order:
                partition = self._partitions[tp]
                if not partition.records or len(deliveries) >= limit:
                    continue
                record = partition.records[0]
                if due_s(record) > now_s:
                    continue  # a retry topic waits at its head until that message is due
                try:
                    message, attempts, first_failed_at = parse_record(record)
                except ForeignRecord:
                    partition.records.popleft()
                    partition.hand_out(record.offset)
                    foreign.append((tp, record))
                    progress = True
                    continue
                key = (message.tenant_id, message.order_id)
                if key in busy:
                    continue  # an earlier message of the order is still out
                busy.add(key)
                partition.records.popleft()
                partition.hand_out(record.offset)
                tag = f"{self.lane}/{next(_tag_numbers)}"
                self._leases[tag] = _Lease(
                    partition=tp, record=record, order=key, leased_at_s=monotonic_s
                )
                deliveries.append(
                    Delivery(
                        message=message, attempts=attempts, first_failed_at=first_failed_at, tag=tag
                    )
                )
                progress = True
        return deliveries, foreign

    # Settling -----------------------------------------------------------------------------------

    def settle(self, tag: str) -> bool:
        """Mark a delivery done; False when its lease had run out (it was handed out again)."""
        lease = self._leases.pop(tag, None)
        if lease is None:
            return False
        self._mark(lease.partition, int(lease.record.offset))
        return True

    def settle_foreign(self, tp: TopicPartition, record: Record) -> None:
        self._mark(tp, int(record.offset))

    def _mark(self, tp: TopicPartition, offset: int) -> None:
        partition = self._partitions.get(tp)
        if partition is None:
            return  # the partition went to another consumer, which starts from the last commit
        if offset in partition.handed:
            partition.handed[offset] = True
        # Everything up to the first delivery still out is done: commit past it.
        while partition.handed:
            first = next(iter(partition.handed))
            if not partition.handed[first]:
                break
            del partition.handed[first]
            self._commits[tp] = first + 1

    def release(self, tag: str) -> None:
        """Put a delivery that was not settled back in its place, to be handed out again."""
        lease = self._leases.pop(tag, None)
        partition = None if lease is None else self._partitions.get(lease.partition)
        if lease is None or partition is None:
            return
        # Its offset stays handed out and unsettled, so no commit passes it meanwhile.
        offset = lease.record.offset
        place = next(
            (n for n, r in enumerate(partition.records) if r.offset > offset),
            len(partition.records),
        )
        partition.records.insert(place, lease.record)

    def expired(self, *, monotonic_s: float, lease_s: float) -> list[str]:
        """The tags of deliveries out for longer than `lease_s`."""
        return [t for t, x in self._leases.items() if monotonic_s - x.leased_at_s > lease_s]

    # Partitions and commits -----------------------------------------------------------------------

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop what was held of partitions this consumer no longer owns, leases included.

        Their new owner starts from the last commit; a delivery of theirs still being handled
        here is handed out there again, and the inbox makes it one effect.
        """
        gone = set(partitions)
        for tp in gone:
            self._partitions.pop(tp, None)
            self._commits.pop(tp, None)
        for tag in [t for t, lease in self._leases.items() if lease.partition in gone]:
            del self._leases[tag]

    def to_commit(
        self, *, assigned: Iterable[TopicPartition], only: Iterable[TopicPartition] | None = None
    ) -> dict[TopicPartition, int]:
        """The offsets ready to commit on partitions still `assigned` (the rest are dropped)."""
        mine = set(assigned)
        for tp in [tp for tp in self._commits if tp not in mine]:
            del self._commits[tp]
        wanted = None if only is None else set(only)
        return {tp: n for tp, n in self._commits.items() if wanted is None or tp in wanted}

    def committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Note offsets the broker took (or that will never be taken), so they are not resent."""
        for tp, offset in offsets.items():
            if self._commits.get(tp) == offset:
                del self._commits[tp]
