"""A test consumer that records what it handled and fails or crashes when told to.

It writes its effect through the unit of work like any real handler (a milestone log row under
its own consumer name), so counting those rows counts effects. `crash_recorder` is the factory
named in ORDERTRAIL_HANDLERS when a real `ordertrail worker` process must load it.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

from ordertrail.services.messaging import LANES, ConsumerUnitOfWork, Message, MilestoneEntry
from ordertrail.services.ports import Clock

# A file path: the first message handled while it does not exist creates it and kills the
# process with SIGKILL right after the effect commits, before the delivery is acknowledged.
CRASH_MARKER_ENV = "ORDERTRAIL_TEST_CRASH_MARKER"


class HandlerFailed(Exception):
    """The failure a test asked for."""


class RecordingHandler:
    def __init__(
        self,
        *,
        clock: Clock,
        consumer: str = "recorder",
        lanes: frozenset[str] = frozenset(LANES),
        crash_marker: Path | None = None,
    ) -> None:
        self.clock = clock
        self.consumer = consumer
        self.lanes = lanes
        self.crash_marker = crash_marker
        # message id -> how many more times to fail on it; "*" fails every message.
        self.failures: Counter[str] = Counter()
        self.fail_always = False
        # Every call, in order, whether or not it succeeded.
        self.calls: list[str] = []

    def handle(self, *, message: Message, uow: ConsumerUnitOfWork) -> None:
        self.calls.append(message.message_id)
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
        # Fail after writing, so a test sees the effect roll back with the inbox row.
        if self.fail_always or self.failures[message.message_id] > 0:
            self.failures[message.message_id] -= 1
            raise HandlerFailed(f"told to fail on {message.message_id}")
        if self.crash_marker is not None and not self.crash_marker.exists():
            self.crash_marker.write_text(message.message_id, encoding="utf-8")
            uow.after_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))


def crash_recorder(*, clock: Clock) -> RecordingHandler:
    """The recorder for a worker process, crashing once if $ORDERTRAIL_TEST_CRASH_MARKER says so."""
    marker = os.environ.get(CRASH_MARKER_ENV)
    return RecordingHandler(clock=clock, crash_marker=Path(marker) if marker else None)
