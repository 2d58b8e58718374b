"""The milestone log consumer: records every milestone it receives and how late it arrived.

It is the pipeline's own monitoring consumer. Each row says which milestone of which order was
handled, when ingest wrote it (`created_at`) and when it came out of the broker (`handled_at`);
the difference is the end-to-end lag of the outbox, relay and lane, the number an operator
watches to see whether recognition is keeping up.
"""

from __future__ import annotations

from dataclasses import dataclass

from ordertrail.services.messaging import LANES, ConsumerUnitOfWork, Message, MilestoneEntry
from ordertrail.services.ports import Clock

CONSUMER = "milestone-log"


@dataclass(frozen=True, slots=True)
class MilestoneLogHandler:
    clock: Clock
    consumer: str = CONSUMER
    lanes: frozenset[str] = frozenset(LANES)

    def handle(self, *, message: Message, uow: ConsumerUnitOfWork) -> None:
        """Append the message's milestone to the log."""
        uow.milestone_log.append(
            entry=MilestoneEntry(
                tenant_id=message.tenant_id,
                consumer=self.consumer,
                message_id=message.message_id,
                order_id=message.order_id,
                event_type=message.event_type,
                lane=message.lane,
                created_at=message.created_at,
                handled_at=self.clock.now(),
            )
        )
